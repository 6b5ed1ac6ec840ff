//! [`NodeContext`]: what the planner knows about its own node.

use std::{collections::BTreeMap, net::IpAddr};

use k8s_openapi::api::core::v1::Node;

use crate::plan::IpFamily;

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
    /// servers listen on (some of) them, and external / load-balancer IPs
    /// already among them are not bound to `kube-ipvs0`.
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

    /// The primary address of a family.
    pub fn primary_ip(&self, family: IpFamily) -> Option<IpAddr> {
        self.primary_ips
            .iter()
            .copied()
            .find(|ip| IpFamily::of(*ip) == family)
    }

    /// Fills in what is still empty from the Node object of this node (if
    /// `nodes` has one with this name): its labels, and its `InternalIP`
    /// addresses (then `ExternalIP`) as primary and node addresses.
    pub fn complete_from(&mut self, nodes: &[Node]) {
        let Some(node) = nodes
            .iter()
            .find(|n| n.metadata.name.as_deref() == Some(self.name.as_str()))
        else {
            return;
        };
        if self.labels.is_empty() {
            self.labels = node.metadata.labels.clone().unwrap_or_default();
        }
        let addresses = node
            .status
            .as_ref()
            .and_then(|s| s.addresses.as_ref())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut ips: Vec<IpAddr> = Vec::new();
        for wanted in ["InternalIP", "ExternalIP"] {
            for address in addresses.iter().filter(|a| a.type_ == wanted) {
                if let Ok(ip) = address.address.trim().parse::<IpAddr>()
                    && !ips.contains(&ip)
                {
                    ips.push(ip);
                }
            }
        }
        if self.primary_ips.is_empty() {
            for family in IpFamily::ALL {
                if let Some(ip) = ips.iter().find(|ip| IpFamily::of(**ip) == family) {
                    self.primary_ips.push(*ip);
                }
            }
        }
        if self.node_ips.is_empty() {
            self.node_ips = ips;
        }
    }
}
