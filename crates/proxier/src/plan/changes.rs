//! [`PlanChanges`]: which parts of a [`KernelPlan`] changed between two
//! points in time — exactly what a partial sync must look at
//! ([`crate::reconcile::Reconciler::sync_changes`]).

use std::{
    collections::{BTreeMap, BTreeSet},
    net::IpAddr,
};

use ipset_netlink::Entry;
use ipvs_netlink::{Family, ServiceKey};

use super::KernelPlan;

/// The keys of a plan that may have changed. Anything not listed is
/// unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedKeys {
    /// Virtual servers added, removed or changed (settings or real
    /// servers).
    pub services: BTreeSet<ServiceKey>,
    /// Addresses bound or unbound.
    pub bind_addrs: BTreeSet<IpAddr>,
    /// Set members added or removed, by set name.
    pub ipset_entries: BTreeMap<String, BTreeSet<Entry>>,
    /// Families whose iptables rules changed.
    pub iptables: BTreeSet<Family>,
}

impl ChangedKeys {
    /// Whether nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
            && self.bind_addrs.is_empty()
            && self.ipset_entries.is_empty()
            && self.iptables.is_empty()
    }

    /// Adds the keys of `other`.
    pub fn merge(&mut self, other: ChangedKeys) {
        self.services.extend(other.services);
        self.bind_addrs.extend(other.bind_addrs);
        for (set, entries) in other.ipset_entries {
            self.ipset_entries.entry(set).or_default().extend(entries);
        }
        self.iptables.extend(other.iptables);
    }

    /// How many keys are listed.
    pub fn len(&self) -> usize {
        self.services.len()
            + self.bind_addrs.len()
            + self
                .ipset_entries
                .values()
                .map(BTreeSet::len)
                .sum::<usize>()
            + self.iptables.len()
    }
}

/// What changed in a plan since the last look.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PlanChanges {
    /// Nothing.
    #[default]
    None,
    /// Anything may have changed (a first plan, a new node context, an IP
    /// family appearing or going): diff everything.
    All,
    /// Only these keys (never empty).
    Some(ChangedKeys),
}

impl PlanChanges {
    /// Whether nothing changed.
    pub fn is_none(&self) -> bool {
        matches!(self, PlanChanges::None)
    }

    /// The changes of both `self` and then `other`.
    pub fn merge(&mut self, other: PlanChanges) {
        match (std::mem::take(self), other) {
            (PlanChanges::All, _) | (_, PlanChanges::All) => *self = PlanChanges::All,
            (PlanChanges::None, other) | (other, PlanChanges::None) => *self = other,
            (PlanChanges::Some(mut mine), PlanChanges::Some(theirs)) => {
                mine.merge(theirs);
                *self = PlanChanges::Some(mine);
            }
        }
    }

    /// Brings `target` (a copy of the plan as it was) to `current` by
    /// copying only the listed keys from `current` (`All`: all of it).
    /// When the changes are complete, `target` then equals `current`.
    pub fn apply(&self, target: &mut KernelPlan, current: &KernelPlan) {
        let keys = match self {
            PlanChanges::None => return,
            PlanChanges::All => {
                target.clone_from(current);
                return;
            }
            PlanChanges::Some(keys) => keys,
        };
        for key in &keys.services {
            match current.services.get(key) {
                Some(service) => {
                    target.services.insert(*key, service.clone());
                }
                None => {
                    target.services.remove(key);
                }
            }
        }
        for addr in &keys.bind_addrs {
            if current.bind_addrs.contains(addr) {
                target.bind_addrs.insert(*addr);
            } else {
                target.bind_addrs.remove(addr);
            }
        }
        for (name, entries) in &keys.ipset_entries {
            let Some(want) = current.ipsets.get(name) else {
                target.ipsets.remove(name);
                continue;
            };
            let Some(set) = target.ipsets.get_mut(name) else {
                target.ipsets.insert(name.clone(), want.clone());
                continue;
            };
            for entry in entries {
                if want.entries.contains(entry) {
                    set.entries.insert(*entry);
                } else {
                    set.entries.remove(entry);
                }
            }
        }
        for family in &keys.iptables {
            match current.iptables.get(family) {
                Some(rules) => {
                    target.iptables.insert(*family, rules.clone());
                }
                None => {
                    target.iptables.remove(family);
                }
            }
        }
    }
}
