//! [`IncrementalPlanner`]: the plan kept up to date one Service at a time.
//! One Service's change (its Service object or any of its EndpointSlices)
//! costs O(that Service + log N), not O(cluster), and says exactly which
//! keys of the plan changed ([`PlanChanges`]), so the reconciler can diff
//! those keys only ([`crate::reconcile::Reconciler::sync_changes`]).
//!
//! The aggregate is always equal to [`super::plan`] over the same objects
//! (the property tests replay random histories against it). Each
//! Service's contribution is a [`fragment::Fragment`], planned by the same
//! per-port code as the full planner; the aggregate keeps what Services
//! share with reference counts:
//!
//! * **virtual servers**: every claimant of a key, ordered like the full
//!   planner orders ports (namespace, name, then the Service's own port
//!   order); the smallest wins, the others get the full planner's
//!   warning, and when the winner goes the next one takes over;
//! * **bound addresses**: counted over winning claims that bind (a
//!   ClusterIP shared by several ports, an external IP of several
//!   Services); `KUBE-IPVS-IPS` follows them;
//! * **set members**: counted over Services (a pod backing two Services
//!   has one `KUBE-LOOP-BACK` member per port it serves, shared);
//! * **blocked load-balancer addresses** (`KUBE-IPVS-OUT-FILTER`): kept
//!   in the full planner's first-seen order, duplicates dropped;
//! * **iptables rules**: recomputed for a family only when one of its sets
//!   turns empty or non-empty, or its blocked addresses change;
//! * **families**: those of the node's addresses and of the Services'
//!   ClusterIPs (IPv4 if none); a family appearing or going changes all
//!   of its sets and rules at once: [`PlanChanges::All`].
//!
//! The planner keeps each Service's last inputs (shared [`Arc`]s: pass the
//! source's own with [`IncrementalPlanner::update_shared`] to keep one copy
//! in memory) to replan everything on a new node context and to plan the
//! next claimant of a virtual server when its winner goes.

mod aggregate;
mod fragment;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    net::IpAddr,
    sync::Arc,
};

use crate::cluster::objects::{EndpointSlice, Service};
use ipset_netlink::Entry;
use ipvs_netlink::{Family, Protocol, ServiceKey};

use self::fragment::{Context, Fragment};
use super::{KernelPlan, PlanChanges, iptables::NoNodeAccess, node_port_ips};
use crate::{
    cluster::ServiceName,
    config::ProxyConfig,
    model::{NodeContext, Warning},
};

/// How many Services have node-local traffic policies but no local
/// endpoints (kube-proxy's `sync_proxy_rules_no_local_endpoints_total`),
/// in one family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoLocalEndpoints {
    /// `traffic_policy="internal"`.
    pub internal: usize,
    /// `traffic_policy="external"`.
    pub external: usize,
}

/// One claimant of a virtual server.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ClaimRef {
    service: Arc<ServiceName>,
    rank: u32,
    protocol: Protocol,
    bind: bool,
}

impl ClaimRef {
    fn order(&self) -> (&ServiceName, u32) {
        (&self.service, self.rank)
    }
}

/// What the planner keeps of one Service.
#[derive(Debug, Clone)]
struct ServiceState {
    service: Option<Arc<Service>>,
    slices: Vec<Arc<EndpointSlice>>,
    warnings: Vec<Warning>,
    fragment: Fragment,
}

/// The plan of a node, kept up to date one Service at a time (see the
/// module documentation).
#[derive(Debug, Clone)]
pub struct IncrementalPlanner {
    node: NodeContext,
    config: ProxyConfig,
    node_port_ips: BTreeMap<Family, Vec<IpAddr>>,
    services: BTreeMap<Arc<ServiceName>, ServiceState>,
    plan: KernelPlan,
    /// Every claimant of each virtual server, smallest (winner) first.
    claims: HashMap<ServiceKey, Vec<ClaimRef>>,
    /// Keys with more than one claimant.
    conflicts: BTreeSet<ServiceKey>,
    /// Winning binding claims per address.
    bound: HashMap<IpAddr, u32>,
    /// Services contributing each set member.
    entries: HashMap<(Family, &'static str, Entry), u32>,
    /// Services with ports in each family.
    family_users: BTreeMap<Family, usize>,
    /// Blocked load-balancer addresses by (Service, rank), per family.
    blocked: BTreeMap<Family, BTreeMap<(Arc<ServiceName>, u32), NoNodeAccess>>,
    /// The blocked addresses as the rules list them, per family.
    blocked_list: BTreeMap<Family, Vec<NoNodeAccess>>,
    health_checks: BTreeMap<u16, BTreeSet<Arc<ServiceName>>>,
    local_ready: BTreeMap<ServiceName, usize>,
    no_local: BTreeMap<Family, NoLocalEndpoints>,
    /// Services with warnings of their own.
    warned: BTreeSet<Arc<ServiceName>>,
    changes: PlanChanges,
}

impl IncrementalPlanner {
    /// A planner with no Services: its plan is the full planner's for an
    /// empty cluster, and the first [`take_changes`](Self::take_changes)
    /// is [`PlanChanges::All`].
    pub fn new(node: NodeContext, config: ProxyConfig) -> Self {
        let mut planner = IncrementalPlanner {
            node_port_ips: BTreeMap::new(),
            node,
            config,
            services: BTreeMap::new(),
            plan: KernelPlan::default(),
            claims: HashMap::new(),
            conflicts: BTreeSet::new(),
            bound: HashMap::new(),
            entries: HashMap::new(),
            family_users: BTreeMap::new(),
            blocked: BTreeMap::new(),
            blocked_list: BTreeMap::new(),
            health_checks: BTreeMap::new(),
            local_ready: BTreeMap::new(),
            no_local: BTreeMap::new(),
            warned: BTreeSet::new(),
            changes: PlanChanges::All,
        };
        planner.reset();
        planner
    }

    /// The node context.
    pub fn node(&self) -> &NodeContext {
        &self.node
    }

    /// The configuration.
    pub fn config(&self) -> &ProxyConfig {
        &self.config
    }

    /// The aggregated plan: always equal to [`super::plan`] over all the
    /// current inputs.
    pub fn plan(&self) -> &KernelPlan {
        &self.plan
    }

    /// How many Services are known (with their objects or their warnings).
    pub fn len(&self) -> usize {
        self.services.len()
    }

    /// Whether no Service is known.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// What changed in [`plan`](Self::plan) since the last call; resets it.
    pub fn take_changes(&mut self) -> PlanChanges {
        match std::mem::take(&mut self.changes) {
            PlanChanges::Some(keys) if keys.is_empty() => PlanChanges::None,
            other => other,
        }
    }

    /// Replaces one Service's inputs: `service` `None` when it is deleted;
    /// `slices`: every EndpointSlice labelled `kubernetes.io/service-name:
    /// <name>` in its namespace (others are ignored). Clones the objects;
    /// see [`update_shared`](Self::update_shared). Returns the warnings
    /// about this Service's objects (the full planner's texts) and those
    /// of the virtual-server conflicts it is part of. O(this Service's
    /// size + log N).
    pub fn update(
        &mut self,
        name: &ServiceName,
        service: Option<&Service>,
        slices: &[&EndpointSlice],
    ) -> Vec<Warning> {
        let service = service.map(|s| Arc::new(s.clone()));
        let slices = slices.iter().map(|s| Arc::new((*s).clone())).collect();
        self.update_shared(name, service, slices)
    }

    /// [`update`](Self::update) with shared objects (no copy is made).
    pub fn update_shared(
        &mut self,
        name: &ServiceName,
        service: Option<Arc<Service>>,
        slices: Vec<Arc<EndpointSlice>>,
    ) -> Vec<Warning> {
        let key = match self.services.get_key_value(name) {
            Some((key, _)) => Arc::clone(key),
            None => Arc::new(name.clone()),
        };
        let refs: Vec<&EndpointSlice> = slices.iter().map(Arc::as_ref).collect();
        let built = self.context().build(name, service.as_deref(), &refs);
        let old = self
            .services
            .remove(name)
            .map(|s| s.fragment)
            .unwrap_or_default();
        let affected = self.replace(&key, &old, &built.fragment, built.planned);
        let mut warnings = built.warnings.clone();
        for claim_key in affected {
            warnings.extend(self.conflict_warnings(&claim_key));
        }
        if built.warnings.is_empty() {
            self.warned.remove(name);
        } else {
            self.warned.insert(Arc::clone(&key));
        }
        if service.is_some() || !built.warnings.is_empty() {
            self.services.insert(
                key,
                ServiceState {
                    service,
                    slices,
                    warnings: built.warnings,
                    fragment: built.fragment,
                },
            );
        }
        warnings
    }

    /// A new node context (addresses, labels, primary IPs, name): replans
    /// everything from the kept inputs, O(cluster), and the next
    /// [`take_changes`](Self::take_changes) is [`PlanChanges::All`]. The
    /// same context as before changes nothing. Returns every current
    /// warning.
    pub fn set_node(&mut self, node: NodeContext) -> Vec<Warning> {
        if node != self.node {
            self.node = node;
            self.reset();
            let states = std::mem::take(&mut self.services);
            self.warned.clear();
            for (key, state) in states {
                let refs: Vec<&EndpointSlice> = state.slices.iter().map(Arc::as_ref).collect();
                let built = self.context().build(&key, state.service.as_deref(), &refs);
                self.replace(&key, &Fragment::default(), &built.fragment, built.planned);
                if !built.warnings.is_empty() {
                    self.warned.insert(Arc::clone(&key));
                }
                self.services.insert(
                    key,
                    ServiceState {
                        warnings: built.warnings,
                        fragment: built.fragment,
                        ..state
                    },
                );
            }
        }
        self.warnings()
    }

    /// Every current warning: those about the Services' objects and those
    /// of virtual-server conflicts (the full planner's, in another order).
    pub fn warnings(&self) -> Vec<Warning> {
        let mut out: Vec<Warning> = self
            .warned
            .iter()
            .filter_map(|name| self.services.get(name))
            .flat_map(|state| state.warnings.iter().cloned())
            .collect();
        for key in &self.conflicts {
            out.extend(self.conflict_warnings(key));
        }
        out
    }

    /// The health-check node port of each Service that has one (a
    /// LoadBalancer with externalTrafficPolicy Local); a port claimed by
    /// two Services goes to the first by namespace and name.
    pub fn health_check_ports(&self) -> BTreeMap<u16, ServiceName> {
        self.health_checks
            .iter()
            .filter_map(|(port, names)| names.first().map(|n| (*port, ServiceName::clone(n))))
            .collect()
    }

    /// The number of distinct local ready endpoint addresses of each
    /// Service that has any (kube-proxy's `LocalReadyEndpoints`, for the
    /// health-check servers).
    pub fn local_endpoints(&self) -> BTreeMap<ServiceName, usize> {
        self.local_ready.clone()
    }

    /// The number of local ready endpoint addresses of one Service (0 when
    /// it has none): [`local_endpoints`](Self::local_endpoints) for one
    /// Service, without copying the map.
    pub fn local_ready(&self, name: &ServiceName) -> usize {
        self.local_ready.get(name).copied().unwrap_or(0)
    }

    /// Per family, how many Services use a node-local traffic policy but
    /// found no local endpoint while having endpoints elsewhere.
    pub fn no_local_endpoints(&self) -> BTreeMap<Family, NoLocalEndpoints> {
        self.no_local.clone()
    }

    fn context(&self) -> Context<'_> {
        Context {
            node: &self.node,
            config: &self.config,
            node_port_ips: &self.node_port_ips,
        }
    }

    /// Forgets every Service's contribution: the plan of an empty cluster.
    fn reset(&mut self) {
        self.node_port_ips = Family::ALL
            .iter()
            .map(|f| (*f, node_port_ips(&self.node, &self.config, *f)))
            .collect();
        self.plan = KernelPlan::default();
        self.claims.clear();
        self.conflicts.clear();
        self.bound.clear();
        self.entries.clear();
        self.family_users.clear();
        self.blocked.clear();
        self.blocked_list.clear();
        self.health_checks.clear();
        self.local_ready.clear();
        self.no_local.clear();
        self.changes = PlanChanges::All;
        self.update_families();
    }
}

#[cfg(test)]
pub(super) mod tests;
