//! `IPVS_DEST_ATTR_*`: the attributes nested in `IPVS_CMD_ATTR_DEST`.

use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable, parse_u8, parse_u16,
    parse_u16_be, parse_u32,
};

use super::{
    address::InetAddr,
    nla::{Attr, NestItem, nested, put, visit_nest},
    stats::StatsNest,
};

const ADDR: u16 = 1;
const PORT: u16 = 2;
const FWD_METHOD: u16 = 3;
const WEIGHT: u16 = 4;
const U_THRESH: u16 = 5;
const L_THRESH: u16 = 6;
const ACTIVE_CONNS: u16 = 7;
const INACT_CONNS: u16 = 8;
const PERSIST_CONNS: u16 = 9;
const STATS: u16 = 10;
const ADDR_FAMILY: u16 = 11;
const STATS64: u16 = 12;
const TUN_TYPE: u16 = 13;
const TUN_PORT: u16 = 14;
const TUN_FLAGS: u16 = 15;

/// One attribute of a destination (real server).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DestinationAttribute {
    /// `IPVS_DEST_ATTR_ADDR`: real server address.
    Address(InetAddr),
    /// `IPVS_DEST_ATTR_PORT`: real server port, in host order here,
    /// big-endian on the wire.
    Port(u16),
    /// `IPVS_DEST_ATTR_FWD_METHOD`: `IP_VS_CONN_F_*` forwarding method
    /// (0 masq, 1 local, 2 tunnel, 3 direct route).
    FwdMethod(u32),
    /// `IPVS_DEST_ATTR_WEIGHT`.
    Weight(u32),
    /// `IPVS_DEST_ATTR_U_THRESH`: upper connection threshold (0 = none).
    UpperThreshold(u32),
    /// `IPVS_DEST_ATTR_L_THRESH`: lower connection threshold.
    LowerThreshold(u32),
    /// `IPVS_DEST_ATTR_ACTIVE_CONNS` (read-only).
    ActiveConns(u32),
    /// `IPVS_DEST_ATTR_INACT_CONNS` (read-only).
    InactiveConns(u32),
    /// `IPVS_DEST_ATTR_PERSIST_CONNS` (read-only).
    PersistentConns(u32),
    /// `IPVS_DEST_ATTR_STATS` (read-only).
    Stats(Box<StatsNest>),
    /// `IPVS_DEST_ATTR_ADDR_FAMILY` (kernel 3.18+).
    AddressFamily(u16),
    /// `IPVS_DEST_ATTR_STATS64` (read-only).
    Stats64(Box<StatsNest>),
    /// `IPVS_DEST_ATTR_TUN_TYPE`: 0 ipip, 1 gue, 2 gre (kernel 5.2+).
    TunnelType(u8),
    /// `IPVS_DEST_ATTR_TUN_PORT`: GUE port, host order here, big-endian on
    /// the wire.
    TunnelPort(u16),
    /// `IPVS_DEST_ATTR_TUN_FLAGS`: `IP_VS_TUNNEL_ENCAP_FLAG_*`.
    TunnelFlags(u16),
    /// An attribute this crate does not know.
    Other(DefaultNla),
}

impl Nla for DestinationAttribute {
    fn value_len(&self) -> usize {
        match self {
            Self::Address(_) => InetAddr::LEN,
            Self::Port(_) | Self::AddressFamily(_) | Self::TunnelPort(_) | Self::TunnelFlags(_) => {
                2
            }
            Self::TunnelType(_) => 1,
            Self::FwdMethod(_)
            | Self::Weight(_)
            | Self::UpperThreshold(_)
            | Self::LowerThreshold(_)
            | Self::ActiveConns(_)
            | Self::InactiveConns(_)
            | Self::PersistentConns(_) => 4,
            Self::Stats(nest) => nest.value_len(false),
            Self::Stats64(nest) => nest.value_len(true),
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Address(_) => ADDR,
            Self::Port(_) => PORT,
            Self::FwdMethod(_) => FWD_METHOD,
            Self::Weight(_) => WEIGHT,
            Self::UpperThreshold(_) => U_THRESH,
            Self::LowerThreshold(_) => L_THRESH,
            Self::ActiveConns(_) => ACTIVE_CONNS,
            Self::InactiveConns(_) => INACT_CONNS,
            Self::PersistentConns(_) => PERSIST_CONNS,
            Self::Stats(_) => nested(STATS),
            Self::AddressFamily(_) => ADDR_FAMILY,
            Self::Stats64(_) => nested(STATS64),
            Self::TunnelType(_) => TUN_TYPE,
            Self::TunnelPort(_) => TUN_PORT,
            Self::TunnelFlags(_) => TUN_FLAGS,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Address(addr) => put(buffer, &addr.0),
            Self::Port(v) | Self::TunnelPort(v) => put(buffer, &v.to_be_bytes()),
            Self::AddressFamily(v) | Self::TunnelFlags(v) => put(buffer, &v.to_ne_bytes()),
            Self::TunnelType(v) => put(buffer, &[*v]),
            Self::FwdMethod(v)
            | Self::Weight(v)
            | Self::UpperThreshold(v)
            | Self::LowerThreshold(v)
            | Self::ActiveConns(v)
            | Self::InactiveConns(v)
            | Self::PersistentConns(v) => put(buffer, &v.to_ne_bytes()),
            Self::Stats(nest) => nest.emit_value(false, buffer),
            Self::Stats64(nest) => nest.emit_value(true, buffer),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DestinationAttribute {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        Self::parse_attr(Attr::of_buffer(buf))
    }
}

impl DestinationAttribute {
    /// Parses every attribute of a destination nest (the value of
    /// `IPVS_CMD_ATTR_DEST`), handing each to `visit` instead of collecting
    /// them; the stats nests are not boxed.
    pub(crate) fn visit_nest(
        payload: &[u8],
        visit: impl FnMut(NestItem<Self>) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        visit_nest(
            payload,
            (STATS, STATS64, "destination"),
            Self::parse_attr,
            visit,
        )
    }

    /// Parses one attribute of a destination nest.
    pub(crate) fn parse_attr(attr: Attr<'_>) -> Result<Self, DecodeError> {
        let value = attr.value;
        let u32_of = |name: &str| parse_u32(value).with_context(|| format!("destination {name}"));
        Ok(match attr.kind() {
            ADDR => Self::Address(InetAddr::parse(value).context("destination ADDR")?),
            PORT => Self::Port(parse_u16_be(value).context("destination PORT")?),
            FWD_METHOD => Self::FwdMethod(u32_of("FWD_METHOD")?),
            WEIGHT => Self::Weight(u32_of("WEIGHT")?),
            U_THRESH => Self::UpperThreshold(u32_of("U_THRESH")?),
            L_THRESH => Self::LowerThreshold(u32_of("L_THRESH")?),
            ACTIVE_CONNS => Self::ActiveConns(u32_of("ACTIVE_CONNS")?),
            INACT_CONNS => Self::InactiveConns(u32_of("INACT_CONNS")?),
            PERSIST_CONNS => Self::PersistentConns(u32_of("PERSIST_CONNS")?),
            STATS => {
                Self::Stats(StatsNest::parse_boxed(value, false).context("destination STATS")?)
            }
            ADDR_FAMILY => {
                Self::AddressFamily(parse_u16(value).context("destination ADDR_FAMILY")?)
            }
            STATS64 => {
                Self::Stats64(StatsNest::parse_boxed(value, true).context("destination STATS64")?)
            }
            TUN_TYPE => Self::TunnelType(parse_u8(value).context("destination TUN_TYPE")?),
            TUN_PORT => Self::TunnelPort(parse_u16_be(value).context("destination TUN_PORT")?),
            TUN_FLAGS => Self::TunnelFlags(parse_u16(value).context("destination TUN_FLAGS")?),
            _ => Self::Other(attr.to_default()),
        })
    }
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use netlink_packet_core::Emitable;

    use super::*;

    fn round_trip(attr: DestinationAttribute, bytes: &[u8]) {
        let mut out = vec![0u8; attr.buffer_len()];
        attr.emit(&mut out);
        assert_eq!(out, bytes, "emit {attr:?}");
        let parsed = DestinationAttribute::parse(&NlaBuffer::new_checked(bytes).unwrap()).unwrap();
        assert_eq!(parsed, attr);
    }

    #[test]
    fn scalars() {
        round_trip(
            DestinationAttribute::Port(8080),
            &[6, 0, 2, 0, 0x1f, 0x90, 0, 0],
        );
        round_trip(
            DestinationAttribute::FwdMethod(3),
            &[8, 0, 3, 0, 3, 0, 0, 0],
        );
        round_trip(DestinationAttribute::Weight(1), &[8, 0, 4, 0, 1, 0, 0, 0]);
        round_trip(
            DestinationAttribute::UpperThreshold(9),
            &[8, 0, 5, 0, 9, 0, 0, 0],
        );
        round_trip(
            DestinationAttribute::LowerThreshold(2),
            &[8, 0, 6, 0, 2, 0, 0, 0],
        );
        round_trip(
            DestinationAttribute::ActiveConns(4),
            &[8, 0, 7, 0, 4, 0, 0, 0],
        );
        round_trip(
            DestinationAttribute::InactiveConns(5),
            &[8, 0, 8, 0, 5, 0, 0, 0],
        );
        round_trip(
            DestinationAttribute::PersistentConns(6),
            &[8, 0, 9, 0, 6, 0, 0, 0],
        );
        round_trip(
            DestinationAttribute::AddressFamily(10),
            &[6, 0, 11, 0, 10, 0, 0, 0],
        );
        round_trip(
            DestinationAttribute::TunnelType(1),
            &[5, 0, 13, 0, 1, 0, 0, 0],
        );
        round_trip(
            DestinationAttribute::TunnelPort(6080),
            &[6, 0, 14, 0, 0x17, 0xc0, 0, 0],
        );
        round_trip(
            DestinationAttribute::TunnelFlags(1),
            &[6, 0, 15, 0, 1, 0, 0, 0],
        );
    }

    #[test]
    fn nested_stats() {
        use crate::packet::{Stats64Attribute, StatsAttribute};
        let narrow: StatsNest = [StatsAttribute::Conns(1)].into_iter().collect();
        round_trip(
            DestinationAttribute::Stats(Box::new(narrow)),
            &[12, 0, 10, 0x80, 8, 0, 1, 0, 1, 0, 0, 0],
        );
        let wide: StatsNest = [Stats64Attribute::InBytes(2)].into_iter().collect();
        round_trip(
            DestinationAttribute::Stats64(Box::new(wide)),
            &[16, 0, 12, 0x80, 12, 0, 4, 0, 2, 0, 0, 0, 0, 0, 0, 0],
        );
    }

    #[test]
    fn malformed_values_are_errors() {
        for bytes in [
            &[5u8, 0, 2, 0, 1, 0, 0, 0][..],
            &[6, 0, 4, 0, 1, 0, 0, 0],
            &[6, 0, 13, 0, 1, 0, 0, 0],
        ] {
            let buf = NlaBuffer::new_checked(bytes).unwrap();
            assert!(DestinationAttribute::parse(&buf).is_err(), "{bytes:?}");
        }
    }
}
