//! Services to [`ServicePort`]s, one per port and IP family, like
//! kube-proxy's service change tracker.
//!
//! A bad entry of a list (a ClusterIP, an external IP, a load-balancer
//! ingress IP, a source range, a port) is skipped with its own problem and
//! the rest of the Service is proxied, as kube-proxy skips entries it
//! cannot use; a bad Service-wide field (the type, session affinity, the
//! health-check node port) skips the Service. Service addresses are also
//! checked by [`super::address`]: loopback, unspecified, multicast and
//! broadcast are refused, and external IPs also get the API server's
//! checks.

use std::net::IpAddr;

use crate::cluster::{
    objects::{Service, ServicePort as SpecPort, ServiceSpec},
    selector,
};

use super::{ServicePort, Warning, address, parse_protocol};
use ipvs_netlink::{Family, Protocol};

use crate::types::Cidr;

/// The default `sessionAffinityConfig.clientIP.timeoutSeconds`.
pub const DEFAULT_AFFINITY_TIMEOUT: u32 = 10800;

/// A field problem: the field and the message.
pub type FieldError = (String, String);

/// The ports of a Service: none for a Service kube-proxy skips (headless,
/// ExternalName, not [`selector::service_selected`]). Every problem found is added
/// to `problems`: a problem with an entry skips only the entry, one with
/// the Service skips it all.
pub fn service_ports(service: &Service, problems: &mut Vec<FieldError>) -> Vec<ServicePort> {
    read(service, problems).unwrap_or_else(|problem| {
        problems.push(problem);
        Vec::new()
    })
}

/// `text` quoted for a message: cut to [`Warning::MAX_VALUE_CHARS`] and
/// escaped.
pub fn quoted(text: &str) -> String {
    format!("{:?}", Warning::shorten(text))
}

/// What a Service has in one family.
struct FamilyAddresses {
    cluster_ip: IpAddr,
    external_ips: Vec<IpAddr>,
    load_balancer_ips: Vec<IpAddr>,
    source_ranges: Vec<Cidr>,
}

fn read(service: &Service, problems: &mut Vec<FieldError>) -> Result<Vec<ServicePort>, FieldError> {
    let meta = &service.metadata;
    if !selector::service_selected(meta.labels.as_ref()) {
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
        return Err((
            "spec.type".into(),
            format!("unknown type {}", quoted(service_type)),
        ));
    }
    let Some(cluster_ips) = cluster_ips(spec, problems)? else {
        // Headless (None) or not yet allocated: nothing to proxy.
        return Ok(Vec::new());
    };
    let affinity_timeout = affinity(spec)?;
    let external_ips = addresses(
        |i| format!("spec.externalIPs[{i}]"),
        spec.external_ips.iter().flatten().map(|t| Some(t.as_str())),
        address::external_problem,
        problems,
    );
    let lb_ips = load_balancer_ips(service, problems);
    let (source_ranges, any_bad_range) = source_ranges(spec, problems);
    let externally_accessible = service_type != "ClusterIP" || !external_ips.is_empty();
    let external_policy_local =
        externally_accessible && spec.external_traffic_policy.as_deref() == Some("Local");
    let internal_policy_local = spec.internal_traffic_policy.as_deref() == Some("Local");
    let health_check_node_port = if service_type == "LoadBalancer" && external_policy_local {
        optional_port("spec.healthCheckNodePort", spec.health_check_node_port)?
    } else {
        None
    };
    let mut families = Vec::new();
    for cluster_ip in cluster_ips {
        let family = Family::of(cluster_ip);
        let same = |ip: &&IpAddr| Family::of(**ip) == family;
        let source_ranges: Vec<Cidr> = source_ranges
            .iter()
            .filter(|c| c.family() == family)
            .copied()
            .collect();
        let mut load_balancer_ips: Vec<IpAddr> = lb_ips.iter().filter(same).copied().collect();
        if any_bad_range && source_ranges.is_empty() && !load_balancer_ips.is_empty() {
            // A range that could not be read may have been this family's:
            // no load balancer rather than one open to every source.
            let family = match family {
                Family::Inet => "IPv4",
                Family::Inet6 => "IPv6",
            };
            problems.push((
                "spec.loadBalancerSourceRanges".into(),
                format!(
                    "no valid {family} range left: the {family} load-balancer IPs are skipped, not opened to every source"
                ),
            ));
            load_balancer_ips.clear();
        }
        families.push(FamilyAddresses {
            cluster_ip,
            external_ips: external_ips.iter().filter(same).copied().collect(),
            load_balancer_ips,
            source_ranges,
        });
    }
    let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
    let name = meta.name.clone().unwrap_or_default();
    let mut ports = Vec::new();
    for (i, port) in spec.ports.iter().flatten().enumerate() {
        let (protocol, number, node_port) = match spec_port(i, port) {
            Ok(read) => read,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        // The API server allows a nodePort only on NodePort and LoadBalancer.
        let node_port = node_port.filter(|_| service_type != "ClusterIP");
        for addresses in &families {
            ports.push(ServicePort {
                namespace: namespace.to_string(),
                name: name.to_string(),
                port_name: port.name.as_deref().unwrap_or_default().to_owned(),
                family: Family::of(addresses.cluster_ip),
                protocol,
                cluster_ip: addresses.cluster_ip,
                port: number,
                node_port,
                external_ips: addresses.external_ips.clone(),
                load_balancer_ips: addresses.load_balancer_ips.clone(),
                source_ranges: addresses.source_ranges.clone(),
                affinity_timeout,
                external_policy_local,
                internal_policy_local,
                health_check_node_port,
                traffic_distribution: spec.traffic_distribution.as_deref().map(str::to_owned),
                endpoints: Vec::new(),
            });
        }
    }
    Ok(ports)
}

/// The protocol, port and node port of `spec.ports[i]`.
fn spec_port(i: usize, port: &SpecPort) -> Result<(Protocol, u16, Option<u16>), FieldError> {
    let protocol = parse_protocol(port.protocol.as_deref()).ok_or_else(|| {
        (
            format!("spec.ports[{i}].protocol"),
            format!(
                "unsupported protocol {}",
                quoted(port.protocol.as_deref().unwrap_or(""))
            ),
        )
    })?;
    let field = format!("spec.ports[{i}].port");
    let number = optional_port(&field, Some(port.port))?
        .ok_or_else(|| (field, "must be 1-65535".to_owned()))?;
    let node_port = optional_port(&format!("spec.ports[{i}].nodePort"), port.node_port)?;
    Ok((protocol, number, node_port))
}

/// `spec.clusterIPs` (or `spec.clusterIP`), at most one per family:
/// `None` for a headless Service (a first entry `None` or empty). Another
/// entry that is not an address, or is refused by
/// [`address::virtual_problem`], is a problem and skipped, as kube-proxy
/// picks each family's ClusterIP from the entries it can read; a second
/// address of a family skips the Service.
fn cluster_ips(
    spec: &ServiceSpec,
    problems: &mut Vec<FieldError>,
) -> Result<Option<Vec<IpAddr>>, FieldError> {
    let (field, list): (&str, Vec<&str>) = match spec.cluster_ips.as_ref().filter(|l| !l.is_empty())
    {
        Some(list) => ("spec.clusterIPs", list.iter().map(String::as_str).collect()),
        None => (
            "spec.clusterIP",
            spec.cluster_ip.as_deref().into_iter().collect(),
        ),
    };
    let indexed = field == "spec.clusterIPs";
    let mut ips: Vec<IpAddr> = Vec::new();
    let mut families = Vec::new();
    for (i, text) in list.into_iter().enumerate() {
        let field = if indexed {
            format!("{field}[{i}]")
        } else {
            field.to_owned()
        };
        let text = text.trim();
        if i == 0 && (text.is_empty() || text == "None") {
            return Ok(None);
        }
        let Ok(ip) = text.parse::<IpAddr>() else {
            problems.push((field, format!("{} is not an IP address", quoted(text))));
            continue;
        };
        if families.contains(&Family::of(ip)) {
            return Err((field, "more than one address of a family".into()));
        }
        families.push(Family::of(ip));
        match address::virtual_problem(ip) {
            Some(why) => problems.push((field, format!("{ip} is {why}; skipped"))),
            None => ips.push(ip),
        }
    }
    Ok(Some(ips))
}

/// The addresses of a list field, each checked by `check`; an entry that
/// is not an address or is refused is a problem naming `field(i)` and is
/// skipped. `None` entries are skipped silently.
fn addresses<'a>(
    field: impl Fn(usize) -> String,
    texts: impl Iterator<Item = Option<&'a str>>,
    check: fn(IpAddr) -> Option<&'static str>,
    problems: &mut Vec<FieldError>,
) -> Vec<IpAddr> {
    let mut ips = Vec::new();
    for (i, text) in texts.enumerate() {
        let Some(text) = text else { continue };
        let problem = match text.trim().parse::<IpAddr>() {
            Err(_) => format!("{} is not an IP address; skipped", quoted(text)),
            Ok(ip) => match check(ip) {
                Some(why) => format!("{ip} is {why}; skipped"),
                None => {
                    ips.push(ip);
                    continue;
                }
            },
        };
        problems.push((field(i), problem));
    }
    ips
}

/// `status.loadBalancer.ingress[].ip`, without `ipMode: Proxy` entries.
fn load_balancer_ips(service: &Service, problems: &mut Vec<FieldError>) -> Vec<IpAddr> {
    let ingress = service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref());
    let texts = ingress.into_iter().flatten().map(|entry| {
        entry
            .ip
            .as_deref()
            .filter(|t| !t.is_empty() && entry.ip_mode.as_deref() != Some("Proxy"))
    });
    addresses(
        |i| format!("status.loadBalancer.ingress[{i}].ip"),
        texts,
        address::virtual_problem,
        problems,
    )
}

/// `spec.loadBalancerSourceRanges`, and whether an entry was skipped.
fn source_ranges(spec: &ServiceSpec, problems: &mut Vec<FieldError>) -> (Vec<Cidr>, bool) {
    let mut ranges = Vec::new();
    let mut bad = false;
    for (i, range) in spec
        .load_balancer_source_ranges
        .iter()
        .flatten()
        .enumerate()
    {
        match range.trim().parse::<Cidr>() {
            Ok(cidr) => ranges.push(cidr),
            Err(e) => {
                bad = true;
                problems.push((
                    format!("spec.loadBalancerSourceRanges[{i}]"),
                    format!("{} is not a CIDR ({}); skipped", quoted(range), e.reason),
                ));
            }
        }
    }
    (ranges, bad)
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
            format!("unknown value {}", quoted(other)),
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

/// Turns a field problem of a Service into a [`Warning`].
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
