//! Scheduler names.

use std::{borrow::Cow, fmt};

/// An IPVS scheduler, by name (`ip_vs_<name>` kernel module).
///
/// Any name is accepted; the kernel answers `ENOENT` (mapped to
/// [`IpvsError::UnknownScheduler`](crate::IpvsError::UnknownScheduler)) when
/// it has no such scheduler.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scheduler(Cow<'static, str>);

impl Scheduler {
    /// Round robin.
    pub const RR: Scheduler = Scheduler::known("rr");
    /// Weighted round robin.
    pub const WRR: Scheduler = Scheduler::known("wrr");
    /// Least connection.
    pub const LC: Scheduler = Scheduler::known("lc");
    /// Weighted least connection (ipvsadm's default).
    pub const WLC: Scheduler = Scheduler::known("wlc");
    /// Locality-based least connection.
    pub const LBLC: Scheduler = Scheduler::known("lblc");
    /// Locality-based least connection with replication.
    pub const LBLCR: Scheduler = Scheduler::known("lblcr");
    /// Destination hashing.
    pub const DH: Scheduler = Scheduler::known("dh");
    /// Source hashing.
    pub const SH: Scheduler = Scheduler::known("sh");
    /// Shortest expected delay.
    pub const SED: Scheduler = Scheduler::known("sed");
    /// Never queue.
    pub const NQ: Scheduler = Scheduler::known("nq");
    /// Weighted failover.
    pub const FO: Scheduler = Scheduler::known("fo");
    /// Weighted overflow.
    pub const OVF: Scheduler = Scheduler::known("ovf");
    /// Maglev hashing.
    pub const MH: Scheduler = Scheduler::known("mh");

    const fn known(name: &'static str) -> Self {
        Scheduler(Cow::Borrowed(name))
    }

    /// A scheduler by name.
    pub fn new(name: impl Into<String>) -> Self {
        Scheduler(Cow::Owned(name.into()))
    }

    /// The name sent to the kernel.
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Scheduler {
    fn from(name: &str) -> Self {
        Scheduler::new(name)
    }
}

impl From<String> for Scheduler {
    fn from(name: String) -> Self {
        Scheduler::new(name)
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_equal_owned_names() {
        assert_eq!(Scheduler::RR, Scheduler::new("rr"));
        assert_eq!(Scheduler::from("mh").name(), "mh");
    }
}
