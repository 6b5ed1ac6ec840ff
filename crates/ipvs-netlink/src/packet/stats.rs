//! `IPVS_STATS_ATTR_*`: the counters nested in `IPVS_SVC_ATTR_STATS{,64}` and
//! `IPVS_DEST_ATTR_STATS{,64}`.

use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable, parse_u32, parse_u64,
};

use super::nla::put;

const CONNS: u16 = 1;
const INPKTS: u16 = 2;
const OUTPKTS: u16 = 3;
const INBYTES: u16 = 4;
const OUTBYTES: u16 = 5;
const CPS: u16 = 6;
const INPPS: u16 = 7;
const OUTPPS: u16 = 8;
const INBPS: u16 = 9;
const OUTBPS: u16 = 10;

/// One counter of the legacy `IPVS_*_ATTR_STATS` nest
/// (`struct ip_vs_stats_user`): 32-bit except the byte counters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatsAttribute {
    /// `IPVS_STATS_ATTR_CONNS`: connections scheduled.
    Conns(u32),
    /// `IPVS_STATS_ATTR_INPKTS`: incoming packets.
    InPkts(u32),
    /// `IPVS_STATS_ATTR_OUTPKTS`: outgoing packets.
    OutPkts(u32),
    /// `IPVS_STATS_ATTR_INBYTES`: incoming bytes.
    InBytes(u64),
    /// `IPVS_STATS_ATTR_OUTBYTES`: outgoing bytes.
    OutBytes(u64),
    /// `IPVS_STATS_ATTR_CPS`: connections per second.
    Cps(u32),
    /// `IPVS_STATS_ATTR_INPPS`: incoming packets per second.
    InPps(u32),
    /// `IPVS_STATS_ATTR_OUTPPS`: outgoing packets per second.
    OutPps(u32),
    /// `IPVS_STATS_ATTR_INBPS`: incoming bytes per second.
    InBps(u32),
    /// `IPVS_STATS_ATTR_OUTBPS`: outgoing bytes per second.
    OutBps(u32),
    /// Anything else, including `IPVS_STATS_ATTR_PAD`.
    Other(DefaultNla),
}

/// One counter of the `IPVS_*_ATTR_STATS64` nest: every value is 64-bit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stats64Attribute {
    /// `IPVS_STATS_ATTR_CONNS`: connections scheduled.
    Conns(u64),
    /// `IPVS_STATS_ATTR_INPKTS`: incoming packets.
    InPkts(u64),
    /// `IPVS_STATS_ATTR_OUTPKTS`: outgoing packets.
    OutPkts(u64),
    /// `IPVS_STATS_ATTR_INBYTES`: incoming bytes.
    InBytes(u64),
    /// `IPVS_STATS_ATTR_OUTBYTES`: outgoing bytes.
    OutBytes(u64),
    /// `IPVS_STATS_ATTR_CPS`: connections per second.
    Cps(u64),
    /// `IPVS_STATS_ATTR_INPPS`: incoming packets per second.
    InPps(u64),
    /// `IPVS_STATS_ATTR_OUTPPS`: outgoing packets per second.
    OutPps(u64),
    /// `IPVS_STATS_ATTR_INBPS`: incoming bytes per second.
    InBps(u64),
    /// `IPVS_STATS_ATTR_OUTBPS`: outgoing bytes per second.
    OutBps(u64),
    /// Anything else, including `IPVS_STATS_ATTR_PAD`.
    Other(DefaultNla),
}

impl Nla for StatsAttribute {
    fn value_len(&self) -> usize {
        match self {
            Self::InBytes(_) | Self::OutBytes(_) => 8,
            Self::Other(nla) => nla.value_len(),
            _ => 4,
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Conns(_) => CONNS,
            Self::InPkts(_) => INPKTS,
            Self::OutPkts(_) => OUTPKTS,
            Self::InBytes(_) => INBYTES,
            Self::OutBytes(_) => OUTBYTES,
            Self::Cps(_) => CPS,
            Self::InPps(_) => INPPS,
            Self::OutPps(_) => OUTPPS,
            Self::InBps(_) => INBPS,
            Self::OutBps(_) => OUTBPS,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Conns(v)
            | Self::InPkts(v)
            | Self::OutPkts(v)
            | Self::Cps(v)
            | Self::InPps(v)
            | Self::OutPps(v)
            | Self::InBps(v)
            | Self::OutBps(v) => put(buffer, &v.to_ne_bytes()),
            Self::InBytes(v) | Self::OutBytes(v) => put(buffer, &v.to_ne_bytes()),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for StatsAttribute {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let value = buf.value();
        let u32_of = |name: &str| parse_u32(value).with_context(|| format!("stats {name}"));
        let u64_of = |name: &str| parse_u64(value).with_context(|| format!("stats {name}"));
        Ok(match buf.kind() {
            CONNS => Self::Conns(u32_of("conns")?),
            INPKTS => Self::InPkts(u32_of("inpkts")?),
            OUTPKTS => Self::OutPkts(u32_of("outpkts")?),
            INBYTES => Self::InBytes(u64_of("inbytes")?),
            OUTBYTES => Self::OutBytes(u64_of("outbytes")?),
            CPS => Self::Cps(u32_of("cps")?),
            INPPS => Self::InPps(u32_of("inpps")?),
            OUTPPS => Self::OutPps(u32_of("outpps")?),
            INBPS => Self::InBps(u32_of("inbps")?),
            OUTBPS => Self::OutBps(u32_of("outbps")?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}

impl Nla for Stats64Attribute {
    fn value_len(&self) -> usize {
        match self {
            Self::Other(nla) => nla.value_len(),
            _ => 8,
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Conns(_) => CONNS,
            Self::InPkts(_) => INPKTS,
            Self::OutPkts(_) => OUTPKTS,
            Self::InBytes(_) => INBYTES,
            Self::OutBytes(_) => OUTBYTES,
            Self::Cps(_) => CPS,
            Self::InPps(_) => INPPS,
            Self::OutPps(_) => OUTPPS,
            Self::InBps(_) => INBPS,
            Self::OutBps(_) => OUTBPS,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Conns(v)
            | Self::InPkts(v)
            | Self::OutPkts(v)
            | Self::InBytes(v)
            | Self::OutBytes(v)
            | Self::Cps(v)
            | Self::InPps(v)
            | Self::OutPps(v)
            | Self::InBps(v)
            | Self::OutBps(v) => put(buffer, &v.to_ne_bytes()),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for Stats64Attribute {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let value = buf.value();
        let u64_of = |name: &str| parse_u64(value).with_context(|| format!("stats64 {name}"));
        Ok(match buf.kind() {
            CONNS => Self::Conns(u64_of("conns")?),
            INPKTS => Self::InPkts(u64_of("inpkts")?),
            OUTPKTS => Self::OutPkts(u64_of("outpkts")?),
            INBYTES => Self::InBytes(u64_of("inbytes")?),
            OUTBYTES => Self::OutBytes(u64_of("outbytes")?),
            CPS => Self::Cps(u64_of("cps")?),
            INPPS => Self::InPps(u64_of("inpps")?),
            OUTPPS => Self::OutPps(u64_of("outpps")?),
            INBPS => Self::InBps(u64_of("inbps")?),
            OUTBPS => Self::OutBps(u64_of("outbps")?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use netlink_packet_core::Emitable;

    use super::*;

    fn round_trip<A>(attr: A, bytes: &[u8])
    where
        A: Nla + std::fmt::Debug + PartialEq + for<'a> Parseable<NlaBuffer<&'a [u8]>>,
    {
        let mut out = vec![0u8; attr.buffer_len()];
        attr.emit(&mut out);
        assert_eq!(out, bytes);
        let parsed = A::parse(&NlaBuffer::new_checked(bytes).unwrap()).unwrap();
        assert_eq!(parsed, attr);
    }

    #[test]
    fn stats_widths() {
        round_trip(StatsAttribute::Conns(7), &[8, 0, 1, 0, 7, 0, 0, 0]);
        round_trip(
            StatsAttribute::InBytes(0x0102),
            &[12, 0, 4, 0, 2, 1, 0, 0, 0, 0, 0, 0],
        );
        round_trip(StatsAttribute::OutBps(3), &[8, 0, 10, 0, 3, 0, 0, 0]);
        round_trip(
            Stats64Attribute::Conns(7),
            &[12, 0, 1, 0, 7, 0, 0, 0, 0, 0, 0, 0],
        );
        round_trip(
            Stats64Attribute::OutBps(1 << 40),
            &[12, 0, 10, 0, 0, 0, 0, 0, 0, 1, 0, 0],
        );
    }

    #[test]
    fn pad_is_kept_and_bad_width_fails() {
        round_trip(
            StatsAttribute::Other(DefaultNla::new(11, vec![])),
            &[4, 0, 11, 0],
        );
        let bad = [6u8, 0, 1, 0, 1, 2, 0, 0];
        assert!(StatsAttribute::parse(&NlaBuffer::new_checked(&bad[..]).unwrap()).is_err());
        assert!(Stats64Attribute::parse(&NlaBuffer::new_checked(&bad[..]).unwrap()).is_err());
    }
}
