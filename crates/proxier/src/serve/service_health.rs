//! The health-check node ports of `externalTrafficPolicy: Local` Services
//! (kube-proxy's `pkg/proxy/healthcheck/service_health.go`): one HTTP
//! listener per `healthCheckNodePort` on each node address matched by
//! `nodePortAddresses` ([`listen_addresses`]; all addresses when it is
//! unset), telling a load balancer whether this node has local endpoints.
//!
//! Matched from the Go source:
//!
//! * `SyncServices`: a Service that is gone or whose port changed is closed
//!   first; a new one is opened on every address; if one address fails the
//!   ones already open are closed and the Service is left out, so the next
//!   sync tries again. Failures are returned (kube-proxy logs them and
//!   emits the `FailedToStartServiceHealthcheck` event) and never fatal.
//! * `SyncEndpoints`: the count of each open Service, 0 when absent.
//! * `hcHandler.ServeHTTP`: headers `Content-Type: application/json`,
//!   `X-Content-Type-Options: nosniff`,
//!   `X-Load-Balancing-Endpoint-Weight: <count>`; 200 iff `count != 0 &&
//!   Health().Healthy`, else 503; the body is
//!   `strings.Trim(dedent.Dedent(fmt.Sprintf(…)), "\n")` of a tab-indented
//!   template, i.e. exactly
//!   `{\n\t"service": {\n\t\t"namespace": "ns",\n\t\t"name": "svc"\n\t},\n\t"localEndpoints": 1,\n\t"serviceProxyHealthy": true\n}`.
//!   A request racing a close gets an empty 200, as Go's handler returns
//!   without writing.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use hyper::{
    Request, Response, StatusCode,
    body::Incoming,
    header::{HeaderName, HeaderValue},
};
use tokio::task::JoinHandle;
use tracing::{error, info};

use super::{
    ProxyHealth, ServeError,
    http::{self, Body},
};
use crate::{
    cluster::ServiceName,
    config::{NodePortAddresses, ProxyConfig},
    model::NodeContext,
    plan::node_port_ips,
};
use ipvs_netlink::Family;

/// The addresses the health-check node ports listen on, as kube-proxy's
/// `newServiceHealthServer`: every address (empty, `0.0.0.0`) when
/// `nodePortAddresses` is unset, else the node addresses it matches (the
/// NodePort addresses of both families; `primary` is the primary IP).
pub fn listen_addresses(node: &NodeContext, config: &ProxyConfig) -> Vec<IpAddr> {
    if config.node_port_addresses == NodePortAddresses::All {
        return Vec::new();
    }
    Family::ALL
        .into_iter()
        .flat_map(|family| node_port_ips(node, config, family))
        .collect()
}

/// The header carrying the local endpoint count.
pub const WEIGHT_HEADER: HeaderName = HeaderName::from_static("x-load-balancing-endpoint-weight");

/// The health-check node port servers.
pub struct ServiceHealth {
    addrs: Vec<IpAddr>,
    shared: Arc<Shared>,
    open: BTreeMap<ServiceName, Instance>,
}

/// What the request handlers read.
struct Shared {
    health: ProxyHealth,
    /// Local endpoints of each open Service.
    endpoints: Mutex<BTreeMap<ServiceName, usize>>,
}

impl Shared {
    fn endpoints(&self) -> MutexGuard<'_, BTreeMap<ServiceName, usize>> {
        self.endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The listeners of one Service.
struct Instance {
    port: u16,
    servers: Vec<(SocketAddr, JoinHandle<()>)>,
}

impl Instance {
    /// Stops every listener and waits until its sockets are closed, so the
    /// port can be opened again at once.
    async fn close(self) {
        for (_, task) in &self.servers {
            task.abort();
        }
        for (_, task) in self.servers {
            // A cancelled task's error is its cancellation: expected.
            let _ = task.await;
        }
    }
}

impl ServiceHealth {
    /// Servers listening on `listen` (empty: every address, `0.0.0.0`,
    /// which is dual-stack like Go's) and answering with `health`.
    pub fn new(listen: Vec<IpAddr>, health: ProxyHealth) -> Self {
        let addrs = if listen.is_empty() {
            vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED)]
        } else {
            listen
        };
        ServiceHealth {
            addrs,
            shared: Arc::new(Shared {
                health,
                endpoints: Mutex::new(BTreeMap::new()),
            }),
            open: BTreeMap::new(),
        }
    }

    /// Makes `ports` (`healthCheckNodePort` → Service) the open set: closes
    /// the others, opens the new ones, leaves the rest. Returns the
    /// Services that could not be opened (they are retried at the next
    /// call). Port 0 opens an ephemeral port (see
    /// [`ServiceHealth::local_addrs`]).
    pub async fn sync_services(&mut self, ports: BTreeMap<u16, ServiceName>) -> Vec<ServeError> {
        let wanted: BTreeMap<ServiceName, u16> = ports
            .into_iter()
            .map(|(port, service)| (service, port))
            .collect();

        let stale: Vec<ServiceName> = self
            .open
            .iter()
            .filter(|(service, instance)| wanted.get(*service) != Some(&instance.port))
            .map(|(service, _)| service.clone())
            .collect();
        for service in stale {
            if let Some(instance) = self.open.remove(&service) {
                info!("closing healthcheck {service} on port {}", instance.port);
                self.shared.endpoints().remove(&service);
                instance.close().await;
            }
        }

        let mut errors = Vec::new();
        for (service, port) in wanted {
            if self.open.contains_key(&service) {
                continue;
            }
            info!("opening healthcheck {service} on port {port}");
            match self.open_instance(&service, port).await {
                Ok(instance) => {
                    self.shared.endpoints().insert(service.clone(), 0);
                    self.open.insert(service, instance);
                }
                Err(err) => {
                    error!("{err}");
                    errors.push(err);
                }
            }
        }
        errors
    }

    async fn open_instance(
        &self,
        service: &ServiceName,
        port: u16,
    ) -> Result<Instance, ServeError> {
        let mut instance = Instance {
            port,
            servers: Vec::new(),
        };
        for &ip in &self.addrs {
            let listener = match http::listen(SocketAddr::new(ip, port)) {
                Ok(listener) => listener,
                Err(source) => {
                    instance.close().await;
                    return Err(ServeError::HealthCheckPort {
                        service: service.to_string(),
                        port,
                        source,
                    });
                }
            };
            let local = listener.local_addr().unwrap_or(SocketAddr::new(ip, port));
            let shared = self.shared.clone();
            let name = service.clone();
            let handler: http::Handler =
                Arc::new(move |_: &Request<Incoming>| answer(&shared, &name));
            let task = tokio::spawn(http::serve(listener, handler));
            instance.servers.push((local, task));
        }
        Ok(instance)
    }

    /// Sets the local ready endpoints of each open Service (0 for those not
    /// in `local`; Services not open are ignored).
    pub fn sync_endpoints(&mut self, local: BTreeMap<ServiceName, usize>) {
        let mut endpoints = self.shared.endpoints();
        for (service, count) in endpoints.iter_mut() {
            *count = local.get(service).copied().unwrap_or(0);
        }
    }

    /// The addresses a Service's health check listens on (empty if it is
    /// not open).
    pub fn local_addrs(&self, service: &ServiceName) -> Vec<SocketAddr> {
        self.open
            .get(service)
            .map(|instance| instance.servers.iter().map(|(addr, _)| *addr).collect())
            .unwrap_or_default()
    }
}

impl Drop for ServiceHealth {
    fn drop(&mut self) {
        for instance in self.open.values() {
            for (_, task) in &instance.servers {
                task.abort();
            }
        }
    }
}

/// The answer for `service` (see the module docs).
fn answer(shared: &Shared, service: &ServiceName) -> Response<Body> {
    let Some(count) = shared.endpoints().get(service).copied() else {
        error!("received request for closed healthcheck {service}");
        return Response::new(Body::default());
    };
    let healthy = shared.health.is_healthy();
    let status = if count != 0 && healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = http::json(status, body(service, count, healthy));
    response
        .headers_mut()
        .insert(WEIGHT_HEADER, HeaderValue::from(count));
    response
}

/// The body, byte for byte kube-proxy's.
fn body(service: &ServiceName, count: usize, healthy: bool) -> String {
    format!(
        "{{\n\t\"service\": {{\n\t\t\"namespace\": {},\n\t\t\"name\": {}\n\t}},\n\t\"localEndpoints\": {count},\n\t\"serviceProxyHealthy\": {healthy}\n}}",
        quote(&service.namespace),
        quote(&service.name),
    )
}

/// Go's `%q` for the names Kubernetes allows (DNS labels: no quote, no
/// backslash, no control character, where `%q` and JSON agree).
fn quote(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}
