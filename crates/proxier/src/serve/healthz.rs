//! `/healthz` and `/livez` on `healthzBindAddress` (kube-proxy's
//! `healthzHandler` and `livezHandler` in
//! `pkg/proxy/healthcheck/proxy_health.go`).
//!
//! Both answer `json.Marshal(health)` of kube-proxy's `ProxyHealth`
//! struct, whose JSON fields are, in order: `lastUpdated` (time),
//! `currentTime` (time), `nodeEligible` (`*bool`, `omitempty`), `healthy`
//! (bool), `status` (map from `v1.IPFamily` to `ProxierHealth`, itself
//! `lastUpdated` then `healthy`; `omitempty`; Go writes map keys sorted),
//! with `Content-Type: application/json` and `X-Content-Type-Options:
//! nosniff`. `/healthz` is 503 when the proxy is unhealthy or the node is
//! not eligible, and sets `nodeEligible`; the body's `healthy` stays the
//! proxy's own health. `/livez` ignores the node and has no
//! `nodeEligible`. On a 200 `lastUpdated` is overwritten with the current
//! time ("to preserve compatibility … the returned lastUpdated value is
//! recent if the server is healthy"). Each answer counts in
//! `kubeproxy_proxy_healthz_total` / `kubeproxy_proxy_livez_total` by
//! code.

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc};

use hyper::{Request, Response, StatusCode, body::Incoming};
use serde::Serialize;
use tokio::net::TcpListener;

use super::{
    Metrics, ProxyHealth, ServeError, family_label,
    health::{Health, rfc3339_nano},
    http::{self, Body},
};

/// The JSON body, field for field kube-proxy's `ProxyHealth`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HealthBody {
    last_updated: String,
    current_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    node_eligible: Option<bool>,
    healthy: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    status: BTreeMap<&'static str, FamilyBody>,
}

/// kube-proxy's `ProxierHealth`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FamilyBody {
    last_updated: String,
    healthy: bool,
}

/// Which endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `/healthz`: the proxy and the node.
    Healthz,
    /// `/livez`: the proxy only.
    Livez,
}

/// Serves `/healthz` and `/livez` on `addr` until dropped; a failed listen
/// is retried every 5 s, or returned if `hard_fail`.
pub async fn serve_healthz(
    addr: SocketAddr,
    health: ProxyHealth,
    metrics: Metrics,
    hard_fail: bool,
) -> Result<(), ServeError> {
    let listener = http::bind(addr, "proxy healthz", hard_fail).await?;
    serve_healthz_on(listener, health, metrics).await;
    Ok(())
}

/// Serves `/healthz` and `/livez` on an open listener until dropped.
pub async fn serve_healthz_on(listener: TcpListener, health: ProxyHealth, metrics: Metrics) {
    let handler: http::Handler =
        Arc::new(
            move |request: &Request<Incoming>| match request.uri().path() {
                "/healthz" => answer(Probe::Healthz, &health, &metrics),
                "/livez" => answer(Probe::Livez, &health, &metrics),
                _ => http::not_found(),
            },
        );
    http::serve(listener, handler).await;
}

/// The answer of one probe, counted in `metrics`.
pub fn answer(probe: Probe, health: &ProxyHealth, metrics: &Metrics) -> Response<Body> {
    let snapshot = health.health();
    let (ok, node_eligible) = match probe {
        Probe::Healthz => {
            let eligible = health.node_eligible();
            (snapshot.healthy && eligible, Some(eligible))
        }
        Probe::Livez => (snapshot.healthy, None),
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    match probe {
        Probe::Healthz => metrics.proxy_healthz(status.as_u16()),
        Probe::Livez => metrics.proxy_livez(status.as_u16()),
    }
    http::json(status, body(&snapshot, node_eligible, ok))
}

/// `json.Marshal` of the health, `lastUpdated` replaced by the current time
/// when the answer is 200.
fn body(health: &Health, node_eligible: Option<bool>, ok: bool) -> String {
    let last_updated = if ok {
        Some(health.current_time)
    } else {
        health.last_updated
    };
    let body = HealthBody {
        last_updated: rfc3339_nano(last_updated),
        current_time: rfc3339_nano(Some(health.current_time)),
        node_eligible,
        healthy: health.healthy,
        status: health
            .status
            .iter()
            .map(|(&family, family_health)| {
                let entry = FamilyBody {
                    last_updated: rfc3339_nano(Some(family_health.last_updated)),
                    healthy: family_health.healthy,
                };
                (family_label(family), entry)
            })
            .collect(),
    };
    // Strings and booleans only: serialization cannot fail.
    serde_json::to_string(&body).unwrap_or_default()
}
