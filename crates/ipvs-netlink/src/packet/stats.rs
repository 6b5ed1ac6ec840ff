//! `IPVS_STATS_ATTR_*`: the counters nested in `IPVS_SVC_ATTR_STATS{,64}` and
//! `IPVS_DEST_ATTR_STATS{,64}`.

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, ErrorContext, Nla, NlaBuffer, Parseable, parse_u32,
    parse_u64,
};

use super::nla::{Attr, Attrs, put};

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

/// An `IPVS_*_ATTR_STATS` or `IPVS_*_ATTR_STATS64` nest, parsed into fixed
/// slots rather than a list: the ten counters by number, and whatever else
/// the nest held.
///
/// The same type serves both nests; the attribute that holds it decides the
/// widths on the wire (`STATS`: 32-bit except the byte counters, whose
/// values are truncated to 32 bits when emitted; `STATS64`: all 64-bit).
/// Emitting writes the present counters in number order, then `other` (the
/// kernel's own order, except that an `IPVS_STATS_ATTR_PAD` it inserts for
/// alignment on some architectures moves to the end). When a counter
/// appears twice, the last value is kept. Build one from counters with
/// `collect()` over [`StatsAttribute`] or [`Stats64Attribute`] values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StatsNest {
    /// The counters by `IPVS_STATS_ATTR_*` number minus one: `[0]` CONNS,
    /// INPKTS, OUTPKTS, INBYTES, OUTBYTES, CPS, INPPS, OUTPPS, INBPS,
    /// `[9]` OUTBPS; `None` when absent.
    pub counters: [Option<u64>; 10],
    /// Any other attribute (`IPVS_STATS_ATTR_PAD`, newer counters), in wire
    /// order.
    pub other: Vec<DefaultNla>,
}

/// Whether counter `kind` is 64-bit in the legacy `STATS` nest.
const fn wide_in_stats32(kind: u16) -> bool {
    matches!(kind, INBYTES | OUTBYTES)
}

impl StatsNest {
    /// Counter `kind` (`IPVS_STATS_ATTR_*`, 1–10), if present.
    pub fn get(&self, kind: u16) -> Option<u64> {
        let slot = usize::from(kind).checked_sub(1)?;
        self.counters.get(slot).copied().flatten()
    }

    fn set(&mut self, kind: u16, value: u64) {
        if let Some(slot) = usize::from(kind)
            .checked_sub(1)
            .and_then(|slot| self.counters.get_mut(slot))
        {
            *slot = Some(value);
        }
    }

    /// Parses the value of a `STATS` (`wide == false`) or `STATS64` nest,
    /// boxed (as the attribute enums hold it, so that they stay small).
    pub(crate) fn parse_boxed(payload: &[u8], wide: bool) -> Result<Box<Self>, DecodeError> {
        Self::parse(payload, wide).map(Box::new)
    }

    /// Parses the value of a `STATS` (`wide == false`) or `STATS64` nest.
    pub(crate) fn parse(payload: &[u8], wide: bool) -> Result<Self, DecodeError> {
        let mut nest = StatsNest::default();
        for attr in Attrs::new(payload) {
            let attr: Attr<'_> = attr?;
            let (kind, value) = (attr.kind(), attr.value);
            if !(CONNS..=OUTBPS).contains(&kind) {
                nest.other.push(attr.to_default());
                continue;
            }
            let parsed = if wide || wide_in_stats32(kind) {
                <[u8; 8]>::try_from(value).map(u64::from_ne_bytes)
            } else {
                <[u8; 4]>::try_from(value).map(|v| u32::from_ne_bytes(v).into())
            };
            match parsed {
                Ok(v) => nest.set(kind, v),
                Err(_) => {
                    let expected = if wide || wide_in_stats32(kind) { 8 } else { 4 };
                    return Err(DecodeError::invalid_number(expected, value.len())).with_context(
                        || {
                            format!(
                                "{} {}",
                                if wide { "stats64" } else { "stats" },
                                NAMES[usize::from(kind) - 1]
                            )
                        },
                    );
                }
            }
        }
        Ok(nest)
    }

    fn counter_len(kind: u16, wide: bool) -> usize {
        if wide || wide_in_stats32(kind) { 8 } else { 4 }
    }

    fn present(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        (CONNS..=OUTBPS)
            .zip(self.counters)
            .filter_map(|(kind, v)| Some((kind, v?)))
    }

    /// Encoded length of the nest's value.
    pub(crate) fn value_len(&self, wide: bool) -> usize {
        let counters: usize = self
            .present()
            .map(|(kind, _)| NLA_HEADER + Self::counter_len(kind, wide))
            .sum();
        counters + self.other.iter().map(Emitable::buffer_len).sum::<usize>()
    }

    /// Writes the nest's value (`value_len(wide)` bytes).
    pub(crate) fn emit_value(&self, wide: bool, buffer: &mut [u8]) {
        let mut at = 0;
        for (kind, v) in self.present() {
            let len = Self::counter_len(kind, wide);
            if let Some(dst) = buffer.get_mut(at..at + NLA_HEADER + len) {
                // Counters are 4 or 8 bytes: always aligned, no padding.
                let header = ((NLA_HEADER + len) as u16).to_ne_bytes();
                put(dst, &[header[0], header[1]]);
                put(&mut dst[2..], &kind.to_ne_bytes());
                if len == 8 {
                    put(&mut dst[NLA_HEADER..], &v.to_ne_bytes());
                } else {
                    put(&mut dst[NLA_HEADER..], &(v as u32).to_ne_bytes());
                }
            }
            at += NLA_HEADER + len;
        }
        if let Some(rest) = buffer.get_mut(at..) {
            self.other.as_slice().emit(rest);
        }
    }
}

const NLA_HEADER: usize = 4;

const NAMES: [&str; 10] = [
    "conns", "inpkts", "outpkts", "inbytes", "outbytes", "cps", "inpps", "outpps", "inbps",
    "outbps",
];

impl FromIterator<StatsAttribute> for StatsNest {
    fn from_iter<I: IntoIterator<Item = StatsAttribute>>(iter: I) -> Self {
        let mut nest = StatsNest::default();
        for attr in iter {
            let kind = attr.kind();
            let value = match attr {
                StatsAttribute::InBytes(v) | StatsAttribute::OutBytes(v) => v,
                StatsAttribute::Conns(v)
                | StatsAttribute::InPkts(v)
                | StatsAttribute::OutPkts(v)
                | StatsAttribute::Cps(v)
                | StatsAttribute::InPps(v)
                | StatsAttribute::OutPps(v)
                | StatsAttribute::InBps(v)
                | StatsAttribute::OutBps(v) => v.into(),
                StatsAttribute::Other(nla) => {
                    nest.other.push(nla);
                    continue;
                }
            };
            nest.set(kind, value);
        }
        nest
    }
}

impl FromIterator<Stats64Attribute> for StatsNest {
    fn from_iter<I: IntoIterator<Item = Stats64Attribute>>(iter: I) -> Self {
        let mut nest = StatsNest::default();
        for attr in iter {
            match attr {
                Stats64Attribute::Other(nla) => nest.other.push(nla),
                Stats64Attribute::Conns(v)
                | Stats64Attribute::InPkts(v)
                | Stats64Attribute::OutPkts(v)
                | Stats64Attribute::InBytes(v)
                | Stats64Attribute::OutBytes(v)
                | Stats64Attribute::Cps(v)
                | Stats64Attribute::InPps(v)
                | Stats64Attribute::OutPps(v)
                | Stats64Attribute::InBps(v)
                | Stats64Attribute::OutBps(v) => nest.set(attr.kind(), v),
            }
        }
        nest
    }
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

    /// A kernel-like nest: every counter, then a PAD, emitted back in
    /// number order with the other attributes last.
    #[test]
    fn nests_parse_and_emit() {
        let mut stats32 = Vec::new();
        let mut stats64 = Vec::new();
        for kind in 1..=10u16 {
            let wide32 = matches!(kind, 4 | 5);
            let len: u8 = if wide32 { 12 } else { 8 };
            stats32.extend([len, 0, kind as u8, 0, kind as u8, 0, 0, 0]);
            if wide32 {
                stats32.extend([0, 0, 0, 1]);
            }
            stats64.extend([12, 0, kind as u8, 0, kind as u8, 0, 0, 0, 0, 0, 0, 1]);
        }
        stats64.extend([4, 0, 11, 0]);
        let narrow = StatsNest::parse_boxed(&stats32, false).unwrap();
        assert_eq!(narrow.get(1), Some(1));
        assert_eq!(narrow.get(4), Some(4 | 1 << 56));
        assert_eq!(narrow.get(0), None);
        assert_eq!(narrow.get(11), None);
        assert!(narrow.other.is_empty());
        let wide = StatsNest::parse_boxed(&stats64, true).unwrap();
        assert_eq!(wide.get(10), Some(10 | 1 << 56));
        assert_eq!(wide.other, [DefaultNla::new(11, vec![])]);
        for (nest, is_wide, bytes) in [(&narrow, false, &stats32), (&wide, true, &stats64)] {
            assert_eq!(nest.value_len(is_wide), bytes.len());
            let mut out = vec![0u8; bytes.len()];
            nest.emit_value(is_wide, &mut out);
            assert_eq!(&out, bytes);
        }
        // The same nest through the per-counter enums.
        let from_enums: StatsNest = [
            Stats64Attribute::Conns(1),
            Stats64Attribute::Other(DefaultNla::new(11, vec![])),
        ]
        .into_iter()
        .collect();
        assert_eq!(from_enums.get(1), Some(1));
        assert_eq!(from_enums.other.len(), 1);
    }

    #[test]
    fn bad_nests_are_errors() {
        // CONNS is 4 bytes in STATS, 8 in STATS64; INBYTES 8 in both.
        let conns32 = [8u8, 0, 1, 0, 1, 0, 0, 0];
        assert!(StatsNest::parse_boxed(&conns32, false).is_ok());
        assert!(StatsNest::parse_boxed(&conns32, true).is_err());
        let inbytes32 = [8u8, 0, 4, 0, 1, 0, 0, 0];
        assert!(StatsNest::parse_boxed(&inbytes32, false).is_err());
        for truncated in [&[8u8, 0, 1][..], &[12, 0, 1, 0, 1, 0, 0, 0], &[2, 0, 1, 0]] {
            assert!(StatsNest::parse_boxed(truncated, true).is_err());
        }
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
