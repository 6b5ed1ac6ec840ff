//! The cluster as kube-proxy's IPVS proxier sees it, from a [`Snapshot`]
//! and the [`NodeContext`]: one [`ServicePort`] per Service port and IP
//! family, with its endpoints.
//!
//! * `service`: Services to ports (ClusterIPs per family, NodePort,
//!   externalIPs, load-balancer ingress without `ipMode: Proxy`, source
//!   ranges, session affinity, traffic policies); headless and
//!   ExternalName Services are skipped.
//! * `endpoint`: EndpointSlices (by label `kubernetes.io/service-name`)
//!   to [`Endpoint`]s matched to service ports by port name and protocol —
//!   which is how named target ports resolve.
//! * kube-proxy's label selectors ([`crate::cluster::selector`]):
//!   Services with `service.kubernetes.io/service-proxy-name` and slices
//!   with `service.kubernetes.io/headless` are skipped.
//! * [`address`]: the addresses refused as Service addresses and as
//!   endpoints.
//! * [`topology`]: kube-proxy's endpoint selection (ready, else
//!   serving-and-terminating; local; topology hints).
//!
//! [`build`] models a whole snapshot; [`build_service`] models one Service
//! (by its [`ServiceName`]) from its own EndpointSlices, with the same
//! result for its ports, for the incremental planner.
//!
//! Every problem becomes its own [`Warning`] naming the object, the field
//! (`spec.externalIPs[1]`, `endpoints[3].addresses[0]`) and the value. A
//! bad entry of a list (an address, a range, a port, an endpoint) skips
//! only that entry; a bad object-wide field skips the object. The other
//! objects always go on.

pub mod address;
mod endpoint;
mod node;
mod service;
pub mod topology;
mod warning;

use std::{
    collections::BTreeMap,
    net::{IpAddr, SocketAddr},
};

use crate::cluster::{
    ServiceName, Snapshot,
    objects::{EndpointSlice, Service},
};
pub use endpoint::Endpoint;
use endpoint::PortKey;
pub use node::{AddressSources, NodeContext, ZONE_LABEL, node_addresses, node_host_ips};
pub use service::DEFAULT_AFFINITY_TIMEOUT;
pub use topology::Categorized;
pub use warning::Warning;

use ipvs_netlink::{Family, Protocol};

use crate::types::Cidr;

/// Parses the protocol of a Service or EndpointSlice port (`TCP`, `UDP`,
/// `SCTP`; unset is TCP): only these three, as Kubernetes spells them.
pub fn parse_protocol(value: Option<&str>) -> Option<Protocol> {
    match value.unwrap_or("TCP") {
        "TCP" => Some(Protocol::Tcp),
        "UDP" => Some(Protocol::Udp),
        "SCTP" => Some(Protocol::Sctp),
        _ => None,
    }
}

/// One port of one Service in one IP family (kube-proxy's `ServicePort`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub name: String,
    /// The port's name (`""` when unnamed).
    pub port_name: String,
    /// The family of this port's addresses.
    pub family: Family,
    /// The protocol.
    pub protocol: Protocol,
    /// The ClusterIP of this family.
    pub cluster_ip: IpAddr,
    /// The service port.
    pub port: u16,
    /// The node port, if any.
    pub node_port: Option<u16>,
    /// `spec.externalIPs` of this family (without the refused ones).
    pub external_ips: Vec<IpAddr>,
    /// Load-balancer ingress IPs of this family (not `ipMode: Proxy`,
    /// without the refused ones).
    pub load_balancer_ips: Vec<IpAddr>,
    /// `spec.loadBalancerSourceRanges` of this family (the valid ones).
    pub source_ranges: Vec<Cidr>,
    /// ClientIP session affinity timeout in seconds, if affinity is on.
    pub affinity_timeout: Option<u32>,
    /// externalTrafficPolicy Local (only on externally reachable Services).
    pub external_policy_local: bool,
    /// internalTrafficPolicy Local.
    pub internal_policy_local: bool,
    /// The health-check node port (LoadBalancer with externalTrafficPolicy
    /// Local).
    pub health_check_node_port: Option<u16>,
    /// `spec.trafficDistribution`.
    pub traffic_distribution: Option<String>,
    /// Every endpoint of this port, whatever its conditions.
    pub endpoints: Vec<Endpoint>,
}

impl ServicePort {
    /// `namespace/name:port` (kube-proxy's `ServicePortName`).
    pub fn origin(&self) -> String {
        if self.port_name.is_empty() {
            format!("{}/{}", self.namespace, self.name)
        } else {
            format!("{}/{}:{}", self.namespace, self.name, self.port_name)
        }
    }

    /// Whether traffic can come from outside the cluster (node port, load
    /// balancer or external IPs).
    pub fn externally_accessible(&self) -> bool {
        self.node_port.is_some()
            || !self.load_balancer_ips.is_empty()
            || !self.external_ips.is_empty()
    }

    /// Whether cluster-wide endpoints are needed (kube-proxy's
    /// `UsesClusterEndpoints`).
    pub fn uses_cluster_endpoints(&self) -> bool {
        !self.internal_policy_local || self.externally_accessible()
    }

    /// Whether node-local endpoints are needed (`UsesLocalEndpoints`).
    pub fn uses_local_endpoints(&self) -> bool {
        self.internal_policy_local || (self.external_policy_local && self.externally_accessible())
    }

    /// The endpoints split by kube-proxy's rules for this node.
    pub fn categorize(&self, node: &NodeContext) -> Categorized {
        topology::categorize(self, node)
    }

    /// Real servers of the ClusterIP virtual server.
    pub fn internal_destinations(&self, node: &NodeContext) -> Vec<SocketAddr> {
        topology::destinations(&self.categorize(node), self.internal_policy_local)
    }

    /// Real servers of the external (NodePort, external IP, load balancer)
    /// virtual servers.
    pub fn external_destinations(&self, node: &NodeContext) -> Vec<SocketAddr> {
        topology::destinations(&self.categorize(node), self.external_policy_local)
    }
}

/// Every service port of the cluster, sorted by namespace, name, port name,
/// protocol and family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterModel {
    /// The service ports.
    pub ports: Vec<ServicePort>,
}

/// Builds the model for `node`; invalid objects become warnings.
pub fn build(snapshot: &Snapshot, node: &NodeContext) -> (ClusterModel, Vec<Warning>) {
    let mut warnings = Vec::new();
    let slices = snapshot.endpoint_slices.iter().map(AsRef::as_ref);
    let endpoints = endpoint::collect(slices, &node.name, &mut warnings);
    let mut ports = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for svc in &snapshot.services {
        if svc.metadata.name.as_deref().unwrap_or("").is_empty() {
            ports_of(svc, &mut warnings);
            continue;
        }
        if !seen.insert((&svc.metadata.namespace, &svc.metadata.name)) {
            warnings.push(service::warning(
                svc,
                (
                    "metadata.name".into(),
                    "duplicate Service; the first one is used".into(),
                ),
            ));
            continue;
        }
        ports.extend(ports_of(svc, &mut warnings));
    }
    attach_endpoints(&mut ports, &endpoints);
    sort_ports(&mut ports);
    (ClusterModel { ports }, warnings)
}

/// The model of one Service: its service ports with their endpoints from
/// `slices`, sorted like [`build`] sorts them, and the warnings about the
/// Service and the slices. `service` is `None` for a deleted Service (only
/// the slices' warnings then). Slices that do not belong to `name` (see
/// [`ServiceName::of_slice`]) are ignored; a Service whose own name is not
/// `name` is skipped with a warning. For the same objects, the ports are
/// exactly those [`build`] gives for this Service.
pub fn build_service(
    name: &ServiceName,
    service: Option<&Service>,
    slices: &[&EndpointSlice],
    node_name: &str,
) -> (Vec<ServicePort>, Vec<Warning>) {
    let mut warnings = Vec::new();
    let mine = slices
        .iter()
        .copied()
        .filter(|s| ServiceName::of_slice(s).as_ref() == Some(name));
    let endpoints = endpoint::collect(mine, node_name, &mut warnings);
    let Some(svc) = service else {
        return (Vec::new(), warnings);
    };
    let own = ServiceName::of(svc);
    if own != *name && !own.name.is_empty() {
        warnings.push(service::warning(
            svc,
            (
                "metadata.name".into(),
                format!("given as the Service {name}; skipped"),
            ),
        ));
        return (Vec::new(), warnings);
    }
    let mut ports = ports_of(svc, &mut warnings);
    attach_endpoints(&mut ports, &endpoints);
    sort_ports(&mut ports);
    (ports, warnings)
}

/// The ports of one Service, with a warning for each problem (a missing
/// name skips the Service).
fn ports_of(svc: &Service, warnings: &mut Vec<Warning>) -> Vec<ServicePort> {
    if svc.metadata.name.as_deref().unwrap_or("").is_empty() {
        warnings.push(service::warning(
            svc,
            ("metadata.name".into(), "missing".into()),
        ));
        return Vec::new();
    }
    let mut problems = Vec::new();
    let ports = service::service_ports(svc, &mut problems);
    warnings.extend(problems.into_iter().map(|p| service::warning(svc, p)));
    ports
}

/// Gives each port the endpoints of its namespace, Service, port name,
/// protocol and family.
fn attach_endpoints(ports: &mut [ServicePort], endpoints: &BTreeMap<PortKey, Vec<Endpoint>>) {
    for port in ports {
        let key = (
            port.namespace.clone(),
            port.name.clone(),
            port.port_name.clone(),
            port.protocol,
            port.family,
        );
        port.endpoints = endpoints.get(&key).cloned().unwrap_or_default();
    }
}

/// The model's order: namespace, name, port name, protocol, family, port
/// (stable, so equal ports keep the Service's order).
fn sort_ports(ports: &mut [ServicePort]) {
    ports.sort_by(|a, b| {
        (
            &a.namespace,
            &a.name,
            &a.port_name,
            a.protocol,
            a.family,
            a.port,
        )
            .cmp(&(
                &b.namespace,
                &b.name,
                &b.port_name,
                b.protocol,
                b.family,
                b.port,
            ))
    });
}

#[cfg(test)]
mod tests;
