use std::net::IpAddr;

use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, NLA_F_NESTED as NESTED, NLA_F_NET_BYTEORDER as NBO, Nla,
    NlaBuffer, Parseable, parse_string, parse_u8, parse_u16_be, parse_u32_be, parse_u64_be,
};

use super::{
    constants::*,
    ip::parse_nested_ip,
    value::{Value, nla_from_value},
};

/// An attribute inside the `DATA` of an element (ADD/DEL/TEST requests and
/// the members of a LIST reply).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ElementAttribute {
    /// `IPSET_ATTR_IP`: the (first) address.
    Ip(IpAddr),
    /// `IPSET_ATTR_IP_TO`: end of an address range.
    IpTo(IpAddr),
    /// `IPSET_ATTR_CIDR`: prefix length of the first address.
    Cidr(u8),
    /// `IPSET_ATTR_PORT`.
    Port(u16),
    /// `IPSET_ATTR_PORT_TO`: end of a port range.
    PortTo(u16),
    /// `IPSET_ATTR_TIMEOUT`: seconds left.
    Timeout(u32),
    /// `IPSET_ATTR_PROTO`: L4 protocol number.
    Proto(u8),
    /// `IPSET_ATTR_CADT_FLAGS`.
    CadtFlags(u32),
    /// `IPSET_ATTR_CADT_LINENO`: position of the element in a batch.
    LineNo(u32),
    /// `IPSET_ATTR_IP2`: the second address.
    Ip2(IpAddr),
    /// `IPSET_ATTR_CIDR2`: prefix length of the second address.
    Cidr2(u8),
    /// `IPSET_ATTR_BYTES`: byte counter.
    Bytes(u64),
    /// `IPSET_ATTR_PACKETS`: packet counter.
    Packets(u64),
    /// `IPSET_ATTR_COMMENT`.
    Comment(String),
    /// Anything else.
    Other(DefaultNla),
}

impl ElementAttribute {
    fn value(&self) -> (u16, Value<'_>) {
        use ElementAttribute::*;
        match self {
            Ip(ip) => (IPSET_ATTR_IP | NESTED, Value::Ip(*ip)),
            IpTo(ip) => (IPSET_ATTR_IP_TO | NESTED, Value::Ip(*ip)),
            Cidr(v) => (IPSET_ATTR_CIDR, Value::U8(*v)),
            Port(v) => (IPSET_ATTR_PORT | NBO, Value::Be16(*v)),
            PortTo(v) => (IPSET_ATTR_PORT_TO | NBO, Value::Be16(*v)),
            Timeout(v) => (IPSET_ATTR_TIMEOUT | NBO, Value::Be32(*v)),
            Proto(v) => (IPSET_ATTR_PROTO, Value::U8(*v)),
            CadtFlags(v) => (IPSET_ATTR_CADT_FLAGS | NBO, Value::Be32(*v)),
            LineNo(v) => (IPSET_ATTR_CADT_LINENO | NBO, Value::Be32(*v)),
            Ip2(ip) => (IPSET_ATTR_IP2 | NESTED, Value::Ip(*ip)),
            Cidr2(v) => (IPSET_ATTR_CIDR2, Value::U8(*v)),
            Bytes(v) => (IPSET_ATTR_BYTES | NBO, Value::Be64(*v)),
            Packets(v) => (IPSET_ATTR_PACKETS | NBO, Value::Be64(*v)),
            Comment(s) => (IPSET_ATTR_COMMENT, Value::Str(s)),
            Other(nla) => (nla.kind(), Value::Raw(nla)),
        }
    }
}

nla_from_value!(ElementAttribute);

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for ElementAttribute {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        use ElementAttribute::*;
        let v = buf.value();
        let kind = buf.kind();
        let parse = || -> Result<Self, DecodeError> {
            Ok(match kind {
                IPSET_ATTR_IP => Ip(parse_nested_ip(v)?),
                IPSET_ATTR_IP_TO => IpTo(parse_nested_ip(v)?),
                IPSET_ATTR_CIDR => Cidr(parse_u8(v)?),
                IPSET_ATTR_PORT => Port(parse_u16_be(v)?),
                IPSET_ATTR_PORT_TO => PortTo(parse_u16_be(v)?),
                IPSET_ATTR_TIMEOUT => Timeout(parse_u32_be(v)?),
                IPSET_ATTR_PROTO => Proto(parse_u8(v)?),
                IPSET_ATTR_CADT_FLAGS => CadtFlags(parse_u32_be(v)?),
                IPSET_ATTR_CADT_LINENO => LineNo(parse_u32_be(v)?),
                IPSET_ATTR_IP2 => Ip2(parse_nested_ip(v)?),
                IPSET_ATTR_CIDR2 => Cidr2(parse_u8(v)?),
                IPSET_ATTR_BYTES => Bytes(parse_u64_be(v)?),
                IPSET_ATTR_PACKETS => Packets(parse_u64_be(v)?),
                IPSET_ATTR_COMMENT => Comment(parse_string(v)?),
                _ => Other(DefaultNla::parse(buf)?),
            })
        };
        parse().context(format!("element attribute {kind}"))
    }
}
