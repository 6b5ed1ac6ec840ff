//! Which endpoints a virtual server gets: kube-proxy's
//! `CategorizeEndpoints` (pkg/proxy/topology.go) and the choice made in the
//! IPVS proxier's `syncEndpoint`.

use std::net::SocketAddr;

use super::{Endpoint, NodeContext, ServicePort};

/// `trafficDistribution` value that prefers endpoints on the same node.
pub const PREFER_SAME_NODE: &str = "PreferSameNode";

/// The endpoints of a service port, split like kube-proxy does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Categorized {
    /// Endpoints for cluster-wide traffic policy (topology applied; ready,
    /// else serving-and-terminating).
    pub cluster: Vec<SocketAddr>,
    /// Endpoints on this node (ready, else serving-and-terminating).
    pub local: Vec<SocketAddr>,
    /// Whether any usable endpoint exists anywhere.
    pub has_any: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TopologyMode {
    All,
    SameZone,
    SameNode,
}

/// kube-proxy's `CategorizeEndpoints`.
pub fn categorize(port: &ServicePort, node: &NodeContext) -> Categorized {
    let endpoints = &port.endpoints;
    let mut out = Categorized::default();
    if port.uses_cluster_endpoints() {
        let zone = node.zone().unwrap_or("");
        let mode = topology_mode(port, endpoints, &node.name, zone);
        out.cluster = pick(endpoints, |e| {
            e.ready && available_for_topology(e, mode, &node.name, zone)
        });
        if out.cluster.is_empty() {
            out.cluster = pick(endpoints, |e| e.serving && e.terminating);
        }
        out.has_any = !out.cluster.is_empty();
    }
    if !port.uses_local_endpoints() {
        return out;
    }
    let (mut local_ready, mut local_terminating) = (false, false);
    for e in endpoints {
        if e.ready {
            out.has_any = true;
            local_ready |= e.local;
        } else if e.serving && e.terminating {
            out.has_any = true;
            local_terminating |= e.local;
        }
    }
    if local_ready {
        out.local = pick(endpoints, |e| e.local && e.ready);
    } else if local_terminating {
        out.local = pick(endpoints, |e| e.local && e.serving && e.terminating);
    }
    out
}

fn pick(endpoints: &[Endpoint], keep: impl Fn(&Endpoint) -> bool) -> Vec<SocketAddr> {
    let mut addrs: Vec<SocketAddr> = endpoints
        .iter()
        .filter(|e| keep(e))
        .map(|e| e.addr)
        .collect();
    addrs.sort();
    addrs.dedup();
    addrs
}

/// kube-proxy's `topologyModeFromHints`: same node when the service asks
/// for it and every ready endpoint has node hints, one for this node; same
/// zone when every ready endpoint has zone hints and one is for this zone;
/// otherwise all endpoints.
fn topology_mode(
    port: &ServicePort,
    endpoints: &[Endpoint],
    node: &str,
    zone: &str,
) -> TopologyMode {
    let (mut all_node_hints, mut for_node) = (true, false);
    let (mut all_zone_hints, mut for_zone) = (true, false);
    for e in endpoints.iter().filter(|e| e.ready) {
        if e.zone_hints.is_empty() {
            all_zone_hints = false;
        } else if e.zone_hints.contains(zone) {
            for_zone = true;
        }
        if e.node_hints.is_empty() {
            all_node_hints = false;
        } else if e.node_hints.contains(node) {
            for_node = true;
        }
    }
    if port.traffic_distribution.as_deref() == Some(PREFER_SAME_NODE) && all_node_hints && for_node
    {
        return TopologyMode::SameNode;
    }
    if all_zone_hints && for_zone {
        return TopologyMode::SameZone;
    }
    TopologyMode::All
}

fn available_for_topology(e: &Endpoint, mode: TopologyMode, node: &str, zone: &str) -> bool {
    match mode {
        TopologyMode::All => true,
        TopologyMode::SameNode => e.node_hints.contains(node),
        TopologyMode::SameZone => e.zone_hints.contains(zone),
    }
}

/// The real servers of a virtual server, as the IPVS proxier's
/// `syncEndpoint` picks them: with `only_local` (externalTrafficPolicy
/// Local for external VSs, internalTrafficPolicy Local for the ClusterIP
/// VS) the local endpoints, or the cluster ones when there are none
/// (kubernetes#97081; the cluster set is empty for an internal-only
/// service with internalTrafficPolicy Local, so that case gets none);
/// otherwise the cluster endpoints.
pub fn destinations(categorized: &Categorized, only_local: bool) -> Vec<SocketAddr> {
    if only_local && !categorized.local.is_empty() {
        categorized.local.clone()
    } else {
        categorized.cluster.clone()
    }
}
