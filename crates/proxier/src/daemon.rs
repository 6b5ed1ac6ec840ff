//! The daemon loop of `kube-ipvs-proxier run`: manifests in, kernel state
//! out, like kube-proxy's sync loop.
//!
//! * The manifests are polled for changes (file names, sizes and
//!   modification times); a change is synced no sooner than
//!   `min_sync_period` after the previous sync (kube-proxy's bounded
//!   frequency), and a sync that changes nothing sends nothing.
//! * Every `sync_period` a full resync re-reads the kernel and repairs drift.
//! * Every `graceful_period` the real servers draining at weight 0 are
//!   checked and deleted once their connections are gone.
//! * SIGTERM or SIGINT ends the loop; the kernel state is left in place (a
//!   restart adopts it).

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
    time::{Duration, Instant, SystemTime},
};

use ipvs_netlink::Timeouts;
use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};

use crate::{
    config::ProxyConfig,
    kernel::sysctl::{self, SysctlWriter},
    model::NodeContext,
    plan::{KernelPlan, plan},
    reconcile::{ExcludeCidrs, Reconciler, ReconcilerOptions, StartError, SyncReport},
    source::{SourceError, manifests},
};

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// A manifest file or a directory of them.
    pub manifests: PathBuf,
    /// The proxy configuration.
    pub config: ProxyConfig,
    /// This node's name.
    pub node_name: String,
    /// The node's addresses; empty: every local address not on
    /// `kube-ipvs0`, read from the kernel at each sync.
    pub node_ips: Vec<IpAddr>,
    /// `--ipvs-sync-period`: full resync interval.
    pub sync_period: Duration,
    /// `--ipvs-min-sync-period`: least time between two syncs.
    pub min_sync_period: Duration,
    /// How often draining real servers are checked (kube-proxy: 1 min).
    pub graceful_period: Duration,
    /// How often the manifests are checked for changes.
    pub poll_period: Duration,
}

/// Why the daemon stopped.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The kernel writers could not start.
    #[error("cannot start: {0}")]
    Start(#[from] StartError),
    /// A signal handler could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signal(#[source] std::io::Error),
}

/// Runs until SIGTERM or SIGINT.
pub async fn run(options: DaemonOptions) -> Result<(), DaemonError> {
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Signal)?;

    apply_sysctls(&options.config);
    let mut reconciler = Reconciler::start(ReconcilerOptions {
        bind_mode: options.config.bind_mode,
        exclude_cidrs: ExcludeCidrs::new(options.config.exclude_cidrs.iter().copied()),
        ..ReconcilerOptions::default()
    })
    .await?;
    let config = &options.config;
    let timeouts = Timeouts::new(
        config.tcp_timeout,
        config.tcp_fin_timeout,
        config.udp_timeout,
    );
    if let Err(err) = reconciler.ipvs_mut().set_timeouts(timeouts).await {
        warn!("IPVS timeouts: {err}");
    }
    info!(
        node = %options.node_name,
        manifests = %options.manifests.display(),
        "started; kernel state adopted"
    );

    let mut seen = None;
    let mut current = KernelPlan::default();
    let mut pending = true;
    let now = Instant::now();
    let (mut last_sync, mut last_resync, mut last_graceful) = (None::<Instant>, now, now);
    let mut tick = tokio::time::interval(options.poll_period);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
        let fingerprint = fingerprint(&options.manifests);
        if seen.as_ref() != Some(&fingerprint) {
            seen = Some(fingerprint);
            pending = true;
        }
        let now = Instant::now();
        let due = last_sync.is_none_or(|t| now.duration_since(t) >= options.min_sync_period);
        if pending && due {
            pending = false;
            last_sync = Some(now);
            match desired(&options, &reconciler).await {
                Ok(plan) => {
                    current = plan;
                    log_report("sync", &reconciler.sync(&current).await);
                }
                Err(err) => warn!("manifests: {err}; keeping the kernel as it is"),
            }
        } else if now.duration_since(last_resync) >= options.sync_period && last_sync.is_some() {
            last_resync = now;
            log_report("resync", &reconciler.resync(&current).await);
        }
        if now.duration_since(last_graceful) >= options.graceful_period {
            last_graceful = now;
            if !reconciler.graceful().is_empty() {
                log_report("graceful", &reconciler.process_graceful().await);
            }
        }
    }
    info!("stopping; the kernel state stays for the next start");
    Ok(())
}

/// Loads the manifests and plans this node's kernel state.
async fn desired(
    options: &DaemonOptions,
    reconciler: &Reconciler,
) -> Result<KernelPlan, SourceError> {
    let (snapshot, mut warnings) = manifests::load(&options.manifests)?;
    let mut node = NodeContext::new(&options.node_name);
    node.node_ips = if options.node_ips.is_empty() {
        match reconciler.link().local_addresses().await {
            Ok(ips) => ips.into_iter().collect(),
            Err(err) => {
                warn!("node addresses: {err}");
                vec![]
            }
        }
    } else {
        options.node_ips.clone()
    };
    node.complete_from(&snapshot.nodes);
    let (plan, found) = plan(&snapshot, &node, &options.config);
    warnings.extend(found);
    for warning in &warnings {
        warn!("{warning}");
    }
    Ok(plan)
}

/// kube-proxy's sysctls; failures are logged, not fatal.
fn apply_sysctls(config: &ProxyConfig) {
    let mut writer = SysctlWriter::new("/proc/sys");
    let wanted = sysctl::kube_proxy(config.strict_arp, sysctl::kernel_version());
    for result in writer.apply(&wanted) {
        if let Err(err) = result {
            warn!("{err}");
        }
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

/// What identifies the manifests' content cheaply: each YAML file's path,
/// size and modification time.
fn fingerprint(path: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let files: Vec<PathBuf> = match std::fs::read_dir(path) {
        Ok(dir) => dir.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => vec![path.to_owned()],
    };
    let mut out: Vec<_> = files
        .into_iter()
        .filter_map(|p| {
            let meta = std::fs::metadata(&p).ok()?;
            Some((p, meta.len(), meta.modified().ok()))
        })
        .collect();
    out.sort();
    out
}
