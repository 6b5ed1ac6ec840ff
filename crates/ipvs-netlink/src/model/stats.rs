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
        Self::from_nest(&attrs.iter().cloned().collect())
    }

    /// Counters from a legacy `STATS` nest; unknown attributes are ignored.
    pub fn from_stats32(attrs: &[StatsAttribute]) -> Self {
        Self::from_nest(&attrs.iter().cloned().collect())
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
        let wide = Stats::from_stats64(&wide_attrs);
        assert_eq!((wide.conns, wide.out_bps, wide.in_bytes), (1 << 40, 2, 0));
        let narrow_attrs = [StatsAttribute::Conns(5), StatsAttribute::InBytes(9)];
        let narrow = Stats::from_stats32(&narrow_attrs);
        assert_eq!((narrow.conns, narrow.in_bytes, narrow.out_pps), (5, 9, 0));
        assert_eq!(Stats::from_nest(&StatsNest::default()), Stats::default());
    }
}
