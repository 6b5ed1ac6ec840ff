//! Byte vectors recorded from the real `ipset` 7.17 binary by
//! `tests/capture.sh` (strace hex dumps in `tests/captures/`).
//!
//! Requests: our typed request, serialised with the captured sequence
//! number (the tool's port id is 0, like ours), must equal the captured
//! bytes exactly. Replies: the captured bytes must parse to the expected
//! typed values; member lists are checked against what the tool printed.
//! Expected bytes never come from our encoder.

use std::{fs, net::IpAddr, path::PathBuf};

use ipset_netlink::{
    CreateOptions, Entry, Family, SetType, collect_sets,
    fuzzing::split_datagram,
    packet::{IpsetAttribute as A, IpsetCommand, IpsetMessage},
    request::{self, ElementOp, ListScope, Request},
};
use netlink_packet_core::NetlinkPayload;

/// The datagrams of one capture, in order.
struct Capture {
    sent: Vec<Vec<u8>>,
    received: Vec<Vec<u8>>,
    output: String,
}

/// Reads an strace log written with `-xx -e write=all -e read=all`: each
/// sendto/recvmsg line is followed by ` | OFFSET  HEX...  ASCII |` lines.
fn capture(name: &str) -> Capture {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/captures");
    let log = fs::read_to_string(dir.join(format!("{name}.strace"))).expect("capture file");
    let output = fs::read_to_string(dir.join(format!("{name}.out"))).unwrap_or_default();
    let mut cap = Capture {
        sent: Vec::new(),
        received: Vec::new(),
        output,
    };
    let mut current: Option<&mut Vec<u8>> = None;
    for line in log.lines() {
        if line.contains("sendto(") || line.contains("sendmsg(") {
            cap.sent.push(Vec::new());
            current = cap.sent.last_mut();
        } else if line.contains("recvmsg(") || line.contains("recvfrom(") {
            cap.received.push(Vec::new());
            current = cap.received.last_mut();
        } else if let Some(pos) = line.find(" | ") {
            // " | 00000  1c 00 ...  ascii |": offset (5), two spaces, 49 hex chars.
            let dump = &line[pos + 3..];
            let hex = dump
                .get(7..56)
                .unwrap_or_else(|| dump.get(7..).unwrap_or(""));
            let bytes = hex
                .split_whitespace()
                .map(|b| u8::from_str_radix(b, 16).expect("hex"));
            if let Some(buf) = current.as_deref_mut() {
                buf.extend(bytes);
            }
        }
    }
    cap
}

fn seq_of(datagram: &[u8]) -> u32 {
    u32::from_le_bytes(datagram[8..12].try_into().expect("seq"))
}

/// Asserts that `request` serialises to the captured datagram `sent`.
fn assert_request(name: &str, sent: &[u8], request: &Request) {
    let mut ours = Vec::new();
    request.write(seq_of(sent), &mut ours);
    assert_eq!(ours, sent, "{name}: request bytes differ");
}

/// The last request of the capture (the command; earlier ones are
/// PROTOCOL, TYPE or HEADER queries).
fn assert_command(name: &str, request: Request) {
    let cap = capture(name);
    assert_request(name, cap.sent.last().expect("a request"), &request);
    // Every run of the tool starts with the protocol query.
    assert_request(name, &cap.sent[0], &request::protocol(7));
}

/// The kernel error code (positive) answering the command, or 0 for ACK.
fn reply_code(name: &str) -> i32 {
    let cap = capture(name);
    let reply = cap.received.last().expect("a reply");
    let msg = split_datagram(reply)
        .next()
        .expect("message")
        .expect("parse");
    match msg.payload {
        NetlinkPayload::Error(e) => -e.code.map_or(0, |c| c.get()),
        other => panic!("{name}: not an ACK/error: {other:?}"),
    }
}

fn replies(name: &str) -> Vec<IpsetMessage> {
    capture(name)
        .received
        .iter()
        .flat_map(|d| split_datagram(d).collect::<Vec<_>>())
        .filter_map(|m| match m.expect("parse").payload {
            NetlinkPayload::InnerMessage(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn opts(family: Family) -> CreateOptions {
    CreateOptions::new(family).hashsize(1024).maxelem(65536)
}

fn entry(set_type: SetType, text: &str) -> Entry {
    Entry::parse(set_type, text).expect("entry")
}

#[test]
fn create_requests() {
    use SetType::*;
    let cases = [
        ("create-hash-ip", "t-ip", HashIp, 6, opts(Family::Inet)),
        ("create-hash-ip6", "t-ip6", HashIp, 6, opts(Family::Inet6)),
        (
            "create-hash-ipport",
            "t-ipport",
            HashIpPort,
            7,
            opts(Family::Inet),
        ),
        (
            "create-hash-ipport6",
            "t-ipport6",
            HashIpPort,
            7,
            opts(Family::Inet6),
        ),
        (
            "create-hash-ipportip",
            "t-ipportip",
            HashIpPortIp,
            6,
            opts(Family::Inet),
        ),
        (
            "create-hash-ipportnet",
            "t-ipportnet",
            HashIpPortNet,
            8,
            opts(Family::Inet),
        ),
        ("create-hash-net", "t-net", HashNet, 7, opts(Family::Inet)),
        (
            "create-bitmap-port",
            "t-port",
            BitmapPort,
            3,
            CreateOptions::default(),
        ),
        (
            "create-hash-ip-opts",
            "t-opts",
            HashIp,
            6,
            CreateOptions::new(Family::Inet)
                .hashsize(4096)
                .maxelem(100000)
                .timeout(600)
                .counters()
                .comment(),
        ),
        (
            "create-bitmap-port-opts",
            "t-port2",
            BitmapPort,
            3,
            CreateOptions::default()
                .range(1024, 2047)
                .timeout(60)
                .counters(),
        ),
        ("create-dup", "t-ip", HashIp, 6, opts(Family::Inet)),
    ];
    for (name, set, set_type, rev, options) in cases {
        assert_command(
            name,
            request::create(7, set, set_type, rev, &options, false),
        );
        // The revision query before it.
        let cap = capture(name);
        assert_request(name, &cap.sent[1], &request::type_query(7, set_type));
    }
    assert_command(
        "create-exist",
        request::create(7, "t-ip", HashIp, 6, &opts(Family::Inet), true),
    );
    assert_eq!(reply_code("create-hash-ip"), 0);
    assert_eq!(reply_code("create-dup"), 17); // EEXIST
}

#[test]
fn element_requests() {
    use ElementOp::*;
    use SetType::*;
    let cases = [
        ("add-ip", Add, "t-ip", HashIp, "10.0.0.1", false, 0),
        ("add-ip-exist", Add, "t-ip", HashIp, "10.0.0.1", true, 0),
        ("add-ip-dup", Add, "t-ip", HashIp, "10.0.0.1", false, 4103),
        ("add-ip6", Add, "t-ip6", HashIp, "fd00::1", false, 0),
        (
            "add-ipport",
            Add,
            "t-ipport",
            HashIpPort,
            "10.0.0.1,tcp:80",
            false,
            0,
        ),
        (
            "add-ipport-udp",
            Add,
            "t-ipport",
            HashIpPort,
            "10.0.0.2,udp:53",
            false,
            0,
        ),
        (
            "add-ipport-sctp",
            Add,
            "t-ipport",
            HashIpPort,
            "10.0.0.3,sctp:30000",
            false,
            0,
        ),
        (
            "add-ipport6",
            Add,
            "t-ipport6",
            HashIpPort,
            "fd00::1,udp:53",
            false,
            0,
        ),
        (
            "add-ipportip",
            Add,
            "t-ipportip",
            HashIpPortIp,
            "10.0.0.1,tcp:80,10.0.0.1",
            false,
            0,
        ),
        (
            "add-ipportnet",
            Add,
            "t-ipportnet",
            HashIpPortNet,
            "10.0.0.1,tcp:80,10.1.0.0/16",
            false,
            0,
        ),
        ("add-net", Add, "t-net", HashNet, "10.0.0.0/8", false, 0),
        ("add-port", Add, "t-port", BitmapPort, "30080", false, 0),
        ("test-ip", Test, "t-ip", HashIp, "10.0.0.1", false, 0),
        (
            "test-ip-absent",
            Test,
            "t-ip",
            HashIp,
            "10.9.9.9",
            false,
            4103,
        ),
        (
            "test-ipport",
            Test,
            "t-ipport",
            HashIpPort,
            "10.0.0.1,tcp:80",
            false,
            0,
        ),
        (
            "del-ipport",
            Del,
            "t-ipport",
            HashIpPort,
            "10.0.0.2,udp:53",
            false,
            0,
        ),
        (
            "del-ipport-missing",
            Del,
            "t-ipport",
            HashIpPort,
            "10.0.0.2,udp:53",
            false,
            4103,
        ),
        (
            "del-ipport-exist",
            Del,
            "t-ipport",
            HashIpPort,
            "10.0.0.2,udp:53",
            true,
            0,
        ),
        ("del-port", Del, "t-port", BitmapPort, "30080", false, 0),
    ];
    for (name, op, set, set_type, text, exist, code) in cases {
        let e = entry(set_type, text);
        assert_command(name, request::element(7, op, set, &e, exist));
        assert_eq!(reply_code(name), code, "{name}");
    }
}

#[test]
fn batched_add_matches_ipset_restore() {
    let entries: Vec<Entry> = [
        "10.0.1.1,tcp:8080",
        "10.0.1.2,udp:8081",
        "10.0.1.3,tcp:8082",
    ]
    .iter()
    .map(|t| entry(SetType::HashIpPort, t))
    .collect();
    let requests = request::elements(7, ElementOp::Add, "t-ipport", &entries, true, 128, 32 << 10);
    assert_eq!(requests.len(), 1);
    assert_command("restore-ipport", requests[0].clone());
    assert_eq!(reply_code("restore-ipport"), 0);
}

#[test]
fn set_requests() {
    assert_command("flush", request::flush(7, "t-ipport"));
    assert_command("rename", request::rename(7, "t-net", "t-net2"));
    assert_command("swap", request::swap(7, "t-ip", "t-opts"));
    assert_command("swap-mismatch", request::swap(7, "t-ip", "t-ipport"));
    assert_command("destroy", request::destroy(7, "t-net2"));
    assert_command("destroy-missing", request::destroy(7, "t-nosuch"));
    for name in ["flush", "rename", "swap", "destroy"] {
        assert_eq!(reply_code(name), 0, "{name}");
    }
    assert_eq!(reply_code("swap-mismatch"), 4102);
    assert_eq!(reply_code("destroy-missing"), 2); // ENOENT
}

#[test]
fn list_requests() {
    assert_command("list-names", request::list(7, None, ListScope::Names));
    assert_command(
        "list-terse",
        request::list(7, Some("t-ipport"), ListScope::Headers),
    );
    assert_command(
        "list-ipport",
        request::list(7, Some("t-ipport"), ListScope::Full),
    );
    assert_command("save-ipport", request::save(7, Some("t-ipport")));
    assert_command("save-all", request::save(7, None));
}

#[test]
fn protocol_and_type_replies() {
    let reply = &replies("version")[0];
    assert_eq!(reply.command, IpsetCommand::Protocol);
    assert_eq!(reply.attributes, vec![A::Protocol(7), A::ProtocolMin(6)]);
    let reply = &replies("create-hash-ipport")[1];
    assert_eq!(reply.command, IpsetCommand::Type);
    assert_eq!(
        reply.attributes,
        vec![
            A::Protocol(7),
            A::TypeName("hash:ip,port".into()),
            A::Family(2),
            A::Revision(7),
            A::RevisionMin(0),
        ]
    );
}

#[test]
fn list_names_reply() {
    let sets = collect_sets(&replies("list-names")).expect("sets");
    let names: Vec<&str> = sets.iter().map(|s| s.name.as_str()).collect();
    let output = capture("list-names").output;
    let printed: Vec<&str> = output.lines().collect();
    assert_eq!(names, printed);
}

/// For each save capture, the decoded members displayed in kernel order
/// equal the `add` lines the tool printed, and the header matches.
#[test]
fn save_replies_match_tool_output() {
    for name in [
        "save-ipport",
        "save-ipport6",
        "save-ipportip",
        "save-ipportnet",
        "save-port",
        "save-all",
    ] {
        let sets = collect_sets(&replies(name)).expect("sets");
        let output = capture(name).output;
        let mut printed = Vec::new();
        let mut ours = Vec::new();
        for set in &sets {
            ours.extend(set.members.iter().map(|m| format!("add {} {m}", set.name)));
        }
        for line in output.lines().filter(|l| l.starts_with("add ")) {
            printed.push(line.to_owned());
        }
        assert_eq!(ours, printed, "{name}");
        for line in output.lines().filter(|l| l.starts_with("create ")) {
            let set_name = line.split(' ').nth(1).expect("name");
            let set = sets.iter().find(|s| s.name == set_name).expect("set");
            assert!(line.contains(&format!(" {} ", set.type_name)), "{line}");
            if let Some(h) = set.header.hashsize {
                assert!(
                    line.contains(&format!(
                        "hashsize {h} maxelem {}",
                        set.header.maxelem.expect("maxelem")
                    )),
                    "{line}"
                );
                let family = set.family.expect("family");
                assert!(line.contains(&format!("family {family}")), "{line}");
            }
            if let Some((from, to)) = set.header.range {
                assert!(line.contains(&format!("range {from}-{to}")), "{line}");
            }
            if let Some(t) = set.header.timeout {
                assert!(line.contains(&format!("timeout {t}")), "{line}");
            }
            assert_eq!(set.header.counters, line.contains(" counters"), "{line}");
            assert_eq!(set.header.comment, line.contains(" comment"), "{line}");
        }
    }
}

#[test]
fn list_reply_header() {
    let sets = collect_sets(&replies("list-ipport")).expect("sets");
    let set = &sets[0];
    let out = capture("list-ipport").output;
    let field = |key: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(key))
            .expect("field")
            .trim()
            .to_owned()
    };
    assert_eq!(set.name, field("Name:"));
    assert_eq!(set.type_name, field("Type:"));
    assert_eq!(set.revision.to_string(), field("Revision:"));
    assert_eq!(
        set.header.memsize.map(|m| m.to_string()),
        Some(field("Size in memory:"))
    );
    assert_eq!(
        set.header.references.map(|m| m.to_string()),
        Some(field("References:"))
    );
    assert_eq!(
        set.header.elements.map(|m| m.to_string()),
        Some(field("Number of entries:"))
    );
    let members: Vec<String> = out
        .lines()
        .skip_while(|l| *l != "Members:")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(
        set.members.iter().map(Entry::to_string).collect::<Vec<_>>(),
        members
    );
    assert_eq!(
        set.members[0],
        Entry::IpPort {
            ip: IpAddr::from([10, 0, 1, 1]),
            proto: ipset_netlink::Protocol::Tcp,
            port: 8080
        }
    );
    // The terse listing has the header and no members.
    let terse = collect_sets(&replies("list-terse")).expect("sets");
    assert!(terse[0].members.is_empty());
    assert_eq!(terse[0].header.elements, set.header.elements);
}
