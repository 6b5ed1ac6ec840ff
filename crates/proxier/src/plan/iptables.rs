//! kube-proxy's IPVS-mode iptables rules (`writeIptablesRules` in
//! pkg/proxy/ipvs/proxier.go), as structured rules
//! ([`super::rules`]) that the writer renders to
//! `iptables-restore --noflush` input.
//!
//! kube-proxy's chains are named in [`crate::catalogue::iptables`]. The
//! jump rules from the built-in chains ([`JUMP_RULES`]; kube-proxy
//! ensures them one by one with `-I`) go into each table's
//! [`TableRules::jumps`]: the writer inserts the missing ones.

use std::{collections::BTreeMap, net::IpAddr};

use ipset_netlink::SetType;
use ipvs_netlink::{Family, Protocol};

use super::{
    IptablesPlan, PlannedSet,
    rules::{Match, Rule, Table, TableRules, Target},
};

use crate::{
    catalogue::{
        ipsets::*,
        iptables::{FILTER_CHAINS, JUMP_RULES, JumpRule, NAT_CHAINS},
    },
    config::ProxyConfig,
};

impl From<&JumpRule> for Rule {
    /// The jump as a rule of its built-in chain.
    fn from(jump: &JumpRule) -> Self {
        Rule::new(
            jump.from,
            vec![Match::Comment(jump.comment)],
            Target::Jump(jump.to),
        )
    }
}

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

fn set(name: String, flags: &'static str) -> Match {
    Match::Set { name, flags }
}

fn source(addr: impl ToString, negated: bool) -> Match {
    Match::Source {
        addr: addr.to_string(),
        negated,
    }
}

const fn addrtype(source: bool, negated: bool) -> Match {
    Match::AddrType {
        source,
        kind: "LOCAL",
        negated,
    }
}

/// Appends a rule to a table.
fn push(table: &mut TableRules, chain: &'static str, matches: Vec<Match>, target: Target) {
    table.rules.push(Rule::new(chain, matches, target));
}

/// A table with kube-proxy's chains declared and its jumps.
fn table(table: Table, chains: &[&'static str]) -> TableRules {
    TableRules {
        table,
        chains: chains.to_vec(),
        rules: Vec::new(),
        jumps: JUMP_RULES
            .iter()
            .filter(|j| j.table == table.name())
            .map(Rule::from)
            .collect(),
    }
}

/// The rules of one family. `sets` holds that family's sets (by their
/// family name); a `-m set` rule is written only when its set is
/// non-empty, except the fixed `KUBE-IPVS-FILTER` and health-check rules.
pub fn rules(
    family: Family,
    sets: &BTreeMap<String, PlannedSet>,
    no_node_access: &[NoNodeAccess],
    config: &ProxyConfig,
) -> IptablesPlan {
    let name = |base: &str| set_name(base, family);
    let non_empty = |base: &str| sets.get(&name(base)).is_some_and(|s| !s.entries.is_empty());
    let comment = |base: &str| def_of(base).map(|d| d.comment).unwrap_or_default();
    let mark = config.masquerade_mark();

    let mut nat = table(Table::Nat, &NAT_CHAINS);
    let mut filter = table(Table::Filter, &FILTER_CHAINS);
    let lo = match family {
        Family::Inet => "127.0.0.0/8",
        Family::Inet6 => "::1/128",
    };
    push(
        &mut nat,
        "KUBE-SERVICES",
        vec![source(lo, false)],
        Target::Jump("RETURN"),
    );
    for (set_base, in_filter, from, to, flags, proto) in SET_RULES {
        if !non_empty(set_base) {
            continue;
        }
        let out = if in_filter { &mut filter } else { &mut nat };
        let mut matches: Vec<Match> = proto.map(Match::Protocol).into_iter().collect();
        matches.push(Match::Comment(comment(set_base)));
        matches.push(set(name(set_base), flags));
        push(out, from, matches, Target::Jump(to));
    }
    if non_empty(CLUSTER_IP) {
        let head = Match::Comment(comment(CLUSTER_IP));
        let matches = match (config.masquerade_all, config.cluster_cidr(family)) {
            (true, _) => vec![head, set(name(CLUSTER_IP), "dst,dst")],
            (false, Some(cidr)) => vec![head, set(name(CLUSTER_IP), "dst,dst"), source(cidr, true)],
            (false, None) => vec![head, set(name(CLUSTER_IP), "src,dst")],
        };
        push(
            &mut nat,
            "KUBE-SERVICES",
            matches,
            Target::Jump("KUBE-MARK-MASQ"),
        );
    }
    for (set_base, masquerade) in [(EXTERNAL_IP, true), (EXTERNAL_IP_LOCAL, false)] {
        if non_empty(set_base) {
            let head = vec![
                Match::Comment(comment(set_base)),
                set(name(set_base), "dst,dst"),
            ];
            let with = |extra: &[Match]| [head.clone(), extra.to_vec()].concat();
            if masquerade {
                push(
                    &mut nat,
                    "KUBE-SERVICES",
                    head.clone(),
                    Target::Jump("KUBE-MARK-MASQ"),
                );
            }
            push(
                &mut nat,
                "KUBE-SERVICES",
                with(&[Match::NotBridged, addrtype(true, true)]),
                Target::Jump("ACCEPT"),
            );
            push(
                &mut nat,
                "KUBE-SERVICES",
                with(&[addrtype(false, false)]),
                Target::Jump("ACCEPT"),
            );
        }
    }
    push(
        &mut nat,
        "KUBE-SERVICES",
        vec![addrtype(false, false)],
        Target::Jump("KUBE-NODE-PORT"),
    );
    push(
        &mut nat,
        "KUBE-LOAD-BALANCER",
        vec![],
        Target::Jump("KUBE-MARK-MASQ"),
    );
    push(
        &mut filter,
        "KUBE-SOURCE-RANGES-FIREWALL",
        vec![],
        Target::Jump("DROP"),
    );
    for entry in no_node_access {
        push(
            &mut filter,
            "KUBE-IPVS-OUT-FILTER",
            vec![
                source(entry.ip, false),
                Match::Ipvs {
                    vaddr: entry.ip,
                    vproto: entry.protocol,
                    vport: entry.port,
                },
            ],
            Target::Jump("DROP"),
        );
    }
    for set_base in [CLUSTER_IP, LOAD_BALANCER] {
        if non_empty(set_base) {
            push(
                &mut nat,
                "KUBE-SERVICES",
                vec![set(name(set_base), "dst,dst")],
                Target::Jump("ACCEPT"),
            );
        }
    }
    push(
        &mut filter,
        "KUBE-FORWARD",
        vec![
            Match::Comment("kubernetes forwarding rules"),
            Match::Mark {
                mark,
                negated: false,
            },
        ],
        Target::Jump("ACCEPT"),
    );
    push(
        &mut filter,
        "KUBE-FORWARD",
        vec![
            Match::Comment("kubernetes forwarding conntrack rule"),
            Match::CtState("RELATED,ESTABLISHED"),
        ],
        Target::Jump("ACCEPT"),
    );
    push(
        &mut filter,
        "KUBE-NODE-PORT",
        vec![
            Match::Comment(comment(HEALTH_CHECK_NODE_PORT)),
            set(name(HEALTH_CHECK_NODE_PORT), "dst"),
        ],
        Target::Jump("ACCEPT"),
    );
    for set_base in [
        LOAD_BALANCER,
        CLUSTER_IP,
        EXTERNAL_IP,
        EXTERNAL_IP_LOCAL,
        HEALTH_CHECK_NODE_PORT,
    ] {
        let flags = if def_of(set_base).is_some_and(|d| d.set_type == SetType::BitmapPort) {
            "dst"
        } else {
            "dst,dst"
        };
        push(
            &mut filter,
            "KUBE-IPVS-FILTER",
            vec![set(name(set_base), flags)],
            Target::Jump("RETURN"),
        );
    }
    push(
        &mut filter,
        "KUBE-IPVS-FILTER",
        vec![Match::CtState("NEW"), set(name(IPVS_IPS), "dst")],
        Target::Jump("REJECT"),
    );
    push(
        &mut nat,
        "KUBE-POSTROUTING",
        vec![Match::Mark {
            mark,
            negated: true,
        }],
        Target::Jump("RETURN"),
    );
    push(&mut nat, "KUBE-POSTROUTING", vec![], Target::XorMark(mark));
    push(
        &mut nat,
        "KUBE-POSTROUTING",
        vec![Match::Comment("kubernetes service traffic requiring SNAT")],
        Target::Masquerade {
            random_fully: config.random_fully,
        },
    );
    push(&mut nat, "KUBE-MARK-MASQ", vec![], Target::OrMark(mark));
    IptablesPlan { nat, filter }
}
