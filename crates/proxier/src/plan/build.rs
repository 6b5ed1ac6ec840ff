//! [`plan`]: the desired kernel state of a node, a pure function of the
//! snapshot, the node and the configuration — kube-proxy's IPVS
//! `syncProxyRules` without the kernel.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::IpAddr,
};

use ipset_netlink::{Entry, SetType};
use ipvs_netlink::{Family, ServiceKey};

use super::{
    KernelPlan, PlannedService, PlannedSet,
    iptables::{self, NoNodeAccess},
    port::{PortPlanner, conflict_warning},
};
use crate::{
    catalogue::ipsets::*,
    cluster::Snapshot,
    config::{NodePortAddresses, ProxyConfig},
    model::{self, ClusterModel, NodeContext, ServicePort, Warning},
};

/// Plans a node from a snapshot: builds the model (see [`model::build`])
/// and then [`plan_model`]. Pure; invalid objects become warnings.
pub fn plan(
    snapshot: &Snapshot,
    node: &NodeContext,
    config: &ProxyConfig,
) -> (KernelPlan, Vec<Warning>) {
    let (model, mut warnings) = model::build(snapshot, node);
    let plan = plan_model(&model, node, config, &mut warnings);
    (plan, warnings)
}

/// The families a node runs: those of its addresses and of the Services'
/// ClusterIPs (IPv4 if none).
fn families(model: &ClusterModel, node: &NodeContext) -> BTreeSet<Family> {
    let mut families: BTreeSet<Family> = node
        .primary_ips
        .iter()
        .chain(&node.node_ips)
        .map(|ip| Family::of(*ip))
        .chain(model.ports.iter().map(|p| p.family))
        .collect();
    if families.is_empty() {
        families.insert(Family::Inet);
    }
    families
}

/// Whether kube-proxy's `isValidForSet` takes a node address: not loopback,
/// not IPv6 link-local.
fn valid_node_ip(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_loopback(),
        IpAddr::V6(v6) => !v6.is_loopback() && (v6.segments()[0] & 0xffc0) != 0xfe80,
    }
}

/// The addresses NodePort virtual servers listen on in a family.
pub fn node_port_ips(node: &NodeContext, config: &ProxyConfig, family: Family) -> Vec<IpAddr> {
    let local = node
        .node_ips
        .iter()
        .copied()
        .filter(|ip| Family::of(*ip) == family && valid_node_ip(ip));
    let mut ips: Vec<IpAddr> = match &config.node_port_addresses {
        NodePortAddresses::All => local.collect(),
        NodePortAddresses::Primary => match node.primary_ip(family) {
            Some(primary) => node
                .node_ips
                .iter()
                .chain(&node.primary_ips)
                .copied()
                .filter(|ip| *ip == primary && !ip.is_loopback())
                .take(1)
                .collect(),
            None => local.collect(),
        },
        NodePortAddresses::Cidrs(cidrs) => {
            let mine: Vec<_> = cidrs.iter().filter(|c| c.family() == family).collect();
            if mine.is_empty() || mine.iter().any(|c| c.is_zero()) {
                local.collect()
            } else {
                node.node_ips
                    .iter()
                    .copied()
                    .filter(|ip| !ip.is_loopback() && mine.iter().any(|c| c.contains(*ip)))
                    .collect()
            }
        }
    };
    ips.sort();
    ips.dedup();
    ips
}

/// Plans from a built model.
pub fn plan_model(
    model: &ClusterModel,
    node: &NodeContext,
    config: &ProxyConfig,
    warnings: &mut Vec<Warning>,
) -> KernelPlan {
    let mut plan = KernelPlan::default();
    for family in families(model, node) {
        let mut family_plan = FamilyPlan::new(family, node, config);
        for port in model.ports.iter().filter(|p| p.family == family) {
            family_plan.add_port(port, warnings);
        }
        family_plan.finish(&mut plan);
    }
    plan
}

/// The plan of one family being built.
struct FamilyPlan<'a> {
    family: Family,
    node: &'a NodeContext,
    config: &'a ProxyConfig,
    node_port_ips: Vec<IpAddr>,
    services: BTreeMap<ServiceKey, PlannedService>,
    bind: BTreeSet<IpAddr>,
    entries: BTreeMap<&'static str, BTreeSet<Entry>>,
    no_node_access: Vec<NoNodeAccess>,
}

impl<'a> FamilyPlan<'a> {
    fn new(family: Family, node: &'a NodeContext, config: &'a ProxyConfig) -> Self {
        FamilyPlan {
            family,
            node,
            config,
            node_port_ips: node_port_ips(node, config, family),
            services: BTreeMap::new(),
            bind: BTreeSet::new(),
            entries: SETS.iter().map(|d| (d.name, BTreeSet::new())).collect(),
            no_node_access: Vec::new(),
        }
    }

    fn add(&mut self, set: &'static str, entry: Entry) {
        self.entries.entry(set).or_default().insert(entry);
    }

    /// Adds one port: its entries, its virtual servers (the first claimant
    /// of a key wins, the others are warned about), its blocked
    /// load-balancer addresses.
    fn add_port(&mut self, port: &ServicePort, warnings: &mut Vec<Warning>) {
        let planner = PortPlanner {
            family: self.family,
            node: self.node,
            config: self.config,
            node_port_ips: &self.node_port_ips,
        };
        let planned = planner.plan(port);
        warnings.extend(planned.warnings);
        for (set, entry) in planned.entries {
            self.add(set, entry);
        }
        for claim in planned.claims {
            if let Some(existing) = self.services.get(&claim.key) {
                warnings.push(conflict_warning(
                    &port.namespace,
                    &port.name,
                    &claim.key,
                    claim.protocol,
                    &existing.origin,
                ));
                continue;
            }
            if claim.bind
                && let Some(socket) = claim.socket()
            {
                self.bind.insert(socket.ip());
            }
            self.services.insert(claim.key, claim.planned);
        }
        for blocked in planned.no_node_access {
            if !self.no_node_access.contains(&blocked) {
                self.no_node_access.push(blocked);
            }
        }
    }

    fn finish(mut self, plan: &mut KernelPlan) {
        let bound: Vec<IpAddr> = self.bind.iter().copied().collect();
        for ip in bound {
            self.add(IPVS_IPS, Entry::Ip(ip));
        }
        let mut sets = BTreeMap::new();
        for def in SETS {
            let entries = self.entries.remove(def.name).unwrap_or_default();
            let (name, mut set) = empty_set(&def, self.family);
            set.entries = entries;
            sets.insert(name, set);
        }
        debug_assert!(
            sets.values()
                .all(|s: &PlannedSet| s.set_type != SetType::HashNet)
        );
        let rules = iptables::rules(self.family, &sets, &self.no_node_access, self.config);
        plan.iptables.insert(self.family, rules);
        plan.ipsets.extend(sets);
        plan.bind_addrs.extend(self.bind);
        plan.services.extend(self.services);
    }
}

/// One of kube-proxy's sets of a family, empty, with its name.
pub(crate) fn empty_set(def: &SetDef, family: Family) -> (String, PlannedSet) {
    (
        set_name(def.name, family),
        PlannedSet {
            set_type: def.set_type,
            family,
            comment: def.comment,
            entries: BTreeSet::new(),
        },
    )
}
