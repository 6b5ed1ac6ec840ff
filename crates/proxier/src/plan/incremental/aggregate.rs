//! The bookkeeping of [`IncrementalPlanner`]: replacing one Service's
//! fragment in the aggregate (claimants, bound addresses, counted set
//! members, blocked addresses, families, iptables rules, per-Service
//! facts) and recording exactly what changed.

use std::{
    borrow::Cow,
    collections::{BTreeMap, BTreeSet},
    net::IpAddr,
    sync::Arc,
};

use crate::cluster::objects::EndpointSlice;
use ipset_netlink::Entry;
use ipvs_netlink::{Family, ServiceKey};

use super::{
    ClaimRef, IncrementalPlanner, NoLocalEndpoints,
    fragment::{Fragment, FragmentClaim},
};
use crate::{
    catalogue::ipsets::{IPVS_IPS, SETS, set_name},
    cluster::ServiceName,
    model::Warning,
    plan::{
        ChangedKeys, IptablesPlan, PlanChanges, PlannedService,
        build::empty_set,
        iptables::{self, NoNodeAccess},
        port::conflict_warning,
    },
};

impl IncrementalPlanner {
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
    fn wanted_families(&self) -> BTreeSet<Family> {
        let mut families: BTreeSet<Family> = self
            .node
            .primary_ips
            .iter()
            .chain(&self.node.node_ips)
            .map(|ip| Family::of(*ip))
            .chain(
                self.family_users
                    .iter()
                    .filter(|(_, n)| **n > 0)
                    .map(|(f, _)| *f),
            )
            .collect();
        if families.is_empty() {
            families.insert(Family::Inet);
        }
        families
    }

    /// Adds the sets and rules of families that became needed and drops
    /// those of families no longer needed (their sets are empty then).
    pub(super) fn update_families(&mut self) {
        let wanted = self.wanted_families();
        let have: BTreeSet<Family> = self.plan.iptables.keys().copied().collect();
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

    fn rules(&self, family: Family) -> IptablesPlan {
        let blocked = self
            .blocked_list
            .get(&family)
            .map_or(&[][..], Vec::as_slice);
        iptables::rules(family, &self.plan.ipsets, blocked, &self.config)
    }

    /// Replaces the contribution of `name` (`old`) with `new` (whose
    /// claims' virtual servers are `planned`), keeping the aggregate and
    /// the changes exact. Returns the virtual-server keys involved.
    pub(super) fn replace(
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
        dirty: &mut BTreeSet<Family>,
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
                Some(current) if current.same_config(&service) => false,
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
    fn bind(&mut self, ip: IpAddr, more: bool, dirty: &mut BTreeSet<Family>) {
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
        self.set_member(Family::of(ip), IPVS_IPS, Entry::Ip(ip), more, dirty);
    }

    fn replace_entries(
        &mut self,
        old: &[(Family, &'static str, Entry)],
        new: &[(Family, &'static str, Entry)],
        dirty: &mut BTreeSet<Family>,
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
        family: Family,
        set: &'static str,
        entry: Entry,
        add: bool,
        dirty: &mut BTreeSet<Family>,
    ) {
        let name: Cow<'static, str> = match family {
            Family::Inet => Cow::Borrowed(set),
            Family::Inet6 => Cow::Owned(set_name(set, family)),
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
        dirty: &mut BTreeSet<Family>,
    ) {
        // Unchanged (an endpoint change): nothing to do, whatever the
        // cluster's number of blocked addresses.
        if old.blocked == new.blocked {
            return;
        }
        let families: BTreeSet<Family> = old
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
            let mut seen = BTreeSet::new();
            let list: Vec<NoNodeAccess> = self
                .blocked
                .get(&family)
                .into_iter()
                .flat_map(|m| m.values())
                .filter(|blocked| seen.insert(**blocked))
                .copied()
                .collect();
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
    pub(super) fn conflict_warnings(&self, key: &ServiceKey) -> Vec<Warning> {
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
