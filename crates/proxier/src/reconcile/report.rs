//! [`SyncReport`]: what one sync, resync or graceful check did.

use std::time::Duration;

use ipvs_netlink::Family;

/// One object that could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncError {
    /// What it was about: `ipvs`, `link`, `ipset`, `iptables`.
    pub subsystem: &'static str,
    /// The message (names the object).
    pub message: String,
}

impl std::fmt::Display for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.subsystem, self.message)
    }
}

/// What one pass sent and changed. Messages count netlink requests that
/// mutate the kernel (dumps are not counted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// IPVS mutating messages.
    pub ipvs_messages: u64,
    /// ipset mutating messages.
    pub ipset_messages: u64,
    /// rtnetlink mutating messages (VIP binds, the dummy).
    pub link_messages: u64,
    /// Processes started (`iptables-save`, `iptables-restore`).
    pub iptables_forks: u64,
    /// Services added.
    pub services_added: usize,
    /// Services updated.
    pub services_updated: usize,
    /// Services deleted.
    pub services_deleted: usize,
    /// Real servers added.
    pub real_servers_added: usize,
    /// Real servers updated (weight, thresholds, forwarding; includes
    /// quiescing to weight 0 and restoring).
    pub real_servers_updated: usize,
    /// Real servers deleted.
    pub real_servers_deleted: usize,
    /// Real servers queued for graceful removal in this pass.
    pub real_servers_queued: usize,
    /// Real servers still in the graceful queue after this pass.
    pub graceful_pending: usize,
    /// VIPs bound.
    pub vips_bound: usize,
    /// VIPs unbound.
    pub vips_unbound: usize,
    /// ipset members added.
    pub ipset_added: usize,
    /// ipset members deleted.
    pub ipset_deleted: usize,
    /// ipsets created (or recreated).
    pub ipsets_created: usize,
    /// iptables families written.
    pub iptables_written: usize,
    /// Families whose `iptables-restore` failed (kube-proxy's
    /// `iptables_restore_failures_total`).
    pub iptables_failed: Vec<Family>,
    /// Objects that failed; the others were still written.
    pub errors: Vec<SyncError>,
    /// Wall time of the pass.
    pub elapsed: Duration,
}

impl SyncReport {
    /// Every mutating netlink message (IPVS, ipset, rtnetlink).
    pub fn mutating_messages(&self) -> u64 {
        self.ipvs_messages + self.ipset_messages + self.link_messages
    }

    /// Whether every object was written.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    pub(crate) fn error(&mut self, subsystem: &'static str, message: impl ToString) {
        self.errors.push(SyncError {
            subsystem,
            message: message.to_string(),
        });
    }
}

/// Totals since the reconciler started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// IPVS mutating messages.
    pub ipvs_messages: u64,
    /// ipset mutating messages.
    pub ipset_messages: u64,
    /// rtnetlink mutating messages.
    pub link_messages: u64,
    /// iptables processes started.
    pub iptables_forks: u64,
}

impl Counters {
    /// Every mutating netlink message.
    pub fn mutating_messages(&self) -> u64 {
        self.ipvs_messages + self.ipset_messages + self.link_messages
    }
}
