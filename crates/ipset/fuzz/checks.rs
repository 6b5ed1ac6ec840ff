//! The fuzz target's check, shared by the libFuzzer target
//! (`fuzz_targets/parse_reply.rs`) and the stable runner (`tests/fuzz.rs`).

use netlink_packet_core::NetlinkPayload;

/// Feeds a datagram to the reply parser: it must never panic.
pub fn parse_reply(data: &[u8]) {
    let messages: Vec<_> = ipset_netlink::fuzzing::split_datagram(data)
        .filter_map(Result::ok)
        .filter_map(|m| match m.payload {
            NetlinkPayload::InnerMessage(m) => Some(m),
            _ => None,
        })
        .collect();
    let _ = ipset_netlink::collect_sets(&messages);
}
