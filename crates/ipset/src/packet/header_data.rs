use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, NLA_F_NET_BYTEORDER as NBO, Nla, NlaBuffer, Parseable,
    parse_u8, parse_u16_be, parse_u32_be,
};

use super::{
    constants::*,
    value::{Value, nla_from_value},
};

/// An attribute inside the `DATA` of a set header (CREATE requests and the
/// header of LIST/SAVE/HEADER replies).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderAttribute {
    /// `IPSET_ATTR_PORT_FROM`: first port of a bitmap:port set.
    PortFrom(u16),
    /// `IPSET_ATTR_PORT_TO`: last port of a bitmap:port set.
    PortTo(u16),
    /// `IPSET_ATTR_TIMEOUT`: default element timeout in seconds.
    Timeout(u32),
    /// `IPSET_ATTR_CADT_FLAGS`: extensions (counters, comment).
    CadtFlags(u32),
    /// `IPSET_ATTR_INITVAL`: hash seed.
    InitVal(u32),
    /// `IPSET_ATTR_HASHSIZE`.
    HashSize(u32),
    /// `IPSET_ATTR_MAXELEM`.
    MaxElem(u32),
    /// `IPSET_ATTR_NETMASK`.
    Netmask(u8),
    /// `IPSET_ATTR_BUCKETSIZE`.
    BucketSize(u8),
    /// `IPSET_ATTR_RESIZE`.
    Resize(u8),
    /// `IPSET_ATTR_SIZE`.
    Size(u32),
    /// `IPSET_ATTR_ELEMENTS`: number of elements (replies only).
    Elements(u32),
    /// `IPSET_ATTR_REFERENCES`: number of references (replies only).
    References(u32),
    /// `IPSET_ATTR_MEMSIZE`: memory used in bytes (replies only).
    MemSize(u32),
    /// Anything else.
    Other(DefaultNla),
}

impl HeaderAttribute {
    fn value(&self) -> (u16, Value<'_>) {
        use HeaderAttribute::*;
        match self {
            PortFrom(v) => (IPSET_ATTR_PORT | NBO, Value::Be16(*v)),
            PortTo(v) => (IPSET_ATTR_PORT_TO | NBO, Value::Be16(*v)),
            Timeout(v) => (IPSET_ATTR_TIMEOUT | NBO, Value::Be32(*v)),
            CadtFlags(v) => (IPSET_ATTR_CADT_FLAGS | NBO, Value::Be32(*v)),
            InitVal(v) => (IPSET_ATTR_INITVAL | NBO, Value::Be32(*v)),
            HashSize(v) => (IPSET_ATTR_HASHSIZE | NBO, Value::Be32(*v)),
            MaxElem(v) => (IPSET_ATTR_MAXELEM | NBO, Value::Be32(*v)),
            Netmask(v) => (IPSET_ATTR_NETMASK, Value::U8(*v)),
            BucketSize(v) => (IPSET_ATTR_BUCKETSIZE, Value::U8(*v)),
            Resize(v) => (IPSET_ATTR_RESIZE, Value::U8(*v)),
            Size(v) => (IPSET_ATTR_SIZE | NBO, Value::Be32(*v)),
            Elements(v) => (IPSET_ATTR_ELEMENTS | NBO, Value::Be32(*v)),
            References(v) => (IPSET_ATTR_REFERENCES | NBO, Value::Be32(*v)),
            MemSize(v) => (IPSET_ATTR_MEMSIZE | NBO, Value::Be32(*v)),
            Other(nla) => (nla.kind(), Value::Raw(nla)),
        }
    }
}

nla_from_value!(HeaderAttribute);

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for HeaderAttribute {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        use HeaderAttribute::*;
        let v = buf.value();
        let kind = buf.kind();
        let parse = || -> Result<Self, DecodeError> {
            Ok(match kind {
                IPSET_ATTR_PORT => PortFrom(parse_u16_be(v)?),
                IPSET_ATTR_PORT_TO => PortTo(parse_u16_be(v)?),
                IPSET_ATTR_TIMEOUT => Timeout(parse_u32_be(v)?),
                IPSET_ATTR_CADT_FLAGS => CadtFlags(parse_u32_be(v)?),
                IPSET_ATTR_INITVAL => InitVal(parse_u32_be(v)?),
                IPSET_ATTR_HASHSIZE => HashSize(parse_u32_be(v)?),
                IPSET_ATTR_MAXELEM => MaxElem(parse_u32_be(v)?),
                IPSET_ATTR_NETMASK => Netmask(parse_u8(v)?),
                IPSET_ATTR_BUCKETSIZE => BucketSize(parse_u8(v)?),
                IPSET_ATTR_RESIZE => Resize(parse_u8(v)?),
                IPSET_ATTR_SIZE => Size(parse_u32_be(v)?),
                IPSET_ATTR_ELEMENTS => Elements(parse_u32_be(v)?),
                IPSET_ATTR_REFERENCES => References(parse_u32_be(v)?),
                IPSET_ATTR_MEMSIZE => MemSize(parse_u32_be(v)?),
                _ => Other(DefaultNla::parse(buf)?),
            })
        };
        parse().context(format!("header attribute {kind}"))
    }
}
