//! The desired kernel state of one node: the output of the planner and the
//! input of the reconciler. Pure data, no I/O; everything is ordered so two
//! plans compare and print deterministically.
//!
//! Two planners give the same [`KernelPlan`]: [`plan`], a pure function
//! of a whole snapshot (the `plan` command, the manifests), and
//! [`IncrementalPlanner`], which keeps the plan up to date one Service at a
//! time and says which keys changed ([`PlanChanges`]) so that a sync only
//! looks at those. Both plan each service port with the same code.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::IpAddr,
};

mod build;
mod changes;
mod incremental;
pub mod iptables;
mod port;
pub mod print;
pub mod rules;

pub use build::{node_port_ips, plan, plan_model};
pub use changes::{ChangedKeys, PlanChanges};
pub use incremental::{IncrementalPlanner, NoLocalEndpoints};

use ipset_netlink::{Entry, SetType};
use ipvs_netlink::{Family, RealServer, ServiceKey, VirtualService};

/// Everything the kernel of a node must hold for the cluster's Services.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelPlan {
    /// IPVS virtual servers with their real servers, by key.
    pub services: BTreeMap<ServiceKey, PlannedService>,
    /// Addresses to bind to `kube-ipvs0` (ClusterIPs, and external / load
    /// balancer IPs not already local elsewhere).
    pub bind_addrs: BTreeSet<IpAddr>,
    /// Every kube-proxy ipset, by its exact name (kube-proxy keeps empty sets
    /// too).
    pub ipsets: BTreeMap<String, PlannedSet>,
    /// The iptables rules, per family.
    pub iptables: BTreeMap<Family, IptablesPlan>,
}

/// One IPVS virtual server and the real servers it must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedService {
    /// The virtual server (scheduler, flags, persistence).
    pub service: VirtualService,
    /// Its real servers, sorted by address.
    pub real_servers: Vec<RealServer>,
    /// Where it comes from, `namespace/name:port` (for logs and metrics).
    pub origin: String,
}

impl PlannedService {
    /// Whether `other` plans the same: the same virtual server and real
    /// servers by configuration ([`VirtualService::same_config`],
    /// [`RealServer::same_config`]; counters ignored) and the same origin.
    pub fn same_config(&self, other: &PlannedService) -> bool {
        self.service.same_config(&other.service)
            && self.real_servers.len() == other.real_servers.len()
            && self
                .real_servers
                .iter()
                .zip(&other.real_servers)
                .all(|(a, b)| a.same_config(b))
            && self.origin == other.origin
    }
}

/// One ipset: kube-proxy's type, family, comment and entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedSet {
    /// The set type.
    pub set_type: SetType,
    /// The family (ignored by bitmap:port).
    pub family: Family,
    /// kube-proxy's comment for the set (shown in iptables rules).
    pub comment: &'static str,
    /// The members.
    pub entries: BTreeSet<Entry>,
}

/// The iptables rules of one family: kube-proxy's chains, their rules
/// and the jumps to them, as structured values ([`rules`]) the iptables
/// writer renders.
pub type IptablesPlan = rules::IptablesRules;

#[cfg(test)]
mod tests;

/// The incremental planner's seeded random histories, for the tests of
/// the layers above (the reconciler checks its partial diffs with them).
#[cfg(test)]
pub(crate) use incremental::tests::history::{Tally, history};
