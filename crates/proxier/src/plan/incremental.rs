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

mod fragment;

use std::{
    borrow::Cow,
    collections::{BTreeMap, BTreeSet, HashMap},
    net::IpAddr,
    sync::Arc,
};

use ipset_netlink::Entry;
use ipvs_netlink::ServiceKey;
use k8s_openapi::api::{core::v1::Service, discovery::v1::EndpointSlice};

use self::fragment::{Context, Fragment, FragmentClaim};
use super::{
    ChangedKeys, IpFamily, KernelPlan, PlanChanges, PlannedService,
    build::empty_set,
    ipsets::{IPVS_IPS, SETS, set_name},
    iptables::{self, NoNodeAccess},
    node_port_ips,
    port::conflict_warning,
};
use crate::{
    config::ProxyConfig,
    model::{NodeContext, Protocol, ServiceName, Warning},
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
    node_port_ips: BTreeMap<IpFamily, Vec<IpAddr>>,
    services: BTreeMap<Arc<ServiceName>, ServiceState>,
    plan: KernelPlan,
    /// Every claimant of each virtual server, smallest (winner) first.
    claims: HashMap<ServiceKey, Vec<ClaimRef>>,
    /// Keys with more than one claimant.
    conflicts: BTreeSet<ServiceKey>,
    /// Winning binding claims per address.
    bound: HashMap<IpAddr, u32>,
    /// Services contributing each set member.
    entries: HashMap<(IpFamily, &'static str, Entry), u32>,
    /// Services with ports in each family.
    family_users: BTreeMap<IpFamily, usize>,
    /// Blocked load-balancer addresses by (Service, rank), per family.
    blocked: BTreeMap<IpFamily, BTreeMap<(Arc<ServiceName>, u32), NoNodeAccess>>,
    /// The blocked addresses as the rules list them, per family.
    blocked_list: BTreeMap<IpFamily, Vec<NoNodeAccess>>,
    health_checks: BTreeMap<u16, BTreeSet<Arc<ServiceName>>>,
    local_ready: BTreeMap<ServiceName, usize>,
    no_local: BTreeMap<IpFamily, NoLocalEndpoints>,
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

    /// Per family, how many Services use a node-local traffic policy but
    /// found no local endpoint while having endpoints elsewhere.
    pub fn no_local_endpoints(&self) -> BTreeMap<IpFamily, NoLocalEndpoints> {
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
        self.node_port_ips = IpFamily::ALL
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

    /// Where a change is recorded (`None` when everything changed anyway).
    fn changed(&mut self) -> Option<&mut ChangedKeys> {
        if self.changes.is_none() {
            self.changes = PlanChanges::Some(ChangedKeys::default());
        }
        match &mut self.changes {
            PlanChanges::Some(keys) => Some(keys),
            _ => None,
        }
    }

    /// The families the plan must have: the node's, the Services', IPv4
    /// if none.
    fn wanted_families(&self) -> BTreeSet<IpFamily> {
        let mut families: BTreeSet<IpFamily> = self
            .node
            .primary_ips
            .iter()
            .chain(&self.node.node_ips)
            .map(|ip| IpFamily::of(*ip))
            .chain(
                self.family_users
                    .iter()
                    .filter(|(_, n)| **n > 0)
                    .map(|(f, _)| *f),
            )
            .collect();
        if families.is_empty() {
            families.insert(IpFamily::V4);
        }
        families
    }

    /// Adds the sets and rules of families that became needed and drops
    /// those of families no longer needed (their sets are empty then).
    fn update_families(&mut self) {
        let wanted = self.wanted_families();
        let have: BTreeSet<IpFamily> = self.plan.iptables.keys().copied().collect();
        if wanted == have {
            return;
        }
        for family in wanted.difference(&have) {
            for def in &SETS {
                let (name, set) = empty_set(def, *family);
                self.plan.ipsets.insert(name, set);
            }
            self.blocked_list.entry(*family).or_default();
            let rules = self.rules(*family);
            self.plan.iptables.insert(*family, rules);
        }
        for family in have.difference(&wanted) {
            for def in &SETS {
                self.plan.ipsets.remove(&set_name(def.name, *family));
            }
            self.plan.iptables.remove(family);
        }
        self.changes = PlanChanges::All;
    }

    fn rules(&self, family: IpFamily) -> super::IptablesPlan {
        let blocked = self
            .blocked_list
            .get(&family)
            .map_or(&[][..], Vec::as_slice);
        iptables::rules(family, &self.plan.ipsets, blocked, &self.config)
    }

    /// Replaces the contribution of `name` (`old`) with `new` (whose
    /// claims' virtual servers are `planned`), keeping the aggregate and
    /// the changes exact. Returns the virtual-server keys involved.
    fn replace(
        &mut self,
        name: &Arc<ServiceName>,
        old: &Fragment,
        new: &Fragment,
        planned: Vec<PlannedService>,
    ) -> BTreeSet<ServiceKey> {
        for family in &old.families {
            if let Some(n) = self.family_users.get_mut(family) {
                *n = n.saturating_sub(1);
            }
        }
        for family in &new.families {
            *self.family_users.entry(*family).or_default() += 1;
        }
        // Families first: a new family's sets must exist for the members
        // below (a family going drops its sets, and changes everything).
        self.update_families();
        let mut dirty = BTreeSet::new();
        let affected = self.replace_claims(name, old, new, planned, &mut dirty);
        self.replace_entries(&old.entries, &new.entries, &mut dirty);
        self.replace_blocked(name, old, new, &mut dirty);
        self.replace_facts(name, old, new);
        for family in dirty {
            let Some(current) = self.plan.iptables.get(&family) else {
                continue;
            };
            let rules = self.rules(family);
            if *current != rules {
                self.plan.iptables.insert(family, rules);
                if let Some(keys) = self.changed() {
                    keys.iptables.insert(family);
                }
            }
        }
        affected
    }

    fn replace_claims(
        &mut self,
        name: &Arc<ServiceName>,
        old: &Fragment,
        new: &Fragment,
        planned: Vec<PlannedService>,
        dirty: &mut BTreeSet<IpFamily>,
    ) -> BTreeSet<ServiceKey> {
        let affected: BTreeSet<ServiceKey> = old
            .claims
            .iter()
            .chain(&new.claims)
            .map(|c| c.key)
            .collect();
        let mut before: BTreeMap<ServiceKey, Option<ClaimRef>> = BTreeMap::new();
        for key in &affected {
            let winner = self.claims.get(key).and_then(|l| l.first()).cloned();
            before.insert(*key, winner);
        }
        for claim in &old.claims {
            if let Some(list) = self.claims.get_mut(&claim.key) {
                list.retain(|c| c.service != *name);
            }
        }
        for (rank, claim) in new.claims.iter().enumerate() {
            let claim_ref = new_claim(name, rank, claim);
            let list = self.claims.entry(claim.key).or_default();
            let at = list.partition_point(|c| c.order() < claim_ref.order());
            list.insert(at, claim_ref);
        }
        let mut planned: Vec<Option<PlannedService>> = planned.into_iter().map(Some).collect();
        for (key, was) in before {
            let now = self.claims.get(&key).and_then(|l| l.first()).cloned();
            match self.claims.get(&key).map_or(0, Vec::len) {
                0 => {
                    self.claims.remove(&key);
                    self.conflicts.remove(&key);
                }
                1 => {
                    self.conflicts.remove(&key);
                }
                _ => {
                    self.conflicts.insert(key);
                }
            }
            let mine = now.as_ref().is_some_and(|c| c.service == *name);
            if was == now && !mine {
                continue;
            }
            let service = match &now {
                None => None,
                Some(c) if mine => planned.get_mut(c.rank as usize).and_then(Option::take),
                Some(c) => self.planned_of(&c.service, c.rank),
            };
            self.set_service(key, service);
            let bind_before = was.as_ref().is_some_and(|c| c.bind);
            let bind_now = now.as_ref().is_some_and(|c| c.bind);
            if let (ServiceKey::Inet { addr, .. }, true) = (key, bind_before != bind_now) {
                self.bind(addr.ip(), bind_now, dirty);
            }
        }
        affected
    }

    /// The planned virtual server of claim `rank` of a kept Service
    /// (replanned from its inputs: a claimant taking over).
    fn planned_of(&self, name: &ServiceName, rank: u32) -> Option<PlannedService> {
        let state = self.services.get(name)?;
        let refs: Vec<&EndpointSlice> = state.slices.iter().map(Arc::as_ref).collect();
        let built = self.context().build(name, state.service.as_deref(), &refs);
        built.planned.into_iter().nth(rank as usize)
    }

    fn set_service(&mut self, key: ServiceKey, service: Option<PlannedService>) {
        let changed = match service {
            Some(service) => match self.plan.services.get_mut(&key) {
                Some(current) if *current == service => false,
                Some(current) => {
                    *current = service;
                    true
                }
                None => {
                    self.plan.services.insert(key, service);
                    true
                }
            },
            None => self.plan.services.remove(&key).is_some(),
        };
        if changed && let Some(keys) = self.changed() {
            keys.services.insert(key);
        }
    }

    /// One more (or one less) winning binding claim on `ip`.
    fn bind(&mut self, ip: IpAddr, more: bool, dirty: &mut BTreeSet<IpFamily>) {
        let count = self.bound.entry(ip).or_default();
        let flipped = if more {
            *count += 1;
            *count == 1
        } else {
            *count = count.saturating_sub(1);
            *count == 0
        };
        if *count == 0 {
            self.bound.remove(&ip);
        }
        if !flipped {
            return;
        }
        if more {
            self.plan.bind_addrs.insert(ip);
        } else {
            self.plan.bind_addrs.remove(&ip);
        }
        if let Some(keys) = self.changed() {
            keys.bind_addrs.insert(ip);
        }
        self.set_member(IpFamily::of(ip), IPVS_IPS, Entry::Ip(ip), more, dirty);
    }

    fn replace_entries(
        &mut self,
        old: &[(IpFamily, &'static str, Entry)],
        new: &[(IpFamily, &'static str, Entry)],
        dirty: &mut BTreeSet<IpFamily>,
    ) {
        let (mut i, mut j) = (0, 0);
        while i < old.len() || j < new.len() {
            let order = match (old.get(i), new.get(j)) {
                (Some(a), Some(b)) => a.cmp(b),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match order {
                std::cmp::Ordering::Equal => {
                    i += 1;
                    j += 1;
                }
                std::cmp::Ordering::Less => {
                    let (family, set, entry) = old[i];
                    i += 1;
                    let key = (family, set, entry);
                    let gone = match self.entries.get_mut(&key) {
                        Some(n) if *n > 1 => {
                            *n -= 1;
                            false
                        }
                        _ => {
                            self.entries.remove(&key);
                            true
                        }
                    };
                    if gone {
                        self.set_member(family, set, entry, false, dirty);
                    }
                }
                std::cmp::Ordering::Greater => {
                    let (family, set, entry) = new[j];
                    j += 1;
                    let n = self.entries.entry((family, set, entry)).or_default();
                    *n += 1;
                    if *n == 1 {
                        self.set_member(family, set, entry, true, dirty);
                    }
                }
            }
        }
    }

    /// Adds or removes one member of a set of the plan; a set turning
    /// empty or non-empty marks its family's rules dirty.
    fn set_member(
        &mut self,
        family: IpFamily,
        set: &'static str,
        entry: Entry,
        add: bool,
        dirty: &mut BTreeSet<IpFamily>,
    ) {
        let name: Cow<'static, str> = match family {
            IpFamily::V4 => Cow::Borrowed(set),
            IpFamily::V6 => Cow::Owned(set_name(set, family)),
        };
        let Some(planned) = self.plan.ipsets.get_mut(name.as_ref()) else {
            return;
        };
        let changed = if add {
            planned.entries.insert(entry)
        } else {
            planned.entries.remove(&entry)
        };
        if !changed {
            return;
        }
        if planned.entries.len() == usize::from(add) {
            dirty.insert(family);
        }
        if let Some(keys) = self.changed() {
            keys.ipset_entries
                .entry(name.into_owned())
                .or_default()
                .insert(entry);
        }
    }

    fn replace_blocked(
        &mut self,
        name: &Arc<ServiceName>,
        old: &Fragment,
        new: &Fragment,
        dirty: &mut BTreeSet<IpFamily>,
    ) {
        if old.blocked.is_empty() && new.blocked.is_empty() {
            return;
        }
        let families: BTreeSet<IpFamily> = old
            .blocked
            .iter()
            .chain(&new.blocked)
            .map(|(f, _)| *f)
            .collect();
        for (rank, (family, _)) in old.blocked.iter().enumerate() {
            if let Some(map) = self.blocked.get_mut(family) {
                map.remove(&(Arc::clone(name), rank_of(rank)));
            }
        }
        for (rank, (family, blocked)) in new.blocked.iter().enumerate() {
            self.blocked
                .entry(*family)
                .or_default()
                .insert((Arc::clone(name), rank_of(rank)), *blocked);
        }
        for family in families {
            let mut list: Vec<NoNodeAccess> = Vec::new();
            for blocked in self
                .blocked
                .get(&family)
                .into_iter()
                .flat_map(|m| m.values())
            {
                if !list.contains(blocked) {
                    list.push(*blocked);
                }
            }
            if self.blocked_list.get(&family) != Some(&list) {
                self.blocked_list.insert(family, list);
                dirty.insert(family);
            }
        }
    }

    /// Health-check ports, local endpoint counts and no-local marks.
    fn replace_facts(&mut self, name: &Arc<ServiceName>, old: &Fragment, new: &Fragment) {
        if old.health_check != new.health_check {
            if let Some(port) = old.health_check
                && let Some(names) = self.health_checks.get_mut(&port)
            {
                names.remove(name);
                if names.is_empty() {
                    self.health_checks.remove(&port);
                }
            }
            if let Some(port) = new.health_check {
                self.health_checks
                    .entry(port)
                    .or_default()
                    .insert(Arc::clone(name));
            }
        }
        if new.local_ready > 0 {
            self.local_ready
                .insert(ServiceName::clone(name), new.local_ready);
        } else if old.local_ready > 0 {
            self.local_ready.remove(name.as_ref());
        }
        if old.marks != new.marks {
            for (family, marks) in &old.marks {
                let counts = self.no_local.entry(*family).or_default();
                counts.internal = counts.internal.saturating_sub(usize::from(marks.internal));
                counts.external = counts.external.saturating_sub(usize::from(marks.external));
            }
            for (family, marks) in &new.marks {
                let counts = self.no_local.entry(*family).or_default();
                counts.internal += usize::from(marks.internal);
                counts.external += usize::from(marks.external);
            }
            self.no_local
                .retain(|_, c| *c != NoLocalEndpoints::default());
        }
    }

    /// The warnings of the losing claimants of `key`.
    fn conflict_warnings(&self, key: &ServiceKey) -> Vec<Warning> {
        let (Some(list), Some(winner)) = (self.claims.get(key), self.plan.services.get(key)) else {
            return Vec::new();
        };
        list.iter()
            .skip(1)
            .map(|c| {
                conflict_warning(
                    &c.service.namespace,
                    &c.service.name,
                    key,
                    c.protocol,
                    &winner.origin,
                )
            })
            .collect()
    }
}

fn rank_of(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

fn new_claim(name: &Arc<ServiceName>, rank: usize, claim: &FragmentClaim) -> ClaimRef {
    ClaimRef {
        service: Arc::clone(name),
        rank: rank_of(rank),
        protocol: claim.protocol,
        bind: claim.bind,
    }
}

#[cfg(test)]
mod tests;
