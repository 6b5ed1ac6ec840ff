//! Byte vectors from the real `ipvsadm` talking to a real 6.1 kernel
//! (`tests/capture.sh`, run in the test VM; one datagram a line, `>` sent,
//! `<` received). For every request ipvsadm sent, the typed command written
//! here by hand from ipvsadm's command line must encode to the same bytes
//! and parse back to the same value; the kernel's replies must parse to the
//! table ipvsadm printed. The only difference allowed is `nlmsg_pid`, which
//! ipvsadm sets and we leave to the kernel (0); it is zeroed before
//! comparing.

use std::net::SocketAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};

use crate::{
    Command, DaemonState, Family, ForwardMethod, IpvsError, Netmask, RealServer, Scheduler,
    ServiceFlags, ServiceKey, SyncDaemon, Timeouts, Tunnel, TunnelType, VirtualService,
    command::requests,
    genl::{self, Frame, Reply},
    packet::{IpvsAttribute, IpvsCmd, IpvsMessage},
};

const REQUEST: u16 = NLM_F_REQUEST | NLM_F_ACK;
const DUMP: u16 = REQUEST | NLM_F_DUMP;
const GENL_ID_CTRL: u16 = 0x10;

/// One captured ipvsadm run: each datagram it sent with the datagrams it
/// received before sending the next. (libipvs opens a socket per call, so
/// sequence numbers repeat within a run; order is what pairs them.)
struct Capture {
    name: &'static str,
    exchanges: Vec<(Vec<u8>, Vec<Vec<u8>>)>,
}

macro_rules! captures {
    ($($file:literal),* $(,)?) => {
        [$(($file, include_str!(concat!("../tests/captures/", $file, ".hex")))),*]
    };
}

fn all() -> Vec<Capture> {
    captures!(
        "01-add-service-tcp",
        "02-add-service-udp-persistent",
        "03-add-service-sctp-sh",
        "04-add-service-fwmark-mh",
        "05-add-service-fwmark6",
        "06-add-service-tcp6",
        "07-add-service-udp6-ops",
        "08-add-dest-masq",
        "09-add-dest-masq2",
        "10-add-dest-local",
        "11-add-dest-masq6",
        "12-add-dest-droute-thresh",
        "13-add-dest-tunnel-gue",
        "14-add-dest-tunnel-ipip",
        "15-add-dest-sctp",
        "16-add-dest-fwmark6",
        "17-edit-service",
        "18-edit-dest",
        "19-list",
        "20-list-stats",
        "21-get-service",
        "22-set-timeouts",
        "23-get-timeouts",
        "24-zero-service",
        "25-zero-all",
        "26-err-service-exists",
        "27-err-service-missing",
        "28-err-unknown-scheduler",
        "29-err-dest-exists",
        "30-err-dest-missing",
        "31-del-dest",
        "32-del-service",
        "33-flush",
        "34-start-daemon-master",
        "35-start-daemon-backup",
        "36-list-daemons",
        "37-err-daemon-exists",
        "38-stop-daemon-master",
        "39-stop-daemon-backup",
        "40-list-no-daemons",
    )
    .into_iter()
    .map(|(name, text)| {
        let mut capture = Capture {
            name,
            exchanges: vec![],
        };
        for line in text.lines() {
            let hex = |s: &str| -> Vec<u8> {
                (0..s.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
                    .collect()
            };
            if let Some(h) = line.strip_prefix("> ") {
                capture.exchanges.push((hex(h), vec![]));
            } else if let Some(h) = line.strip_prefix("< ") {
                capture
                    .exchanges
                    .last_mut()
                    .expect("a reply after a request")
                    .1
                    .push(hex(h));
            }
        }
        capture
    })
    .collect()
}

fn capture(name: &str) -> Capture {
    all()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no capture {name}"))
}

fn frames(datagram: &[u8]) -> Vec<Frame<'_>> {
    genl::frames(datagram).map(|f| f.expect("frame")).collect()
}

/// A sent datagram with every message's `nlmsg_pid` zeroed.
fn without_pid(datagram: &[u8]) -> Vec<u8> {
    let mut out = datagram.to_vec();
    let mut at = 0;
    while at + 16 <= out.len() {
        let len = u32::from_ne_bytes(out[at..at + 4].try_into().unwrap()) as usize;
        out[at + 12..at + 16].fill(0);
        at += (len + 3) & !3;
    }
    out
}

impl Capture {
    /// The IPVS family id ipvsadm resolved.
    fn family_id(&self) -> u16 {
        self.exchanges
            .iter()
            .flat_map(|(_, received)| received.iter().flat_map(|d| frames(d)))
            .find(|f| f.message_type == GENL_ID_CTRL)
            .map(|f| genl::decode_family_id(&f).expect("family id"))
            .expect("a CTRL_CMD_GETFAMILY reply")
    }

    /// The IPVS requests ipvsadm sent (not the nlctrl ones), one datagram
    /// each, with the replies to each, decoded.
    fn requests(&self) -> Vec<(&[u8], Vec<Reply>)> {
        let id = self.family_id();
        self.exchanges
            .iter()
            .filter(|(sent, _)| frames(sent)[0].message_type == id)
            .map(|(sent, received)| {
                let replies = received
                    .iter()
                    .flat_map(|d| frames(d))
                    .map(|f| genl::decode(&f, id).expect("reply"))
                    .collect();
                (sent.as_slice(), replies)
            })
            .collect()
    }

    /// Asserts that the requests ipvsadm sent are, in order, exactly
    /// `expected` (message, flags), byte for byte, and that each parses back
    /// to its message. Returns the replies to each.
    fn assert_requests(&self, expected: &[(IpvsMessage, u16)]) -> Vec<Vec<Reply>> {
        let id = self.family_id();
        let sent = self.requests();
        assert_eq!(
            sent.len(),
            expected.len(),
            "{}: number of requests",
            self.name
        );
        let mut replies = vec![];
        for ((raw, reply), (message, flags)) in sent.into_iter().zip(expected) {
            let seq = frames(raw)[0].seq;
            let mut ours = vec![];
            genl::push_request(&mut ours, id, *flags, seq, message.clone());
            assert_eq!(ours, without_pid(raw), "{}: emit {message:?}", self.name);
            assert_eq!(&sent_message(raw, id), message, "{}: parse", self.name);
            replies.push(reply);
        }
        replies
    }

    /// For a capture of one mutation (ipvsadm asks GET_INFO first): bytes
    /// both ways, then the kernel's answer (None = ACK).
    fn assert_command(&self, command: &Command) -> Option<IpvsError> {
        let replies = self.assert_requests(&[
            (requests::get_info(), REQUEST),
            (command.to_message(), REQUEST),
        ]);
        let replies = &replies[1];
        assert_eq!(replies.len(), 1, "{}: {replies:?}", self.name);
        match replies.first() {
            Some(Reply::Ack) => None,
            Some(Reply::Failed(failure)) => Some(command.error(failure.clone())),
            other => panic!("{}: {other:?}", self.name),
        }
    }

    /// The message of the last request (the command of a mutation run).
    fn last_request(&self) -> IpvsMessage {
        let id = self.family_id();
        let requests = self.requests();
        sent_message(requests.last().expect("a request").0, id)
    }
}

/// Parses a sent request as the kernel would.
fn sent_message(raw: &[u8], family_id: u16) -> IpvsMessage {
    match genl::decode(&frames(raw)[0], family_id).expect("parse") {
        Reply::Data(m) => m,
        other => panic!("{other:?}"),
    }
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn tcp_demo() -> ServiceKey {
    ServiceKey::tcp(sa("10.96.197.40:8000"))
}

fn udp_dns() -> ServiceKey {
    ServiceKey::udp(sa("10.96.0.10:53"))
}

fn sctp() -> ServiceKey {
    ServiceKey::sctp(sa("10.0.0.3:3868"))
}

fn tcp6() -> ServiceKey {
    ServiceKey::tcp(sa("[fd00::1]:80"))
}

/// The services of captures 01-07, as ipvsadm's command lines say.
fn services() -> Vec<VirtualService> {
    vec![
        VirtualService::new(tcp_demo(), Scheduler::RR),
        VirtualService::new(udp_dns(), Scheduler::WLC)
            .persistent(300)
            .with_netmask(Netmask::Ipv4("255.255.255.0".parse().unwrap()))
            .with_flags(ServiceFlags::PERSISTENT | ServiceFlags::ONE_PACKET),
        VirtualService::new(sctp(), Scheduler::SH)
            .with_flags(ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT),
        VirtualService::new(ServiceKey::fwmark(Family::Inet, 100), Scheduler::MH)
            .with_flags(ServiceFlags::MH_PORT),
        VirtualService::new(ServiceKey::fwmark(Family::Inet6, 200), Scheduler::WRR).persistent(360),
        VirtualService::new(tcp6(), Scheduler::LC)
            .persistent(60)
            .with_netmask(Netmask::Ipv6Prefix(64)),
        VirtualService::new(ServiceKey::udp(sa("[fd00::2]:53")), Scheduler::RR)
            .with_flags(ServiceFlags::ONE_PACKET),
    ]
}

/// The real servers of captures 08-16.
fn real_servers() -> Vec<(ServiceKey, RealServer)> {
    vec![
        (
            tcp_demo(),
            RealServer::new(sa("10.244.1.2:80"), ForwardMethod::Masq, 1),
        ),
        (
            tcp_demo(),
            RealServer::new(sa("10.244.1.3:80"), ForwardMethod::Masq, 1),
        ),
        (
            tcp_demo(),
            RealServer::new(sa("127.0.0.1:8000"), ForwardMethod::DirectRoute, 1),
        ),
        (
            tcp6(),
            RealServer::new(sa("[fd00::10]:8080"), ForwardMethod::Masq, 2),
        ),
        (
            ServiceKey::fwmark(Family::Inet, 100),
            RealServer::new(sa("10.244.2.1:0"), ForwardMethod::DirectRoute, 3)
                .with_thresholds(100, 10),
        ),
        (
            udp_dns(),
            RealServer::new(
                sa("10.244.2.2:53"),
                ForwardMethod::Tunnel(Tunnel::new(TunnelType::Gue, 6080, 0)),
                1,
            ),
        ),
        (
            udp_dns(),
            RealServer::new(
                sa("10.244.2.3:53"),
                ForwardMethod::Tunnel(Tunnel::new(TunnelType::Ipip, 0, 0)),
                4,
            ),
        ),
        (
            sctp(),
            RealServer::new(sa("10.244.2.4:3868"), ForwardMethod::Masq, 1),
        ),
        (
            ServiceKey::fwmark(Family::Inet6, 200),
            RealServer::new(sa("[fd00::20]:0"), ForwardMethod::DirectRoute, 1),
        ),
    ]
}

#[test]
fn family_is_resolved_like_ipvsadm() {
    for c in all() {
        let ctrl: Vec<_> = c
            .exchanges
            .iter()
            .map(|(sent, _)| sent)
            .filter(|d| frames(d)[0].message_type == GENL_ID_CTRL)
            .collect();
        assert!(!ctrl.is_empty(), "{}", c.name);
        for raw in ctrl {
            let seq = frames(raw)[0].seq;
            let mut ours = vec![];
            genl::push_get_family(&mut ours, REQUEST, seq, "IPVS");
            // The one byte allowed to differ: the genl header's version.
            // libnl sends nlctrl version 1, netlink-packet-generic the
            // current version 2; the kernel takes both.
            let mut theirs = without_pid(raw);
            assert_eq!((theirs[17], ours[17]), (1, 2), "{}", c.name);
            theirs[17] = 2;
            assert_eq!(ours, theirs, "{}", c.name);
        }
        assert_ne!(c.family_id(), 0);
    }
}

#[test]
fn add_services() {
    let captures: Vec<_> = all()
        .into_iter()
        .filter(|c| c.name.contains("-add-service-"))
        .collect();
    assert_eq!(captures.len(), services().len());
    for (c, service) in captures.iter().zip(services()) {
        let name = c.name;
        assert!(
            c.assert_command(&Command::AddService(service.clone()))
                .is_none(),
            "{name}"
        );
        assert_eq!(
            VirtualService::from_message(&c.last_request()).unwrap(),
            service,
            "{name}"
        );
    }
}

#[test]
fn add_real_servers() {
    let captures: Vec<_> = all()
        .into_iter()
        .filter(|c| c.name.contains("-add-dest-"))
        .collect();
    assert_eq!(captures.len(), real_servers().len());
    for (c, (key, rs)) in captures.iter().zip(real_servers()) {
        let name = c.name;
        assert!(
            c.assert_command(&Command::AddRealServer(key, rs.clone()))
                .is_none(),
            "{name}"
        );
        assert_eq!(
            RealServer::from_message(&c.last_request(), key.family()).unwrap(),
            rs,
            "{name}"
        );
    }
}

#[test]
fn other_mutations() {
    let mut edited = VirtualService::new(tcp_demo(), Scheduler::WRR);
    edited.netmask = Netmask::full(Family::Inet);
    let cases = [
        ("17-edit-service", Command::UpdateService(edited)),
        (
            "18-edit-dest",
            Command::UpdateRealServer(
                tcp_demo(),
                RealServer::new(sa("10.244.1.2:80"), ForwardMethod::Masq, 0),
            ),
        ),
        (
            "22-set-timeouts",
            Command::SetTimeouts(Timeouts::new(900, 120, 300)),
        ),
        ("24-zero-service", Command::Zero(Some(tcp_demo()))),
        ("25-zero-all", Command::Zero(None)),
        (
            "31-del-dest",
            Command::DeleteRealServer(tcp_demo(), sa("10.244.1.3:80")),
        ),
        ("32-del-service", Command::DeleteService(tcp_demo())),
        ("33-flush", Command::Flush),
    ];
    for (name, command) in cases {
        let err = capture(name).assert_command(&command);
        assert!(err.is_none(), "{name}: {err:?}");
    }
}

#[test]
fn kernel_errors_get_their_meaning() {
    let missing = ServiceKey::tcp(sa("10.9.9.9:1"));
    let c = capture("26-err-service-exists");
    let err = c.assert_command(&Command::AddService(VirtualService::new(
        udp_dns(),
        Scheduler::RR,
    )));
    assert!(
        matches!(err, Some(IpvsError::ServiceExists(k)) if k == udp_dns()),
        "{err:?}"
    );

    let err = capture("27-err-service-missing").assert_command(&Command::DeleteService(missing));
    assert!(
        matches!(err, Some(IpvsError::ServiceNotFound(k)) if k == missing),
        "{err:?}"
    );

    let err = capture("28-err-unknown-scheduler").assert_command(&Command::AddService(
        VirtualService::new(missing, Scheduler::new("nosuch")),
    ));
    assert!(
        matches!(&err, Some(IpvsError::UnknownScheduler { name, .. }) if name == "nosuch"),
        "{err:?}"
    );

    let err = capture("29-err-dest-exists").assert_command(&Command::AddRealServer(
        tcp_demo(),
        RealServer::new(sa("10.244.1.3:80"), ForwardMethod::Masq, 1),
    ));
    assert!(
        matches!(err, Some(IpvsError::RealServerExists { .. })),
        "{err:?}"
    );

    let err = capture("30-err-dest-missing")
        .assert_command(&Command::DeleteRealServer(tcp_demo(), sa("10.244.9.9:80")));
    assert!(
        matches!(err, Some(IpvsError::RealServerNotFound { .. })),
        "{err:?}"
    );
}

/// `ipvsadm -Ln` and `--stats`: GET_INFO, one service dump, one
/// destination dump per service; the dumps parse to the table built by
/// captures 01-18.
#[test]
fn list_dumps() {
    for name in ["19-list", "20-list-stats"] {
        let c = capture(name);
        let requests = c.requests();
        // The service dump's replies give the services, which give the
        // expected destination dump requests, in ipvsadm's sort order.
        let mut dumped_services = vec![];
        for reply in &requests[1].1 {
            match reply {
                Reply::Data(m) if m.cmd == IpvsCmd::NewService => {
                    dumped_services.push(VirtualService::from_message(m).unwrap())
                }
                Reply::Done => {}
                other => panic!("{name}: {other:?}"),
            }
        }
        let mut sorted = crate::Table::new(
            crate::Info::new(0, 0),
            dumped_services
                .iter()
                .map(|s| crate::TableEntry::new(s.clone(), vec![]))
                .collect(),
        );
        sorted.sort_like_ipvsadm();
        let dumped_services: Vec<_> = sorted.entries.into_iter().map(|e| e.service).collect();
        let mut expected = vec![
            (requests::get_info(), REQUEST),
            (requests::dump_services(), DUMP),
        ];
        expected.extend(
            dumped_services
                .iter()
                .map(|s| (requests::dump_destinations(&s.key), DUMP)),
        );
        let replies = c.assert_requests(&expected);

        let mut want = services();
        want[0].scheduler = Scheduler::WRR;
        assert_eq!(dumped_services.len(), want.len(), "{name}");
        for w in &want {
            let got = dumped_services
                .iter()
                .find(|s| s.key == w.key)
                .expect("dumped");
            assert!(got.same_config(w), "{name}: {got:?} vs {w:?}");
            assert!(got.stats.is_some(), "{name}: stats");
        }

        let mut want_rs = real_servers();
        want_rs[0].1.weight = 0;
        for (service, replies) in dumped_services.iter().zip(&replies[2..]) {
            let mut got = vec![];
            for reply in replies {
                match reply {
                    Reply::Data(m) => {
                        got.push(RealServer::from_message(m, service.key.family()).unwrap())
                    }
                    Reply::Done => {}
                    other => panic!("{name}: {other:?}"),
                }
            }
            let want: Vec<_> = want_rs
                .iter()
                .filter(|(k, _)| *k == service.key)
                .map(|(_, r)| r.clone())
                .collect();
            assert_eq!(got.len(), want.len(), "{name}: {}", service.key);
            for w in &want {
                assert!(
                    got.iter().any(|g| g.same_config(w)),
                    "{name}: {w:?} not in {got:?}"
                );
            }
        }
        let info = match &replies[0][0] {
            Reply::Data(m) => crate::Info::from_message(m).unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            (info.version_triple(), info.conn_table_size),
            ((1, 2, 1), 4096)
        );
    }
}

#[test]
fn get_service_and_timeouts() {
    let c = capture("21-get-service");
    let replies = c.assert_requests(&[
        (requests::get_info(), REQUEST),
        (requests::get_service(&tcp_demo()), REQUEST),
        (requests::dump_destinations(&tcp_demo()), DUMP),
    ]);
    let service = replies[1]
        .iter()
        .find_map(|r| match r {
            Reply::Data(m) => Some(VirtualService::from_message(m).unwrap()),
            _ => None,
        })
        .expect("service");
    assert!(service.same_config(&VirtualService::new(tcp_demo(), Scheduler::WRR)));

    let c = capture("23-get-timeouts");
    let replies = c.assert_requests(&[
        (requests::get_info(), REQUEST),
        (requests::get_config(), REQUEST),
    ]);
    let timeouts = replies[1]
        .iter()
        .find_map(|r| match r {
            Reply::Data(m) => Some(Timeouts::from_message(m)),
            _ => None,
        })
        .expect("config");
    assert_eq!(timeouts, Timeouts::new(900, 120, 300));
}

/// The sync daemons of captures 34 and 35, as ipvsadm's command lines say.
fn daemons() -> [SyncDaemon; 2] {
    [
        SyncDaemon::new(DaemonState::Master, "lo", 7),
        SyncDaemon::new(DaemonState::Backup, "lo", 9)
            .with_max_len(1400)
            .with_multicast("224.0.0.82".parse().unwrap(), 8849, 2),
    ]
}

#[test]
fn sync_daemons_start_and_stop_like_ipvsadm() {
    let [master, backup] = daemons();
    let cases = [
        (
            "34-start-daemon-master",
            Command::StartDaemon(master.clone()),
        ),
        (
            "35-start-daemon-backup",
            Command::StartDaemon(backup.clone()),
        ),
        (
            "38-stop-daemon-master",
            Command::StopDaemon(DaemonState::Master),
        ),
        (
            "39-stop-daemon-backup",
            Command::StopDaemon(DaemonState::Backup),
        ),
    ];
    for (name, command) in cases {
        let err = capture(name).assert_command(&command);
        assert!(err.is_none(), "{name}: {err:?}");
    }
    let c = capture("35-start-daemon-backup");
    let IpvsAttribute::Daemon(nest) = &c.last_request().attributes[0] else {
        panic!("no daemon nest");
    };
    assert_eq!(SyncDaemon::from_attributes(nest).unwrap(), backup);
    let err = capture("37-err-daemon-exists").assert_command(&Command::StartDaemon(master));
    assert!(
        matches!(err, Some(IpvsError::DaemonRunning(DaemonState::Master))),
        "{err:?}"
    );
}

/// `ipvsadm -L --daemon`: GET_INFO, then one GET_DAEMON dump, whose entries
/// parse to what ipvsadm printed (the kernel fills in the defaults).
#[test]
fn sync_daemons_list_like_ipvsadm() {
    let replies = capture("36-list-daemons").assert_requests(&[
        (requests::get_info(), REQUEST),
        (requests::dump_daemons(), DUMP),
    ]);
    let mut listed = vec![];
    for reply in &replies[1] {
        match reply {
            Reply::Data(m) if m.cmd == IpvsCmd::NewDaemon => {
                listed.push(SyncDaemon::from_message(m).unwrap())
            }
            Reply::Done => {}
            other => panic!("{other:?}"),
        }
    }
    let [master, backup] = daemons();
    let master = master
        .with_max_len(1472)
        .with_multicast("224.0.0.81".parse().unwrap(), 8848, 1);
    assert_eq!(listed, [master.clone(), backup.clone()]);
    // ipvsadm's own output, kept in the capture.
    let text = include_str!("../tests/captures/36-list-daemons.hex");
    for daemon in [master, backup] {
        let line = format!("# out: {daemon}");
        assert!(text.lines().any(|l| l == line), "{line}");
    }
    let replies = capture("40-list-no-daemons").assert_requests(&[
        (requests::get_info(), REQUEST),
        (requests::dump_daemons(), DUMP),
    ]);
    assert_eq!(replies[1], [Reply::Done]);
}
