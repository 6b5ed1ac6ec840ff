//! Traffic counters of a service or real server.

use crate::packet::{Stats64Attribute, StatsAttribute, StatsNest};

/// Counters and rate estimates (read-only, reported in dumps).
///
/// Filled from `STATS64` when the kernel sends it (4.1+), otherwise from the
/// legacy 32-bit `STATS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Incoming packets.
    pub in_packets: u64,
    /// Outgoing packets.
    pub out_packets: u64,
    /// Incoming bytes.
    pub in_bytes: u64,
    /// Outgoing bytes.
    pub out_bytes: u64,
    /// Connections per second.
    pub cps: u64,
    /// Incoming packets per second.
    pub in_pps: u64,
    /// Outgoing packets per second.
    pub out_pps: u64,
    /// Incoming bytes per second.
    pub in_bps: u64,
    /// Outgoing bytes per second.
    pub out_bps: u64,
}

impl Stats {
    /// Counters from a `STATS64` nest; unknown attributes are ignored.
    pub fn from_stats64(attrs: &[Stats64Attribute]) -> Self {
        let mut stats = Stats::default();
        for attr in attrs {
            match *attr {
                Stats64Attribute::Conns(v) => stats.conns = v,
                Stats64Attribute::InPkts(v) => stats.in_packets = v,
                Stats64Attribute::OutPkts(v) => stats.out_packets = v,
                Stats64Attribute::InBytes(v) => stats.in_bytes = v,
                Stats64Attribute::OutBytes(v) => stats.out_bytes = v,
                Stats64Attribute::Cps(v) => stats.cps = v,
                Stats64Attribute::InPps(v) => stats.in_pps = v,
                Stats64Attribute::OutPps(v) => stats.out_pps = v,
                Stats64Attribute::InBps(v) => stats.in_bps = v,
                Stats64Attribute::OutBps(v) => stats.out_bps = v,
                _ => {}
            }
        }
        stats
    }

    /// Counters from a legacy `STATS` nest; unknown attributes are ignored.
    pub fn from_stats32(attrs: &[StatsAttribute]) -> Self {
        let mut stats = Stats::default();
        for attr in attrs {
            match *attr {
                StatsAttribute::Conns(v) => stats.conns = v.into(),
                StatsAttribute::InPkts(v) => stats.in_packets = v.into(),
                StatsAttribute::OutPkts(v) => stats.out_packets = v.into(),
                StatsAttribute::InBytes(v) => stats.in_bytes = v,
                StatsAttribute::OutBytes(v) => stats.out_bytes = v,
                StatsAttribute::Cps(v) => stats.cps = v.into(),
                StatsAttribute::InPps(v) => stats.in_pps = v.into(),
                StatsAttribute::OutPps(v) => stats.out_pps = v.into(),
                StatsAttribute::InBps(v) => stats.in_bps = v.into(),
                StatsAttribute::OutBps(v) => stats.out_bps = v.into(),
                _ => {}
            }
        }
        stats
    }

    /// Counters from a parsed `STATS` or `STATS64` nest (absent counters
    /// are 0).
    pub fn from_nest(nest: &StatsNest) -> Self {
        let [
            conns,
            in_packets,
            out_packets,
            in_bytes,
            out_bytes,
            cps,
            in_pps,
            out_pps,
            in_bps,
            out_bps,
        ] = nest.counters.map(|v| v.unwrap_or(0));
        Stats {
            conns,
            in_packets,
            out_packets,
            in_bytes,
            out_bytes,
            cps,
            in_pps,
            out_pps,
            in_bps,
            out_bps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nests_read_like_attribute_lists() {
        let wide_attrs = [
            Stats64Attribute::Conns(1 << 40),
            Stats64Attribute::OutBps(2),
        ];
        let wide: StatsNest = wide_attrs.clone().into_iter().collect();
        assert_eq!(Stats::from_nest(&wide), Stats::from_stats64(&wide_attrs));
        assert_eq!(Stats::from_nest(&wide).conns, 1 << 40);
        let narrow_attrs = [StatsAttribute::Conns(5), StatsAttribute::InBytes(9)];
        let narrow: StatsNest = narrow_attrs.clone().into_iter().collect();
        assert_eq!(
            Stats::from_nest(&narrow),
            Stats::from_stats32(&narrow_attrs)
        );
        assert_eq!(Stats::from_nest(&StatsNest::default()), Stats::default());
    }
}
