//! [`Reconciler`]: owns the writers and the cache, sends only changes.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
    time::Instant,
};

use ipvs_netlink::{Command, RealServer, ServiceKey, Timeouts};

use super::{
    diff::{
        IpvsDiff, SetDiff, all_keys, diff_bindings, diff_bindings_keys, diff_ipsets,
        diff_ipsets_keys, diff_ipvs_keys, graceful_commands, needs_counters,
    },
    graceful::GracefulQueue,
    recover::{Failure, recover},
    report::{Counters, SyncReport},
    state::{Cached, KnownService, KnownState, RealServerSettings},
};
use crate::{
    catalogue::owned::ExcludeCidrs,
    kernel::{
        IpsetWrite, IpsetWriter, IpsetWriterError, IptablesWrite, IptablesWriter, IpvsWrite,
        IpvsWriter, IpvsWriterError, LinkError, LinkWrite, LinkWriter, Netlink, SetState, Sysctl,
        SysctlError, SysctlWrite, SysctlWriter, WriterSet, Writers, link::INTERFACE,
    },
    plan::{ChangedKeys, KernelPlan, PlanChanges},
    types::BindMode,
};

/// How the reconciler writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcilerOptions {
    /// The dummy interface (`kube-ipvs0`).
    pub interface: String,
    /// How VIPs are bound.
    pub bind_mode: BindMode,
    /// `--ipvs-exclude-cidrs`: owned services there are never deleted.
    pub exclude_cidrs: ExcludeCidrs,
    /// The prefix of the ipsets to dump and adopt (`KUBE-`).
    pub ipset_prefix: String,
    /// The scheduler to probe at start (kube-proxy's
    /// `CanUseIPVSProxier`); `None` probes nothing.
    pub scheduler: Option<String>,
    /// The IPVS timeouts to set at start (zeros keep the kernel's).
    pub timeouts: Timeouts,
    /// The sysctls to set at start, before anything else (the first that
    /// cannot be set fails the start, as in kube-proxy's `NewProxier`).
    pub sysctls: Vec<Sysctl>,
}

impl Default for ReconcilerOptions {
    fn default() -> Self {
        ReconcilerOptions {
            interface: INTERFACE.to_owned(),
            bind_mode: BindMode::Address,
            exclude_cidrs: ExcludeCidrs::default(),
            ipset_prefix: "KUBE-".to_owned(),
            scheduler: None,
            timeouts: Timeouts::default(),
            sysctls: Vec::new(),
        }
    }
}

/// Why the reconciler could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// IPVS.
    #[error(transparent)]
    Ipvs(#[from] IpvsWriterError),
    /// ipset.
    #[error(transparent)]
    Ipset(#[from] IpsetWriterError),
    /// The dummy interface.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The configured scheduler cannot be used.
    #[error("cannot use the IPVS scheduler: {0}")]
    Scheduler(#[source] IpvsWriterError),
    /// A sysctl kube-proxy requires could not be set.
    #[error(transparent)]
    Sysctl(#[from] SysctlError),
}

/// Where the sysctls are.
const SYSCTL_ROOT: &str = "/proc/sys";

/// kube-proxy's `CanUseIPVSProxier` (an unknown scheduler is fatal at
/// start, not an error on every sync), then the IPVS timeouts (a failure
/// is logged, as kube-proxy does).
async fn prepare_ipvs(
    ipvs: &mut impl IpvsWrite,
    options: &ReconcilerOptions,
) -> Result<(), StartError> {
    if let Some(scheduler) = &options.scheduler {
        ipvs.probe_scheduler(scheduler)
            .await
            .map_err(StartError::Scheduler)?;
    }
    if let Err(err) = ipvs.set_timeouts(options.timeouts).await {
        tracing::warn!("IPVS timeouts: {err}");
    }
    Ok(())
}

/// Virtual servers a full IPVS pass diffs and sends at a time (about
/// 11,000 commands at 10 real servers each).
const SERVICES_PER_PASS: usize = 1000;

/// Which part of a plan a pass looks at.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    /// All of it.
    All,
    /// Only these keys.
    Keys(&'a ChangedKeys),
}

/// The reconciler: owns the kernel writers and a cache of what it wrote
/// ([`KnownState`]), and turns each plan into the changes only.
///
/// Generic over its [`Writers`] (the real ones, [`Netlink`], by default;
/// in-memory ones in the tests of the orchestration).
#[derive(Debug)]
pub struct Reconciler<W: Writers = Netlink> {
    options: ReconcilerOptions,
    ipvs: W::Ipvs,
    ipset: W::Ipset,
    link: W::Link,
    iptables: W::Iptables,
    known: KnownState,
    graceful: GracefulQueue,
    /// Whether the cache may not match the last plan (after a start or a
    /// pass with errors): the next [`Reconciler::sync_changes`] is full.
    needs_full: bool,
}

impl Reconciler {
    /// Warm start on the node: sets the sysctls of the options, opens the
    /// writers (creating `kube-ipvs0` if missing), then as
    /// [`start_with`](Self::start_with): dumps and adopts the kernel,
    /// probes the scheduler and sets the IPVS timeouts.
    pub async fn start(options: ReconcilerOptions) -> Result<Self, StartError> {
        let mut sysctl = SysctlWriter::new(SYSCTL_ROOT);
        sysctl.ensure(&options.sysctls)?;
        let writers = WriterSet {
            ipvs: IpvsWriter::connect().await?,
            ipset: IpsetWriter::connect().await?,
            link: LinkWriter::connect(&options.interface).await?,
            iptables: IptablesWriter::new(),
            sysctl,
        };
        Self::adopt(options, writers).await
    }

    /// kube-proxy's `--init-only` in IPVS mode: IPVS and ipset usable, the
    /// scheduler probed, the IPVS timeouts set, the sysctls set; no dump,
    /// no interface, nothing else touched.
    pub async fn init_node(options: &ReconcilerOptions) -> Result<(), StartError> {
        let mut ipvs = IpvsWriter::connect().await?;
        IpsetWriter::connect().await?;
        prepare_ipvs(&mut ipvs, options).await?;
        SysctlWriter::new(SYSCTL_ROOT).ensure(&options.sysctls)?;
        Ok(())
    }

    /// Replaces the iptables writer (other binaries).
    #[must_use]
    pub fn with_iptables(mut self, iptables: IptablesWriter) -> Self {
        self.iptables = iptables;
        self
    }
}

impl<W: Writers> Reconciler<W> {
    /// Warm start over `writers`: sets the sysctls of the options, dumps
    /// the kernel once (IPVS table, the interface's addresses and routes,
    /// the node's other addresses, the `KUBE-*` ipsets) and adopts it as
    /// the cache, so a plan equal to what the kernel holds sends nothing;
    /// then probes the scheduler (kube-proxy's `CanUseIPVSProxier`: an
    /// unknown scheduler fails the start) and sets the IPVS timeouts (a
    /// failure is logged, as kube-proxy does).
    pub async fn start_with(
        options: ReconcilerOptions,
        mut writers: WriterSet<W>,
    ) -> Result<Self, StartError> {
        writers.sysctl.ensure(&options.sysctls)?;
        Self::adopt(options, writers).await
    }

    /// [`start_with`](Self::start_with) after the sysctls.
    async fn adopt(options: ReconcilerOptions, writers: WriterSet<W>) -> Result<Self, StartError> {
        let mut reconciler: Self = Reconciler {
            options,
            ipvs: writers.ipvs,
            ipset: writers.ipset,
            link: writers.link,
            iptables: writers.iptables,
            known: KnownState::default(),
            graceful: GracefulQueue::default(),
            needs_full: true,
        };
        reconciler.known.ipsets = reconciler
            .ipset
            .dump(&reconciler.options.ipset_prefix)
            .await?;
        reconciler.known.bindings = reconciler.link.bindings().await?;
        reconciler.known.node_addrs = reconciler.link.local_addresses().await?;
        let table = reconciler.ipvs.dump().await?;
        reconciler.known.adopt_table(table, &BTreeSet::new());
        prepare_ipvs(&mut reconciler.ipvs, &reconciler.options).await?;
        Ok(reconciler)
    }

    /// The options.
    pub fn options(&self) -> &ReconcilerOptions {
        &self.options
    }

    /// The cache.
    pub fn known(&self) -> &KnownState {
        &self.known
    }

    /// The graceful-removal queue.
    pub fn graceful(&self) -> &GracefulQueue {
        &self.graceful
    }

    /// The link writer (for [`LinkWrite::local_addresses`] and
    /// [`LinkWrite::index`]).
    pub fn link(&self) -> &W::Link {
        &self.link
    }

    /// Totals since start.
    pub fn counters(&self) -> Counters {
        Counters {
            ipvs_messages: self.ipvs.messages(),
            ipset_messages: self.ipset.messages(),
            link_messages: self.link.messages(),
            iptables_forks: self.iptables.forks(),
        }
    }

    /// Diffs the plan against the cache and sends only the changes, in
    /// order: IPVS, VIPs, ipsets, iptables. A failing object is reported
    /// and never stops the others.
    pub async fn sync(&mut self, plan: &KernelPlan) -> SyncReport {
        let (before, started) = (self.counters(), Instant::now());
        let mut report = SyncReport::default();
        self.sync_all(plan, Scope::All, &mut report).await;
        self.finish(report, before, started)
    }

    /// Like [`sync`](Self::sync), but looks only at the keys `changes`
    /// lists (the cache and the plan are consulted for those keys only):
    /// O(changes), not O(plan). `changes` must list everything that
    /// changed in `plan` since the plan of the previous sync (what
    /// [`crate::plan::IncrementalPlanner::take_changes`] gives);
    /// [`PlanChanges::All`] is a full sync, and so is the first call after
    /// [`start`](Self::start) and any call after a pass that reported
    /// errors (the cache may not match the plan then).
    pub async fn sync_changes(&mut self, plan: &KernelPlan, changes: &PlanChanges) -> SyncReport {
        let nothing = ChangedKeys::default();
        let keys = match changes {
            _ if self.needs_full => return self.sync(plan).await,
            PlanChanges::All => return self.sync(plan).await,
            PlanChanges::None => &nothing,
            PlanChanges::Some(keys) => keys,
        };
        let (before, started) = (self.counters(), Instant::now());
        let mut report = SyncReport::default();
        self.sync_all(plan, Scope::Keys(keys), &mut report).await;
        self.finish(report, before, started)
    }

    /// Periodic full resync: re-creates the interface if it vanished,
    /// re-dumps the kernel (so drift by anyone else is seen), checks the
    /// iptables jumps and chains, then syncs the plan, repairing what
    /// differs.
    pub async fn resync(&mut self, plan: &KernelPlan) -> SyncReport {
        let (before, started) = (self.counters(), Instant::now());
        let mut report = SyncReport::default();
        if let Err(err) = self.link.ensure_interface().await {
            report.error(err);
        }
        match self.ipset.dump(&self.options.ipset_prefix).await {
            Ok(sets) => self.known.ipsets = sets,
            Err(err) => report.error(err),
        }
        match self.link.bindings().await {
            Ok(bindings) => self.known.bindings = bindings,
            Err(err) => report.error(err),
        }
        match self.link.local_addresses().await {
            Ok(addrs) => self.known.node_addrs = addrs,
            Err(err) => report.error(err),
        }
        match self.ipvs.dump().await {
            Ok(table) => {
                let owned = self.known.services.keys().copied().collect();
                self.known.adopt_table(table, &owned);
            }
            Err(err) => report.error(err),
        }
        for family in plan.iptables.keys() {
            match self.iptables.check(*family).await {
                Ok(true) => report.iptables_written += 1,
                Ok(false) => {}
                Err(err) => report.error(err),
            }
        }
        self.sync_all(plan, Scope::All, &mut report).await;
        self.finish(report, before, started)
    }

    /// The graceful check (every minute in the daemon): deletes the
    /// queued real servers whose active and inactive connections reached
    /// zero, and forgets the ones that vanished.
    pub async fn process_graceful(&mut self) -> SyncReport {
        let (before, started) = (self.counters(), Instant::now());
        let mut report = SyncReport::default();
        let queued = self.graceful.keys();
        let mut commands = Vec::new();
        for key in self.graceful.services() {
            let live = match self.ipvs.real_servers(&key).await {
                Ok(Some(list)) => list,
                Ok(None) => {
                    self.graceful.remove_service(&key);
                    continue;
                }
                Err(err) => {
                    report.error(err);
                    continue;
                }
            };
            let live: BTreeMap<SocketAddr, RealServer> =
                live.into_iter().map(|rs| (rs.addr, rs)).collect();
            for (_, addr) in queued.iter().filter(|(k, _)| *k == key) {
                match live.get(addr) {
                    None => {
                        self.graceful.remove(&key, addr);
                        self.forget_real_server(&key, addr);
                    }
                    Some(rs) if rs.active_conns + rs.inactive_conns == 0 => {
                        commands.push(Command::DeleteRealServer(key, *addr));
                    }
                    Some(_) => {}
                }
            }
        }
        self.execute(&commands, &mut report).await;
        self.finish(report, before, started)
    }

    fn finish(&self, mut report: SyncReport, before: Counters, started: Instant) -> SyncReport {
        let after = self.counters();
        report.ipvs_messages = after.ipvs_messages - before.ipvs_messages;
        report.ipset_messages = after.ipset_messages - before.ipset_messages;
        report.link_messages = after.link_messages - before.link_messages;
        report.iptables_forks = after.iptables_forks - before.iptables_forks;
        report.graceful_pending = self.graceful.len();
        report.elapsed = started.elapsed();
        report
    }

    async fn sync_all(&mut self, plan: &KernelPlan, scope: Scope<'_>, report: &mut SyncReport) {
        let errors = report.errors.len();
        let settled = self.sync_ipvs(plan, scope, report).await;
        self.sync_bindings(plan, scope, report).await;
        self.sync_ipsets(plan, scope, report).await;
        self.sync_iptables(plan, scope, report).await;
        let clean = settled && report.errors.len() == errors;
        match scope {
            Scope::All => self.needs_full = !clean,
            Scope::Keys(_) => self.needs_full |= !clean,
        }
    }

    fn diff_ipvs(&self, plan: &KernelPlan, keys: &BTreeSet<ServiceKey>) -> IpvsDiff {
        let (known, queued) = (&self.known.services, &self.graceful.keys());
        diff_ipvs_keys(known, plan, keys, queued, &self.options.exclude_cidrs)
    }

    /// Returns whether the cache is settled (no failure left an object in
    /// an unknown state after the second pass). A full pass goes
    /// [`SERVICES_PER_PASS`] virtual servers at a time (diff, send,
    /// record), so a cold start never holds every command and result at
    /// once: the commands of one full diff, in runs of services.
    async fn sync_ipvs(
        &mut self,
        plan: &KernelPlan,
        scope: Scope<'_>,
        report: &mut SyncReport,
    ) -> bool {
        let all: Vec<ServiceKey> = match scope {
            Scope::Keys(keys) => return self.sync_ipvs_keys(plan, &keys.services, report).await,
            // (A planned foreign service is a planned key.)
            Scope::All => all_keys(&self.known.services, plan).into_iter().collect(),
        };
        let mut settled = true;
        for chunk in all.chunks(SERVICES_PER_PASS) {
            let keys = chunk.iter().copied().collect();
            settled &= self.sync_ipvs_keys(plan, &keys, report).await;
        }
        settled
    }

    /// [`Self::sync_ipvs`] for these virtual servers only.
    async fn sync_ipvs_keys(
        &mut self,
        plan: &KernelPlan,
        keys: &BTreeSet<ServiceKey>,
        report: &mut SyncReport,
    ) -> bool {
        // A foreign service with a planned key becomes ours.
        for key in keys.iter().filter(|k| plan.services.contains_key(k)) {
            if let Some(service) = self.known.foreign.remove(key) {
                self.known.services.insert(*key, service);
            }
        }
        let diff = self.diff_ipvs(plan, keys);
        for (key, addr) in &diff.restored {
            self.graceful.remove(key, addr);
        }
        let (removed, deletions) = self
            .live_counters(&diff.removed, &diff.removed_unknown, report)
            .await;
        let (graceful, queue) = graceful_commands(&removed);
        let mut commands = diff.commands;
        commands.extend(graceful);
        commands.extend(deletions);
        let retry = self.execute(&commands, report).await;
        for (key, addr) in queue {
            let quiet = self
                .known
                .services
                .get(&key)
                .and_then(|s| s.real_servers.get(&addr))
                .and_then(Cached::known)
                .is_some_and(|rs| rs.weight == 0);
            if quiet {
                self.graceful.push(key, addr);
                report.real_servers_queued += 1;
            }
        }
        if !retry {
            return true;
        }
        let second = self.diff_ipvs(plan, keys);
        !self.execute(&second.commands, report).await
    }

    /// The removed real servers with live connection counters (one
    /// destination dump per service with removed TCP real servers);
    /// vanished ones are dropped from the cache. `unknown` are removed
    /// real servers whose settings the cache does not know: TCP ones get
    /// the kernel's (and are left for the next sync without them), the
    /// others are deleted at once (the second list returned).
    async fn live_counters(
        &mut self,
        removed: &[(ServiceKey, RealServer)],
        unknown: &[(ServiceKey, SocketAddr)],
        report: &mut SyncReport,
    ) -> (Vec<(ServiceKey, RealServer)>, Vec<Command>) {
        let keys: BTreeSet<ServiceKey> = removed
            .iter()
            .map(|(k, _)| *k)
            .chain(unknown.iter().map(|(k, _)| *k))
            .filter(needs_counters)
            .collect();
        let mut live: BTreeMap<ServiceKey, Option<BTreeMap<SocketAddr, RealServer>>> =
            BTreeMap::new();
        for key in keys {
            match self.ipvs.real_servers(&key).await {
                Ok(list) => {
                    live.insert(
                        key,
                        list.map(|l| l.into_iter().map(|rs| (rs.addr, rs)).collect()),
                    );
                }
                // Without counters, quiesce rather than cut connections.
                Err(err) => report.error(err),
            }
        }
        let mut out = Vec::new();
        for (key, rs) in removed {
            match live.get(key) {
                None => {
                    let mut guess = rs.clone();
                    if needs_counters(key) {
                        guess.active_conns = guess.active_conns.max(1);
                    }
                    out.push((*key, guess));
                }
                Some(None) => {
                    self.known.services.remove(key);
                }
                Some(Some(list)) => match list.get(&rs.addr) {
                    Some(current) => out.push((*key, current.clone())),
                    None => self.forget_real_server(key, &rs.addr),
                },
            }
        }
        let mut deletions = Vec::new();
        for (key, addr) in unknown {
            match live.get(key) {
                None if !needs_counters(key) => {
                    deletions.push(Command::DeleteRealServer(*key, *addr))
                }
                // No counters (reported): the next sync decides.
                None => {}
                Some(None) => {
                    self.known.services.remove(key);
                }
                Some(Some(list)) => match list.get(addr) {
                    Some(current) => out.push((*key, current.clone())),
                    None => self.forget_real_server(key, addr),
                },
            }
        }
        (out, deletions)
    }

    fn forget_real_server(&mut self, key: &ServiceKey, addr: &SocketAddr) {
        if let Some(service) = self.known.services.get_mut(key) {
            service.real_servers.remove(addr);
        }
    }

    /// Sends the commands (pipelined) and records each success in the
    /// cache. Returns whether a failure corrected the cache so that a
    /// second diff would fix it.
    async fn execute(&mut self, commands: &[Command], report: &mut SyncReport) -> bool {
        let results = match self.ipvs.apply(commands).await {
            Ok(results) => results,
            Err(err) => {
                report.error(err);
                return false;
            }
        };
        let mut retry = false;
        for (command, result) in commands.iter().zip(results) {
            match result {
                Ok(()) => self.record(command, report),
                Err(err) => {
                    match recover(&mut self.known.services, &mut self.graceful, command, &err) {
                        Failure::Retry => retry = true,
                        Failure::Silent => {}
                        Failure::Report => report.error(err),
                    }
                }
            }
        }
        retry
    }

    fn record(&mut self, command: &Command, report: &mut SyncReport) {
        let services = &mut self.known.services;
        match command {
            Command::AddService(service) => {
                services.insert(service.key, KnownService::new(service.clone(), &[]));
                report.services_added += 1;
            }
            Command::UpdateService(service) => {
                if let Some(known) = services.get_mut(&service.key) {
                    known.service = Cached::Known(service.clone());
                }
                report.services_updated += 1;
            }
            Command::DeleteService(key) => {
                services.remove(key);
                self.graceful.remove_service(key);
                report.services_deleted += 1;
            }
            Command::AddRealServer(key, rs) | Command::UpdateRealServer(key, rs) => {
                if let Some(known) = services.get_mut(key) {
                    known
                        .real_servers
                        .insert(rs.addr, Cached::Known(RealServerSettings::of(rs)));
                }
                if matches!(command, Command::AddRealServer(..)) {
                    report.real_servers_added += 1;
                } else {
                    report.real_servers_updated += 1;
                }
            }
            Command::DeleteRealServer(key, addr) => {
                self.forget_real_server(key, addr);
                self.graceful.remove(key, addr);
                report.real_servers_deleted += 1;
            }
            _ => {}
        }
    }

    async fn sync_bindings(
        &mut self,
        plan: &KernelPlan,
        scope: Scope<'_>,
        report: &mut SyncReport,
    ) {
        let mode = self.options.bind_mode;
        let other = match mode {
            BindMode::Address => BindMode::Route,
            BindMode::Route => BindMode::Address,
        };
        let (known, wanted) = (&self.known.bindings, &plan.bind_addrs);
        let diff = match scope {
            Scope::All => diff_bindings(known, wanted, mode),
            Scope::Keys(keys) => diff_bindings_keys(known, wanted, &keys.bind_addrs, mode),
        };
        let steps = [
            (other, false, diff.unbind_other),
            (mode, true, diff.bind),
            (mode, false, diff.unbind),
        ];
        for (mode, bind, vips) in steps {
            if vips.is_empty() {
                continue;
            }
            let results = if bind {
                self.link.bind(mode, &vips).await
            } else {
                self.link.unbind(mode, &vips).await
            };
            let known = self.known.bindings.in_mode_mut(mode);
            for (vip, result) in vips.iter().zip(results) {
                match result {
                    Ok(()) if bind => {
                        known.insert(*vip);
                        report.vips_bound += 1;
                    }
                    Ok(()) => {
                        known.remove(vip);
                        report.vips_unbound += 1;
                    }
                    Err(err) => report.error(err),
                }
            }
        }
    }

    async fn sync_ipsets(&mut self, plan: &KernelPlan, scope: Scope<'_>, report: &mut SyncReport) {
        let diffs: Vec<SetDiff> = match scope {
            Scope::All => diff_ipsets(&self.known.ipsets, plan),
            Scope::Keys(keys) => diff_ipsets_keys(&self.known.ipsets, plan, &keys.ipset_entries),
        };
        for diff in diffs {
            if diff.recreate {
                if let Err(err) = self.ipset.destroy(&diff.name).await {
                    report.error(err);
                    continue;
                }
                self.known.ipsets.remove(&diff.name);
            }
            if diff.create || diff.recreate {
                if let Err(err) = self
                    .ipset
                    .create(&diff.name, diff.set_type, diff.family)
                    .await
                {
                    report.error(err);
                    continue;
                }
                let family = (!diff.set_type.is_bitmap()).then_some(diff.family);
                self.known.ipsets.insert(
                    diff.name.clone(),
                    SetState {
                        set_type: Some(diff.set_type),
                        family,
                        entries: BTreeSet::new(),
                    },
                );
                report.ipsets_created += 1;
            }
            match self.ipset.apply(&diff.name, &diff.delete, &diff.add).await {
                Ok(()) => {
                    if let Some(set) = self.known.ipsets.get_mut(&diff.name) {
                        for entry in &diff.delete {
                            set.entries.remove(entry);
                        }
                        set.entries.extend(diff.add.iter().copied());
                    }
                    report.ipset_deleted += diff.delete.len();
                    report.ipset_added += diff.add.len();
                }
                Err(err) => {
                    // Unknown contents now: the next resync re-reads them.
                    self.known.ipsets.remove(&diff.name);
                    report.error(err);
                }
            }
        }
    }

    async fn sync_iptables(
        &mut self,
        plan: &KernelPlan,
        scope: Scope<'_>,
        report: &mut SyncReport,
    ) {
        let wanted = |family| match scope {
            Scope::All => true,
            Scope::Keys(keys) => keys.iptables.contains(family),
        };
        for (family, rules) in plan.iptables.iter().filter(|(f, _)| wanted(*f)) {
            match self.iptables.write(*family, rules).await {
                Ok(true) => report.iptables_written += 1,
                Ok(false) => {}
                Err(err) => {
                    report.iptables_failed.push(*family);
                    report.error(err);
                }
            }
        }
    }
}
