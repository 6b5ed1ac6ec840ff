//! [`Fragment`]: what one Service contributes to the plan, kept by the
//! incremental planner so that the next change of the Service can be
//! retracted exactly. Compact on purpose: the virtual servers' real
//! servers are not kept (they live in the plan, once); only their keys.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::IpAddr,
};

use crate::cluster::objects::{EndpointSlice, Service};
use ipset_netlink::Entry;
use ipvs_netlink::{Family, Protocol, ServiceKey};

use crate::{
    cluster::ServiceName,
    config::ProxyConfig,
    model::{self, NodeContext, Warning},
    plan::{PlannedService, iptables::NoNodeAccess, port::PortPlanner},
};

/// One virtual server the Service claims; its place in the Service's
/// claims is its rank among the Service's claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FragmentClaim {
    /// The key.
    pub key: ServiceKey,
    /// The protocol (for warnings).
    pub protocol: Protocol,
    /// Whether the address is bound when the claim wins.
    pub bind: bool,
}

/// The "no local endpoints" marks of a Service in one family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Marks {
    /// internalTrafficPolicy Local without local endpoints.
    pub internal: bool,
    /// externalTrafficPolicy Local without local endpoints.
    pub external: bool,
}

/// What one Service contributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Fragment {
    /// The families of its ports, sorted, without duplicates.
    pub families: Vec<Family>,
    /// Its virtual-server claims, in the full planner's order.
    pub claims: Vec<FragmentClaim>,
    /// Its set members (family, IPv4 set name, member), sorted, without
    /// duplicates.
    pub entries: Vec<(Family, &'static str, Entry)>,
    /// Its blocked load-balancer addresses, in order (may repeat).
    pub blocked: Vec<(Family, NoNodeAccess)>,
    /// Its health-check node port.
    pub health_check: Option<u16>,
    /// Its distinct local ready endpoint addresses.
    pub local_ready: usize,
    /// Its "no local endpoints" marks per family.
    pub marks: BTreeMap<Family, Marks>,
}

/// The node-dependent context a fragment is planned in.
#[derive(Debug, Clone, Copy)]
pub(super) struct Context<'a> {
    /// The node.
    pub node: &'a NodeContext,
    /// The configuration.
    pub config: &'a ProxyConfig,
    /// The node-port addresses of each family.
    pub node_port_ips: &'a BTreeMap<Family, Vec<IpAddr>>,
}

/// A fragment with the planned virtual servers of its claims (same
/// order) and the warnings about the Service's objects.
pub(super) struct Built {
    /// The fragment.
    pub fragment: Fragment,
    /// The virtual server of each claim.
    pub planned: Vec<PlannedService>,
    /// The warnings about the Service and its slices.
    pub warnings: Vec<Warning>,
}

impl Context<'_> {
    /// Plans one Service.
    pub fn build(
        &self,
        name: &ServiceName,
        service: Option<&Service>,
        slices: &[&EndpointSlice],
    ) -> Built {
        let (ports, mut warnings) = model::build_service(name, service, slices, &self.node.name);
        let mut fragment = Fragment::default();
        let mut planned = Vec::new();
        let mut local_ready = BTreeSet::new();
        let empty = Vec::new();
        for port in &ports {
            let planner = PortPlanner {
                family: port.family,
                node: self.node,
                config: self.config,
                node_port_ips: self.node_port_ips.get(&port.family).unwrap_or(&empty),
            };
            let plan = planner.plan(port);
            warnings.extend(plan.warnings);
            if !fragment.families.contains(&port.family) {
                fragment.families.push(port.family);
            }
            fragment.entries.extend(
                plan.entries
                    .into_iter()
                    .map(|(set, entry)| (port.family, set, entry)),
            );
            for claim in plan.claims {
                fragment.claims.push(FragmentClaim {
                    key: claim.key,
                    protocol: claim.protocol,
                    bind: claim.bind,
                });
                planned.push(claim.planned);
            }
            fragment.blocked.extend(
                plan.no_node_access
                    .into_iter()
                    .map(|blocked| (port.family, blocked)),
            );
            if plan.no_local.internal || plan.no_local.external {
                let marks = fragment.marks.entry(port.family).or_default();
                marks.internal |= plan.no_local.internal;
                marks.external |= plan.no_local.external;
            }
            fragment.health_check = fragment.health_check.or(port.health_check_node_port);
            local_ready.extend(
                port.endpoints
                    .iter()
                    .filter(|e| e.local && e.ready)
                    .map(|e| e.addr.ip()),
            );
        }
        fragment.families.sort();
        fragment.entries.sort();
        fragment.entries.dedup();
        fragment.local_ready = local_ready.len();
        Built {
            fragment,
            planned,
            warnings,
        }
    }
}
