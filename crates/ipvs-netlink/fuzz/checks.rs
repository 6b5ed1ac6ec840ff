//! The fuzz target's check, shared by the libFuzzer target
//! (`fuzz_targets/parse_reply.rs`) and the stable runner (`tests/fuzz.rs`).

/// Feeds a datagram to every reply parser of ipvs-netlink. The first two
/// bytes pick the family id the datagram is decoded for, so that both
/// the IPVS and the "other family" paths are reached.
pub fn parse_reply(data: &[u8]) {
    let (family, datagram) = match data {
        [a, b, rest @ ..] => (u16::from_ne_bytes([*a, *b]), rest),
        _ => (0x25, data),
    };
    ipvs_netlink::fuzzing::parse_datagram(datagram, family);
}
