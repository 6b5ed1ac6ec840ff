//! Native cost of decoding one dump message: the kernel's NEW_SERVICE and
//! NEW_DEST replies captured from `ipvsadm -Ln --stats` on a 6.1 kernel
//! (`tests/captures/20-list-stats.hex`), read the way `IpvsHandle` reads
//! dumps (straight to `VirtualService` / `RealServer`), and through the
//! packet layer (`GenlMessage<IpvsMessage>`, then `from_message`).
//!
//! ```text
//! cargo run --release -p ipvs-netlink --example decode-bench [ITERATIONS]
//! ```

use std::{hint::black_box, time::Instant};

use ipvs_netlink::{
    Family, RealServer, VirtualService,
    fuzzing::{read_real_server, read_service},
    packet::{IpvsCmd, IpvsMessage},
};
use netlink_packet_core::ParseableParametrized;
use netlink_packet_generic::GenlMessage;

const CAPTURE: &str = include_str!("../tests/captures/20-list-stats.hex");

/// `(nlmsg_type, whole message)` of every message of every received
/// datagram.
fn received_messages() -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    for line in CAPTURE.lines() {
        let Some(hex) = line.strip_prefix("< ") else {
            continue;
        };
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        let mut rest = bytes.as_slice();
        while rest.len() >= 16 {
            let len = u32::from_ne_bytes(rest[..4].try_into().unwrap()) as usize;
            let kind = u16::from_ne_bytes(rest[4..6].try_into().unwrap());
            out.push((kind, rest[..len].to_vec()));
            rest = rest.get((len + 3) & !3..).unwrap_or_default();
        }
    }
    out
}

fn parse(kind: u16, payload: &[u8]) -> IpvsMessage {
    GenlMessage::<IpvsMessage>::parse_with_param(payload, kind)
        .expect("decode")
        .payload
}

fn time_per_message(iterations: u32, mut decode: impl FnMut()) -> f64 {
    for _ in 0..iterations / 10 {
        decode();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        decode();
    }
    start.elapsed().as_secs_f64() * 1e9 / f64::from(iterations)
}

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    let messages = received_messages();
    // The IPVS family id is the type of the NEW_DEST replies.
    let pick = |cmd: IpvsCmd| {
        messages
            .iter()
            .find(|(kind, message)| *kind > 0x10 && message.get(16) == Some(&u8::from(cmd)))
            .cloned()
            .expect("message in the capture")
    };
    let (svc_kind, service) = pick(IpvsCmd::NewService);
    let (dest_kind, dest) = pick(IpvsCmd::NewDest);

    let svc_direct = time_per_message(iterations, || {
        black_box(read_service(black_box(&service), svc_kind).expect("service"));
    });
    let dest_direct = time_per_message(iterations, || {
        black_box(read_real_server(black_box(&dest), dest_kind, Family::Inet).expect("dest"));
    });
    let svc_packet = time_per_message(iterations, || {
        let msg = parse(svc_kind, black_box(&service[16..]));
        black_box(VirtualService::from_message(&msg).expect("service"));
    });
    let dest_packet = time_per_message(iterations, || {
        let msg = parse(dest_kind, black_box(&dest[16..]));
        black_box(RealServer::from_message(&msg, Family::Inet).expect("real server"));
    });
    println!("ns per message      IpvsHandle path   via IpvsMessage");
    println!(
        "NEW_SERVICE ({} B)  {svc_direct:>15.0}   {svc_packet:>15.0}",
        service.len()
    );
    println!(
        "NEW_DEST ({} B)     {dest_direct:>15.0}   {dest_packet:>15.0}",
        dest.len()
    );
}
