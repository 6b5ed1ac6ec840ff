//! The daemon: a source in, kernel state out, like kube-proxy's sync loop.
//!
//! * The source is the API server ([`crate::source::kube`]) or the
//!   manifests (polled: file names, sizes and modification times). Both
//!   feed one [`ClusterStore`], which tracks changes per Service.
//! * Nothing is synced before the store is ready (every kind listed once);
//!   a relist keeps the old view until it completes, so an outage or a
//!   partial view never deletes the node's Services.
//! * Syncs follow a [`runner::Runner`]: bounded frequency for changes
//!   (`min_sync_period`, burst 2), a full resync every `sync_period` that
//!   re-reads the node addresses and the kernel and repairs drift.
//! * Every `graceful_period` the real servers draining at weight 0 are
//!   checked and deleted once their connections are gone.
//! * A change of the `--config` file's content ends the daemon with an
//!   error, as kube-proxy exits ([`config_watch`]).
//! * The node context (addresses, labels) is resolved at every sync; the
//!   Node being deleted or changing addresses ends the daemon with an
//!   error, as kube-proxy exits (the DaemonSet restarts it). Without
//!   `--node-ip` the node's local addresses come from an
//!   [`AddressCache`] kept by rtnetlink notifications, not a dump per
//!   sync.
//! * `shutdown` (SIGTERM in the binary) ends the loop, also while the
//!   kernel is adopted at start or in the middle of a sync (dropped at its
//!   next await); the kernel state is left in place (a restart adopts it).
//!
//! This module holds the loop ([`run`] and its state); beside it are the
//! servers and the `--config` watch (`servers`), the sources (`sources`),
//! the node's set-up and context (`node`, with [`init_only`]) and what a
//! sync reports (`report`).

pub mod config_watch;
mod node;
mod report;
pub mod runner;
mod servers;
mod sources;
#[cfg(test)]
mod tests;

use std::{
    future::Future,
    time::{Duration, Instant},
};

use ipvs_netlink::Family;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::{
    cluster::{Delta, Snapshot},
    config::{NodePortAddresses, Settings},
    kernel::{AddressCache, LinkWrite, Netlink, NodeAddresses, Writers, sysctl},
    model::{AddressSources, NodeContext, Warning},
    plan::IncrementalPlanner,
    reconcile::{Reconciler, StartError},
    serve::{Metrics, ProxyHealth, ServiceHealth, service_health::listen_addresses},
    source::store::{ClusterStore, NodeExit, SourceEvent, StoreChanges},
};
pub use node::init_only;
use node::{apply_oom_score_adj, node_context, reconciler_options};
use report::{count, log_report, since};
use runner::{Due, Runner};
use sources::manifests_node;

/// kube-proxy's burst of syncs allowed at once.
pub const SYNC_BURST: u32 = 2;

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The kernel writers could not start.
    #[error("cannot start: {0}")]
    Start(#[source] StartError),
    /// The configured scheduler cannot be used.
    #[error("cannot use the IPVS scheduler: {0}")]
    Scheduler(#[source] crate::kernel::IpvsWriterError),
    /// The API client could not be built.
    #[error(transparent)]
    Client(#[from] crate::source::kube::KubeSourceError),
    /// The node was deleted or changed its addresses.
    #[error("{0}; exiting so that the proxier restarts with the new node")]
    Node(#[from] NodeExit),
    /// The node's addresses cannot be followed (no `--node-ip`).
    #[error("cannot follow the node's addresses: {0}")]
    Addresses(#[from] crate::kernel::AddressCacheError),
    /// Every source went away.
    #[error("the source stopped")]
    SourceClosed,
    /// A server could not bind with `bindAddressHardFail`.
    #[error(transparent)]
    Serve(#[from] crate::serve::ServeError),
    /// The `--config` file changed.
    #[error("{0}; exiting so that the proxier restarts with it")]
    ConfigChanged(#[from] config_watch::ConfigChanged),
    /// A sysctl kube-proxy requires could not be set.
    #[error("cannot set up the node: {0}")]
    Sysctl(#[from] sysctl::SysctlError),
    /// IPVS or ipset cannot be used (`--init-only`'s checks).
    #[error("cannot use IPVS: {0}")]
    Ipvs(#[source] crate::kernel::IpvsWriterError),
    /// ipset cannot be used (`--init-only`'s checks).
    #[error("cannot use ipset: {0}")]
    Ipset(#[source] crate::kernel::IpsetWriterError),
}

impl From<StartError> for DaemonError {
    /// The scheduler and the sysctls have their own variants.
    fn from(err: StartError) -> Self {
        match err {
            StartError::Scheduler(err) => DaemonError::Scheduler(err),
            StartError::Sysctl(err) => DaemonError::Sysctl(err),
            err => DaemonError::Start(err),
        }
    }
}

/// What the sources send to the loop.
#[derive(Debug)]
enum Input {
    /// A watch event (boxed: objects are large).
    Event(Box<SourceEvent>),
    /// A complete new manifests snapshot, with its warnings.
    Snapshot(Snapshot, Vec<Warning>),
    /// What changed in the manifests since the last snapshot or delta,
    /// with the warnings of the files read.
    Delta(Delta, Vec<Warning>),
    /// A server failed for good (`bindAddressHardFail`).
    Fatal(crate::serve::ServeError),
    /// The `--config` file changed.
    ConfigChanged(config_watch::ConfigChanged),
}

/// Runs until `shutdown` completes.
pub async fn run(
    settings: Settings,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    tokio::pin!(shutdown);
    // The content the configuration was read from, before anything else.
    let config_watch = settings
        .config_file
        .as_ref()
        .map(config_watch::ConfigWatch::new);
    apply_oom_score_adj(settings.oom_score_adj);
    // The sysctls, the kernel adopted, the scheduler probed, the IPVS
    // timeouts. Adopting a large kernel state takes a while: a shutdown
    // meanwhile ends it.
    let reconciler = tokio::select! {
        started = Reconciler::start(reconciler_options(&settings.proxy)) => started?,
        _ = &mut shutdown => {
            info!("stopping before the first sync");
            return Ok(());
        }
    };

    // Without --node-ip the node's addresses are the kernel's.
    let addresses = if settings.node_ips.is_empty() {
        let mut cache = AddressCache::open()?;
        cache.exclude(reconciler.link().index())?;
        Some(cache)
    } else {
        None
    };
    let health = ProxyHealth::new(2 * settings.sync_period);
    let metrics = Metrics::new();
    let (servers, ends) = servers::spawn(&settings, config_watch, &health, &metrics);
    let source = sources::open(&settings).await?;
    let (tx, rx) = mpsc::channel(1024);
    let pump = tokio::spawn(sources::pump(vec![source, ends], tx));
    let mut daemon = Daemon::new(settings, reconciler, addresses, health, metrics);
    let result = daemon.run(rx, shutdown).await;
    pump.abort();
    for server in servers {
        server.abort();
    }
    info!("stopping; the kernel state stays for the next start");
    result
}

/// The loop's state.
struct Daemon<A, W: Writers = Netlink> {
    settings: Settings,
    reconciler: Reconciler<W>,
    /// The kernel's local addresses, without `--node-ip` only.
    addresses: Option<A>,
    store: ClusterStore,
    runner: Runner,
    planner: Option<IncrementalPlanner>,
    health: ProxyHealth,
    metrics: Metrics,
    /// The health-check node ports, opened at the first sync on the
    /// addresses `nodePortAddresses` matches then (kube-proxy picks them
    /// once, at start).
    service_health: Option<ServiceHealth>,
    synced_once: bool,
    last_graceful: Instant,
    last_wait_log: Option<Instant>,
}

impl<A: NodeAddresses, W: Writers> Daemon<A, W> {
    fn new(
        settings: Settings,
        reconciler: Reconciler<W>,
        addresses: Option<A>,
        health: ProxyHealth,
        metrics: Metrics,
    ) -> Self {
        let now = Instant::now();
        // kube-proxy stamps the health server when its sync loop starts.
        for family in Family::ALL {
            health.updated(family);
        }
        Daemon {
            runner: Runner::new(
                settings.min_sync_period,
                settings.sync_period,
                SYNC_BURST,
                now,
            ),
            settings,
            reconciler,
            addresses,
            store: ClusterStore::new(),
            planner: None,
            service_health: None,
            health,
            metrics,
            synced_once: false,
            last_graceful: now,
            last_wait_log: None,
        }
    }

    async fn run(
        &mut self,
        mut inputs: mpsc::Receiver<Input>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), DaemonError> {
        tokio::pin!(shutdown);
        loop {
            let now = Instant::now();
            let deadline = self
                .runner
                .next_deadline(now)
                .min(self.last_graceful + self.settings.graceful_period)
                .min(now + Duration::from_secs(10));
            tokio::select! {
                input = inputs.recv() => match input {
                    Some(input) => {
                        self.on_input(input)?;
                        // Take every input already queued before syncing.
                        while let Ok(input) = inputs.try_recv() {
                            self.on_input(input)?;
                        }
                    }
                    None => return Err(DaemonError::SourceClosed),
                },
                _ = tokio::time::sleep_until(deadline.into()) => {}
                _ = &mut shutdown => return Ok(()),
            }
            // A sync of a large change takes long: a shutdown drops it at
            // its next await (between netlink batches, before or after an
            // iptables-restore); the next start adopts whatever it wrote.
            tokio::select! {
                _ = self.tick() => {}
                _ = &mut shutdown => {
                    info!("stopping in the middle of a sync");
                    return Ok(());
                }
            }
        }
    }

    fn on_input(&mut self, input: Input) -> Result<(), DaemonError> {
        let result = match input {
            Input::Fatal(err) => return Err(err.into()),
            Input::ConfigChanged(changed) => return Err(changed.into()),
            Input::Event(event) => self.store.apply(*event),
            Input::Snapshot(snapshot, warnings) => {
                for warning in &warnings {
                    warn!("{warning}");
                }
                let result = self.store.replace_all(snapshot, &self.settings.node_name);
                manifests_node(result)
            }
            Input::Delta(delta, warnings) => {
                for warning in &warnings {
                    warn!("{warning}");
                }
                manifests_node(self.store.apply_delta(delta, &self.settings.node_name))
            }
        };
        // Manifests need not carry a Node: then eligibility stays as it is.
        if self.settings.manifests.is_none() || self.store.node().is_some() {
            self.health.set_node(self.store.node());
        }
        result?;
        let pending = self.store.pending();
        self.metrics
            .endpoint_changes(count(pending.endpoint_changes), 0);
        self.metrics
            .service_changes(count(pending.service_changes), 0);
        if self.store.is_ready() && self.store.has_changes() {
            if !self.runner.is_pending() {
                for family in self.families() {
                    self.health.queued_update(family);
                    self.metrics.sync_queued(family);
                }
            }
            self.runner.request();
        }
        Ok(())
    }

    /// The families the node runs (those of the last plan; IPv4 before).
    fn families(&self) -> Vec<Family> {
        match &self.planner {
            Some(planner) if !planner.plan().iptables.is_empty() => {
                planner.plan().iptables.keys().copied().collect()
            }
            _ => vec![Family::Inet],
        }
    }

    async fn tick(&mut self) {
        let now = Instant::now();
        if !self.store.is_ready() {
            if self
                .last_wait_log
                .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(10))
            {
                self.last_wait_log = Some(now);
                info!(
                    "waiting for the first complete list of Services, EndpointSlices and the Node"
                );
            }
            return;
        }
        if !self.synced_once {
            self.runner.request();
        }
        match self.runner.poll(now) {
            Due::Nothing => {}
            Due::Sync => self.sync(false).await,
            Due::Resync => self.sync(true).await,
        }
        if now.duration_since(self.last_graceful) >= self.settings.graceful_period {
            self.last_graceful = now;
            if !self.reconciler.graceful().is_empty() {
                log_report("graceful", &self.reconciler.process_graceful().await);
            }
        }
    }

    /// The node context now: the Node object, the flags and the kernel.
    async fn node_context(&mut self) -> NodeContext {
        let sources = AddressSources {
            bind_address: self.settings.bind_address,
            node_ips: &self.settings.node_ips,
            kernel: None,
        };
        let except = self.reconciler.link().index();
        let addresses = self.addresses.as_mut();
        node_context(
            &self.settings.node_name,
            self.store.node(),
            sources,
            addresses,
            except,
        )
        .await
    }

    async fn sync(&mut self, full: bool) {
        let started = Instant::now();
        let changes = self.store.take_changes();
        self.metrics.endpoint_changes(0, changes.endpoint_changes);
        self.metrics.service_changes(0, changes.service_changes);
        let node = self.node_context().await;
        let warnings = self.replan(node, &changes);
        for warning in &warnings {
            warn!("{warning}");
        }
        let Some(planner) = self.planner.as_mut() else {
            return;
        };
        let plan_changes = planner.take_changes();
        let report = if full && self.synced_once {
            self.reconciler.resync(planner.plan()).await
        } else {
            self.reconciler
                .sync_changes(planner.plan(), &plan_changes)
                .await
        };
        log_report(if full { "resync" } else { "sync" }, &report);
        let families: Vec<Family> = planner.plan().iptables.keys().copied().collect();
        for family in &report.iptables_failed {
            self.metrics.iptables_restore_failed(*family);
        }
        if report.is_ok() {
            let seconds = started.elapsed().as_secs_f64();
            for family in &families {
                self.health.updated(*family);
                self.metrics.sync_done(*family);
                self.metrics.sync_duration(*family, seconds);
            }
            if let Some(latency) = changes.oldest_trigger.as_deref().and_then(since) {
                for family in &families {
                    self.metrics.network_programming(*family, latency);
                }
            }
        } else {
            self.runner.retry();
        }
        for (family, none) in planner.no_local_endpoints() {
            self.metrics
                .no_local_endpoints(family, count(none.internal), count(none.external));
        }
        let ports = planner.health_check_ports();
        // Only the Services with a health-check port need their count: a
        // copy of every Service's would cost O(cluster) per sync.
        let local = ports
            .values()
            .map(|name| (name.clone(), planner.local_ready(name)))
            .collect();
        let service_health = self.service_health.get_or_insert_with(|| {
            let listen = listen_addresses(planner.node(), planner.config());
            if listen.is_empty() && planner.config().node_port_addresses != NodePortAddresses::All
            {
                warn!("no node address matches nodePortAddresses; health-check node ports listen on every address");
            }
            ServiceHealth::new(listen, self.health.clone())
        });
        for err in service_health.sync_services(ports).await {
            warn!("{err}");
        }
        service_health.sync_endpoints(local);
        self.synced_once = true;
    }

    /// Brings the planner up to date: a new node context replans all, then
    /// only the changed Services are planned again. Returns the warnings
    /// worth logging (those of what changed).
    fn replan(&mut self, node: NodeContext, changes: &StoreChanges) -> Vec<Warning> {
        let store = &self.store;
        let mut warnings = Vec::new();
        let planner = match self.planner.as_mut() {
            Some(planner) => {
                if *planner.node() != node {
                    info!("the node's addresses or labels changed; replanning every Service");
                    warnings.extend(planner.set_node(node));
                }
                planner
            }
            None => {
                let mut planner = IncrementalPlanner::new(node, self.settings.proxy.clone());
                for name in store.names() {
                    warnings.extend(planner.update_shared(
                        &name,
                        store.service_shared(&name),
                        store.slices_shared(&name),
                    ));
                }
                self.planner = Some(planner);
                return warnings;
            }
        };
        for name in &changes.services {
            warnings.extend(planner.update_shared(
                name,
                store.service_shared(name),
                store.slices_shared(name),
            ));
        }
        warnings
    }
}
