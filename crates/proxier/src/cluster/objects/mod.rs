//! The Services and EndpointSlices as the proxier keeps them: only the
//! fields the model reads, with the field names and types of k8s-openapi
//! (so the model reads them the same way), deserialized the way
//! k8s-openapi deserializes them (a missing or `null` field is its
//! default, unknown fields are skipped). Managed fields, annotations (but
//! the EndpointSlice trigger time), labels but the three the proxier
//! reads ([`KEPT_LABELS`]), owner references, selectors, target
//! references and the rest are never kept: a manifest or a watch event is
//! read straight into these types, and a k8s-openapi object is converted
//! on arrival ([`From`]). Lists are kept at their length (no spare
//! capacity from parsing or converting), and names, addresses and enum
//! values are inline strings ([`CompactString`]: no heap up to 24 bytes;
//! at 10k × 10 the daemon's state is 9.2 MiB smaller than with `String`s).
//!
//! Nodes stay k8s-openapi objects (there is one that matters).

use std::collections::BTreeMap;

use compact_str::CompactString;
use k8s_openapi::api::{core::v1 as core, discovery::v1 as discovery};
use serde::{Deserialize, Deserializer};

use super::{HEADLESS_LABEL, SERVICE_NAME_LABEL, SERVICE_PROXY_NAME_LABEL};

/// The annotation an EndpointSlice controller sets to the time of the
/// change that triggered the slice update (for the network-programming
/// latency metric).
pub const TRIGGER_TIME_ANNOTATION: &str = "endpoints.kubernetes.io/last-change-trigger-time";

/// The labels kept: the only ones the proxier reads (the owning Service
/// of a slice, and the two of the label selector).
pub const KEPT_LABELS: [&str; 3] = [SERVICE_NAME_LABEL, SERVICE_PROXY_NAME_LABEL, HEADLESS_LABEL];

/// A field that may be missing or `null`: its default then
/// (k8s-openapi's rule for the fields it requires).
fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// [`or_default`] for a list, without spare capacity.
fn list_or_default<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let mut list = Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default();
    list.shrink_to_fit();
    Ok(list)
}

/// A string of k8s-openapi's as an inline one (no heap up to 24 bytes:
/// names, addresses, enum values).
fn compact(text: Option<String>) -> Option<CompactString> {
    text.map(CompactString::from)
}

/// A list collected without spare capacity (collecting from a
/// `Vec::into_iter` of larger items reuses their allocation).
fn exact<T>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut list: Vec<T> = items.into_iter().collect();
    list.shrink_to_fit();
    list
}

/// The [`KEPT_LABELS`] an object has: sorted by key, one entry per key
/// (the last one read wins, like a map); other labels are dropped. Reads
/// like a `BTreeMap<String, String>` for what the model asks of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The entries, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(String, String)> for Labels {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(entries: I) -> Self {
        let map: BTreeMap<String, String> = entries
            .into_iter()
            .filter(|(key, _)| KEPT_LABELS.contains(&key.as_str()))
            .collect();
        Labels(exact(map))
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(deserializer)?;
        Ok(map.into_iter().collect())
    }
}

/// `metadata`: name, namespace, labels, resourceVersion, and of the
/// annotations only the EndpointSlice trigger time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// `name`.
    #[serde(default)]
    pub name: Option<CompactString>,
    /// `namespace`.
    #[serde(default)]
    pub namespace: Option<CompactString>,
    /// `labels`.
    #[serde(default)]
    pub labels: Option<Labels>,
    /// `resourceVersion`.
    #[serde(default)]
    pub resource_version: Option<String>,
    /// `annotations["endpoints.kubernetes.io/last-change-trigger-time"]`.
    #[serde(default, rename = "annotations", deserialize_with = "trigger_time")]
    pub trigger_time: Option<String>,
}

fn trigger_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let annotations = Option::<BTreeMap<String, String>>::deserialize(deserializer)?;
    Ok(annotations.and_then(|mut a| a.remove(TRIGGER_TIME_ANNOTATION)))
}

impl From<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta> for Meta {
    fn from(meta: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Self {
        Meta {
            name: compact(meta.name),
            namespace: compact(meta.namespace),
            labels: meta.labels.map(|l| l.into_iter().collect()),
            resource_version: meta.resource_version,
            trigger_time: meta
                .annotations
                .and_then(|mut a| a.remove(TRIGGER_TIME_ANNOTATION)),
        }
    }
}

/// A v1 Service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Service {
    /// `metadata`.
    #[serde(default, deserialize_with = "or_default")]
    pub metadata: Meta,
    /// `spec`.
    #[serde(default)]
    pub spec: Option<ServiceSpec>,
    /// `status`.
    #[serde(default)]
    pub status: Option<ServiceStatus>,
}

/// `spec` of a Service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    /// `type`.
    #[serde(default, rename = "type")]
    pub type_: Option<CompactString>,
    /// `clusterIP`.
    #[serde(default, rename = "clusterIP")]
    pub cluster_ip: Option<CompactString>,
    /// `clusterIPs`.
    #[serde(default, rename = "clusterIPs")]
    pub cluster_ips: Option<Vec<String>>,
    /// `externalIPs`.
    #[serde(default, rename = "externalIPs")]
    pub external_ips: Option<Vec<String>>,
    /// `loadBalancerSourceRanges`.
    #[serde(default)]
    pub load_balancer_source_ranges: Option<Vec<String>>,
    /// `sessionAffinity`.
    #[serde(default)]
    pub session_affinity: Option<CompactString>,
    /// `sessionAffinityConfig`.
    #[serde(default)]
    pub session_affinity_config: Option<SessionAffinityConfig>,
    /// `externalTrafficPolicy`.
    #[serde(default)]
    pub external_traffic_policy: Option<CompactString>,
    /// `internalTrafficPolicy`.
    #[serde(default)]
    pub internal_traffic_policy: Option<CompactString>,
    /// `healthCheckNodePort`.
    #[serde(default)]
    pub health_check_node_port: Option<i32>,
    /// `ports`.
    #[serde(default)]
    pub ports: Option<Vec<ServicePort>>,
    /// `trafficDistribution`.
    #[serde(default)]
    pub traffic_distribution: Option<CompactString>,
}

/// `spec.sessionAffinityConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SessionAffinityConfig {
    /// `clientIP`.
    #[serde(default, rename = "clientIP")]
    pub client_ip: Option<ClientIpConfig>,
}

/// `spec.sessionAffinityConfig.clientIP`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ClientIpConfig {
    /// `timeoutSeconds`.
    #[serde(default, rename = "timeoutSeconds")]
    pub timeout_seconds: Option<i32>,
}

/// One of `spec.ports`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    /// `name`.
    #[serde(default)]
    pub name: Option<CompactString>,
    /// `protocol`.
    #[serde(default)]
    pub protocol: Option<CompactString>,
    /// `port`.
    #[serde(default, deserialize_with = "or_default")]
    pub port: i32,
    /// `nodePort`.
    #[serde(default)]
    pub node_port: Option<i32>,
}

/// `status` of a Service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    /// `loadBalancer`.
    #[serde(default)]
    pub load_balancer: Option<LoadBalancerStatus>,
}

/// `status.loadBalancer`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LoadBalancerStatus {
    /// `ingress`.
    #[serde(default)]
    pub ingress: Option<Vec<LoadBalancerIngress>>,
}

/// One of `status.loadBalancer.ingress`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerIngress {
    /// `ip`.
    #[serde(default)]
    pub ip: Option<CompactString>,
    /// `ipMode`.
    #[serde(default)]
    pub ip_mode: Option<CompactString>,
}

/// A discovery.k8s.io/v1 EndpointSlice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSlice {
    /// `metadata`.
    #[serde(default, deserialize_with = "or_default")]
    pub metadata: Meta,
    /// `addressType`.
    #[serde(default, deserialize_with = "or_default")]
    pub address_type: CompactString,
    /// `endpoints`.
    #[serde(default, deserialize_with = "list_or_default")]
    pub endpoints: Vec<Endpoint>,
    /// `ports`.
    #[serde(default)]
    pub ports: Option<Vec<EndpointPort>>,
}

/// One of `endpoints` of an EndpointSlice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// `addresses` (inline strings: an address never needs the heap).
    #[serde(default, deserialize_with = "or_default")]
    pub addresses: Box<[CompactString]>,
    /// `conditions`.
    #[serde(default)]
    pub conditions: Option<EndpointConditions>,
    /// `hints` (boxed: most endpoints have none).
    #[serde(default)]
    pub hints: Option<Box<EndpointHints>>,
    /// `nodeName` (inline up to 24 bytes).
    #[serde(default)]
    pub node_name: Option<CompactString>,
}

/// `conditions` of an endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct EndpointConditions {
    /// `ready`.
    #[serde(default)]
    pub ready: Option<bool>,
    /// `serving`.
    #[serde(default)]
    pub serving: Option<bool>,
    /// `terminating`.
    #[serde(default)]
    pub terminating: Option<bool>,
}

/// `hints` of an endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointHints {
    /// `forZones`.
    #[serde(default)]
    pub for_zones: Option<Vec<ForName>>,
    /// `forNodes`.
    #[serde(default)]
    pub for_nodes: Option<Vec<ForName>>,
}

/// One of `hints.forZones` or `hints.forNodes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ForName {
    /// `name`.
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
}

/// One of `ports` of an EndpointSlice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct EndpointPort {
    /// `name`.
    #[serde(default)]
    pub name: Option<CompactString>,
    /// `protocol`.
    #[serde(default)]
    pub protocol: Option<CompactString>,
    /// `port`.
    #[serde(default)]
    pub port: Option<i32>,
}

impl From<core::Service> for Service {
    fn from(service: core::Service) -> Self {
        Service {
            metadata: service.metadata.into(),
            spec: service.spec.map(Into::into),
            status: service.status.map(|status| ServiceStatus {
                load_balancer: status.load_balancer.map(|lb| LoadBalancerStatus {
                    ingress: lb.ingress.map(|list| {
                        exact(list.into_iter().map(|i| LoadBalancerIngress {
                            ip: compact(i.ip),
                            ip_mode: compact(i.ip_mode),
                        }))
                    }),
                }),
            }),
        }
    }
}

impl From<core::ServiceSpec> for ServiceSpec {
    fn from(spec: core::ServiceSpec) -> Self {
        ServiceSpec {
            type_: compact(spec.type_),
            cluster_ip: compact(spec.cluster_ip),
            cluster_ips: spec.cluster_ips.map(exact),
            external_ips: spec.external_ips.map(exact),
            load_balancer_source_ranges: spec.load_balancer_source_ranges.map(exact),
            session_affinity: compact(spec.session_affinity),
            session_affinity_config: spec.session_affinity_config.map(|c| SessionAffinityConfig {
                client_ip: c.client_ip.map(|c| ClientIpConfig {
                    timeout_seconds: c.timeout_seconds,
                }),
            }),
            external_traffic_policy: compact(spec.external_traffic_policy),
            internal_traffic_policy: compact(spec.internal_traffic_policy),
            health_check_node_port: spec.health_check_node_port,
            ports: spec.ports.map(|ports| {
                exact(ports.into_iter().map(|p| ServicePort {
                    name: compact(p.name),
                    protocol: compact(p.protocol),
                    port: p.port,
                    node_port: p.node_port,
                }))
            }),
            traffic_distribution: compact(spec.traffic_distribution),
        }
    }
}

impl From<discovery::EndpointSlice> for EndpointSlice {
    fn from(slice: discovery::EndpointSlice) -> Self {
        let names = |list: Option<Vec<String>>| {
            list.map(|l| exact(l.into_iter().map(|name| ForName { name })))
        };
        EndpointSlice {
            metadata: slice.metadata.into(),
            address_type: slice.address_type.into(),
            endpoints: exact(slice.endpoints.into_iter().map(|e| Endpoint {
                addresses: e.addresses.into_iter().map(CompactString::from).collect(),
                conditions: e.conditions.map(|c| EndpointConditions {
                    ready: c.ready,
                    serving: c.serving,
                    terminating: c.terminating,
                }),
                hints: e.hints.map(|h| {
                    Box::new(EndpointHints {
                        for_zones: names(
                            h.for_zones.map(|z| z.into_iter().map(|z| z.name).collect()),
                        ),
                        for_nodes: names(
                            h.for_nodes.map(|n| n.into_iter().map(|n| n.name).collect()),
                        ),
                    })
                }),
                node_name: compact(e.node_name),
            })),
            ports: slice.ports.map(|ports| {
                exact(ports.into_iter().map(|p| EndpointPort {
                    name: compact(p.name),
                    protocol: compact(p.protocol),
                    port: p.port,
                }))
            }),
        }
    }
}

#[cfg(test)]
mod tests;
