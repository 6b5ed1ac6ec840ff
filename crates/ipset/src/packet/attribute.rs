use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, NLA_F_NESTED as NESTED, NLA_F_NET_BYTEORDER as NBO, Nla,
    NlaBuffer, NlasIterator, Parseable, ParseableParametrized, parse_string, parse_u8,
    parse_u16_be, parse_u32_be,
};

use super::{
    IpsetCommand,
    constants::*,
    element::ElementAttribute,
    header_data::HeaderAttribute,
    value::{Value, nla_from_value},
};

/// A command-level attribute of an ipset message.
///
/// Attribute numbers 3, 7 and 10 have two meanings each; parsing picks the
/// variant from the message's command (see
/// [`ParseableParametrized`] with an [`IpsetCommand`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpsetAttribute {
    /// `IPSET_ATTR_PROTOCOL`: protocol version, on every request.
    Protocol(u8),
    /// `IPSET_ATTR_SETNAME`.
    SetName(String),
    /// `IPSET_ATTR_TYPENAME`, e.g. `hash:ip,port`.
    TypeName(String),
    /// `IPSET_ATTR_SETNAME2`: the second set of RENAME and SWAP.
    SetName2(String),
    /// `IPSET_ATTR_REVISION`: set type revision.
    Revision(u8),
    /// `IPSET_ATTR_FAMILY` (`NFPROTO_*`).
    Family(u8),
    /// `IPSET_ATTR_FLAGS`: command flags.
    Flags(u32),
    /// `IPSET_ATTR_DATA` holding a set header (CREATE, LIST, SAVE, HEADER).
    Header(Vec<HeaderAttribute>),
    /// `IPSET_ATTR_DATA` holding one element (ADD, DEL, TEST).
    Element(Vec<ElementAttribute>),
    /// `IPSET_ATTR_ADT`: several elements.
    Adt(Vec<AdtAttribute>),
    /// `IPSET_ATTR_LINENO`: enables per-element error reports in batches.
    LineNo(u32),
    /// `IPSET_ATTR_PROTOCOL_MIN`: oldest protocol the kernel speaks.
    ProtocolMin(u8),
    /// `IPSET_ATTR_REVISION_MIN`: oldest revision of a type (TYPE replies).
    RevisionMin(u8),
    /// `IPSET_ATTR_INDEX`: kernel index of a set.
    Index(u16),
    /// Anything else.
    Other(DefaultNla),
}

impl IpsetAttribute {
    fn value(&self) -> (u16, Value<'_>) {
        use IpsetAttribute::*;
        match self {
            Protocol(v) => (IPSET_ATTR_PROTOCOL, Value::U8(*v)),
            SetName(s) => (IPSET_ATTR_SETNAME, Value::Str(s)),
            TypeName(s) | SetName2(s) => (IPSET_ATTR_TYPENAME, Value::Str(s)),
            Revision(v) => (IPSET_ATTR_REVISION, Value::U8(*v)),
            Family(v) => (IPSET_ATTR_FAMILY, Value::U8(*v)),
            Flags(v) => (IPSET_ATTR_FLAGS | NBO, Value::Be32(*v)),
            Header(attrs) => (IPSET_ATTR_DATA | NESTED, Value::Header(attrs)),
            Element(attrs) => (IPSET_ATTR_DATA | NESTED, Value::Element(attrs)),
            Adt(attrs) => (IPSET_ATTR_ADT | NESTED, Value::Adt(attrs)),
            LineNo(v) => (IPSET_ATTR_LINENO | NBO, Value::Be32(*v)),
            ProtocolMin(v) | RevisionMin(v) => (IPSET_ATTR_PROTOCOL_MIN, Value::U8(*v)),
            Index(v) => (IPSET_ATTR_INDEX | NBO, Value::Be16(*v)),
            Other(nla) => (nla.kind(), Value::Raw(nla)),
        }
    }
}

nla_from_value!(IpsetAttribute);

impl<'a, T: AsRef<[u8]> + ?Sized> ParseableParametrized<NlaBuffer<&'a T>, IpsetCommand>
    for IpsetAttribute
{
    fn parse_with_param(buf: &NlaBuffer<&'a T>, cmd: IpsetCommand) -> Result<Self, DecodeError> {
        use IpsetAttribute::*;
        let v = buf.value();
        let kind = buf.kind();
        let parse = || -> Result<Self, DecodeError> {
            Ok(match kind {
                IPSET_ATTR_PROTOCOL => Protocol(parse_u8(v)?),
                IPSET_ATTR_SETNAME => SetName(parse_string(v)?),
                IPSET_ATTR_TYPENAME if matches!(cmd, IpsetCommand::Rename | IpsetCommand::Swap) => {
                    SetName2(parse_string(v)?)
                }
                IPSET_ATTR_TYPENAME => TypeName(parse_string(v)?),
                IPSET_ATTR_REVISION => Revision(parse_u8(v)?),
                IPSET_ATTR_FAMILY => Family(parse_u8(v)?),
                IPSET_ATTR_FLAGS => Flags(parse_u32_be(v)?),
                IPSET_ATTR_DATA if cmd.data_is_header() => Header(parse_nested(v)?),
                IPSET_ATTR_DATA => Element(parse_nested(v)?),
                IPSET_ATTR_ADT => Adt(parse_nested(v)?),
                IPSET_ATTR_LINENO => LineNo(parse_u32_be(v)?),
                IPSET_ATTR_PROTOCOL_MIN if cmd == IpsetCommand::Type => RevisionMin(parse_u8(v)?),
                IPSET_ATTR_PROTOCOL_MIN => ProtocolMin(parse_u8(v)?),
                IPSET_ATTR_INDEX => Index(parse_u16_be(v)?),
                _ => Other(DefaultNla::parse(buf)?),
            })
        };
        parse().context(format!("ipset attribute {kind}"))
    }
}

/// Parses a nested attribute list.
pub(crate) fn parse_nested<A>(value: &[u8]) -> Result<Vec<A>, DecodeError>
where
    A: for<'b> Parseable<NlaBuffer<&'b [u8]>>,
{
    NlasIterator::new(value)
        .map(|nla| A::parse(&nla?))
        .collect()
}

/// An attribute inside `IPSET_ATTR_ADT`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdtAttribute {
    /// `IPSET_ATTR_DATA`: one element.
    Data(Vec<ElementAttribute>),
    /// Anything else.
    Other(DefaultNla),
}

impl AdtAttribute {
    fn value(&self) -> (u16, Value<'_>) {
        match self {
            AdtAttribute::Data(attrs) => (IPSET_ATTR_DATA | NESTED, Value::Element(attrs)),
            AdtAttribute::Other(nla) => (nla.kind(), Value::Raw(nla)),
        }
    }
}

nla_from_value!(AdtAttribute);

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for AdtAttribute {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        Ok(match buf.kind() {
            IPSET_ATTR_DATA => AdtAttribute::Data(parse_nested(buf.value()).context("ADT data")?),
            _ => AdtAttribute::Other(DefaultNla::parse(buf)?),
        })
    }
}
