//! Services to [`ServicePort`]s, one per port and IP family, like
//! kube-proxy's service change tracker.

use std::net::IpAddr;

use crate::source::objects::{Service, ServiceSpec};

use super::{Protocol, ServicePort, Warning};
use crate::{config::Cidr, plan::IpFamily};

/// Services with this label belong to another proxy.
pub const SERVICE_PROXY_NAME_LABEL: &str = "service.kubernetes.io/service-proxy-name";

/// The default `sessionAffinityConfig.clientIP.timeoutSeconds`.
pub const DEFAULT_AFFINITY_TIMEOUT: u32 = 10800;

/// A field error: the field and the message.
type FieldError = (String, String);

/// The ports of a Service, or `Ok(empty)` for a Service kube-proxy skips
/// (headless, ExternalName, another proxy's), or the first invalid field.
pub fn service_ports(service: &Service) -> Result<Vec<ServicePort>, FieldError> {
    let meta = &service.metadata;
    if meta
        .labels
        .as_ref()
        .is_some_and(|l| l.contains_key(SERVICE_PROXY_NAME_LABEL))
    {
        return Ok(Vec::new());
    }
    let Some(spec) = service.spec.as_ref() else {
        return Err(("spec".into(), "missing".into()));
    };
    let service_type = spec.type_.as_deref().unwrap_or("ClusterIP");
    if service_type == "ExternalName" {
        return Ok(Vec::new());
    }
    if !matches!(service_type, "ClusterIP" | "NodePort" | "LoadBalancer") {
        return Err(("spec.type".into(), format!("unknown type {service_type:?}")));
    }
    let cluster_ips = cluster_ips(spec)?;
    if cluster_ips.is_empty() {
        // Headless (None) or not yet allocated: nothing to proxy.
        return Ok(Vec::new());
    }
    let external_ips = parse_ips("spec.externalIPs", spec.external_ips.iter().flatten())?;
    let lb_ips = load_balancer_ips(service)?;
    let mut source_ranges = Vec::new();
    for (i, range) in spec
        .load_balancer_source_ranges
        .iter()
        .flatten()
        .enumerate()
    {
        let cidr: Cidr = range
            .trim()
            .parse()
            .map_err(|e: crate::config::CidrError| {
                (format!("spec.loadBalancerSourceRanges[{i}]"), e.to_string())
            })?;
        source_ranges.push(cidr);
    }
    let affinity_timeout = affinity(spec)?;
    let externally_accessible = service_type != "ClusterIP" || !external_ips.is_empty();
    let external_policy_local =
        externally_accessible && spec.external_traffic_policy.as_deref() == Some("Local");
    let internal_policy_local = spec.internal_traffic_policy.as_deref() == Some("Local");
    let health_check_node_port = if service_type == "LoadBalancer" && external_policy_local {
        optional_port("spec.healthCheckNodePort", spec.health_check_node_port)?
    } else {
        None
    };
    let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
    let name = meta.name.clone().unwrap_or_default();
    let mut ports = Vec::new();
    for (i, port) in spec.ports.iter().flatten().enumerate() {
        let protocol = Protocol::parse(port.protocol.as_deref()).ok_or_else(|| {
            (
                format!("spec.ports[{i}].protocol"),
                format!(
                    "unsupported protocol {:?}",
                    port.protocol.as_deref().unwrap_or("")
                ),
            )
        })?;
        let number =
            optional_port(&format!("spec.ports[{i}].port"), Some(port.port))?.ok_or_else(|| {
                (
                    format!("spec.ports[{i}].port"),
                    "must be 1-65535".to_owned(),
                )
            })?;
        // The API server allows a nodePort only on NodePort and LoadBalancer.
        let node_port = optional_port(&format!("spec.ports[{i}].nodePort"), port.node_port)?
            .filter(|_| service_type != "ClusterIP");
        for &cluster_ip in &cluster_ips {
            let family = IpFamily::of(cluster_ip);
            let same = |ip: &&IpAddr| IpFamily::of(**ip) == family;
            ports.push(ServicePort {
                namespace: namespace.clone(),
                name: name.clone(),
                port_name: port.name.clone().unwrap_or_default(),
                family,
                protocol,
                cluster_ip,
                port: number,
                node_port,
                external_ips: external_ips.iter().filter(same).copied().collect(),
                load_balancer_ips: lb_ips.iter().filter(same).copied().collect(),
                source_ranges: source_ranges
                    .iter()
                    .filter(|c| c.family() == family)
                    .copied()
                    .collect(),
                affinity_timeout,
                external_policy_local,
                internal_policy_local,
                health_check_node_port,
                traffic_distribution: spec.traffic_distribution.clone(),
                endpoints: Vec::new(),
            });
        }
    }
    Ok(ports)
}

/// `spec.clusterIPs` (or `spec.clusterIP`), at most one per family; empty
/// for a headless Service.
fn cluster_ips(spec: &ServiceSpec) -> Result<Vec<IpAddr>, FieldError> {
    let (field, list): (&str, Vec<&String>) =
        match spec.cluster_ips.as_ref().filter(|l| !l.is_empty()) {
            Some(list) => ("spec.clusterIPs", list.iter().collect()),
            None => ("spec.clusterIP", spec.cluster_ip.iter().collect()),
        };
    let mut ips: Vec<IpAddr> = Vec::new();
    for text in list {
        let text = text.trim();
        if text.is_empty() || text == "None" {
            return Ok(Vec::new());
        }
        let ip: IpAddr = text
            .parse()
            .map_err(|_| (field.to_owned(), format!("{text:?} is not an IP address")))?;
        if ips
            .iter()
            .any(|other| IpFamily::of(*other) == IpFamily::of(ip))
        {
            return Err((field.to_owned(), "more than one address of a family".into()));
        }
        ips.push(ip);
    }
    Ok(ips)
}

fn parse_ips<'a>(
    field: &str,
    texts: impl Iterator<Item = &'a String>,
) -> Result<Vec<IpAddr>, FieldError> {
    texts
        .enumerate()
        .map(|(i, text)| {
            text.trim().parse::<IpAddr>().map_err(|_| {
                (
                    format!("{field}[{i}]"),
                    format!("{text:?} is not an IP address"),
                )
            })
        })
        .collect()
}

/// `status.loadBalancer.ingress[].ip`, without `ipMode: Proxy` entries.
fn load_balancer_ips(service: &Service) -> Result<Vec<IpAddr>, FieldError> {
    let ingress = service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref());
    let mut ips = Vec::new();
    for (i, entry) in ingress.into_iter().flatten().enumerate() {
        let Some(text) = entry.ip.as_deref().filter(|t| !t.is_empty()) else {
            continue;
        };
        if entry.ip_mode.as_deref() == Some("Proxy") {
            continue;
        }
        let ip = text.trim().parse::<IpAddr>().map_err(|_| {
            (
                format!("status.loadBalancer.ingress[{i}].ip"),
                format!("{text:?} is not an IP address"),
            )
        })?;
        ips.push(ip);
    }
    Ok(ips)
}

fn affinity(spec: &ServiceSpec) -> Result<Option<u32>, FieldError> {
    match spec.session_affinity.as_deref().unwrap_or("None") {
        "None" => Ok(None),
        "ClientIP" => {
            let timeout = spec
                .session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds);
            match timeout {
                None => Ok(Some(DEFAULT_AFFINITY_TIMEOUT)),
                Some(t @ 1..=86400) => Ok(Some(t.unsigned_abs())),
                Some(t) => Err((
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds".into(),
                    format!("{t} is not within 1-86400"),
                )),
            }
        }
        other => Err((
            "spec.sessionAffinity".into(),
            format!("unknown value {other:?}"),
        )),
    }
}

/// A port that may be unset or 0 (absent), else must be 1-65535.
fn optional_port(field: &str, value: Option<i32>) -> Result<Option<u16>, FieldError> {
    match value {
        None | Some(0) => Ok(None),
        Some(p) => u16::try_from(p)
            .map(Some)
            .map_err(|_| (field.to_owned(), format!("{p} is not within 1-65535"))),
    }
}

/// Turns a field error of a Service into a [`Warning`].
pub fn warning(service: &Service, (field, message): FieldError) -> Warning {
    Warning::new(
        "Service",
        format!(
            "{}/{}",
            service.metadata.namespace.as_deref().unwrap_or("default"),
            service.metadata.name.as_deref().unwrap_or("")
        ),
        field,
        message,
    )
}
