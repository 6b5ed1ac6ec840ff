//! The IPVS creation benchmark of `ipvs-bench library-create`, sent
//! through netlink-proto 0.14's `request_batch` instead of our transport:
//! the decision record for building `netlink-transport` (see BENCHMARKS.md,
//! "One netlink transport"). Needs root and the `ip_vs` module.
//!
//! ```text
//! proto-bench create N R [--chunk K]   N rr/masq TCP services x R real servers
//! ```
//!
//! The same table as `ipvs-bench` (service i is 10.96.0.0 + 1 + i port 80,
//! real server j is 10.244.0.0 + 1 + i*R + j port 8080), the same windows
//! (K = 256 messages per `request_batch`, each drained before the next, so
//! the acks never overflow the receive buffer) and the same socket options
//! (`NETLINK_CAP_ACK`, 4 MiB `SO_RCVBUF`). netlink-proto writes every
//! message of a `request_batch` into one datagram; the stream of a window
//! ends once every message is answered, and carries the errors (not the
//! ACKs: netlink-proto swallows those), each naming its message only by
//! the sequence number netlink-proto assigned. Prints
//! `RESULT proto create <seconds> messages=M errors=E chunk=K answers=A other=O`
//! (A: `NLMSG_ERROR` replies the stream carried; O: other replies).

use std::{
    net::{Ipv4Addr, SocketAddr, SocketAddrV4},
    time::Instant,
};

use futures::StreamExt;
use ipvs_netlink::{
    Command, ForwardMethod, IpvsHandle, RealServer, Scheduler, ServiceKey, VirtualService,
};
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_generic::GenlMessage;
use netlink_proto::sys::{AsyncSocket, SocketAddr as NetlinkAddr, protocols::NETLINK_GENERIC};

type Error = Box<dyn std::error::Error>;

fn service_addr(i: usize) -> SocketAddrV4 {
    let ip = u32::from(Ipv4Addr::new(10, 96, 0, 0)) + 1 + i as u32;
    SocketAddrV4::new(ip.into(), 80)
}

fn real_addr(i: usize, j: usize, reals: usize) -> SocketAddrV4 {
    let ip = u32::from(Ipv4Addr::new(10, 244, 0, 0)) + 1 + (i * reals + j) as u32;
    SocketAddrV4::new(ip.into(), 8080)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |index: usize| args.get(index).and_then(|v| v.parse::<usize>().ok());
    let (Some("create"), Some(services), Some(reals)) =
        (args.first().map(String::as_str), number(1), number(2))
    else {
        return Err("usage: proto-bench create N R [--chunk K]".into());
    };
    let chunk = match args.iter().position(|a| a == "--chunk") {
        Some(at) => number(at + 1).ok_or("--chunk needs a number")?,
        None => 256,
    };

    let start = Instant::now();
    let family_id = IpvsHandle::connect().await?.family_id();
    let (mut connection, handle, _) = netlink_proto::new_connection(NETLINK_GENERIC)?;
    let socket = connection.socket_mut().socket_mut();
    socket.set_cap_ack(true)?;
    socket.set_rx_buf_sz(4 << 20)?;
    tokio::spawn(connection);

    let mut commands = Vec::with_capacity(services * (reals + 1));
    for i in 0..services {
        let key = ServiceKey::tcp(service_addr(i).into());
        commands.push(Command::AddService(VirtualService::new(key, Scheduler::RR)));
        for j in 0..reals {
            let addr = SocketAddr::from(real_addr(i, j, reals));
            commands.push(Command::AddRealServer(
                key,
                RealServer::new(addr, ForwardMethod::Masq, 1),
            ));
        }
    }
    let (mut answers, mut errors, mut other) = (0, 0, 0);
    for window in commands.chunks(chunk.max(1)) {
        let messages = window.iter().map(|command| {
            let mut genl = GenlMessage::from_payload(command.to_message());
            genl.set_resolved_family_id(family_id);
            let mut header = NetlinkHeader::default();
            header.flags = NLM_F_REQUEST | NLM_F_ACK;
            NetlinkMessage::new(header, NetlinkPayload::InnerMessage(genl))
        });
        let mut replies = handle.request_batch(messages, NetlinkAddr::new(0, 0))?;
        while let Some(reply) = replies.next().await {
            match reply.payload {
                NetlinkPayload::Error(err) => {
                    answers += 1;
                    errors += usize::from(err.code.is_some());
                }
                _ => other += 1,
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "RESULT proto create {elapsed:.3} messages={} errors={errors} chunk={chunk} answers={answers} other={other}",
        commands.len()
    );
    Ok(())
}
