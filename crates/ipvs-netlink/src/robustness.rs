//! No panic on hostile kernel bytes: truncated, mutated and random
//! datagrams go through every reply parser.

use crate::{
    Family, ForwardMethod, Info, RealServer, Scheduler, ServiceFlags, ServiceKey, Timeouts, Tunnel,
    TunnelType, VirtualService,
    fuzzing::parse_datagram,
    genl::{self, Frame, Reply, push_request},
    packet::{
        DestinationAttribute, IpvsAttribute, IpvsCmd, IpvsMessage, ServiceAttribute,
        Stats64Attribute, StatsAttribute,
    },
};

const FAMILY: u16 = 0x25;

use test_support::rng::Rng;

/// The service and the real server the seeds carry.
fn seed_objects() -> (VirtualService, RealServer) {
    let svc = VirtualService::new(
        ServiceKey::tcp("10.0.0.1:80".parse().unwrap()),
        Scheduler::SH,
    )
    .persistent(300)
    .with_flags(ServiceFlags::SH_PORT)
    .with_pe_name("sip");
    let tunnel = Tunnel::new(TunnelType::Gue, 6080, Tunnel::CSUM);
    let rs = RealServer::new(
        "[2001:db8::2]:80".parse().unwrap(),
        ForwardMethod::Tunnel(tunnel),
        3,
    );
    (svc, rs)
}

/// Well-formed reply datagrams built with the crate's own encoders: a
/// service, a real server, the info, the timeouts, an error with an
/// extended ack and a DONE, one message each, then all six in one.
fn seeds() -> Vec<Vec<u8>> {
    let (svc, rs) = seed_objects();
    let mut svc_attrs = svc.to_attributes();
    svc_attrs.push(ServiceAttribute::Stats(Box::new(
        [
            StatsAttribute::Conns(1),
            StatsAttribute::InBytes(2),
            StatsAttribute::OutBps(3),
        ]
        .into_iter()
        .collect(),
    )));
    svc_attrs.push(ServiceAttribute::Stats64(Box::new(
        [Stats64Attribute::Conns(1), Stats64Attribute::OutBytes(9)]
            .into_iter()
            .collect(),
    )));
    let mut rs_attrs = rs.to_attributes();
    rs_attrs.push(DestinationAttribute::ActiveConns(4));
    rs_attrs.push(DestinationAttribute::Stats64(Box::new(
        [Stats64Attribute::InPkts(5)].into_iter().collect(),
    )));
    let messages = [
        IpvsMessage::new(IpvsCmd::NewService, vec![IpvsAttribute::Service(svc_attrs)]),
        IpvsMessage::new(IpvsCmd::NewDest, vec![IpvsAttribute::Destination(rs_attrs)]),
        IpvsMessage::new(
            IpvsCmd::SetInfo,
            vec![
                IpvsAttribute::InfoVersion(0x010201),
                IpvsAttribute::InfoConnTableSize(4096),
            ],
        ),
        IpvsMessage::new(
            IpvsCmd::SetConfig,
            vec![
                IpvsAttribute::TimeoutTcp(900),
                IpvsAttribute::TimeoutTcpFin(120),
                IpvsAttribute::TimeoutUdp(300),
            ],
        ),
    ];
    let mut seeds = Vec::new();
    let mut all = Vec::new();
    for (seq, msg) in messages.into_iter().enumerate() {
        let mut one = Vec::new();
        push_request(&mut one, FAMILY, 2, seq as u32, msg);
        all.extend_from_slice(&one);
        seeds.push(one);
    }
    // An error (EINVAL) with an extended ack ("bad"), and a DONE.
    let mut nack = vec![0u8; 0];
    let payload: Vec<u8> = (-22i32)
        .to_ne_bytes()
        .into_iter()
        .chain([20, 0, 0, 0, 0x25, 0, 5, 0, 9, 0, 0, 0, 0, 0, 0, 0])
        .chain([8, 0, 1, 0, b'b', b'a', b'd', 0])
        .collect();
    nack.extend(((16 + payload.len()) as u32).to_ne_bytes());
    nack.extend(2u16.to_ne_bytes());
    nack.extend((0x100u16 | 0x200).to_ne_bytes());
    nack.extend([9, 0, 0, 0, 0, 0, 0, 0]);
    nack.extend(payload);
    all.extend_from_slice(&nack);
    seeds.push(nack);
    let done = vec![20, 0, 0, 0, 3, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    all.extend_from_slice(&done);
    seeds.push(done);
    seeds.push(all);
    seeds
}

/// Every frame of `datagram`, decoded (each must decode).
fn replies(datagram: &[u8], family_id: u16) -> Vec<Reply> {
    genl::frames(datagram)
        .map(|frame| genl::decode(&frame.expect("frame"), family_id).expect("decodes"))
        .collect()
}

/// A service read both ways: straight from the bytes (as `IpvsHandle`
/// reads a dump) and through `IpvsMessage`; both must succeed and agree.
fn service_both_ways(frame: &Frame<'_>, family_id: u16) -> VirtualService {
    let direct = genl::decode_with(frame, family_id, |attrs, header| {
        VirtualService::from_message_bytes(attrs, IpvsCmd::from(header.cmd))
    });
    let Ok(Reply::Data(direct)) = direct else {
        panic!("direct service decoding: {direct:?}");
    };
    let Ok(Reply::Data(msg)) = genl::decode(frame, family_id) else {
        panic!("not a data message");
    };
    let reference = VirtualService::from_message(&msg).expect("service via IpvsMessage");
    // Every field compared, counters included.
    assert_eq!(format!("{direct:?}"), format!("{reference:?}"));
    direct
}

/// A real server read both ways, as [`service_both_ways`].
fn real_server_both_ways(frame: &Frame<'_>, family_id: u16, family: Family) -> RealServer {
    let direct = genl::decode_with(frame, family_id, |attrs, header| {
        RealServer::from_message_bytes(attrs, IpvsCmd::from(header.cmd), family)
    });
    let Ok(Reply::Data(direct)) = direct else {
        panic!("direct real server decoding: {direct:?}");
    };
    let Ok(Reply::Data(msg)) = genl::decode(frame, family_id) else {
        panic!("not a data message");
    };
    let reference = RealServer::from_message(&msg, family).expect("real server via IpvsMessage");
    assert_eq!(format!("{direct:?}"), format!("{reference:?}"));
    direct
}

/// What `ipvsadm` printed with a capture (its `# out:` lines): the
/// services (`TCP 10.96.0.10:53`, `FWM 200 IPv6`) and the real servers'
/// addresses, each sorted.
fn listed(text: &str) -> (Vec<String>, Vec<String>) {
    let (mut services, mut servers) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let Some(out) = line.strip_prefix("# out:") else {
            continue;
        };
        let words: Vec<&str> = out.split_whitespace().collect();
        match words.as_slice() {
            ["->", "RemoteAddress:Port", ..] => {}
            ["->", addr, ..] => servers.push(addr.to_string()),
            ["FWM", mark, "IPv6", ..] => services.push(format!("FWM {mark} IPv6")),
            [proto @ ("TCP" | "UDP" | "SCTP" | "FWM"), key, ..] => {
                services.push(format!("{proto} {key}"))
            }
            _ => {}
        }
    }
    services.sort();
    servers.sort();
    (services, servers)
}

/// The kernel's own dump replies (captured from ipvsadm on a 6.1 kernel,
/// IPVS family 0x20): every frame decodes, both typed decoding paths give
/// the same services and real servers, and those are what `ipvsadm`
/// printed.
#[test]
fn captured_dumps_decode_the_same_both_ways() {
    for text in [
        include_str!("../tests/captures/19-list.hex"),
        include_str!("../tests/captures/20-list-stats.hex"),
    ] {
        let (mut services, mut servers) = (Vec::new(), Vec::new());
        for line in text.lines() {
            let Some(hex) = line.strip_prefix("< ") else {
                continue;
            };
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            for (frame, reply) in genl::frames(&bytes).zip(replies(&bytes, 0x20)) {
                let frame = frame.expect("frame");
                match reply {
                    Reply::Data(msg) if msg.cmd == IpvsCmd::NewService => {
                        services.push(service_both_ways(&frame, 0x20).key.to_string())
                    }
                    // The kernel sends the destination's family: the
                    // one given is not used.
                    Reply::Data(msg) if msg.cmd == IpvsCmd::NewDest => {
                        let server = real_server_both_ways(&frame, 0x20, Family::Inet);
                        servers.push(server.addr.to_string())
                    }
                    _ => {}
                }
            }
        }
        services.sort();
        servers.sort();
        let (want_services, want_servers) = listed(text);
        assert_eq!(want_services.len(), 7);
        assert_eq!(want_servers.len(), 9);
        assert_eq!((services, servers), (want_services, want_servers));
    }
}

/// The seeds decode to what was encoded, on both typed paths, alone and
/// all in one datagram.
#[test]
fn seeds_parse() {
    let seeds = seeds();
    let all = replies(&seeds[6], FAMILY);
    assert_eq!(all.len(), 6, "{all:?}");
    for (n, seed) in seeds[..6].iter().enumerate() {
        assert_eq!(replies(seed, FAMILY), [all[n].clone()], "seed {n}");
    }
    let frames: Vec<_> = genl::frames(&seeds[6]).map(|f| f.expect("frame")).collect();
    let (svc, rs) = seed_objects();

    let service = service_both_ways(&frames[0], FAMILY);
    assert!(service.same_config(&svc), "{service:?}");
    let stats = service.stats.expect("stats");
    // The 64-bit counters win over the 32-bit ones.
    assert_eq!((stats.conns, stats.in_bytes, stats.out_bytes), (1, 0, 9));

    let server = real_server_both_ways(&frames[1], FAMILY, Family::Inet6);
    assert!(server.same_config(&rs), "{server:?}");
    assert_eq!(server.active_conns, 4);
    assert_eq!(server.stats.expect("stats").in_packets, 5);

    let data = |reply: &Reply| match reply {
        Reply::Data(msg) => msg.clone(),
        other => panic!("{other:?}"),
    };
    let info = Info::from_message(&data(&all[2])).expect("info");
    assert_eq!(
        (info.version_triple(), info.conn_table_size),
        ((1, 2, 1), 4096)
    );
    let timeouts = Timeouts::from_message(&data(&all[3]));
    assert_eq!(timeouts, Timeouts::new(900, 120, 300));
    match &all[4] {
        Reply::Failed(err) => {
            assert_eq!((err.errno, err.message.as_deref()), (22, Some("bad")))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(all[5], Reply::Done);
    // And parse_datagram (the fuzz check) agrees with itself on all of them.
    for seed in &seeds {
        parse_datagram(seed, FAMILY);
    }
}

#[test]
fn truncated_datagrams_do_not_panic() {
    for seed in seeds() {
        for len in 0..=seed.len() {
            parse_datagram(&seed[..len], FAMILY);
            // A truncated tail with a length field patched to fit.
            let mut patched = seed[..len].to_vec();
            if patched.len() >= 4 {
                patched[..4].copy_from_slice(&(len as u32).to_ne_bytes());
            }
            parse_datagram(&patched, FAMILY);
        }
    }
}

#[test]
fn mutated_datagrams_do_not_panic() {
    for seed in seeds() {
        for index in 0..seed.len() {
            for value in [0x00, 0x01, 0x03, 0x04, 0x07, 0x0b, 0x7f, 0x80, 0xfe, 0xff] {
                let mut mutated = seed.clone();
                mutated[index] = value;
                parse_datagram(&mutated, FAMILY);
            }
        }
    }
}

#[test]
fn random_mutations_do_not_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let seeds = seeds();
    for _ in 0..20_000 {
        let mut data = seeds[rng.below(seeds.len())].clone();
        for _ in 0..=rng.below(8) {
            match rng.below(4) {
                0 if !data.is_empty() => {
                    let at = rng.below(data.len());
                    data[at] = rng.next_u64() as u8;
                }
                1 if !data.is_empty() => {
                    let at = rng.below(data.len());
                    data.truncate(at);
                }
                2 => {
                    let at = rng.below(data.len() + 1);
                    data.insert(at, rng.next_u64() as u8);
                }
                _ if data.len() >= 2 => {
                    let at = rng.below(data.len() - 1);
                    let value = (rng.below(64) as u16).to_ne_bytes();
                    data[at] = value[0];
                    data[at + 1] = value[1];
                }
                _ => {}
            }
        }
        parse_datagram(&data, FAMILY);
    }
}

#[test]
fn random_bytes_do_not_panic() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..20_000 {
        let len = rng.below(256);
        let mut data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        // Give some of them a plausible header so the attribute parsers run.
        if data.len() >= 20 && rng.below(2) == 0 {
            let len = data.len() as u32;
            data[..4].copy_from_slice(&len.to_ne_bytes());
            data[4..6].copy_from_slice(&FAMILY.to_ne_bytes());
            data[16] = (rng.below(18)) as u8;
        }
        parse_datagram(&data, FAMILY);
    }
}
