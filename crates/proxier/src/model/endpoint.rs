//! [`Endpoint`]s from EndpointSlices, keyed by service port, like
//! kube-proxy's endpoint slice cache.
//!
//! A bad port or endpoint of a slice is skipped with its own warning and
//! the rest of the slice is used, as kube-proxy skips them; an endpoint
//! address the API server would refuse ([`address::special_problem`]) is
//! skipped too. A slice without a Service or with an unknown address type
//! is skipped whole.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::{IpAddr, SocketAddr},
};

use crate::cluster::{SERVICE_NAME_LABEL, objects::EndpointSlice, selector};

use super::{Warning, address, parse_protocol, service::quoted};
use ipvs_netlink::{Family, Protocol};

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
pub type PortKey = (String, String, String, Protocol, Family);

/// All endpoints, by service port, in slice-name then endpoint order,
/// without duplicate addresses (of two, the later unless it is
/// terminating, as kube-proxy's endpoint-slice cache keeps them). Every problem becomes a warning.
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
        let mut problems = Vec::new();
        let entries = read_slice(slice, node_name, &mut problems);
        warnings.extend(problems.into_iter().map(|(field, message)| {
            Warning::new("EndpointSlice", object_name(slice), field, message)
        }));
        for (key, endpoint) in entries {
            let list = map.entry(key).or_default();
            // kube-proxy's rule for one address read twice (a pod moved
            // between slices, or an IP reused before the old pod is gone):
            // the later one replaces the earlier unless it is terminating,
            // so a running pod wins over a terminating one.
            match list.iter_mut().find(|e| e.addr == endpoint.addr) {
                None => list.push(endpoint),
                Some(earlier) if !endpoint.terminating => *earlier = endpoint,
                Some(_) => {}
            }
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
type FieldError = (String, String);

/// The endpoints of one slice (none if kube-proxy ignores the slice);
/// every problem is added to `problems`.
fn read_slice(
    slice: &EndpointSlice,
    node_name: &str,
    problems: &mut Vec<FieldError>,
) -> SliceEntries {
    match read_header(slice) {
        Ok(Some((family, service))) => read_endpoints(slice, family, service, node_name, problems),
        Ok(None) => Vec::new(),
        Err(problem) => {
            problems.push(problem);
            Vec::new()
        }
    }
}

/// The family and Service of a slice, `None` if kube-proxy ignores it.
fn read_header(slice: &EndpointSlice) -> Result<Option<(Family, &str)>, FieldError> {
    let labels = slice.metadata.labels.as_ref();
    if !selector::slice_selected(labels) {
        return Ok(None);
    }
    let family = match slice.address_type.as_str() {
        "IPv4" => Family::Inet,
        "IPv6" => Family::Inet6,
        "FQDN" => return Ok(None),
        other => {
            return Err((
                "addressType".into(),
                format!("unknown address type {}", quoted(other)),
            ));
        }
    };
    let service = labels
        .and_then(|l| l.get(SERVICE_NAME_LABEL))
        .filter(|s| !s.is_empty());
    let Some(service) = service else {
        return Err((
            format!("metadata.labels[{SERVICE_NAME_LABEL}]"),
            "missing: the slice belongs to no Service".into(),
        ));
    };
    Ok(Some((family, service.as_str())))
}

/// The slice's ports: name, protocol, number; a bad one is a problem and
/// skipped.
fn read_ports(
    slice: &EndpointSlice,
    problems: &mut Vec<FieldError>,
) -> Vec<(String, Protocol, u16)> {
    let mut ports = Vec::new();
    for (i, port) in slice.ports.iter().flatten().enumerate() {
        let Some(protocol) = parse_protocol(port.protocol.as_deref()) else {
            problems.push((
                format!("ports[{i}].protocol"),
                format!(
                    "unsupported protocol {}; skipped",
                    quoted(port.protocol.as_deref().unwrap_or(""))
                ),
            ));
            continue;
        };
        let number = port
            .port
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0);
        let Some(number) = number else {
            problems.push((
                format!("ports[{i}].port"),
                match port.port {
                    Some(p) => format!("{p} is not within 1-65535; skipped"),
                    None => "missing; skipped".to_owned(),
                },
            ));
            continue;
        };
        ports.push((
            port.name.as_deref().unwrap_or_default().to_owned(),
            protocol,
            number,
        ));
    }
    ports
}

/// The address of one endpoint (its first), or the problem with it.
fn endpoint_ip(text: &str, family: Family, slice: &EndpointSlice) -> Result<IpAddr, String> {
    let ip: IpAddr = text
        .trim()
        .parse()
        .map_err(|_| format!("{} is not an IP address; skipped", quoted(text)))?;
    if Family::of(ip) != family {
        return Err(format!(
            "{ip} does not match addressType {}; skipped",
            slice.address_type
        ));
    }
    match address::special_problem(ip) {
        Some(why) => Err(format!("{ip} is {why}; skipped")),
        None => Ok(ip),
    }
}

fn read_endpoints(
    slice: &EndpointSlice,
    family: Family,
    service: &str,
    node_name: &str,
    problems: &mut Vec<FieldError>,
) -> SliceEntries {
    let namespace = slice.metadata.namespace.as_deref().unwrap_or("default");
    let ports = read_ports(slice, problems);
    let mut entries = Vec::new();
    for (i, endpoint) in slice.endpoints.iter().enumerate() {
        let Some(first) = endpoint.addresses.first() else {
            continue;
        };
        let ip = match endpoint_ip(first, family, slice) {
            Ok(ip) => ip,
            Err(problem) => {
                problems.push((format!("endpoints[{i}].addresses[0]"), problem));
                continue;
            }
        };
        let conditions = endpoint.conditions.clone().unwrap_or_default();
        let hints = endpoint.hints.clone().unwrap_or_default();
        for (name, protocol, number) in &ports {
            let key = (
                namespace.to_owned(),
                service.to_owned(),
                name.clone(),
                *protocol,
                family,
            );
            entries.push((
                key,
                Endpoint {
                    addr: SocketAddr::new(ip, *number),
                    ready: conditions.ready.unwrap_or(true),
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
    entries
}
