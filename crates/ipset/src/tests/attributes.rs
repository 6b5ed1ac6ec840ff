//! A parse + emit byte test per attribute kind, in the style of
//! netlink-packet-route. Expected bytes are written by hand from the uapi
//! (type numbers, NLA_F_NESTED 0x8000, NLA_F_NET_BYTEORDER 0x4000).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DefaultNla, Emitable, NlaBuffer, Parseable, ParseableParametrized};

use crate::{
    client::negotiate_protocol,
    packet::{
        AdtAttribute, ElementAttribute as E, HeaderAttribute as H, IpsetAttribute as A,
        IpsetCommand,
    },
};

fn emit<T: Emitable>(attr: &T) -> Vec<u8> {
    let mut buf = vec![0xff; attr.buffer_len()];
    attr.emit(&mut buf);
    buf
}

fn element(bytes: &[u8]) -> E {
    E::parse(&NlaBuffer::new_checked(bytes).unwrap()).unwrap()
}

fn header(bytes: &[u8]) -> H {
    H::parse(&NlaBuffer::new_checked(bytes).unwrap()).unwrap()
}

fn command(bytes: &[u8], cmd: IpsetCommand) -> A {
    A::parse_with_param(&NlaBuffer::new_checked(bytes).unwrap(), cmd).unwrap()
}

#[test]
fn element_attributes() {
    let v4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let mut v6_bytes = vec![0x18, 0, 0x01, 0x80, 0x14, 0, 0x02, 0x40, 0xfd];
    v6_bytes.extend([0; 14]);
    v6_bytes.push(1);
    let cases: Vec<(E, Vec<u8>)> = vec![
        (E::Ip(v4), vec![12, 0, 1, 0x80, 8, 0, 1, 0x40, 10, 0, 0, 1]),
        (
            E::Ip("fd00::1".parse::<Ipv6Addr>().unwrap().into()),
            v6_bytes,
        ),
        (
            E::Ip2(v4),
            vec![12, 0, 20, 0x80, 8, 0, 1, 0x40, 10, 0, 0, 1],
        ),
        (E::Cidr(8), vec![5, 0, 3, 0, 8, 0, 0, 0]),
        (E::Cidr2(16), vec![5, 0, 21, 0, 16, 0, 0, 0]),
        (E::Port(80), vec![6, 0, 4, 0x40, 0, 80, 0, 0]),
        (E::Proto(6), vec![5, 0, 7, 0, 6, 0, 0, 0]),
        (E::LineNo(2), vec![8, 0, 9, 0x40, 0, 0, 0, 2]),
        (E::Timeout(600), vec![8, 0, 6, 0x40, 0, 0, 2, 0x58]),
        (E::CadtFlags(8), vec![8, 0, 8, 0x40, 0, 0, 0, 8]),
        (E::Bytes(1), vec![12, 0, 24, 0x40, 0, 0, 0, 0, 0, 0, 0, 1]),
        (E::Packets(2), vec![12, 0, 25, 0x40, 0, 0, 0, 0, 0, 0, 0, 2]),
        (E::Comment("hi".into()), vec![7, 0, 26, 0, b'h', b'i', 0, 0]),
        (
            E::Other(DefaultNla::new(11, vec![1, 2, 3, 4])),
            vec![8, 0, 11, 0, 1, 2, 3, 4],
        ),
    ];
    for (attr, bytes) in cases {
        assert_eq!(emit(&attr), bytes, "{attr:?}");
        assert_eq!(element(&bytes), attr);
    }
    // The kernel replies with addresses without NLA_F_NET_BYTEORDER.
    assert_eq!(
        element(&[12, 0, 1, 0x80, 8, 0, 1, 0, 10, 0, 0, 1]),
        E::Ip(v4)
    );
}

#[test]
fn header_attributes() {
    let cases: Vec<(H, Vec<u8>)> = vec![
        (H::PortFrom(1024), vec![6, 0, 4, 0x40, 4, 0, 0, 0]),
        (H::PortTo(2047), vec![6, 0, 5, 0x40, 7, 0xff, 0, 0]),
        (H::Timeout(60), vec![8, 0, 6, 0x40, 0, 0, 0, 60]),
        (H::CadtFlags(0x18), vec![8, 0, 8, 0x40, 0, 0, 0, 0x18]),
        (
            H::InitVal(0xd392_4b2c),
            vec![8, 0, 17, 0x40, 0xd3, 0x92, 0x4b, 0x2c],
        ),
        (H::HashSize(1024), vec![8, 0, 18, 0x40, 0, 0, 4, 0]),
        (H::MaxElem(65536), vec![8, 0, 19, 0x40, 0, 1, 0, 0]),
        (H::Netmask(24), vec![5, 0, 20, 0, 24, 0, 0, 0]),
        (H::BucketSize(12), vec![5, 0, 21, 0, 12, 0, 0, 0]),
        (H::Resize(50), vec![5, 0, 22, 0, 50, 0, 0, 0]),
        (H::Size(3), vec![8, 0, 23, 0x40, 0, 0, 0, 3]),
        (H::Elements(1), vec![8, 0, 24, 0x40, 0, 0, 0, 1]),
        (H::References(0), vec![8, 0, 25, 0x40, 0, 0, 0, 0]),
        (H::MemSize(264), vec![8, 0, 26, 0x40, 0, 0, 1, 8]),
    ];
    for (attr, bytes) in cases {
        assert_eq!(emit(&attr), bytes, "{attr:?}");
        assert_eq!(header(&bytes), attr);
    }
}

#[test]
fn command_attributes() {
    use IpsetCommand::*;
    let cases: Vec<(A, IpsetCommand, Vec<u8>)> = vec![
        (A::Protocol(7), Protocol, vec![5, 0, 1, 0, 7, 0, 0, 0]),
        (
            A::SetName("foo".into()),
            Add,
            vec![8, 0, 2, 0, b'f', b'o', b'o', 0],
        ),
        (
            A::TypeName("hash:ip".into()),
            Create,
            b"\x0c\x00\x03\x00hash:ip\x00".to_vec(),
        ),
        (
            A::SetName2("b".into()),
            Swap,
            vec![6, 0, 3, 0, b'b', 0, 0, 0],
        ),
        (A::Revision(6), Create, vec![5, 0, 4, 0, 6, 0, 0, 0]),
        (A::Family(10), Create, vec![5, 0, 5, 0, 10, 0, 0, 0]),
        (A::Flags(4), List, vec![8, 0, 6, 0x40, 0, 0, 0, 4]),
        (A::LineNo(1), Add, vec![8, 0, 9, 0x40, 0, 0, 0, 1]),
        (A::ProtocolMin(6), Protocol, vec![5, 0, 10, 0, 6, 0, 0, 0]),
        (A::RevisionMin(0), Type, vec![5, 0, 10, 0, 0, 0, 0, 0]),
        (A::Index(2), List, vec![6, 0, 11, 0x40, 0, 2, 0, 0]),
        (
            A::Header(vec![H::HashSize(1024)]),
            Create,
            vec![12, 0, 7, 0x80, 8, 0, 18, 0x40, 0, 0, 4, 0],
        ),
        (
            A::Element(vec![E::Port(80)]),
            Add,
            vec![12, 0, 7, 0x80, 6, 0, 4, 0x40, 0, 80, 0, 0],
        ),
        (
            A::Adt(vec![AdtAttribute::Data(vec![E::Port(80)])]),
            Add,
            vec![16, 0, 8, 0x80, 12, 0, 7, 0x80, 6, 0, 4, 0x40, 0, 80, 0, 0],
        ),
        (
            A::Other(DefaultNla::new(12, vec![9])),
            Add,
            vec![5, 0, 12, 0, 9, 0, 0, 0],
        ),
    ];
    for (attr, cmd, bytes) in cases {
        assert_eq!(emit(&attr), bytes, "{attr:?}");
        assert_eq!(command(&bytes, cmd), attr);
    }
}

#[test]
fn protocol_negotiation() {
    assert_eq!(negotiate_protocol(None, Some(7)), Some(7));
    assert_eq!(negotiate_protocol(None, Some(8)), Some(7));
    assert_eq!(negotiate_protocol(None, Some(6)), Some(6));
    // A kernel that only speaks 6 rejects 7 with IPSET_ERR_PROTOCOL.
    assert_eq!(negotiate_protocol(Some(4097), None), Some(6));
    assert_eq!(negotiate_protocol(None, Some(5)), None);
    assert_eq!(negotiate_protocol(Some(1), None), None);
}
