//! What one service port contributes to its family's plan ([`PortPlan`]):
//! the ipset entries, the virtual servers it claims (in kube-proxy's
//! order: ClusterIP, external IPs, load-balancer IPs, node ports), the
//! load-balancer addresses the node must not reach, and the facts the
//! daemon reports. Both the full planner ([`super::plan`]) and the
//! incremental one ([`super::IncrementalPlanner`]) are built on it, so
//! they cannot disagree on a port.

use std::net::{IpAddr, SocketAddr};

use ipset_netlink::{Entry, Net};
use ipvs_netlink::{
    Family, ForwardMethod, Protocol, RealServer, Scheduler, ServiceFlags, ServiceKey,
    VirtualService,
};

use super::{PlannedService, iptables::NoNodeAccess};
use crate::catalogue::ipsets::*;
use crate::{
    config::ProxyConfig,
    model::{NodeContext, ServicePort, Warning, topology},
};

/// One virtual server a port asks for. The first claimant of a key (in
/// the model's port order) gets it; the others are skipped with a
/// warning ([`conflict_warning`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    /// The virtual server's key.
    pub key: ServiceKey,
    /// Its protocol (for the warning).
    pub protocol: Protocol,
    /// The virtual server with its real servers.
    pub planned: PlannedService,
    /// Whether its address is bound to `kube-ipvs0` when it wins.
    pub bind: bool,
}

impl Claim {
    /// The virtual address and port.
    pub fn socket(&self) -> Option<SocketAddr> {
        match self.key {
            ServiceKey::Inet { addr, .. } => Some(addr),
            _ => None,
        }
    }
}

/// Whether a port leaves kube-proxy's "no local endpoints" mark for a
/// traffic policy (`sync_proxy_rules_no_local_endpoints_total`): a
/// virtual server that must use node-local endpoints found none while the
/// Service has endpoints elsewhere.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NoLocal {
    /// internalTrafficPolicy Local without local endpoints.
    pub internal: bool,
    /// externalTrafficPolicy Local without local endpoints.
    pub external: bool,
}

/// What one port contributes to its family's plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PortPlan {
    /// ipset members, by the set's IPv4 name (may repeat).
    pub entries: Vec<(&'static str, Entry)>,
    /// Virtual servers, in kube-proxy's order.
    pub claims: Vec<Claim>,
    /// Load-balancer addresses the node must not reach (may repeat).
    pub no_node_access: Vec<NoNodeAccess>,
    /// The "no local endpoints" marks.
    pub no_local: NoLocal,
    /// The addresses refused for this node ([`own_address_warning`]).
    pub warnings: Vec<Warning>,
}

/// Plans the ports of one family for one node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PortPlanner<'a> {
    /// The family.
    pub family: Family,
    /// The node.
    pub node: &'a NodeContext,
    /// The configuration.
    pub config: &'a ProxyConfig,
    /// The node-port addresses of the family ([`super::node_port_ips`]).
    pub node_port_ips: &'a [IpAddr],
}

impl PortPlanner<'_> {
    /// One virtual server claim with its real servers.
    fn claim(
        &self,
        addr: IpAddr,
        number: u16,
        port: &ServicePort,
        destinations: &[SocketAddr],
        bind: bool,
    ) -> Claim {
        let socket = SocketAddr::new(addr, number);
        let key = ServiceKey::Inet {
            protocol: port.protocol,
            addr: socket,
        };
        let mut service = VirtualService::new(key, Scheduler::new(self.config.scheduler.clone()));
        if let Some(timeout) = port.affinity_timeout {
            service = service.persistent(timeout);
        }
        if self.config.scheduler == "mh" {
            service = service.with_flags(ServiceFlags::MH_PORT);
        }
        let mut real_servers: Vec<RealServer> = destinations
            .iter()
            .map(|d| RealServer::new(*d, ForwardMethod::Masq, 1))
            .collect();
        real_servers.sort_by_key(|rs| rs.addr);
        Claim {
            key,
            protocol: port.protocol,
            planned: PlannedService {
                service,
                real_servers,
                origin: port.origin(),
            },
            bind,
        }
    }

    /// What `port` (of this planner's family) contributes. An external or
    /// load-balancer IP that is one of the node's own addresses
    /// ([`NodeContext::owns`]) gets its virtual server and set entries as
    /// any other, but is not bound to `kube-ipvs0` (kube-proxy's
    /// `shouldBind`: the address stays where it is, so kube-vip in ARP
    /// mode or keepalived keep holding it). A ClusterIP that is one of the
    /// node's own addresses refuses the whole port with a warning: bound
    /// to `kube-ipvs0` it would move the node's address.
    pub fn plan(&self, port: &ServicePort) -> PortPlan {
        let mut out = PortPlan::default();
        if self.node.owns(port.cluster_ip) {
            out.warnings
                .push(own_address_warning(port, "spec.clusterIP", port.cluster_ip));
            return out;
        }
        hairpin(port, &mut out);
        let categorized = port.categorize(self.node);
        let internal = topology::destinations(&categorized, port.internal_policy_local);
        let external = topology::destinations(&categorized, port.external_policy_local);
        out.no_local = self.no_local(port, &categorized);
        self.cluster_ip(port, &internal, &mut out);
        for &ip in &port.external_ips {
            self.external_ip(port, ip, &external, &mut out);
        }
        for &ip in &port.load_balancer_ips {
            self.load_balancer_ip(port, ip, &external, &mut out);
        }
        self.node_ports(port, &external, &mut out);
        if let Some(hc) = port.health_check_node_port {
            out.entries.push((HEALTH_CHECK_NODE_PORT, Entry::Port(hc)));
        }
        out
    }

    /// Whether `port` has a virtual server that external traffic reaches:
    /// an external IP, a load-balancer IP or a node port (on an address).
    fn has_external(&self, port: &ServicePort) -> bool {
        !port.external_ips.is_empty()
            || !port.load_balancer_ips.is_empty()
            || (port.node_port.is_some() && !self.node_port_ips.is_empty())
    }

    /// The "no local endpoints" marks of `port`. kube-proxy's syncEndpoint
    /// marks both policies whenever one of its virtual servers is
    /// node-local only and found no local endpoint.
    fn no_local(&self, port: &ServicePort, categorized: &topology::Categorized) -> NoLocal {
        let none_local = categorized.local.is_empty() && categorized.has_any;
        let only_local =
            port.internal_policy_local || (port.external_policy_local && self.has_external(port));
        if none_local && only_local {
            NoLocal {
                internal: port.internal_policy_local,
                external: port.external_policy_local,
            }
        } else {
            NoLocal::default()
        }
    }

    /// The ClusterIP's set entry and virtual server (to the `internal`
    /// destinations, always bound).
    fn cluster_ip(&self, port: &ServicePort, internal: &[SocketAddr], out: &mut PortPlan) {
        out.entries
            .push((CLUSTER_IP, ip_port(port, port.cluster_ip)));
        out.claims
            .push(self.claim(port.cluster_ip, port.port, port, internal, true));
    }

    /// One external IP's set entry and virtual server (to the `external`
    /// destinations; bound unless the node owns it).
    fn external_ip(
        &self,
        port: &ServicePort,
        ip: IpAddr,
        external: &[SocketAddr],
        out: &mut PortPlan,
    ) {
        let set = if port.external_policy_local {
            EXTERNAL_IP_LOCAL
        } else {
            EXTERNAL_IP
        };
        out.entries.push((set, ip_port(port, ip)));
        let bind = !self.node.owns(ip);
        out.claims
            .push(self.claim(ip, port.port, port, external, bind));
    }

    /// One load-balancer IP's set entries, its source ranges and virtual
    /// server (to the `external` destinations; bound unless the node owns
    /// it).
    fn load_balancer_ip(
        &self,
        port: &ServicePort,
        ip: IpAddr,
        external: &[SocketAddr],
        out: &mut PortPlan,
    ) {
        let entry = ip_port(port, ip);
        out.entries.push((LOAD_BALANCER, entry));
        if port.external_policy_local {
            out.entries.push((LOAD_BALANCER_LOCAL, entry));
        }
        if !port.source_ranges.is_empty() {
            out.entries.push((LOAD_BALANCER_FW, entry));
            self.source_ranges(port, ip, out);
        }
        let bind = !self.node.owns(ip);
        out.claims
            .push(self.claim(ip, port.port, port, external, bind));
    }

    /// The `loadBalancerSourceRanges` of a load-balancer IP: one set entry
    /// per range; then the node's own access to the IP, allowed if one of
    /// the ranges holds the node's primary address of the family, else
    /// refused ([`NoNodeAccess`]).
    fn source_ranges(&self, port: &ServicePort, ip: IpAddr, out: &mut PortPlan) {
        let node_ip = self.node.primary_ip(self.family);
        let mut allow_from_node = false;
        for cidr in &port.source_ranges {
            if let Ok(net) = Net::new(cidr.addr(), cidr.prefix()) {
                out.entries.push((
                    LOAD_BALANCER_SOURCE_CIDR,
                    Entry::IpPortNet {
                        ip,
                        proto: port.protocol,
                        port: port.port,
                        net,
                    },
                ));
            }
            allow_from_node |= node_ip.is_some_and(|n| cidr.contains(n));
        }
        if allow_from_node {
            out.entries.push((
                LOAD_BALANCER_SOURCE_IP,
                Entry::IpPortIp {
                    ip,
                    proto: port.protocol,
                    port: port.port,
                    ip2: ip,
                },
            ));
        } else {
            out.no_node_access.push(NoNodeAccess {
                ip,
                protocol: port.protocol,
                port: port.port,
            });
        }
    }

    /// The node port's set entries (the port alone; for SCTP, one per
    /// node-port address) and one virtual server per node-port address
    /// (to the `external` destinations, never bound). Nothing without a
    /// node port, a NodePort set for the protocol or a node-port address.
    fn node_ports(&self, port: &ServicePort, external: &[SocketAddr], out: &mut PortPlan) {
        let Some(node_port) = port.node_port else {
            return;
        };
        let Some((set, local_set)) = node_port_sets(port.protocol) else {
            return;
        };
        if self.node_port_ips.is_empty() {
            return;
        }
        let entries: Vec<Entry> = match port.protocol {
            Protocol::Sctp => self
                .node_port_ips
                .iter()
                .map(|ip| Entry::IpPort {
                    ip: *ip,
                    proto: port.protocol,
                    port: node_port,
                })
                .collect(),
            _ => vec![Entry::Port(node_port)],
        };
        for entry in entries {
            out.entries.push((set, entry));
            if port.external_policy_local {
                out.entries.push((local_set, entry));
            }
        }
        for &ip in self.node_port_ips {
            out.claims
                .push(self.claim(ip, node_port, port, external, false));
        }
    }
}

/// The hairpin entries of `port`: every local endpoint, whatever its
/// conditions.
fn hairpin(port: &ServicePort, out: &mut PortPlan) {
    for endpoint in port.endpoints.iter().filter(|e| e.local) {
        out.entries.push((
            LOOP_BACK,
            Entry::IpPortIp {
                ip: endpoint.addr.ip(),
                proto: port.protocol,
                port: endpoint.addr.port(),
                ip2: endpoint.addr.ip(),
            },
        ));
    }
}

/// The `ip,proto:port` entry of `ip` with `port`'s protocol and port.
fn ip_port(port: &ServicePort, ip: IpAddr) -> Entry {
    Entry::IpPort {
        ip,
        proto: port.protocol,
        port: port.port,
    }
}

/// kube-proxy's NodePort set and its `Local` twin for a protocol: TCP, UDP
/// and SCTP have them (model ports have no other protocol).
fn node_port_sets(protocol: Protocol) -> Option<(&'static str, &'static str)> {
    match protocol {
        Protocol::Tcp => Some((NODE_PORT_TCP, NODE_PORT_LOCAL_TCP)),
        Protocol::Udp => Some((NODE_PORT_UDP, NODE_PORT_LOCAL_UDP)),
        Protocol::Sctp => Some((NODE_PORT_SCTP, NODE_PORT_LOCAL_SCTP)),
        _ => None,
    }
}

/// The warning for a ClusterIP of `port` that is one of the node's own
/// addresses (`field` names where it came from).
pub(crate) fn own_address_warning(port: &ServicePort, field: &str, ip: IpAddr) -> Warning {
    Warning::new(
        "Service",
        format!("{}/{}", port.namespace, port.name),
        field,
        format!(
            "{ip} is an address of this node: binding the virtual server {} to kube-ipvs0 would move it; skipped",
            SocketAddr::new(ip, port.port),
        ),
    )
}

/// The warning for a claim that lost its virtual server to an earlier
/// claimant (`winner_origin`, `namespace/name:port`).
pub(crate) fn conflict_warning(
    namespace: &str,
    name: &str,
    claim_key: &ServiceKey,
    protocol: Protocol,
    winner_origin: &str,
) -> Warning {
    let socket = match claim_key {
        ServiceKey::Inet { addr, .. } => addr.to_string(),
        other => format!("{other:?}"),
    };
    Warning::new(
        "Service",
        format!("{namespace}/{name}"),
        "",
        format!(
            "virtual server {socket}/{} is already used by {winner_origin}; skipped",
            protocol
        ),
    )
}
