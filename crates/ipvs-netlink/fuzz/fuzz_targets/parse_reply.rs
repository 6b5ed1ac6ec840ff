//! Feeds arbitrary datagrams to every reply parser of ipvs-netlink.
//!
//! Run with `cargo +nightly fuzz run parse_reply` from `crates/ipvs-netlink`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first two bytes pick the family id the datagram is decoded for,
    // so the fuzzer can reach both the IPVS and the "other family" paths.
    let (family, datagram) = match data {
        [a, b, rest @ ..] => (u16::from_ne_bytes([*a, *b]), rest),
        _ => (0x25, data),
    };
    ipvs_netlink::fuzzing::parse_datagram(datagram, family);
});
