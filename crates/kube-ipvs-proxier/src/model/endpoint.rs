//! [`Endpoint`]s from EndpointSlices, keyed by service port, like
//! kube-proxy's endpoint slice cache.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::{IpAddr, SocketAddr},
};

use crate::source::objects::EndpointSlice;

use super::{Protocol, Warning};
use crate::plan::IpFamily;

/// The label naming the Service of an EndpointSlice.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// EndpointSlices with this label are not watched by kube-proxy.
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";

/// One endpoint of one service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The first address of the endpoint with the slice port's number.
    pub addr: SocketAddr,
    /// `conditions.ready` (unset means ready).
    pub ready: bool,
    /// `conditions.serving` (unset means serving).
    pub serving: bool,
    /// `conditions.terminating` (unset means not terminating).
    pub terminating: bool,
    /// Whether `nodeName` is this node.
    pub local: bool,
    /// `hints.forZones`.
    pub zone_hints: BTreeSet<String>,
    /// `hints.forNodes`.
    pub node_hints: BTreeSet<String>,
}

/// What identifies a service port's endpoints: namespace, service name,
/// port name, protocol and family.
pub type PortKey = (String, String, String, Protocol, IpFamily);

/// All endpoints, by service port, in slice-name then endpoint order,
/// without duplicate addresses.
pub fn collect<'a>(
    slices: impl IntoIterator<Item = &'a EndpointSlice>,
    node_name: &str,
    warnings: &mut Vec<Warning>,
) -> BTreeMap<PortKey, Vec<Endpoint>> {
    let mut sorted: Vec<&EndpointSlice> = slices.into_iter().collect();
    sorted.sort_by(|a, b| {
        (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name))
    });
    let mut map: BTreeMap<PortKey, Vec<Endpoint>> = BTreeMap::new();
    for slice in sorted {
        match read_slice(slice, node_name) {
            Ok(Some(entries)) => {
                for (key, endpoint) in entries {
                    let list = map.entry(key).or_default();
                    if !list.iter().any(|e| e.addr == endpoint.addr) {
                        list.push(endpoint);
                    }
                }
            }
            Ok(None) => {}
            Err((field, message)) => warnings.push(Warning::new(
                "EndpointSlice",
                object_name(slice),
                field,
                message,
            )),
        }
    }
    map
}

fn object_name(slice: &EndpointSlice) -> String {
    format!(
        "{}/{}",
        slice.metadata.namespace.as_deref().unwrap_or("default"),
        slice.metadata.name.as_deref().unwrap_or("")
    )
}

type SliceEntries = Vec<(PortKey, Endpoint)>;

/// The endpoints of one slice, `None` if kube-proxy ignores the slice, or
/// the first invalid field.
fn read_slice(
    slice: &EndpointSlice,
    node_name: &str,
) -> Result<Option<SliceEntries>, (String, String)> {
    let labels = slice.metadata.labels.clone().unwrap_or_default();
    if labels.contains_key(HEADLESS_LABEL) {
        return Ok(None);
    }
    let family = match slice.address_type.as_str() {
        "IPv4" => IpFamily::V4,
        "IPv6" => IpFamily::V6,
        "FQDN" => return Ok(None),
        other => {
            return Err((
                "addressType".into(),
                format!("unknown address type {other:?}"),
            ));
        }
    };
    let Some(service) = labels.get(SERVICE_NAME_LABEL).filter(|s| !s.is_empty()) else {
        return Err((
            format!("metadata.labels[{SERVICE_NAME_LABEL}]"),
            "missing: the slice belongs to no Service".into(),
        ));
    };
    let namespace = slice
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let mut ports = Vec::new();
    for (i, port) in slice.ports.iter().flatten().enumerate() {
        let protocol = Protocol::parse(port.protocol.as_deref()).ok_or_else(|| {
            (
                format!("ports[{i}].protocol"),
                format!(
                    "unsupported protocol {:?}",
                    port.protocol.as_deref().unwrap_or("")
                ),
            )
        })?;
        let number = port
            .port
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
            .ok_or_else(|| {
                (
                    format!("ports[{i}].port"),
                    "missing or out of range".to_owned(),
                )
            })?;
        ports.push((port.name.clone().unwrap_or_default(), protocol, number));
    }
    let mut entries = Vec::new();
    for (i, endpoint) in slice.endpoints.iter().enumerate() {
        let Some(first) = endpoint.addresses.first() else {
            continue;
        };
        let ip: IpAddr = first.trim().parse().map_err(|_| {
            (
                format!("endpoints[{i}].addresses[0]"),
                format!("{first:?} is not an IP address"),
            )
        })?;
        if IpFamily::of(ip) != family {
            return Err((
                format!("endpoints[{i}].addresses[0]"),
                format!("{ip} does not match addressType {}", slice.address_type),
            ));
        }
        let conditions = endpoint.conditions.clone().unwrap_or_default();
        let ready = conditions.ready.unwrap_or(true);
        let hints = endpoint.hints.clone().unwrap_or_default();
        for (name, protocol, number) in &ports {
            let key = (
                namespace.clone(),
                service.clone(),
                name.clone(),
                *protocol,
                family,
            );
            entries.push((
                key,
                Endpoint {
                    addr: SocketAddr::new(ip, *number),
                    ready,
                    serving: conditions.serving.unwrap_or(true),
                    terminating: conditions.terminating.unwrap_or(false),
                    local: endpoint.node_name.as_deref() == Some(node_name),
                    zone_hints: hints
                        .for_zones
                        .iter()
                        .flatten()
                        .map(|z| z.name.clone())
                        .collect(),
                    node_hints: hints
                        .for_nodes
                        .iter()
                        .flatten()
                        .map(|n| n.name.clone())
                        .collect(),
                },
            ));
        }
    }
    Ok(Some(entries))
}
