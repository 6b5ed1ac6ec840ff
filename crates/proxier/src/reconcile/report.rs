//! [`SyncReport`]: what one sync, resync or graceful check did.

use std::time::Duration;

use ipvs_netlink::{Family, IpvsError};

use crate::kernel::{IpsetWriterError, IptablesError, IpvsWriterError, LinkError};

/// One object (or one whole operation) that could not be written; shown
/// as `subsystem: message`, the subsystem being one of `ipvs`, `link`,
/// `ipset`, `iptables`.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// An IPVS dump, batch or counter read failed as a whole.
    #[error("ipvs: {0}")]
    Ipvs(#[from] IpvsWriterError),
    /// One IPVS command failed (names the service or real server).
    #[error("ipvs: {0}")]
    IpvsCommand(#[from] IpvsError),
    /// The dummy interface or one VIP.
    #[error("link: {0}")]
    Link(#[from] LinkError),
    /// One ipset, or the dump of them.
    #[error("ipset: {0}")]
    Ipset(#[from] IpsetWriterError),
    /// The rules of one family.
    #[error("iptables: {0}")]
    Iptables(#[from] IptablesError),
}

impl SyncError {
    /// What it was about: `ipvs`, `link`, `ipset`, `iptables`.
    pub fn subsystem(&self) -> &'static str {
        match self {
            SyncError::Ipvs(_) | SyncError::IpvsCommand(_) => "ipvs",
            SyncError::Link(_) => "link",
            SyncError::Ipset(_) => "ipset",
            SyncError::Iptables(_) => "iptables",
        }
    }
}

/// What one pass sent and changed. Messages count netlink requests that
/// mutate the kernel (dumps are not counted).
#[derive(Debug, Default)]
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

    pub(crate) fn error(&mut self, error: impl Into<SyncError>) {
        self.errors.push(error.into());
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
