//! Random and mutated bytes fed to the reply parser must never panic
//! (the same check as the cargo-fuzz target, runnable on stable in CI).

use test_support::rng::Rng;

use crate::{batch::split_datagram, collect_sets};

/// A real LIST reply (header, one hash:ip,port member) and an error reply.
const SEEDS: &[&[u8]] = &[
    b"\xb0\x00\x00\x00\x07\x06\x02\x00\x01\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\
\x05\x00\x01\x00\x07\x00\x00\x00\x08\x00\x02\x00\x66\x6f\x6f\x00\x11\x00\x03\x00\
hash:ip,port\x00\x00\x00\x00\x05\x00\x05\x00\x02\x00\x00\x00\x05\x00\x04\x00\x07\x00\x00\x00\
\x06\x00\x0b\x40\x00\x00\x00\x00\x3c\x00\x07\x80\x08\x00\x12\x40\x00\x00\x04\x00\
\x08\x00\x13\x40\x00\x01\x00\x00\x05\x00\x15\x00\x0c\x00\x00\x00\x08\x00\x11\x40\
\xd3\x92\x4b\x2c\x08\x00\x19\x40\x00\x00\x00\x00\x08\x00\x1a\x40\x00\x00\x01\x08\
\x08\x00\x18\x40\x00\x00\x00\x01\x24\x00\x08\x80\x20\x00\x07\x80\x0c\x00\x01\x80\
\x08\x00\x01\x00\x0a\x00\x00\x01\x06\x00\x04\x40\x00\x50\x00\x00\x05\x00\x07\x00\
\x06\x00\x00\x00",
    b"\x24\x00\x00\x00\x02\x00\x00\x01\x56\x3e\x02\x6b\x46\x16\x00\x00\xf9\xef\xff\xff\
\x3c\x00\x00\x00\x09\x06\x05\x02\x56\x3e\x02\x6b\x00\x00\x00\x00",
];

/// What the I/O layer does with a datagram.
fn parse_all(data: &[u8]) {
    let messages: Vec<_> = split_datagram(data)
        .filter_map(Result::ok)
        .filter_map(|m| match m.payload {
            netlink_packet_core::NetlinkPayload::InnerMessage(m) => Some(m),
            _ => None,
        })
        .collect();
    let _ = collect_sets(&messages);
}

/// The seeds decode to what they hold: the set `foo` (hash:ip,port, inet,
/// hashsize 1024, maxelem 65536, 1 element) with `10.0.0.1,tcp:80`, and
/// an ipset error (4103).
#[test]
fn seeds_parse() {
    let messages: Vec<_> = split_datagram(SEEDS[0])
        .map(|m| match m.expect("decodes").payload {
            netlink_packet_core::NetlinkPayload::InnerMessage(m) => m,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(messages.len(), 1);
    let sets = collect_sets(&messages).expect("sets");
    assert_eq!(sets.len(), 1, "{sets:?}");
    let set = &sets[0];
    assert_eq!(
        (set.name.as_str(), set.type_name.as_str()),
        ("foo", "hash:ip,port")
    );
    assert_eq!(set.set_type, Some(crate::SetType::HashIpPort));
    assert_eq!(set.family, Some(crate::Family::Inet));
    assert_eq!(
        (set.header.hashsize, set.header.maxelem, set.header.elements),
        (Some(1024), Some(65536), Some(1))
    );
    assert_eq!(set.sorted_members(), ["10.0.0.1,tcp:80"]);

    let error: Vec<_> = split_datagram(SEEDS[1]).collect();
    assert_eq!(error.len(), 1);
    match &error[0].as_ref().expect("decodes").payload {
        netlink_packet_core::NetlinkPayload::Error(err) => {
            assert_eq!(err.code.map(|c| c.get()), Some(-4103), "{err:?}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn mutated_and_random_bytes_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for round in 0..20_000 {
        let mut data = SEEDS[round % SEEDS.len()].to_vec();
        match round % 4 {
            // flip bytes
            0 | 1 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(data.len());
                    data[i] = rng.next_u64() as u8;
                }
            }
            // truncate
            2 => data.truncate(rng.below(data.len())),
            // random garbage with a plausible header
            _ => {
                data = (0..rng.below(256)).map(|_| rng.next_u64() as u8).collect();
                if data.len() >= 6 {
                    data[4] = 7;
                    data[5] = 6;
                }
            }
        }
        parse_all(&data);
    }
}
