//! [`NodeContext`]: what the planner knows about its own node.

use std::{collections::BTreeMap, net::IpAddr};

use k8s_openapi::api::core::v1::Node;

use ipvs_netlink::Family;

/// The node label holding its zone.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// The node the plan is for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeContext {
    /// The node name (endpoints with this `nodeName` are local).
    pub name: String,
    /// The node's labels (for the zone).
    pub labels: BTreeMap<String, String>,
    /// The node's local addresses not on `kube-ipvs0`: NodePort virtual
    /// servers listen on (some of) them; an external or load-balancer IP
    /// among them is not bound to `kube-ipvs0`, a ClusterIP among them is
    /// refused ([`NodeContext::owns`]).
    pub node_ips: Vec<IpAddr>,
    /// The node's primary address per family (kube-proxy's `nodeIPs`):
    /// `--nodeport-addresses primary`, and the load-balancer source-range
    /// check.
    pub primary_ips: Vec<IpAddr>,
}

impl NodeContext {
    /// A node with a name and nothing else.
    pub fn new(name: impl Into<String>) -> Self {
        NodeContext {
            name: name.into(),
            ..NodeContext::default()
        }
    }

    /// The zone label, if any.
    pub fn zone(&self) -> Option<&str> {
        self.labels.get(ZONE_LABEL).map(String::as_str)
    }

    /// Whether `ip` is one of the node's own addresses (a local address or
    /// a primary IP).
    pub fn owns(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.node_ips
            .iter()
            .chain(&self.primary_ips)
            .any(|own| own.to_canonical() == ip)
    }

    /// The primary address of a family.
    pub fn primary_ip(&self, family: Family) -> Option<IpAddr> {
        self.primary_ips
            .iter()
            .copied()
            .find(|ip| Family::of(*ip) == family)
    }
}

/// Where the node's addresses come from, in kube-proxy's order.
#[derive(Debug, Clone, Copy, Default)]
pub struct AddressSources<'a> {
    /// `bindAddress` / `--bind-address`, when not unspecified: the primary
    /// IP of its family, before the Node's.
    pub bind_address: Option<IpAddr>,
    /// `--node-ip` (ours): primary IPs (the first of each family) and the
    /// NodePort addresses.
    pub node_ips: &'a [IpAddr],
    /// The kernel's local addresses not on `kube-ipvs0` (run mode); `None`
    /// when the kernel is not read (plan mode).
    pub kernel: Option<&'a [IpAddr]>,
}

impl NodeContext {
    /// The node context of `name`, the same way in `plan` and `run`:
    ///
    /// * labels from the Node object;
    /// * the primary IP of each family: `bindAddress` when it is not
    ///   unspecified (it overrides its family's), else the Node object's
    ///   `InternalIP` (then `ExternalIP`) addresses (kube-proxy's
    ///   `detectNodeIPs`); without those, `--node-ip` (ours), else the
    ///   kernel's first address (kube-proxy falls back to loopback, which
    ///   matches no source range and no node port address);
    /// * the NodePort addresses: the configured `--node-ip` addresses when
    ///   given (an explicit override), else every local address the kernel
    ///   has (kube-proxy), else — without a kernel — the Node's addresses.
    pub fn resolve(name: &str, node: Option<&Node>, sources: AddressSources<'_>) -> NodeContext {
        let mut context = NodeContext::new(name);
        if let Some(node) = node {
            context.labels = node.metadata.labels.clone().unwrap_or_default();
        }
        let from_node = node.map(node_addresses).unwrap_or_default();
        let kernel = sources.kernel.unwrap_or_default();
        let bind: Vec<IpAddr> = sources.bind_address.into_iter().collect();
        for family in Family::ALL {
            let first = |ips: &[IpAddr]| {
                ips.iter()
                    .copied()
                    .find(|ip| Family::of(*ip) == family && !ip.is_loopback())
            };
            if let Some(ip) = first(&bind)
                .or_else(|| first(&from_node))
                .or_else(|| first(sources.node_ips))
                .or_else(|| first(kernel))
            {
                context.primary_ips.push(ip);
            }
        }
        context.node_ips = if !sources.node_ips.is_empty() {
            sources.node_ips.to_vec()
        } else if let Some(kernel) = sources.kernel {
            kernel.to_vec()
        } else {
            from_node
        };
        context
    }
}

/// The Node's addresses as kube-proxy compares them (`InternalIP` and
/// `ExternalIP`, in order).
pub fn node_addresses(node: &Node) -> Vec<IpAddr> {
    let addresses = node
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_deref())
        .unwrap_or_default();
    let mut ips = Vec::new();
    for wanted in ["InternalIP", "ExternalIP"] {
        for address in addresses.iter().filter(|a| a.type_ == wanted) {
            if let Ok(ip) = address.address.trim().parse::<IpAddr>()
                && !ips.contains(&ip)
            {
                ips.push(ip);
            }
        }
    }
    ips
}

/// The Node's host IPs as kube-proxy's `GetNodeHostIPs` gives them: the
/// first of [`node_addresses`], then the first of the other family, if
/// any. kube-proxy exits when these change.
pub fn node_host_ips(node: &Node) -> Vec<IpAddr> {
    let all = node_addresses(node);
    let mut ips: Vec<IpAddr> = all.first().copied().into_iter().collect();
    if let Some(first) = ips.first().copied()
        && let Some(other) = all.iter().find(|ip| Family::of(**ip) != Family::of(first))
    {
        ips.push(*other);
    }
    ips
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{NodeAddress, NodeStatus};

    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|ip| ip.parse().unwrap()).collect()
    }

    fn node(addresses: &[(&str, &str)]) -> Node {
        Node {
            status: Some(NodeStatus {
                addresses: Some(
                    addresses
                        .iter()
                        .map(|(type_, address)| NodeAddress {
                            type_: (*type_).to_owned(),
                            address: (*address).to_owned(),
                        })
                        .collect(),
                ),
                ..NodeStatus::default()
            }),
            ..Node::default()
        }
    }

    fn primary(node: Option<&Node>, bind: Option<&str>, node_ips: &[IpAddr]) -> Vec<IpAddr> {
        let kernel = ips(&["10.9.9.9"]);
        NodeContext::resolve(
            "n",
            node,
            AddressSources {
                bind_address: bind.map(|b| b.parse().unwrap()),
                node_ips,
                kernel: Some(&kernel),
            },
        )
        .primary_ips
    }

    #[test]
    fn bind_address_then_the_node_then_ours() {
        let dual = node(&[
            ("InternalIP", "192.168.1.10"),
            ("InternalIP", "fd00::10"),
            ("ExternalIP", "203.0.113.10"),
        ]);
        // kube-proxy's detectNodeIPs: bindAddress overrides its family.
        assert_eq!(
            primary(Some(&dual), Some("10.0.0.5"), &[]),
            ips(&["10.0.0.5", "fd00::10"])
        );
        assert_eq!(
            primary(Some(&dual), None, &ips(&["10.1.1.1"])),
            ips(&["192.168.1.10", "fd00::10"])
        );
        // No Node addresses: --node-ip, then the kernel.
        assert_eq!(
            primary(Some(&node(&[])), None, &ips(&["10.1.1.1"])),
            ips(&["10.1.1.1"])
        );
        assert_eq!(primary(None, None, &[]), ips(&["10.9.9.9"]));
    }

    #[test]
    fn host_ips_are_the_first_of_each_family() {
        let n = node(&[
            ("Hostname", "n"),
            ("ExternalIP", "203.0.113.10"),
            ("InternalIP", "192.168.1.10"),
            ("InternalIP", "192.168.1.11"),
            ("InternalIP", "fd00::10"),
        ]);
        assert_eq!(node_host_ips(&n), ips(&["192.168.1.10", "fd00::10"]));
        let external = node(&[("ExternalIP", "203.0.113.10")]);
        assert_eq!(node_host_ips(&external), ips(&["203.0.113.10"]));
        assert!(node_host_ips(&node(&[])).is_empty());
    }
}
