//! `IPVS_SVC_ATTR_*`: the attributes nested in `IPVS_CMD_ATTR_SERVICE`.

use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable, parse_string, parse_u16,
    parse_u16_be, parse_u32,
};

use super::{
    address::InetAddr,
    nla::{Attr, NestItem, nested, put, put_string, visit_nest},
    stats::StatsNest,
};

const AF: u16 = 1;
const PROTOCOL: u16 = 2;
const ADDR: u16 = 3;
const PORT: u16 = 4;
const FWMARK: u16 = 5;
const SCHED_NAME: u16 = 6;
const FLAGS: u16 = 7;
const TIMEOUT: u16 = 8;
const NETMASK: u16 = 9;
const STATS: u16 = 10;
const PE_NAME: u16 = 11;
const STATS64: u16 = 12;

/// One attribute of a virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceAttribute {
    /// `IPVS_SVC_ATTR_AF`: `AF_INET` (2) or `AF_INET6` (10).
    AddressFamily(u16),
    /// `IPVS_SVC_ATTR_PROTOCOL`: IP protocol number (6 TCP, 17 UDP, 132
    /// SCTP).
    Protocol(u16),
    /// `IPVS_SVC_ATTR_ADDR`: virtual address.
    Address(InetAddr),
    /// `IPVS_SVC_ATTR_PORT`: virtual port, in host order here, big-endian
    /// on the wire.
    Port(u16),
    /// `IPVS_SVC_ATTR_FWMARK`: firewall mark of a fwmark service.
    Fwmark(u32),
    /// `IPVS_SVC_ATTR_SCHED_NAME`: scheduler name, NUL-terminated on the
    /// wire.
    SchedName(String),
    /// `IPVS_SVC_ATTR_FLAGS`: `struct ip_vs_flags { flags, mask }`.
    Flags {
        /// `IP_VS_SVC_F_*` bits.
        flags: u32,
        /// Which bits of `flags` the kernel applies.
        mask: u32,
    },
    /// `IPVS_SVC_ATTR_TIMEOUT`: persistence timeout in seconds.
    Timeout(u32),
    /// `IPVS_SVC_ATTR_NETMASK`, as the raw host-order `u32`: for IPv4 the
    /// four mask bytes in network order, for IPv6 a prefix length.
    Netmask(u32),
    /// `IPVS_SVC_ATTR_STATS` (read-only).
    Stats(Box<StatsNest>),
    /// `IPVS_SVC_ATTR_PE_NAME`: persistence engine (e.g. `sip`).
    PeName(String),
    /// `IPVS_SVC_ATTR_STATS64` (read-only, kernel 4.1+).
    Stats64(Box<StatsNest>),
    /// An attribute this crate does not know.
    Other(DefaultNla),
}

impl Nla for ServiceAttribute {
    fn value_len(&self) -> usize {
        match self {
            Self::AddressFamily(_) | Self::Protocol(_) | Self::Port(_) => 2,
            Self::Fwmark(_) | Self::Timeout(_) | Self::Netmask(_) => 4,
            Self::Address(_) => InetAddr::LEN,
            Self::SchedName(s) | Self::PeName(s) => s.len() + 1,
            Self::Flags { .. } => 8,
            Self::Stats(nest) => nest.value_len(false),
            Self::Stats64(nest) => nest.value_len(true),
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::AddressFamily(_) => AF,
            Self::Protocol(_) => PROTOCOL,
            Self::Address(_) => ADDR,
            Self::Port(_) => PORT,
            Self::Fwmark(_) => FWMARK,
            Self::SchedName(_) => SCHED_NAME,
            Self::Flags { .. } => FLAGS,
            Self::Timeout(_) => TIMEOUT,
            Self::Netmask(_) => NETMASK,
            Self::Stats(_) => nested(STATS),
            Self::PeName(_) => PE_NAME,
            Self::Stats64(_) => nested(STATS64),
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::AddressFamily(v) | Self::Protocol(v) => put(buffer, &v.to_ne_bytes()),
            Self::Port(v) => put(buffer, &v.to_be_bytes()),
            Self::Fwmark(v) | Self::Timeout(v) | Self::Netmask(v) => put(buffer, &v.to_ne_bytes()),
            Self::Address(addr) => put(buffer, &addr.0),
            Self::SchedName(s) | Self::PeName(s) => put_string(buffer, s),
            Self::Flags { flags, mask } => {
                put(buffer, &flags.to_ne_bytes());
                if let Some(rest) = buffer.get_mut(4..) {
                    put(rest, &mask.to_ne_bytes());
                }
            }
            Self::Stats(nest) => nest.emit_value(false, buffer),
            Self::Stats64(nest) => nest.emit_value(true, buffer),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for ServiceAttribute {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        Self::parse_attr(Attr::of_buffer(buf))
    }
}

impl ServiceAttribute {
    /// Parses every attribute of a service nest (the value of
    /// `IPVS_CMD_ATTR_SERVICE`), handing each to `visit` instead of collecting
    /// them; the stats nests are not boxed.
    pub(crate) fn visit_nest(
        payload: &[u8],
        visit: impl FnMut(NestItem<Self>) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        visit_nest(
            payload,
            (STATS, STATS64, "service"),
            Self::parse_attr,
            visit,
        )
    }

    /// Parses one attribute of a service nest.
    pub(crate) fn parse_attr(attr: Attr<'_>) -> Result<Self, DecodeError> {
        let value = attr.value;
        Ok(match attr.kind() {
            AF => Self::AddressFamily(parse_u16(value).context("service AF")?),
            PROTOCOL => Self::Protocol(parse_u16(value).context("service PROTOCOL")?),
            ADDR => Self::Address(InetAddr::parse(value).context("service ADDR")?),
            PORT => Self::Port(parse_u16_be(value).context("service PORT")?),
            FWMARK => Self::Fwmark(parse_u32(value).context("service FWMARK")?),
            SCHED_NAME => Self::SchedName(parse_string(value).context("service SCHED_NAME")?),
            FLAGS => {
                let (flags, mask) = match (value.get(..4), value.get(4..)) {
                    (Some(flags), Some(mask)) if value.len() == 8 => {
                        (parse_u32(flags)?, parse_u32(mask)?)
                    }
                    _ => {
                        return Err(DecodeError::invalid_number(8, value.len()))
                            .context("service FLAGS");
                    }
                };
                Self::Flags { flags, mask }
            }
            TIMEOUT => Self::Timeout(parse_u32(value).context("service TIMEOUT")?),
            NETMASK => Self::Netmask(parse_u32(value).context("service NETMASK")?),
            STATS => Self::Stats(StatsNest::parse_boxed(value, false).context("service STATS")?),
            PE_NAME => Self::PeName(parse_string(value).context("service PE_NAME")?),
            STATS64 => {
                Self::Stats64(StatsNest::parse_boxed(value, true).context("service STATS64")?)
            }
            _ => Self::Other(attr.to_default()),
        })
    }
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use netlink_packet_core::Emitable;

    use super::*;

    fn round_trip(attr: ServiceAttribute, bytes: &[u8]) {
        let mut out = vec![0u8; attr.buffer_len()];
        attr.emit(&mut out);
        assert_eq!(out, bytes, "emit {attr:?}");
        let parsed = ServiceAttribute::parse(&NlaBuffer::new_checked(bytes).unwrap()).unwrap();
        assert_eq!(parsed, attr);
    }

    #[test]
    fn scalars() {
        round_trip(
            ServiceAttribute::AddressFamily(2),
            &[6, 0, 1, 0, 2, 0, 0, 0],
        );
        round_trip(ServiceAttribute::Protocol(6), &[6, 0, 2, 0, 6, 0, 0, 0]);
        round_trip(ServiceAttribute::Port(80), &[6, 0, 4, 0, 0, 80, 0, 0]);
        round_trip(ServiceAttribute::Fwmark(0x10), &[8, 0, 5, 0, 0x10, 0, 0, 0]);
        round_trip(ServiceAttribute::Timeout(300), &[8, 0, 8, 0, 0x2c, 1, 0, 0]);
        round_trip(
            ServiceAttribute::Netmask(0xffff_ffff),
            &[8, 0, 9, 0, 0xff, 0xff, 0xff, 0xff],
        );
        round_trip(
            ServiceAttribute::Flags {
                flags: 1,
                mask: 0xffff_ffff,
            },
            &[12, 0, 7, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
        );
    }

    #[test]
    fn strings_are_nul_terminated() {
        round_trip(
            ServiceAttribute::SchedName("rr".into()),
            &[7, 0, 6, 0, b'r', b'r', 0, 0],
        );
        round_trip(
            ServiceAttribute::PeName("sip".into()),
            &[8, 0, 11, 0, b's', b'i', b'p', 0],
        );
    }

    #[test]
    fn address_is_the_whole_union() {
        let addr = InetAddr::from(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        let mut bytes = vec![20, 0, 3, 0, 10, 0, 0, 1];
        bytes.extend([0; 12]);
        round_trip(ServiceAttribute::Address(addr), &bytes);
        // The kernel also accepts (and this parser reads) the 4-byte form.
        let short = [8u8, 0, 3, 0, 10, 0, 0, 1];
        let parsed = ServiceAttribute::parse(&NlaBuffer::new_checked(&short[..]).unwrap());
        assert_eq!(parsed.unwrap(), ServiceAttribute::Address(addr));
    }

    #[test]
    fn nested_stats() {
        use crate::packet::{Stats64Attribute, StatsAttribute};
        let wide: StatsNest = [Stats64Attribute::Conns(1)].into_iter().collect();
        round_trip(
            ServiceAttribute::Stats64(Box::new(wide)),
            &[16, 0, 12, 0x80, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0],
        );
        let narrow: StatsNest = [StatsAttribute::OutBytes(3)].into_iter().collect();
        round_trip(
            ServiceAttribute::Stats(Box::new(narrow)),
            &[16, 0, 10, 0x80, 12, 0, 5, 0, 3, 0, 0, 0, 0, 0, 0, 0],
        );
    }

    #[test]
    fn malformed_values_are_errors() {
        for bytes in [
            &[5u8, 0, 1, 0, 2, 0, 0, 0][..],
            &[8, 0, 7, 0, 1, 0, 0, 0],
            &[7, 0, 3, 0, 1, 2, 3, 0],
            &[8, 0, 10, 0x80, 9, 9, 9, 9],
        ] {
            let buf = NlaBuffer::new_checked(bytes).unwrap();
            assert!(ServiceAttribute::parse(&buf).is_err(), "{bytes:?}");
        }
        let unknown = [8u8, 0, 42, 0, 1, 2, 3, 4];
        let buf = NlaBuffer::new_checked(&unknown[..]).unwrap();
        assert_eq!(
            ServiceAttribute::parse(&buf).unwrap(),
            ServiceAttribute::Other(DefaultNla::new(42, vec![1, 2, 3, 4]))
        );
    }
}
