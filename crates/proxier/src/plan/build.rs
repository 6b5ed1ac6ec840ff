//! [`plan`]: the desired kernel state of a node, a pure function of the
//! snapshot, the node and the configuration — kube-proxy's IPVS
//! `syncProxyRules` without the kernel.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::{IpAddr, SocketAddr},
};

use ipset_netlink::{Entry, Net, SetType};
use ipvs_netlink::{
    ForwardMethod, RealServer, Scheduler, ServiceFlags, ServiceKey, VirtualService,
};

use super::{
    IpFamily, KernelPlan, PlannedService, PlannedSet,
    ipsets::*,
    iptables::{self, NoNodeAccess},
};
use crate::{
    config::{NodePortAddresses, ProxyConfig},
    model::{self, ClusterModel, NodeContext, Protocol, ServicePort, Warning},
    source::Snapshot,
};

/// Plans a node from a snapshot: builds the model (see [`model::build`])
/// and then [`plan_model`]. Pure; invalid objects become warnings.
pub fn plan(
    snapshot: &Snapshot,
    node: &NodeContext,
    config: &ProxyConfig,
) -> (KernelPlan, Vec<Warning>) {
    let (model, mut warnings) = model::build(snapshot, node);
    let plan = plan_model(&model, node, config, &mut warnings);
    (plan, warnings)
}

/// The families a node runs: those of its addresses and of the Services'
/// ClusterIPs (IPv4 if none).
fn families(model: &ClusterModel, node: &NodeContext) -> BTreeSet<IpFamily> {
    let mut families: BTreeSet<IpFamily> = node
        .primary_ips
        .iter()
        .chain(&node.node_ips)
        .map(|ip| IpFamily::of(*ip))
        .chain(model.ports.iter().map(|p| p.family))
        .collect();
    if families.is_empty() {
        families.insert(IpFamily::V4);
    }
    families
}

/// Whether kube-proxy's `isValidForSet` takes a node address: not loopback,
/// not IPv6 link-local.
fn valid_node_ip(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_loopback(),
        IpAddr::V6(v6) => !v6.is_loopback() && (v6.segments()[0] & 0xffc0) != 0xfe80,
    }
}

/// The addresses NodePort virtual servers listen on in a family.
pub fn node_port_ips(node: &NodeContext, config: &ProxyConfig, family: IpFamily) -> Vec<IpAddr> {
    let local = node
        .node_ips
        .iter()
        .copied()
        .filter(|ip| IpFamily::of(*ip) == family && valid_node_ip(ip));
    let mut ips: Vec<IpAddr> = match &config.node_port_addresses {
        NodePortAddresses::All => local.collect(),
        NodePortAddresses::Primary => match node.primary_ip(family) {
            Some(primary) => node
                .node_ips
                .iter()
                .chain(&node.primary_ips)
                .copied()
                .filter(|ip| *ip == primary && !ip.is_loopback())
                .take(1)
                .collect(),
            None => local.collect(),
        },
        NodePortAddresses::Cidrs(cidrs) => {
            let mine: Vec<_> = cidrs.iter().filter(|c| c.family() == family).collect();
            if mine.is_empty() || mine.iter().any(|c| c.is_zero()) {
                local.collect()
            } else {
                node.node_ips
                    .iter()
                    .copied()
                    .filter(|ip| !ip.is_loopback() && mine.iter().any(|c| c.contains(*ip)))
                    .collect()
            }
        }
    };
    ips.sort();
    ips.dedup();
    ips
}

/// Plans from a built model.
pub fn plan_model(
    model: &ClusterModel,
    node: &NodeContext,
    config: &ProxyConfig,
    warnings: &mut Vec<Warning>,
) -> KernelPlan {
    let mut plan = KernelPlan::default();
    for family in families(model, node) {
        let mut family_plan = FamilyPlan::new(family, node, config);
        for port in model.ports.iter().filter(|p| p.family == family) {
            family_plan.add_port(port, warnings);
        }
        family_plan.finish(&mut plan);
    }
    plan
}

/// The plan of one family being built.
struct FamilyPlan<'a> {
    family: IpFamily,
    node: &'a NodeContext,
    config: &'a ProxyConfig,
    node_port_ips: Vec<IpAddr>,
    services: BTreeMap<ServiceKey, PlannedService>,
    bind: BTreeSet<IpAddr>,
    entries: BTreeMap<&'static str, BTreeSet<Entry>>,
    no_node_access: Vec<NoNodeAccess>,
}

impl<'a> FamilyPlan<'a> {
    fn new(family: IpFamily, node: &'a NodeContext, config: &'a ProxyConfig) -> Self {
        FamilyPlan {
            family,
            node,
            config,
            node_port_ips: node_port_ips(node, config, family),
            services: BTreeMap::new(),
            bind: BTreeSet::new(),
            entries: SETS.iter().map(|d| (d.name, BTreeSet::new())).collect(),
            no_node_access: Vec::new(),
        }
    }

    fn add(&mut self, set: &'static str, entry: Entry) {
        self.entries.entry(set).or_default().insert(entry);
    }

    fn ip_port(ip: IpAddr, port: &ServicePort) -> Entry {
        Entry::IpPort {
            ip,
            proto: port.protocol.ipset(),
            port: port.port,
        }
    }

    /// One virtual server with its real servers; bound to `kube-ipvs0` if
    /// `bind`.
    fn virtual_server(
        &mut self,
        addr: IpAddr,
        number: u16,
        port: &ServicePort,
        destinations: &[SocketAddr],
        bind: bool,
        warnings: &mut Vec<Warning>,
    ) {
        let socket = SocketAddr::new(addr, number);
        let key = match port.protocol {
            Protocol::Tcp => ServiceKey::tcp(socket),
            Protocol::Udp => ServiceKey::udp(socket),
            Protocol::Sctp => ServiceKey::sctp(socket),
        };
        if let Some(existing) = self.services.get(&key) {
            warnings.push(Warning::new(
                "Service",
                format!("{}/{}", port.namespace, port.name),
                "",
                format!(
                    "virtual server {}/{} is already used by {}; skipped",
                    socket,
                    port.protocol.lower(),
                    existing.origin
                ),
            ));
            return;
        }
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
        self.services.insert(
            key,
            PlannedService {
                service,
                real_servers,
                origin: port.origin(),
            },
        );
        if bind {
            self.bind.insert(addr);
        }
    }

    fn add_port(&mut self, port: &ServicePort, warnings: &mut Vec<Warning>) {
        let proto = port.protocol.ipset();
        // Hairpin: every local endpoint, whatever its conditions.
        for endpoint in port.endpoints.iter().filter(|e| e.local) {
            self.add(
                LOOP_BACK,
                Entry::IpPortIp {
                    ip: endpoint.addr.ip(),
                    proto,
                    port: endpoint.addr.port(),
                    ip2: endpoint.addr.ip(),
                },
            );
        }
        let internal = port.internal_destinations(self.node);
        let external = port.external_destinations(self.node);
        self.add(CLUSTER_IP, Self::ip_port(port.cluster_ip, port));
        self.virtual_server(port.cluster_ip, port.port, port, &internal, true, warnings);

        for &ip in &port.external_ips {
            let set = if port.external_policy_local {
                EXTERNAL_IP_LOCAL
            } else {
                EXTERNAL_IP
            };
            self.add(set, Self::ip_port(ip, port));
            let bind = !self.node.node_ips.contains(&ip);
            self.virtual_server(ip, port.port, port, &external, bind, warnings);
        }

        for &ip in &port.load_balancer_ips {
            let entry = Self::ip_port(ip, port);
            self.add(LOAD_BALANCER, entry);
            if port.external_policy_local {
                self.add(LOAD_BALANCER_LOCAL, entry);
            }
            if !port.source_ranges.is_empty() {
                self.add(LOAD_BALANCER_FW, entry);
                let node_ip = self.node.primary_ip(self.family);
                let mut allow_from_node = false;
                for cidr in &port.source_ranges {
                    if let Ok(net) = Net::new(cidr.addr(), cidr.prefix()) {
                        self.add(
                            LOAD_BALANCER_SOURCE_CIDR,
                            Entry::IpPortNet {
                                ip,
                                proto,
                                port: port.port,
                                net,
                            },
                        );
                    }
                    allow_from_node |= node_ip.is_some_and(|n| cidr.contains(n));
                }
                if allow_from_node {
                    self.add(
                        LOAD_BALANCER_SOURCE_IP,
                        Entry::IpPortIp {
                            ip,
                            proto,
                            port: port.port,
                            ip2: ip,
                        },
                    );
                } else {
                    let blocked = NoNodeAccess {
                        ip,
                        protocol: port.protocol,
                        port: port.port,
                    };
                    if !self.no_node_access.contains(&blocked) {
                        self.no_node_access.push(blocked);
                    }
                }
            }
            let bind = !self.node.node_ips.contains(&ip);
            self.virtual_server(ip, port.port, port, &external, bind, warnings);
        }

        if let Some(node_port) = port.node_port
            && !self.node_port_ips.is_empty()
        {
            let (set, local_set) = match port.protocol {
                Protocol::Tcp => (NODE_PORT_TCP, NODE_PORT_LOCAL_TCP),
                Protocol::Udp => (NODE_PORT_UDP, NODE_PORT_LOCAL_UDP),
                Protocol::Sctp => (NODE_PORT_SCTP, NODE_PORT_LOCAL_SCTP),
            };
            let entries: Vec<Entry> = match port.protocol {
                Protocol::Sctp => self
                    .node_port_ips
                    .iter()
                    .map(|ip| Entry::IpPort {
                        ip: *ip,
                        proto,
                        port: node_port,
                    })
                    .collect(),
                _ => vec![Entry::Port(node_port)],
            };
            for entry in &entries {
                self.add(set, *entry);
                if port.external_policy_local {
                    self.add(local_set, *entry);
                }
            }
            for ip in self.node_port_ips.clone() {
                self.virtual_server(ip, node_port, port, &external, false, warnings);
            }
        }

        if let Some(hc) = port.health_check_node_port {
            self.add(HEALTH_CHECK_NODE_PORT, Entry::Port(hc));
        }
    }

    fn finish(mut self, plan: &mut KernelPlan) {
        let bound: Vec<IpAddr> = self.bind.iter().copied().collect();
        for ip in bound {
            self.add(IPVS_IPS, Entry::Ip(ip));
        }
        let mut sets = BTreeMap::new();
        for def in SETS {
            let entries = self.entries.remove(def.name).unwrap_or_default();
            sets.insert(
                set_name(def.name, self.family),
                PlannedSet {
                    set_type: def.set_type,
                    family: self.family,
                    comment: def.comment,
                    entries,
                },
            );
        }
        debug_assert!(
            sets.values()
                .all(|s: &PlannedSet| s.set_type != SetType::HashNet)
        );
        let rules = iptables::rules(self.family, &sets, &self.no_node_access, self.config);
        plan.iptables.insert(self.family, rules);
        plan.ipsets.extend(sets);
        plan.bind_addrs.extend(self.bind);
        plan.services.extend(self.services);
    }
}
