//! The metrics server on `metricsBindAddress` (kube-proxy's
//! `serveMetrics` in `cmd/kube-proxy/app/server.go`):
//!
//! * `/metrics`: [`Metrics::render`] (kube-proxy: `legacyregistry.Handler()`).
//! * `/healthz`: component-base's generic `healthz.InstallHandler` with
//!   its default `ping` check: `ok` (`text/plain; charset=utf-8`,
//!   `nosniff`), or with `?verbose` `[+]ping ok\nhealthz check passed\n`;
//!   `/healthz/ping`: `ok`.
//! * `/proxyMode`: `ipvs` (`text/plain; charset=utf-8`, `nosniff`).
//! * `/configz`: component-base `configz`: `json.Marshal` of the registered
//!   configs by name; kube-proxy registers its configuration as
//!   `configz.New(proxyconfigapi.GroupName)`, so the body is
//!   `{"kubeproxy.config.k8s.io":{…}}` (`application/json`, `nosniff`).
//! * anything else: Go's `404 page not found`.
//!
//! Not served: `/metrics/slis`, `/debug/pprof/*` (`enableProfiling`),
//! `/flagz` and `/statusz` (feature gated in kube-proxy).

use std::{net::SocketAddr, sync::Arc};

use hyper::{Request, StatusCode, body::Incoming};
use tokio::net::TcpListener;

use super::{
    Metrics, ServeError,
    http::{self, Body},
    metrics::CONTENT_TYPE,
};

/// kube-proxy's configz name (`proxyconfigapi.GroupName`).
pub const CONFIGZ_NAME: &str = "kubeproxy.config.k8s.io";

/// Serves the metrics server on `addr` until dropped; a failed listen is
/// retried every 5 s, or returned if `hard_fail`. `configz` is the
/// effective `KubeProxyConfiguration` as JSON. The proxy health is not
/// used: kube-proxy's metrics `/healthz` is the generic ping.
pub async fn serve_metrics(
    addr: SocketAddr,
    metrics: Metrics,
    configz: serde_json::Value,
    hard_fail: bool,
) -> Result<(), ServeError> {
    let listener = http::bind(addr, "metrics server", hard_fail).await?;
    serve_metrics_on(listener, metrics, configz).await;
    Ok(())
}

/// Serves the metrics server on an open listener until dropped.
pub async fn serve_metrics_on(listener: TcpListener, metrics: Metrics, configz: serde_json::Value) {
    let configz = configz_body(configz);
    let handler: http::Handler =
        Arc::new(move |request: &Request<Incoming>| route(request, &metrics, &configz));
    http::serve(listener, handler).await;
}

/// `json.Marshal(map[string]*Config{"kubeproxy.config.k8s.io": config})`.
pub fn configz_body(config: serde_json::Value) -> String {
    let mut configs = serde_json::Map::new();
    configs.insert(CONFIGZ_NAME.to_string(), config);
    serde_json::Value::Object(configs).to_string()
}

fn route(request: &Request<Incoming>, metrics: &Metrics, configz: &str) -> hyper::Response<Body> {
    match request.uri().path() {
        "/metrics" => http::respond(StatusCode::OK, CONTENT_TYPE, metrics.render()),
        "/healthz" => {
            if has_query_key(request.uri().query(), "verbose") {
                http::text(StatusCode::OK, "[+]ping ok\nhealthz check passed\n")
            } else {
                http::text(StatusCode::OK, "ok")
            }
        }
        // adaptCheckToHandler sets no header; Go sniffs text/plain.
        "/healthz/ping" => http::respond(StatusCode::OK, "text/plain; charset=utf-8", "ok"),
        "/proxyMode" => http::text(StatusCode::OK, "ipvs"),
        "/configz" => http::json(StatusCode::OK, configz.to_string()),
        _ => http::not_found(),
    }
}

/// Whether the query string has `key` (with or without a value), like Go's
/// `r.URL.Query()[key]` being found.
fn has_query_key(query: Option<&str>, key: &str) -> bool {
    query
        .unwrap_or_default()
        .split('&')
        .any(|pair| pair.split('=').next() == Some(key))
}
