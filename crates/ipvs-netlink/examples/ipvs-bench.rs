//! Benchmark of the library against a hand-built netlink sender (the
//! kernel-bound floor) and `ipvsadm -R`. Driven by `bench/ipvs.sh` in the
//! test-bed VM; needs root and the `ip_vs` module.
//!
//! ```text
//! ipvs-bench library-create N R [--chunk K]   N rr/masq TCP services x R real servers
//! ipvs-bench library-dump                     table(), then table formatted like ipvsadm -Ln
//! ipvs-bench library-flush
//! ipvs-bench raw-create N R [--chunk K]       the same table, hand-built messages
//! ipvs-bench raw-dump                         service dump + one dest dump per service
//! ipvs-bench gen-restore N R                  the same table as `ipvsadm -R` input
//! ipvs-bench raw-selftest                     raw messages against the ipvsadm captures
//! ```
//!
//! Each benchmark prints `RESULT <variant> <phase> <seconds> [key=value...]`.
//! Service i is 10.96.0.0 + 1 + i port 80; real server j of service i is
//! 10.244.0.0 + 1 + i*R + j port 8080.

use std::{
    io::Write,
    net::{Ipv4Addr, SocketAddr, SocketAddrV4},
    process::ExitCode,
    time::Instant,
};

use ipvs_netlink::{
    BatchLimits, Command, ForwardMethod, IpvsHandle, RealServer, Scheduler, ServiceKey,
    VirtualService,
};
use netlink_sys::{Socket, SocketAddr as NetlinkAddr};

type Error = Box<dyn std::error::Error>;

fn service_addr(i: usize) -> SocketAddrV4 {
    let ip = u32::from(Ipv4Addr::new(10, 96, 0, 0)) + 1 + i as u32;
    SocketAddrV4::new(ip.into(), 80)
}

fn real_addr(i: usize, j: usize, reals: usize) -> SocketAddrV4 {
    let ip = u32::from(Ipv4Addr::new(10, 244, 0, 0)) + 1 + (i * reals + j) as u32;
    SocketAddrV4::new(ip.into(), 8080)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut chunk = None;
    let mut rest = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--chunk" {
            chunk = iter.next().and_then(|k| k.parse::<usize>().ok());
            if chunk.is_none() {
                eprintln!("ipvs-bench: --chunk needs a number");
                return ExitCode::from(2);
            }
        } else {
            rest.push(arg.as_str());
        }
    }
    let size = |index: usize| rest.get(index).and_then(|v| v.parse::<usize>().ok());
    let result = match (rest.first().copied(), size(1), size(2)) {
        (Some("library-create"), Some(n), Some(r)) => library_create(n, r, chunk),
        (Some("library-dump"), ..) => library_dump(),
        (Some("library-flush"), ..) => library_flush(),
        (Some("raw-create"), Some(n), Some(r)) => raw_create(n, r, chunk),
        (Some("raw-dump"), ..) => raw_dump(),
        (Some("gen-restore"), Some(n), Some(r)) => gen_restore(n, r),
        (Some("raw-selftest"), ..) => raw_selftest(),
        _ => {
            eprintln!(
                "usage: ipvs-bench library-create|raw-create|gen-restore N R [--chunk K]\n       \
                 ipvs-bench library-dump|library-flush|raw-dump|raw-selftest"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ipvs-bench: {err}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn library_create(services: usize, reals: usize, chunk: Option<usize>) -> Result<(), Error> {
    runtime()?.block_on(async {
        let start = Instant::now();
        let mut handle = IpvsHandle::connect().await?;
        if let Some(k) = chunk {
            let max_bytes = handle.batch_limits().max_bytes;
            handle.set_batch_limits(BatchLimits::new(k, max_bytes));
        }
        let mut commands = Vec::with_capacity(services * (reals + 1));
        for i in 0..services {
            let key = ServiceKey::tcp(service_addr(i).into());
            commands.push(Command::AddService(VirtualService::new(key, Scheduler::RR)));
            for j in 0..reals {
                let addr = SocketAddr::from(real_addr(i, j, reals));
                let server = RealServer::new(addr, ForwardMethod::Masq, 1);
                commands.push(Command::AddRealServer(key, server));
            }
        }
        let results = handle.execute(&commands).await?;
        let elapsed = start.elapsed().as_secs_f64();
        let errors = results.iter().filter(|r| r.is_err()).count();
        if let Some(Err(err)) = results.iter().find(|r| r.is_err()) {
            eprintln!("ipvs-bench: first error: {err}");
        }
        let limits = handle.batch_limits();
        println!(
            "RESULT library create {elapsed:.3} messages={} errors={errors} chunk={}",
            commands.len(),
            limits.max_messages
        );
        Ok(())
    })
}

fn library_dump() -> Result<(), Error> {
    runtime()?.block_on(async {
        let start = Instant::now();
        let handle = IpvsHandle::connect().await?;
        let mut table = handle.table().await?;
        let dump = start.elapsed().as_secs_f64();
        table.sort_like_ipvsadm();
        let text = table.to_string();
        std::io::sink().write_all(text.as_bytes())?;
        let total = start.elapsed().as_secs_f64();
        let reals: usize = table.entries.iter().map(|e| e.real_servers.len()).sum();
        println!(
            "RESULT library dump {dump:.3} services={} reals={reals}",
            table.entries.len()
        );
        println!(
            "RESULT library dump+format {total:.3} bytes={} lines={}",
            text.len(),
            text.lines().count()
        );
        Ok(())
    })
}

fn library_flush() -> Result<(), Error> {
    runtime()?.block_on(async {
        let start = Instant::now();
        let handle = IpvsHandle::connect().await?;
        handle.services().flush().execute().await?;
        let elapsed = start.elapsed().as_secs_f64();
        println!("RESULT library flush {elapsed:.3}");
        Ok(())
    })
}

fn gen_restore(services: usize, reals: usize) -> Result<(), Error> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for i in 0..services {
        let service = service_addr(i);
        writeln!(out, "-A -t {service} -s rr")?;
        for j in 0..reals {
            let real = real_addr(i, j, reals);
            writeln!(out, "-a -t {service} -r {real} -m -w 1")?;
        }
    }
    out.flush()?;
    Ok(())
}

// ---- The raw floor: netlink-sys socket, hand-built messages. ----

const NETLINK_GENERIC: isize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const GENL_ID_CTRL: u16 = 0x10;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
const NLA_F_NESTED: u16 = 0x8000;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const IPVS_CMD_NEW_SERVICE: u8 = 1;
const IPVS_CMD_GET_SERVICE: u8 = 4;
const IPVS_CMD_NEW_DEST: u8 = 5;
const IPVS_CMD_GET_DEST: u8 = 8;
const IPVS_CMD_ATTR_SERVICE: u16 = 1;
const IPVS_CMD_ATTR_DEST: u16 = 2;
/// Same receive buffer and window as the library's defaults.
const RECV_LEN: usize = 64 << 10;
const SOCKET_RCVBUF: i32 = 4 << 20;
const WINDOW_MESSAGES: usize = 256;
const WINDOW_BYTES: usize = 64 << 10;

/// Starts a generic netlink message; returns its offset for `finish`.
fn begin(buf: &mut Vec<u8>, kind: u16, flags: u16, seq: u32, cmd: u8) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&[cmd, 1, 0, 0]);
    start
}

/// Writes the length of the message that starts at `start`.
fn finish(buf: &mut [u8], start: usize) {
    let len = (buf.len() - start) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

fn attr(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    buf.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

fn nest(buf: &mut Vec<u8>, kind: u16, fill: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    buf.extend_from_slice(&[0, 0]);
    buf.extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
    fill(buf);
    let len = (buf.len() - start) as u16;
    buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
}

fn addr16(ip: Ipv4Addr) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&ip.octets());
    bytes
}

/// The service nest as ipvsadm sends it: key, scheduler, flags, timeout,
/// netmask.
fn service_nest(buf: &mut Vec<u8>, addr: SocketAddrV4, sched: &[u8]) {
    nest(buf, IPVS_CMD_ATTR_SERVICE, |buf| {
        attr(buf, 1, &2u16.to_ne_bytes()); // AF_INET
        attr(buf, 2, &6u16.to_ne_bytes()); // TCP
        attr(buf, 3, &addr16(*addr.ip()));
        attr(buf, 4, &addr.port().to_be_bytes());
        attr(buf, 6, sched);
        let mut flags = [0u8; 8];
        flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
        attr(buf, 7, &flags);
        attr(buf, 8, &0u32.to_ne_bytes());
        attr(buf, 9, &u32::MAX.to_ne_bytes());
    });
}

fn push_new_service(buf: &mut Vec<u8>, family: u16, seq: u32, addr: SocketAddrV4) {
    let start = begin(
        buf,
        family,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
        IPVS_CMD_NEW_SERVICE,
    );
    service_nest(buf, addr, b"rr\0");
    finish(buf, start);
}

fn push_new_dest(
    buf: &mut Vec<u8>,
    family: u16,
    seq: u32,
    service: SocketAddrV4,
    real: SocketAddrV4,
) {
    let start = begin(
        buf,
        family,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
        IPVS_CMD_NEW_DEST,
    );
    service_nest(buf, service, b"\0");
    nest(buf, IPVS_CMD_ATTR_DEST, |buf| {
        attr(buf, 11, &2u16.to_ne_bytes()); // ADDR_FAMILY
        attr(buf, 1, &addr16(*real.ip()));
        attr(buf, 2, &real.port().to_be_bytes());
        attr(buf, 3, &0u32.to_ne_bytes()); // FWD_METHOD masq
        attr(buf, 4, &1u32.to_ne_bytes()); // WEIGHT
        attr(buf, 13, &[0]); // TUN_TYPE
        attr(buf, 14, &0u16.to_ne_bytes()); // TUN_PORT
        attr(buf, 15, &0u16.to_ne_bytes()); // TUN_FLAGS
        attr(buf, 5, &0u32.to_ne_bytes()); // U_THRESH
        attr(buf, 6, &0u32.to_ne_bytes()); // L_THRESH
    });
    finish(buf, start);
}

/// Netlink messages of a datagram: (type, payload after the 16-byte header).
fn frames(mut datagram: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = u32::from_ne_bytes(datagram.get(..4)?.try_into().ok()?) as usize;
        if len < 16 || len > datagram.len() {
            return None;
        }
        let kind = u16::from_ne_bytes([datagram[4], datagram[5]]);
        let payload = &datagram[16..len];
        datagram = datagram.get(len.next_multiple_of(4)..).unwrap_or_default();
        Some((kind, payload))
    })
}

/// Attributes of a buffer: (type without flags, value).
fn attrs(mut buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = u16::from_ne_bytes(buf.get(..2)?.try_into().ok()?) as usize;
        if len < 4 || len > buf.len() {
            return None;
        }
        let kind = u16::from_ne_bytes([buf[2], buf[3]]) & 0x3fff;
        let value = &buf[4..len];
        buf = buf.get(len.next_multiple_of(4)..).unwrap_or_default();
        Some((kind, value))
    })
}

struct Raw {
    socket: Socket,
    recv_buf: Vec<u8>,
    family: u16,
    seq: u32,
}

impl Raw {
    fn connect() -> Result<Raw, Error> {
        let mut socket = Socket::new(NETLINK_GENERIC)?;
        socket.bind_auto()?;
        socket.connect(&NetlinkAddr::new(0, 0))?;
        socket.set_cap_ack(true)?;
        socket.set_rx_buf_sz(SOCKET_RCVBUF)?;
        let mut raw = Raw {
            socket,
            recv_buf: Vec::with_capacity(RECV_LEN),
            family: 0,
            seq: 1,
        };
        let mut buf = Vec::new();
        let start = begin(
            &mut buf,
            GENL_ID_CTRL,
            NLM_F_REQUEST,
            raw.seq,
            CTRL_CMD_GETFAMILY,
        );
        attr(&mut buf, CTRL_ATTR_FAMILY_NAME, b"IPVS\0");
        finish(&mut buf, start);
        raw.socket.send(&buf, 0)?;
        raw.recv()?;
        for (kind, payload) in frames(&raw.recv_buf) {
            if kind == GENL_ID_CTRL {
                for (attr, value) in attrs(payload.get(4..).unwrap_or_default()) {
                    if attr == CTRL_ATTR_FAMILY_ID && value.len() >= 2 {
                        raw.family = u16::from_ne_bytes([value[0], value[1]]);
                    }
                }
            }
        }
        if raw.family == 0 {
            return Err("IPVS family not found".into());
        }
        Ok(raw)
    }

    fn recv(&mut self) -> Result<(), Error> {
        self.recv_buf.clear();
        self.socket.recv(&mut self.recv_buf, 0)?;
        Ok(())
    }

    /// Sends a window and reads its `count` acks; returns the error count.
    fn send_window(&mut self, buf: &[u8], count: usize) -> Result<usize, Error> {
        self.socket.send(buf, 0)?;
        let (mut acks, mut errors) = (0, 0);
        while acks < count {
            self.recv()?;
            for (kind, payload) in frames(&self.recv_buf) {
                if kind == NLMSG_ERROR {
                    acks += 1;
                    if payload.get(..4) != Some(&[0, 0, 0, 0]) {
                        errors += 1;
                    }
                }
            }
        }
        Ok(errors)
    }

    /// Sends one dump request and reads until `NLMSG_DONE`, calling `each`
    /// on every data payload. Returns the number of datagrams read.
    fn dump(&mut self, buf: &[u8], mut each: impl FnMut(&[u8])) -> Result<usize, Error> {
        self.socket.send(buf, 0)?;
        let mut datagrams = 0;
        loop {
            self.recv()?;
            datagrams += 1;
            for (kind, payload) in frames(&self.recv_buf) {
                match kind {
                    NLMSG_DONE => return Ok(datagrams),
                    NLMSG_ERROR => return Err("dump failed".into()),
                    _ => each(payload),
                }
            }
        }
    }
}

fn raw_create(services: usize, reals: usize, chunk: Option<usize>) -> Result<(), Error> {
    let window = chunk.unwrap_or(WINDOW_MESSAGES).max(1);
    let start = Instant::now();
    let mut raw = Raw::connect()?;
    let family = raw.family;
    let mut buf = Vec::with_capacity(WINDOW_BYTES + 1024);
    let (mut count, mut messages, mut errors) = (0, 0, 0);
    for i in 0..services {
        for j in 0..=reals {
            let before = buf.len();
            raw.seq += 1;
            if j == 0 {
                push_new_service(&mut buf, family, raw.seq, service_addr(i));
            } else {
                push_new_dest(
                    &mut buf,
                    family,
                    raw.seq,
                    service_addr(i),
                    real_addr(i, j - 1, reals),
                );
            }
            if count > 0 && buf.len() > WINDOW_BYTES {
                let message = buf.split_off(before);
                errors += raw.send_window(&buf, count)?;
                buf.clear();
                buf.extend_from_slice(&message);
                count = 0;
            }
            count += 1;
            messages += 1;
            if count == window {
                errors += raw.send_window(&buf, count)?;
                buf.clear();
                count = 0;
            }
        }
    }
    if count > 0 {
        errors += raw.send_window(&buf, count)?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!("RESULT raw create {elapsed:.3} messages={messages} errors={errors} chunk={window}");
    Ok(())
}

fn raw_dump() -> Result<(), Error> {
    let start = Instant::now();
    let mut raw = Raw::connect()?;
    let family = raw.family;
    let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP;
    let mut buf = Vec::new();
    raw.seq += 1;
    let msg = begin(&mut buf, family, flags, raw.seq, IPVS_CMD_GET_SERVICE);
    finish(&mut buf, msg);
    // Keep each service's key attributes (AF, protocol, address, port) for
    // its destination dump.
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut datagrams = raw.dump(&buf, |payload| {
        let mut key = Vec::new();
        for (_, service) in attrs(payload.get(4..).unwrap_or_default()) {
            for (kind, value) in attrs(service) {
                if (1..=4).contains(&kind) {
                    attr(&mut key, kind, value);
                }
            }
        }
        keys.push(key);
    })?;
    let mut dests = 0;
    for key in &keys {
        buf.clear();
        raw.seq += 1;
        let msg = begin(&mut buf, family, flags, raw.seq, IPVS_CMD_GET_DEST);
        nest(&mut buf, IPVS_CMD_ATTR_SERVICE, |buf| {
            buf.extend_from_slice(key)
        });
        finish(&mut buf, msg);
        datagrams += raw.dump(&buf, |_| dests += 1)?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "RESULT raw dump {elapsed:.3} services={} reals={dests} datagrams={datagrams}",
        keys.len()
    );
    Ok(())
}

/// The last request of a capture file, as bytes.
fn captured_request(capture: &str) -> Vec<u8> {
    let line = capture.lines().rfind(|l| l.starts_with("> "));
    let hex = line.unwrap_or_default().trim_start_matches("> ");
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or_default())
        .collect()
}

/// Checks the hand-built messages against ipvsadm's (type, seq and port id
/// zeroed).
fn raw_selftest() -> Result<(), Error> {
    let service = SocketAddrV4::new(Ipv4Addr::new(10, 96, 197, 40), 8000);
    let real = SocketAddrV4::new(Ipv4Addr::new(10, 244, 1, 2), 80);
    let cases = [
        (include_str!("../tests/captures/01-add-service-tcp.hex"), {
            let mut buf = Vec::new();
            push_new_service(&mut buf, 0, 0, service);
            buf
        }),
        (include_str!("../tests/captures/08-add-dest-masq.hex"), {
            let mut buf = Vec::new();
            push_new_dest(&mut buf, 0, 0, service, real);
            buf
        }),
    ];
    for (capture, built) in cases {
        let mut expected = captured_request(capture);
        if expected.len() < 16 {
            return Err("capture without request".into());
        }
        expected[4..6].fill(0);
        expected[8..16].fill(0);
        if expected != built {
            return Err(format!("raw message differs:\n{expected:02x?}\n{built:02x?}").into());
        }
    }
    println!("raw messages match the captures");
    Ok(())
}
