//! kube-proxy's IPVS-mode iptables rules (`writeIptablesRules` in
//! pkg/proxy/ipvs/proxier.go), as `iptables-restore --noflush` input.
//!
//! The jump rules from the built-in chains are not part of the restore text
//! (kube-proxy ensures them one by one with `-I`); they are listed in
//! [`JUMP_RULES`] for the writer.

use std::{collections::BTreeMap, fmt::Write, net::IpAddr};

use ipset_netlink::SetType;

use super::{IpFamily, IptablesPlan, PlannedSet, ipsets::*};
use crate::{config::ProxyConfig, model::Protocol};

/// One jump from a built-in chain to a kube-proxy chain, ensured with
/// `-I FROM -m comment --comment COMMENT -j TO` (`-t TABLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JumpRule {
    /// `nat` or `filter`.
    pub table: &'static str,
    /// The built-in chain.
    pub from: &'static str,
    /// The kube-proxy chain.
    pub to: &'static str,
    /// The comment.
    pub comment: &'static str,
}

const fn jump(
    table: &'static str,
    from: &'static str,
    to: &'static str,
    comment: &'static str,
) -> JumpRule {
    JumpRule {
        table,
        from,
        to,
        comment,
    }
}

/// kube-proxy's `iptablesJumpChain`, in order.
pub const JUMP_RULES: [JumpRule; 9] = [
    jump(
        "nat",
        "OUTPUT",
        "KUBE-SERVICES",
        "kubernetes service portals",
    ),
    jump(
        "nat",
        "PREROUTING",
        "KUBE-SERVICES",
        "kubernetes service portals",
    ),
    jump(
        "nat",
        "POSTROUTING",
        "KUBE-POSTROUTING",
        "kubernetes postrouting rules",
    ),
    jump(
        "filter",
        "FORWARD",
        "KUBE-FORWARD",
        "kubernetes forwarding rules",
    ),
    jump(
        "filter",
        "INPUT",
        "KUBE-NODE-PORT",
        "kubernetes health check rules",
    ),
    jump(
        "filter",
        "INPUT",
        "KUBE-PROXY-FIREWALL",
        "kube-proxy firewall rules",
    ),
    jump(
        "filter",
        "FORWARD",
        "KUBE-PROXY-FIREWALL",
        "kube-proxy firewall rules",
    ),
    jump(
        "filter",
        "INPUT",
        "KUBE-IPVS-FILTER",
        "kubernetes ipvs access filter",
    ),
    jump(
        "filter",
        "OUTPUT",
        "KUBE-IPVS-OUT-FILTER",
        "kubernetes ipvs access filter",
    ),
];

/// kube-proxy's chains in the nat table, in declaration order.
pub const NAT_CHAINS: [&str; 5] = [
    "KUBE-SERVICES",
    "KUBE-POSTROUTING",
    "KUBE-NODE-PORT",
    "KUBE-LOAD-BALANCER",
    "KUBE-MARK-MASQ",
];

/// kube-proxy's chains in the filter table, in declaration order.
pub const FILTER_CHAINS: [&str; 6] = [
    "KUBE-FORWARD",
    "KUBE-NODE-PORT",
    "KUBE-PROXY-FIREWALL",
    "KUBE-SOURCE-RANGES-FIREWALL",
    "KUBE-IPVS-FILTER",
    "KUBE-IPVS-OUT-FILTER",
];

/// kube-proxy's `ipsetWithIptablesChain`: set, table is filter, from
/// chain, target, match type, protocol match.
/// One `ipsetWithIptablesChain` row.
type SetRule = (
    &'static str,
    bool,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);

const SET_RULES: [SetRule; 12] = [
    (
        LOOP_BACK,
        false,
        "KUBE-POSTROUTING",
        "MASQUERADE",
        "dst,dst,src",
        None,
    ),
    (
        LOAD_BALANCER,
        false,
        "KUBE-SERVICES",
        "KUBE-LOAD-BALANCER",
        "dst,dst",
        None,
    ),
    (
        LOAD_BALANCER_LOCAL,
        false,
        "KUBE-LOAD-BALANCER",
        "RETURN",
        "dst,dst",
        None,
    ),
    (
        NODE_PORT_LOCAL_TCP,
        false,
        "KUBE-NODE-PORT",
        "RETURN",
        "dst",
        Some("tcp"),
    ),
    (
        NODE_PORT_TCP,
        false,
        "KUBE-NODE-PORT",
        "KUBE-MARK-MASQ",
        "dst",
        Some("tcp"),
    ),
    (
        NODE_PORT_LOCAL_UDP,
        false,
        "KUBE-NODE-PORT",
        "RETURN",
        "dst",
        Some("udp"),
    ),
    (
        NODE_PORT_UDP,
        false,
        "KUBE-NODE-PORT",
        "KUBE-MARK-MASQ",
        "dst",
        Some("udp"),
    ),
    (
        NODE_PORT_LOCAL_SCTP,
        false,
        "KUBE-NODE-PORT",
        "RETURN",
        "dst,dst",
        Some("sctp"),
    ),
    (
        NODE_PORT_SCTP,
        false,
        "KUBE-NODE-PORT",
        "KUBE-MARK-MASQ",
        "dst,dst",
        Some("sctp"),
    ),
    (
        LOAD_BALANCER_FW,
        true,
        "KUBE-PROXY-FIREWALL",
        "KUBE-SOURCE-RANGES-FIREWALL",
        "dst,dst",
        None,
    ),
    (
        LOAD_BALANCER_SOURCE_CIDR,
        true,
        "KUBE-SOURCE-RANGES-FIREWALL",
        "RETURN",
        "dst,dst,src",
        None,
    ),
    (
        LOAD_BALANCER_SOURCE_IP,
        true,
        "KUBE-SOURCE-RANGES-FIREWALL",
        "RETURN",
        "dst,dst,src",
        None,
    ),
];

/// A load-balancer address the node itself must not reach (no source range
/// covers the node IP): `-m ipvs` DROP in `KUBE-IPVS-OUT-FILTER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct NoNodeAccess {
    /// The load-balancer IP.
    pub ip: IpAddr,
    /// The protocol.
    pub protocol: Protocol,
    /// The service port.
    pub port: u16,
}

/// The rules of one family. `sets` holds that family's sets (by their
/// family name); a `-m set` rule is written only when its set is
/// non-empty, except the fixed `KUBE-IPVS-FILTER` and health-check rules.
pub fn rules(
    family: IpFamily,
    sets: &BTreeMap<String, PlannedSet>,
    no_node_access: &[NoNodeAccess],
    config: &ProxyConfig,
) -> IptablesPlan {
    let name = |base: &str| set_name(base, family);
    let non_empty = |base: &str| sets.get(&name(base)).is_some_and(|s| !s.entries.is_empty());
    let comment = |base: &str| def_of(base).map(|d| d.comment).unwrap_or_default();
    let mark = format!("0x{:08x}", config.masquerade_mark());

    let mut nat = String::from("*nat\n");
    let mut filter = String::from("*filter\n");
    for chain in NAT_CHAINS {
        let _ = writeln!(nat, ":{chain} - [0:0]");
    }
    for chain in FILTER_CHAINS {
        let _ = writeln!(filter, ":{chain} - [0:0]");
    }
    let lo = match family {
        IpFamily::V4 => "127.0.0.0/8",
        IpFamily::V6 => "::1/128",
    };
    let _ = writeln!(nat, "-A KUBE-SERVICES -s {lo} -j RETURN");
    for (set, in_filter, from, to, match_type, proto) in SET_RULES {
        if !non_empty(set) {
            continue;
        }
        let out = if in_filter { &mut filter } else { &mut nat };
        let proto = proto.map(|p| format!(" -p {p}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "-A {from}{proto} -m comment --comment \"{}\" -m set --match-set {} {match_type} -j {to}",
            comment(set),
            name(set)
        );
    }
    if non_empty(CLUSTER_IP) {
        let head = format!(
            "-A KUBE-SERVICES -m comment --comment \"{}\" -m set --match-set {}",
            comment(CLUSTER_IP),
            name(CLUSTER_IP)
        );
        let _ = match (config.masquerade_all, config.cluster_cidr(family)) {
            (true, _) => writeln!(nat, "{head} dst,dst -j KUBE-MARK-MASQ"),
            (false, Some(cidr)) => writeln!(nat, "{head} dst,dst ! -s {cidr} -j KUBE-MARK-MASQ"),
            (false, None) => writeln!(nat, "{head} src,dst -j KUBE-MARK-MASQ"),
        };
    }
    let external_rules = |nat: &mut String, head: &str| {
        let _ = writeln!(
            nat,
            "{head} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT"
        );
        let _ = writeln!(nat, "{head} -m addrtype --dst-type LOCAL -j ACCEPT");
    };
    for (set, masquerade) in [(EXTERNAL_IP, true), (EXTERNAL_IP_LOCAL, false)] {
        if non_empty(set) {
            let head = format!(
                "-A KUBE-SERVICES -m comment --comment \"{}\" -m set --match-set {} dst,dst",
                comment(set),
                name(set)
            );
            if masquerade {
                let _ = writeln!(nat, "{head} -j KUBE-MARK-MASQ");
            }
            external_rules(&mut nat, &head);
        }
    }
    nat.push_str("-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT\n");
    nat.push_str("-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ\n");
    filter.push_str("-A KUBE-SOURCE-RANGES-FIREWALL -j DROP\n");
    for entry in no_node_access {
        let _ = writeln!(
            filter,
            "-A KUBE-IPVS-OUT-FILTER -s {ip} -m ipvs --vaddr {ip} --vproto {} --vport {} -j DROP",
            entry.protocol.lower(),
            entry.port,
            ip = entry.ip
        );
    }
    for set in [CLUSTER_IP, LOAD_BALANCER] {
        if non_empty(set) {
            let _ = writeln!(
                nat,
                "-A KUBE-SERVICES -m set --match-set {} dst,dst -j ACCEPT",
                name(set)
            );
        }
    }
    let _ = writeln!(
        filter,
        "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark {mark}/{mark} -j ACCEPT"
    );
    filter.push_str(
        "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n",
    );
    let _ = writeln!(
        filter,
        "-A KUBE-NODE-PORT -m comment --comment \"{}\" -m set --match-set {} dst -j ACCEPT",
        comment(HEALTH_CHECK_NODE_PORT),
        name(HEALTH_CHECK_NODE_PORT)
    );
    for set in [
        LOAD_BALANCER,
        CLUSTER_IP,
        EXTERNAL_IP,
        EXTERNAL_IP_LOCAL,
        HEALTH_CHECK_NODE_PORT,
    ] {
        let match_type = if def_of(set).is_some_and(|d| d.set_type == SetType::BitmapPort) {
            "dst"
        } else {
            "dst,dst"
        };
        let _ = writeln!(
            filter,
            "-A KUBE-IPVS-FILTER -m set --match-set {} {match_type} -j RETURN",
            name(set)
        );
    }
    let _ = writeln!(
        filter,
        "-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set {} dst -j REJECT",
        name(IPVS_IPS)
    );
    let _ = writeln!(
        nat,
        "-A KUBE-POSTROUTING -m mark ! --mark {mark}/{mark} -j RETURN"
    );
    let _ = writeln!(nat, "-A KUBE-POSTROUTING -j MARK --xor-mark {mark}");
    let random = if config.random_fully {
        " --random-fully"
    } else {
        ""
    };
    let _ = writeln!(
        nat,
        "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE{random}"
    );
    let _ = writeln!(nat, "-A KUBE-MARK-MASQ -j MARK --or-mark {mark}");
    nat.push_str("COMMIT\n");
    filter.push_str("COMMIT\n");
    IptablesPlan { nat, filter }
}
