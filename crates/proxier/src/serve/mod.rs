//! The HTTP side of kube-proxy: the health server, the per-Service
//! health-check node ports and the metrics server, answering like
//! kube-proxy in IPVS mode.
//!
//! * [`ProxyHealth`] ([`health`]): kube-proxy's `ProxyHealthServer` state,
//!   "a queued update older than the timeout makes the proxy unhealthy",
//!   plus the Node's eligibility.
//! * [`serve_healthz`] ([`healthz`]): `/healthz` and `/livez` on
//!   `healthzBindAddress`, JSON bodies byte for byte as kube-proxy's.
//! * [`ServiceHealth`] ([`service_health`]): one listener per
//!   `healthCheckNodePort` of the `externalTrafficPolicy: Local` Services,
//!   answering 200 when the node has local endpoints.
//! * [`Metrics`] ([`metrics`]): the `kubeproxy_*` metrics of the IPVS mode
//!   and the `process_*` metrics ([`process`]) in one prometheus-client
//!   registry; [`serve_metrics`] ([`metrics_server`]) serves them with
//!   `/healthz`, `/proxyMode` and `/configz` on `metricsBindAddress`.
//! * [`http`]: the shared tiny hyper server (bind with retry, one handler
//!   per listener), within the connection [`limits`] (bounded connections
//!   a listener and in all, header timeouts and sizes, the open-file
//!   limit raised at start).
//!
//! The servers run until their future is dropped (the daemon spawns them
//! and aborts them on shutdown).

use std::{io, net::SocketAddr};

use ipvs_netlink::Family;

pub mod health;
pub mod healthz;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod metrics_server;
pub mod process;
pub mod service_health;

#[cfg(test)]
mod tests;

pub use health::ProxyHealth;
pub use healthz::{serve_healthz, serve_healthz_on};
pub use metrics::Metrics;
pub use metrics_server::{serve_metrics, serve_metrics_on};
pub use service_health::ServiceHealth;

/// Why a server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A listening socket could not be opened.
    #[error("failed to start {what} on {addr}: {source}")]
    Bind {
        /// Which server (`proxy healthz`, `metrics server`, …).
        what: String,
        /// The address it was to listen on.
        addr: SocketAddr,
        /// The socket error.
        source: io::Error,
    },
    /// A health-check node port could not be opened for a Service.
    #[error("failed to start healthcheck {service:?} on port {port}: {source}")]
    HealthCheckPort {
        /// `namespace/name` of the Service.
        service: String,
        /// Its `healthCheckNodePort`.
        port: u16,
        /// The socket error.
        source: io::Error,
    },
}

/// The Kubernetes name of a family (`v1.IPFamily`), used as the `ip_family`
/// label and as the key of the health `status`: `IPv4` or `IPv6`.
pub fn family_label(family: Family) -> &'static str {
    match family {
        Family::Inet => "IPv4",
        Family::Inet6 => "IPv6",
    }
}
