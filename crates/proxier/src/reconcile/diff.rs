//! The pure part of the reconciler: plan versus cache, to the exact
//! commands to send. No I/O.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::{IpAddr, SocketAddr},
};

use ipset_netlink::{Entry, Family, SetType};
use ipvs_netlink::{Command, Protocol, RealServer, ServiceKey};

use super::state::{Cached, KnownService};
use crate::{
    catalogue::owned::ExcludeCidrs,
    kernel::{Bindings, SetState},
    plan::{KernelPlan, PlannedService, PlannedSet},
    types::BindMode,
};

/// The IPVS changes from the cache to a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpvsDiff {
    /// Commands to send, in order: service adds and updates, real server
    /// adds and updates, service deletions.
    pub commands: Vec<Command>,
    /// Real servers that left the plan while their service stays: each is
    /// deleted or quiesced by [`graceful_commands`].
    pub removed: Vec<(ServiceKey, RealServer)>,
    /// The same, for real servers whose settings the cache does not know
    /// ([`Cached::Unknown`]): the kernel's are needed first.
    pub removed_unknown: Vec<(ServiceKey, SocketAddr)>,
    /// Queued (quiesced) real servers that are back in the plan.
    pub restored: Vec<(ServiceKey, SocketAddr)>,
}

/// Diffs the owned services against the plan. `queued` holds the real
/// servers being removed gracefully (left alone while absent from the
/// plan); `exclude` protects stale services from deletion.
pub fn diff_ipvs(
    known: &BTreeMap<ServiceKey, KnownService>,
    plan: &KernelPlan,
    queued: &BTreeSet<(ServiceKey, SocketAddr)>,
    exclude: &ExcludeCidrs,
) -> IpvsDiff {
    // The restricted diff over every key is the full diff (service
    // commands, then real servers, then deletions).
    diff_ipvs_keys(known, plan, &all_keys(known, plan), queued, exclude)
}

/// Every virtual-server key the cache or the plan has, in order.
pub fn all_keys(
    known: &BTreeMap<ServiceKey, KnownService>,
    plan: &KernelPlan,
) -> BTreeSet<ServiceKey> {
    plan.services.keys().chain(known.keys()).copied().collect()
}

/// [`diff_ipvs`] restricted to `keys`: the same commands, in the same
/// order, as the full diff gives for those keys. When the cache matches
/// the previous plan and `keys` lists every virtual server that changed
/// since ([`crate::plan::PlanChanges`]), it equals the full diff.
pub fn diff_ipvs_keys(
    known: &BTreeMap<ServiceKey, KnownService>,
    plan: &KernelPlan,
    keys: &BTreeSet<ServiceKey>,
    queued: &BTreeSet<(ServiceKey, SocketAddr)>,
    exclude: &ExcludeCidrs,
) -> IpvsDiff {
    let mut diff = IpvsDiff::default();
    let mut servers = Vec::new();
    let mut deletions = Vec::new();
    for key in keys {
        match plan.services.get(key) {
            Some(planned) => diff_service(
                key,
                planned,
                known.get(key),
                queued,
                &mut diff,
                &mut servers,
            ),
            None if known.contains_key(key) && !exclude.protects(key) => {
                deletions.push(Command::DeleteService(*key));
            }
            None => {}
        }
    }
    diff.commands.extend(servers);
    diff.commands.extend(deletions);
    diff
}

/// One planned service against what the cache has: service commands go
/// to `diff`, real-server commands to `servers` (sent after every service
/// command).
fn diff_service(
    key: &ServiceKey,
    planned: &PlannedService,
    have: Option<&KnownService>,
    queued: &BTreeSet<(ServiceKey, SocketAddr)>,
    diff: &mut IpvsDiff,
    servers: &mut Vec<Command>,
) {
    let wanted: BTreeMap<SocketAddr, &RealServer> = planned
        .real_servers
        .iter()
        .map(|rs| (rs.addr, rs))
        .collect();
    let Some(have) = have else {
        diff.commands
            .push(Command::AddService(planned.service.clone()));
        servers.extend(
            wanted
                .values()
                .map(|rs| Command::AddRealServer(*key, (*rs).clone())),
        );
        return;
    };
    if !have.service.is_like(&planned.service) {
        diff.commands
            .push(Command::UpdateService(planned.service.clone()));
    }
    for (addr, rs) in &wanted {
        match have.real_servers.get(addr) {
            None => servers.push(Command::AddRealServer(*key, (*rs).clone())),
            Some(current) if !current.is_like(rs) => {
                servers.push(Command::UpdateRealServer(*key, (*rs).clone()))
            }
            Some(_) => {}
        }
        if queued.contains(&(*key, *addr)) {
            diff.restored.push((*key, *addr));
        }
    }
    for (addr, rs) in &have.real_servers {
        if !wanted.contains_key(addr) && !queued.contains(&(*key, *addr)) {
            match rs {
                Cached::Known(settings) => diff.removed.push((*key, settings.real_server(*addr))),
                Cached::Unknown => diff.removed_unknown.push((*key, *addr)),
            }
        }
    }
}

/// What to do with real servers that left the plan, given their live
/// connection counters (kube-proxy's `GracefulDeleteRS`): TCP ones with
/// active or inactive connections get weight 0 (no message if already 0)
/// and are queued; the others are deleted at once. Returns the commands
/// and the real servers to queue.
pub fn graceful_commands(
    removed: &[(ServiceKey, RealServer)],
) -> (Vec<Command>, Vec<(ServiceKey, SocketAddr)>) {
    let mut commands = Vec::new();
    let mut queue = Vec::new();
    for (key, rs) in removed {
        let tcp = matches!(
            key,
            ServiceKey::Inet {
                protocol: Protocol::Tcp,
                ..
            }
        );
        if tcp && rs.active_conns + rs.inactive_conns > 0 {
            if rs.weight != 0 {
                let mut quiet = rs.clone();
                quiet.weight = 0;
                commands.push(Command::UpdateRealServer(*key, quiet));
            }
            queue.push((*key, rs.addr));
        } else {
            commands.push(Command::DeleteRealServer(*key, rs.addr));
        }
    }
    (commands, queue)
}

/// Whether a removed real server needs its live counters before the
/// decision (only TCP ones can be kept).
pub fn needs_counters(key: &ServiceKey) -> bool {
    matches!(
        key,
        ServiceKey::Inet {
            protocol: Protocol::Tcp,
            ..
        }
    )
}

/// The VIP changes from the cache to a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BindDiff {
    /// VIPs bound in the other mode, to unbind first (a mode switch).
    pub unbind_other: Vec<IpAddr>,
    /// VIPs to bind in the current mode.
    pub bind: Vec<IpAddr>,
    /// VIPs to unbind in the current mode.
    pub unbind: Vec<IpAddr>,
}

/// Diffs the VIPs on the dummy interface against the plan.
pub fn diff_bindings(known: &Bindings, wanted: &BTreeSet<IpAddr>, mode: BindMode) -> BindDiff {
    let have = known.in_mode(mode);
    BindDiff {
        unbind_other: known.in_mode(other_mode(mode)).iter().copied().collect(),
        bind: wanted.difference(have).copied().collect(),
        unbind: have.difference(wanted).copied().collect(),
    }
}

/// [`diff_bindings`] restricted to the addresses `keys`. When the cache
/// matches the previous plan (nothing bound in the other mode) and `keys`
/// lists every address bound or unbound since, it equals the full diff.
pub fn diff_bindings_keys(
    known: &Bindings,
    wanted: &BTreeSet<IpAddr>,
    keys: &BTreeSet<IpAddr>,
    mode: BindMode,
) -> BindDiff {
    let have = known.in_mode(mode);
    let other = known.in_mode(other_mode(mode));
    let pick = |keep: &dyn Fn(&IpAddr) -> bool| keys.iter().copied().filter(|a| keep(a)).collect();
    BindDiff {
        unbind_other: pick(&|a| other.contains(a)),
        bind: pick(&|a| wanted.contains(a) && !have.contains(a)),
        unbind: pick(&|a| have.contains(a) && !wanted.contains(a)),
    }
}

fn other_mode(mode: BindMode) -> BindMode {
    match mode {
        BindMode::Address => BindMode::Route,
        BindMode::Route => BindMode::Address,
    }
}

/// The changes of one ipset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetDiff {
    /// The set.
    pub name: String,
    /// Its type.
    pub set_type: SetType,
    /// Its family.
    pub family: Family,
    /// Create it first (it is missing).
    pub create: bool,
    /// Destroy and create it first (it exists with another type or
    /// family).
    pub recreate: bool,
    /// Members to delete.
    pub delete: Vec<Entry>,
    /// Members to add.
    pub add: Vec<Entry>,
}

impl SetDiff {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        !self.create && !self.recreate && self.delete.is_empty() && self.add.is_empty()
    }
}

fn same_shape(have: &SetState, want: &PlannedSet) -> bool {
    let family: Option<Family> = (!want.set_type.is_bitmap()).then_some(want.family);
    have.set_type == Some(want.set_type) && have.family == family
}

/// Diffs the ipsets against the plan: only the sets that change. Sets
/// absent from the plan are left alone.
pub fn diff_ipsets(known: &BTreeMap<String, SetState>, plan: &KernelPlan) -> Vec<SetDiff> {
    plan.ipsets
        .iter()
        .map(|(name, want)| diff_set(name, want, known.get(name), None))
        .filter(|d| !d.is_empty())
        .collect()
}

/// [`diff_ipsets`] restricted to the members listed per set in `keys`
/// (a missing or reshaped set is still created with all its members).
/// When the cache matches the previous plan and `keys` lists every member
/// added or removed since, it equals the full diff.
pub fn diff_ipsets_keys(
    known: &BTreeMap<String, SetState>,
    plan: &KernelPlan,
    keys: &BTreeMap<String, BTreeSet<Entry>>,
) -> Vec<SetDiff> {
    keys.iter()
        .filter_map(|(name, entries)| {
            let want = plan.ipsets.get(name)?;
            Some(diff_set(name, want, known.get(name), Some(entries)))
        })
        .filter(|d| !d.is_empty())
        .collect()
}

/// One set: all its members, or only `candidates`.
fn diff_set(
    name: &str,
    want: &PlannedSet,
    have: Option<&SetState>,
    candidates: Option<&BTreeSet<Entry>>,
) -> SetDiff {
    let empty = BTreeSet::new();
    let shaped = have.is_some_and(|h| same_shape(h, want));
    let current = match have {
        Some(h) if shaped => &h.entries,
        _ => &empty,
    };
    let (delete, add) = match candidates {
        Some(candidates) if shaped => (
            candidates
                .iter()
                .filter(|e| current.contains(e) && !want.entries.contains(e))
                .copied()
                .collect(),
            candidates
                .iter()
                .filter(|e| want.entries.contains(e) && !current.contains(e))
                .copied()
                .collect(),
        ),
        _ => (
            current.difference(&want.entries).copied().collect(),
            want.entries.difference(current).copied().collect(),
        ),
    };
    SetDiff {
        name: name.to_owned(),
        set_type: want.set_type,
        family: want.family,
        create: have.is_none(),
        recreate: have.is_some() && !shaped,
        delete,
        add,
    }
}
