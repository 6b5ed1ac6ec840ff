//! [`CleanupReport`]: what the cleanup removed, skipped and failed.

use std::fmt;

use ipvs_netlink::{Family, ServiceKey};

use super::CleanupError;
use crate::catalogue::iptables::JumpRule;

/// A deleted jump rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemovedJump {
    /// The family (iptables or ip6tables).
    pub family: Family,
    /// The rule.
    pub jump: JumpRule,
}

/// A deleted chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RemovedChain {
    /// The family (iptables or ip6tables).
    pub family: Family,
    /// `nat` or `filter`.
    pub table: &'static str,
    /// The chain.
    pub chain: &'static str,
}

/// The outcome of [`cleanup`](super::cleanup).
#[derive(Debug, Default)]
pub struct CleanupReport {
    /// The IPVS virtual servers deleted.
    pub ipvs_services_deleted: Vec<ServiceKey>,
    /// The ipsets destroyed.
    pub ipsets_destroyed: Vec<String>,
    /// The iptables chains deleted.
    pub chains_deleted: Vec<RemovedChain>,
    /// The jump rules deleted (one per copy).
    pub jumps_deleted: Vec<RemovedJump>,
    /// Whether the dummy interface was deleted (`false`: it did not exist).
    pub link_deleted: bool,
    /// Steps skipped because the kernel lacks the subsystem, with the
    /// reason (then there is nothing of ours there).
    pub skipped: Vec<String>,
    /// The failed steps; the others were still done.
    pub errors: Vec<CleanupError>,
}

impl CleanupReport {
    /// Whether every step succeeded.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// Whether nothing was removed.
    pub fn removed_nothing(&self) -> bool {
        self.ipvs_services_deleted.is_empty()
            && self.ipsets_destroyed.is_empty()
            && self.chains_deleted.is_empty()
            && self.jumps_deleted.is_empty()
            && !self.link_deleted
    }
}

/// One summary line, then one line per skipped step and per error.
impl fmt::Display for CleanupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "removed {} IPVS services, {} ipsets, {} iptables chains, {} jump rules, {}",
            self.ipvs_services_deleted.len(),
            self.ipsets_destroyed.len(),
            self.chains_deleted.len(),
            self.jumps_deleted.len(),
            if self.link_deleted {
                "the dummy interface"
            } else {
                "no interface"
            }
        )?;
        for skipped in &self.skipped {
            write!(f, "\nskipped {skipped}")?;
        }
        for error in &self.errors {
            write!(f, "\nerror: {error}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_and_status() {
        let mut report = CleanupReport::default();
        assert!(report.is_ok() && report.removed_nothing());
        report.link_deleted = true;
        report.ipsets_destroyed.push("KUBE-CLUSTER-IP".into());
        report.skipped.push("IPVS: not loaded".into());
        assert!(report.is_ok() && !report.removed_nothing());
        report.errors.push(CleanupError::DeleteService {
            key: ServiceKey::tcp("10.96.0.1:443".parse().unwrap()),
            source: ipvs_netlink::IpvsError::NotLoaded,
        });
        assert!(!report.is_ok());
        let text = report.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].contains("1 ipsets"), "{text}");
        assert!(lines[0].ends_with("the dummy interface"), "{text}");
        assert_eq!(lines[1], "skipped IPVS: not loaded");
        assert!(
            lines[2].starts_with("error: IPVS: delete service"),
            "{text}"
        );
        assert!(lines[2].contains("10.96.0.1:443"), "{text}");
    }
}
