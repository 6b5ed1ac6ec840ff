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

pub mod config_watch;
pub mod runner;
#[cfg(test)]
mod tests;

use std::{
    future::Future,
    net::IpAddr,
    path::PathBuf,
    time::{Duration, Instant},
};

use ipvs_netlink::{Family, Timeouts};
use k8s_openapi::api::core::v1::Node;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::{
    config::{NodePortAddresses, ProxyConfig, Settings},
    kernel::{AddressCache, LinkWrite, Netlink, NodeAddresses, Writers, sysctl},
    model::{AddressSources, NodeContext, Warning},
    plan::IncrementalPlanner,
    reconcile::{ExcludeCidrs, Reconciler, ReconcilerOptions, StartError, SyncReport},
    serve::{
        Metrics, ProxyHealth, ServiceHealth, serve_healthz, serve_metrics,
        service_health::listen_addresses,
    },
    source::{
        Delta, Snapshot, manifests,
        store::{ClusterStore, NodeExit, SourceEvent, StoreChanges},
    },
};
use runner::{Due, Runner};

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
        Some(AddressCache::open()?)
    } else {
        None
    };
    let (tx, rx) = mpsc::channel(1024);
    let health = ProxyHealth::new(2 * settings.sync_period);
    let metrics = Metrics::new();
    let mut servers = Vec::new();
    if let Some(watch) = config_watch {
        let tx = tx.clone();
        servers.push(tokio::spawn(async move {
            let changed = watch.changed(config_watch::PERIOD).await;
            let _ = tx.send(Input::ConfigChanged(changed)).await;
        }));
    }
    if let Some(addr) = settings.healthz_bind_address {
        let (tx, health, metrics) = (tx.clone(), health.clone(), metrics.clone());
        let hard_fail = settings.bind_address_hard_fail;
        servers.push(tokio::spawn(async move {
            if let Err(err) = serve_healthz(addr, health, metrics, hard_fail).await {
                let _ = tx.send(Input::Fatal(err)).await;
            }
        }));
    }
    if let Some(addr) = settings.metrics_bind_address {
        let (tx, metrics) = (tx.clone(), metrics.clone());
        let (configz, hard_fail) = (settings.configz.clone(), settings.bind_address_hard_fail);
        servers.push(tokio::spawn(async move {
            if let Err(err) = serve_metrics(addr, metrics, configz, hard_fail).await {
                let _ = tx.send(Input::Fatal(err)).await;
            }
        }));
    }
    let _tasks = match &settings.manifests {
        Some(path) => {
            info!(node = %settings.node_name, manifests = %path.display(), "started; kernel state adopted");
            vec![tokio::spawn(poll_manifests(
                path.clone(),
                settings.poll_period,
                tx,
            ))]
        }
        None => {
            let client = crate::source::kube::client(
                settings.kubeconfig.as_deref(),
                settings.master.as_deref(),
                settings.qps,
                settings.burst,
            )
            .await?;
            info!(node = %settings.node_name, "started; kernel state adopted; watching the API server");
            tokio::spawn(crate::source::kube::birth_cry(
                client.clone(),
                settings.node_name.clone(),
            ));
            let (events_tx, mut events_rx) = mpsc::channel(1024);
            let mut tasks = crate::source::kube::spawn(client, &settings.node_name, events_tx);
            tasks.push(tokio::spawn(async move {
                while let Some(event) = events_rx.recv().await {
                    if tx.send(Input::Event(Box::new(event))).await.is_err() {
                        return;
                    }
                }
            }));
            tasks
        }
    };
    let mut daemon = Daemon::new(settings, reconciler, addresses, health, metrics);
    let result = daemon.run(rx, shutdown).await;
    for server in servers {
        server.abort();
    }
    info!("stopping; the kernel state stays for the next start");
    result
}

/// `--init-only`: kube-proxy's privileged initialization in IPVS mode
/// (`CanUseIPVSProxier`, then `NewProxier` up to its `initOnly` return):
/// IPVS and ipset usable, the scheduler probed, the sysctls set (each
/// failure fatal), the IPVS timeouts set; nothing else is touched.
pub async fn init_only(settings: &Settings) -> Result<(), DaemonError> {
    Reconciler::init_node(&reconciler_options(&settings.proxy))
        .await
        .map_err(|err| match err {
            StartError::Ipvs(err) => DaemonError::Ipvs(err),
            StartError::Ipset(err) => DaemonError::Ipset(err),
            err => err.into(),
        })?;
    info!("system initialized and --init-only given; exiting");
    Ok(())
}

/// What the reconciler is started with: kube-proxy's sysctls, the
/// scheduler to probe, the IPVS timeouts, the binding mode and the
/// excluded CIDRs.
fn reconciler_options(config: &ProxyConfig) -> ReconcilerOptions {
    ReconcilerOptions {
        bind_mode: config.bind_mode,
        exclude_cidrs: ExcludeCidrs::new(config.exclude_cidrs.iter().copied()),
        scheduler: Some(config.scheduler.clone()),
        timeouts: Timeouts::new(
            config.tcp_timeout,
            config.tcp_fin_timeout,
            config.udp_timeout,
        ),
        sysctls: sysctl::kube_proxy(config.strict_arp, sysctl::kernel_version()),
        ..ReconcilerOptions::default()
    }
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

/// The node context of the Node `name` (`node`, its object if known)
/// from `sources`, with the local addresses of every interface but
/// `except` (`kube-ipvs0`) from `addresses` when there are (no
/// `--node-ip`); if they cannot be read, a warning, and the context goes
/// without them.
async fn node_context(
    name: &str,
    node: Option<&Node>,
    sources: AddressSources<'_>,
    addresses: Option<&mut impl NodeAddresses>,
    except: u32,
) -> NodeContext {
    let kernel: Option<Vec<IpAddr>> = match addresses {
        Some(addresses) => match addresses.local_addresses(except).await {
            Ok(ips) => Some(ips.into_iter().collect()),
            Err(err) => {
                warn!("node addresses: {err}");
                None
            }
        },
        None => None,
    };
    let sources = AddressSources {
        kernel: kernel.as_deref(),
        ..sources
    };
    NodeContext::resolve(name, node, sources)
}

/// A count as a gauge value.
fn count<T: TryInto<i64>>(value: T) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
}

/// Seconds since an RFC 3339 time (an EndpointSlice trigger time).
fn since(time: &str) -> Option<f64> {
    let then: k8s_openapi::jiff::Timestamp = time.parse().ok()?;
    let elapsed = k8s_openapi::jiff::Timestamp::now().duration_since(then);
    Some(elapsed.as_secs_f64().max(0.0))
}

/// Manifests name no API object whose deletion must restart the proxier:
/// a Node that left them is a warning, and the proxier goes on.
fn manifests_node(result: Result<(), NodeExit>) -> Result<(), NodeExit> {
    match result {
        Err(NodeExit::Deleted(name)) => {
            warn!(node = %name, "the Node left the manifests");
            Ok(())
        }
        other => other,
    }
}

/// Polls the manifests and sends the first readable view as a snapshot,
/// then what changed as deltas (O(the files that changed)). Only the files that changed are read again, off the
/// loop's thread; a path that cannot be read, or a first read where no
/// file can be, is logged and keeps the kernel as it is (see
/// [`manifests`] for what a file that got worse keeps).
async fn poll_manifests(path: PathBuf, period: Duration, tx: mpsc::Sender<Input>) {
    let shown = path.display().to_string();
    let mut source = manifests::ManifestsSource::new(path);
    let mut sent = false;
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let polled;
        (source, polled) = match tokio::task::spawn_blocking(move || {
            let polled = if sent {
                source.poll_delta().map(|p| p.map(Polled::Delta))
            } else {
                source.poll().map(|p| p.map(Polled::View))
            };
            (source, polled)
        })
        .await
        {
            Ok(done) => done,
            Err(err) => {
                warn!("manifests: the reader failed: {err}");
                return;
            }
        };
        let input = match polled {
            Ok(None) => None,
            Ok(Some(Polled::View(poll))) if poll.nothing_readable() => {
                for warning in &poll.warnings {
                    warn!("{warning}");
                }
                warn!("manifests: no file of {shown} can be read; keeping the kernel as it is");
                None
            }
            Ok(Some(Polled::View(poll))) => {
                sent = true;
                Some(Input::Snapshot(poll.snapshot, poll.warnings))
            }
            Ok(Some(Polled::Delta(poll))) => Some(Input::Delta(poll.delta, poll.warnings)),
            Err(err) => {
                warn!("manifests: cannot read {shown}: {err}; keeping the kernel as it is");
                None
            }
        };
        if let Some(input) = input
            && tx.send(input).await.is_err()
        {
            return;
        }
    }
}

/// What one poll of the manifests gave.
enum Polled {
    /// The whole view (until one was sent).
    View(manifests::Poll),
    /// What changed since (after).
    Delta(manifests::DeltaPoll),
}

/// `oomScoreAdj`: written to `/proc/self/oom_score_adj`; failures logged.
fn apply_oom_score_adj(value: Option<i32>) {
    if let Some(value) = value
        && let Err(err) = std::fs::write("/proc/self/oom_score_adj", value.to_string())
    {
        warn!("cannot set oom_score_adj to {value}: {err}");
    }
}

fn log_report(what: &str, report: &SyncReport) {
    for error in &report.errors {
        warn!("{what}: {error}");
    }
    if report.mutating_messages() > 0 || report.iptables_forks > 0 || what == "sync" {
        info!(
            mutating_messages = report.mutating_messages(),
            iptables_forks = report.iptables_forks,
            services_added = report.services_added,
            services_deleted = report.services_deleted,
            real_servers_added = report.real_servers_added,
            real_servers_deleted = report.real_servers_deleted,
            real_servers_queued = report.real_servers_queued,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "{what} done"
        );
    }
}
