//! kube-proxy's ipsets: names, types and comments (pkg/proxy/ipvs/ipset.go).

use ipvs_netlink::Family;

use ipset_netlink::SetType;

/// One kube-proxy ipset, by its IPv4 name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetDef {
    /// The IPv4 name (IPv6: see [`set_name`]).
    pub name: &'static str,
    /// The set type.
    pub set_type: SetType,
    /// kube-proxy's comment.
    pub comment: &'static str,
}

/// `KUBE-LOOP-BACK`.
pub const LOOP_BACK: &str = "KUBE-LOOP-BACK";
/// `KUBE-CLUSTER-IP`.
pub const CLUSTER_IP: &str = "KUBE-CLUSTER-IP";
/// `KUBE-EXTERNAL-IP`.
pub const EXTERNAL_IP: &str = "KUBE-EXTERNAL-IP";
/// `KUBE-EXTERNAL-IP-LOCAL`.
pub const EXTERNAL_IP_LOCAL: &str = "KUBE-EXTERNAL-IP-LOCAL";
/// `KUBE-LOAD-BALANCER`.
pub const LOAD_BALANCER: &str = "KUBE-LOAD-BALANCER";
/// `KUBE-LOAD-BALANCER-FW`.
pub const LOAD_BALANCER_FW: &str = "KUBE-LOAD-BALANCER-FW";
/// `KUBE-LOAD-BALANCER-LOCAL`.
pub const LOAD_BALANCER_LOCAL: &str = "KUBE-LOAD-BALANCER-LOCAL";
/// `KUBE-LOAD-BALANCER-SOURCE-IP`.
pub const LOAD_BALANCER_SOURCE_IP: &str = "KUBE-LOAD-BALANCER-SOURCE-IP";
/// `KUBE-LOAD-BALANCER-SOURCE-CIDR`.
pub const LOAD_BALANCER_SOURCE_CIDR: &str = "KUBE-LOAD-BALANCER-SOURCE-CIDR";
/// `KUBE-NODE-PORT-TCP`.
pub const NODE_PORT_TCP: &str = "KUBE-NODE-PORT-TCP";
/// `KUBE-NODE-PORT-LOCAL-TCP`.
pub const NODE_PORT_LOCAL_TCP: &str = "KUBE-NODE-PORT-LOCAL-TCP";
/// `KUBE-NODE-PORT-UDP`.
pub const NODE_PORT_UDP: &str = "KUBE-NODE-PORT-UDP";
/// `KUBE-NODE-PORT-LOCAL-UDP`.
pub const NODE_PORT_LOCAL_UDP: &str = "KUBE-NODE-PORT-LOCAL-UDP";
/// `KUBE-NODE-PORT-SCTP-HASH`.
pub const NODE_PORT_SCTP: &str = "KUBE-NODE-PORT-SCTP-HASH";
/// `KUBE-NODE-PORT-LOCAL-SCTP-HASH`.
pub const NODE_PORT_LOCAL_SCTP: &str = "KUBE-NODE-PORT-LOCAL-SCTP-HASH";
/// `KUBE-HEALTH-CHECK-NODE-PORT`.
pub const HEALTH_CHECK_NODE_PORT: &str = "KUBE-HEALTH-CHECK-NODE-PORT";
/// `KUBE-IPVS-IPS`.
pub const IPVS_IPS: &str = "KUBE-IPVS-IPS";

const fn def(name: &'static str, set_type: SetType, comment: &'static str) -> SetDef {
    SetDef {
        name,
        set_type,
        comment,
    }
}

/// Every set, in kube-proxy's `ipsetInfo` order.
pub const SETS: [SetDef; 17] = [
    def(
        LOOP_BACK,
        SetType::HashIpPortIp,
        "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose",
    ),
    def(
        CLUSTER_IP,
        SetType::HashIpPort,
        "Kubernetes service cluster ip + port for masquerade purpose",
    ),
    def(
        EXTERNAL_IP,
        SetType::HashIpPort,
        "Kubernetes service external ip + port for masquerade and filter purpose",
    ),
    def(
        EXTERNAL_IP_LOCAL,
        SetType::HashIpPort,
        "Kubernetes service external ip + port with externalTrafficPolicy=local",
    ),
    def(
        LOAD_BALANCER,
        SetType::HashIpPort,
        "Kubernetes service lb portal",
    ),
    def(
        LOAD_BALANCER_FW,
        SetType::HashIpPort,
        "Kubernetes service load balancer ip + port for load balancer with sourceRange",
    ),
    def(
        LOAD_BALANCER_LOCAL,
        SetType::HashIpPort,
        "Kubernetes service load balancer ip + port with externalTrafficPolicy=local",
    ),
    def(
        LOAD_BALANCER_SOURCE_IP,
        SetType::HashIpPortIp,
        "Kubernetes service load balancer ip + port + source IP for packet filter purpose",
    ),
    def(
        LOAD_BALANCER_SOURCE_CIDR,
        SetType::HashIpPortNet,
        "Kubernetes service load balancer ip + port + source cidr for packet filter purpose",
    ),
    def(
        NODE_PORT_TCP,
        SetType::BitmapPort,
        "Kubernetes nodeport TCP port for masquerade purpose",
    ),
    def(
        NODE_PORT_LOCAL_TCP,
        SetType::BitmapPort,
        "Kubernetes nodeport TCP port with externalTrafficPolicy=local",
    ),
    def(
        NODE_PORT_UDP,
        SetType::BitmapPort,
        "Kubernetes nodeport UDP port for masquerade purpose",
    ),
    def(
        NODE_PORT_LOCAL_UDP,
        SetType::BitmapPort,
        "Kubernetes nodeport UDP port with externalTrafficPolicy=local",
    ),
    def(
        NODE_PORT_SCTP,
        SetType::HashIpPort,
        "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'",
    ),
    def(
        NODE_PORT_LOCAL_SCTP,
        SetType::HashIpPort,
        "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'",
    ),
    def(
        HEALTH_CHECK_NODE_PORT,
        SetType::BitmapPort,
        "Kubernetes health check node port",
    ),
    def(IPVS_IPS, SetType::HashIp, "Addresses on the ipvs interface"),
];

/// The name of a set in a family: IPv6 sets replace `KUBE-` by `KUBE-6-`
/// and are cut to ipset's 31 characters, like kube-proxy's `NewIPSet`.
pub fn set_name(name: &str, family: Family) -> String {
    match (family, name.strip_prefix("KUBE-")) {
        (Family::Inet6, Some(rest)) => {
            let mut v6 = format!("KUBE-6-{rest}");
            v6.truncate(31);
            v6
        }
        _ => name.to_owned(),
    }
}

/// The definition of a set by its IPv4 name.
pub fn def_of(name: &str) -> Option<&'static SetDef> {
    SETS.iter().find(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_names() {
        assert_eq!(set_name(CLUSTER_IP, Family::Inet), "KUBE-CLUSTER-IP");
        assert_eq!(set_name(CLUSTER_IP, Family::Inet6), "KUBE-6-CLUSTER-IP");
        assert_eq!(
            set_name(NODE_PORT_LOCAL_SCTP, Family::Inet6),
            "KUBE-6-NODE-PORT-LOCAL-SCTP-HAS"
        );
        assert_eq!(
            set_name(LOAD_BALANCER_SOURCE_CIDR, Family::Inet6),
            "KUBE-6-LOAD-BALANCER-SOURCE-CID"
        );
        assert!(
            SETS.iter()
                .all(|d| set_name(d.name, Family::Inet6).len() <= 31)
        );
    }
}
