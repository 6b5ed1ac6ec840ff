//! [`Settings`]: everything the daemon runs with, resolved from the flags
//! and the KubeProxyConfiguration file with kube-proxy's precedence and
//! defaults.

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use super::ProxyConfig;

/// The resolved settings of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// What the planner needs (scheduler, masquerade, CIDRs, timeouts…).
    pub proxy: ProxyConfig,
    /// This node's name (`--hostname-override`, lower-cased, else the host
    /// name).
    pub node_name: String,
    /// `clientConnection.kubeconfig` / `--kubeconfig`; `None`: in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// `--master`: the API server URL, overriding the kubeconfig's.
    pub master: Option<String>,
    /// `clientConnection.qps`.
    pub qps: f32,
    /// `clientConnection.burst`.
    pub burst: i32,
    /// `bindAddress` when it is not the unspecified address: the node's
    /// primary IP of its family.
    pub bind_address: Option<IpAddr>,
    /// `healthzBindAddress`; `None`: disabled.
    pub healthz_bind_address: Option<SocketAddr>,
    /// `metricsBindAddress`; `None`: disabled.
    pub metrics_bind_address: Option<SocketAddr>,
    /// `bindAddressHardFail`: a bind failure of the healthz or metrics
    /// server is fatal instead of retried.
    pub bind_address_hard_fail: bool,
    /// `ipvs.syncPeriod`: the full resync interval.
    pub sync_period: Duration,
    /// `ipvs.minSyncPeriod`: least time between two syncs.
    pub min_sync_period: Duration,
    /// `configSyncPeriod` (kept for `/configz`; kube-rs has no resync).
    pub config_sync_period: Duration,
    /// `oomScoreAdj`, written to `/proc/self/oom_score_adj` at start.
    pub oom_score_adj: Option<i32>,
    /// `--manifests`: read Services, EndpointSlices and Nodes from YAML
    /// instead of the API server.
    pub manifests: Option<PathBuf>,
    /// `--node-ip` (ours): the node's addresses when there is no Node
    /// object; the first of each family is its primary address.
    pub node_ips: Vec<IpAddr>,
    /// How often draining real servers are checked.
    pub graceful_period: Duration,
    /// How often the manifests are checked for changes.
    pub poll_period: Duration,
    /// `--config`: the file the configuration came from; the daemon exits
    /// when its content changes, as kube-proxy does.
    pub config_file: Option<PathBuf>,
    /// The effective configuration as kube-proxy would print it, for
    /// `/configz` (a `KubeProxyConfiguration` JSON object).
    pub configz: serde_json::Value,
}
