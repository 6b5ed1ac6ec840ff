//! Feeds arbitrary datagrams to the reply parser: it must never panic.
#![no_main]

use ipset_netlink::{collect_sets, fuzzing::split_datagram};
use libfuzzer_sys::fuzz_target;
use netlink_packet_core::NetlinkPayload;

fuzz_target!(|data: &[u8]| {
    let messages: Vec<_> = split_datagram(data)
        .filter_map(Result::ok)
        .filter_map(|m| match m.payload {
            NetlinkPayload::InnerMessage(m) => Some(m),
            _ => None,
        })
        .collect();
    let _ = collect_sets(&messages);
});
