//! Structured iptables rules and their one renderer: `iptables-restore`
//! input. The planner builds these values (the plan's
//! [`IptablesPlan`](super::IptablesPlan)); the iptables writer
//! ([`crate::kernel::iptables`]) takes them from here, renders and applies
//! them. No other code writes rule text.

use std::{fmt::Write, net::IpAddr};

use ipvs_netlink::Protocol;

/// An iptables table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// `nat`.
    Nat,
    /// `filter`.
    Filter,
}

impl Table {
    /// Both tables, in restore order.
    pub const ALL: [Table; 2] = [Table::Nat, Table::Filter];

    /// The table's name (`nat`, `filter`).
    pub fn name(self) -> &'static str {
        match self {
            Table::Nat => "nat",
            Table::Filter => "filter",
        }
    }
}

/// One match of a rule, rendered in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// `-s ADDR` (`! -s ADDR` when negated); an address or a CIDR.
    Source {
        /// The address or network, as iptables takes it.
        addr: String,
        /// Whether the match is negated.
        negated: bool,
    },
    /// `-p PROTO`.
    Protocol(&'static str),
    /// `-m comment --comment "TEXT"`.
    Comment(&'static str),
    /// `-m set --match-set NAME FLAGS`.
    Set {
        /// The ipset.
        name: String,
        /// The direction flags (`dst`, `dst,dst`, `dst,dst,src`, ...).
        flags: &'static str,
    },
    /// `-m physdev ! --physdev-is-in`.
    NotBridged,
    /// `-m addrtype [!] --src-type|--dst-type TYPE`.
    AddrType {
        /// `--src-type` (true) or `--dst-type`.
        source: bool,
        /// The address type (`LOCAL`).
        kind: &'static str,
        /// Whether the match is negated.
        negated: bool,
    },
    /// `-m mark [!] --mark MARK/MARK`.
    Mark {
        /// The mark bit(s), also the mask.
        mark: u32,
        /// Whether the match is negated.
        negated: bool,
    },
    /// `-m conntrack --ctstate STATES`.
    CtState(&'static str),
    /// `-m ipvs --vaddr ADDR --vproto PROTO --vport PORT`.
    Ipvs {
        /// The virtual address.
        vaddr: IpAddr,
        /// The protocol (`tcp`).
        vproto: Protocol,
        /// The virtual port.
        vport: u16,
    },
}

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `-j NAME`: a chain or a plain verdict (`RETURN`, `ACCEPT`, `DROP`,
    /// `REJECT`).
    Jump(&'static str),
    /// `-j MASQUERADE [--random-fully]`.
    Masquerade {
        /// `--random-fully`.
        random_fully: bool,
    },
    /// `-j MARK --or-mark MARK`.
    OrMark(u32),
    /// `-j MARK --xor-mark MARK`.
    XorMark(u32),
}

impl Target {
    /// The name after `-j`.
    pub fn name(self) -> &'static str {
        match self {
            Target::Jump(name) => name,
            Target::Masquerade { .. } => "MASQUERADE",
            Target::OrMark(_) | Target::XorMark(_) => "MARK",
        }
    }
}

/// One rule of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The chain it belongs to.
    pub chain: &'static str,
    /// Its matches, in order.
    pub matches: Vec<Match>,
    /// Its target.
    pub target: Target,
}

/// How a rule line adds its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `-A` (append).
    Append,
    /// `-I` (insert first).
    Insert,
}

/// The mark format kube-proxy uses (`0x00004000`).
fn hex(mark: u32) -> String {
    format!("0x{mark:08x}")
}

fn not(negated: bool) -> &'static str {
    if negated { " !" } else { "" }
}

impl Rule {
    /// A rule of `chain`.
    pub fn new(chain: &'static str, matches: Vec<Match>, target: Target) -> Self {
        Rule {
            chain,
            matches,
            target,
        }
    }

    /// The restore line (`-A CHAIN ... -j TARGET`).
    pub fn line(&self, op: Op) -> String {
        let mut line = match op {
            Op::Append => format!("-A {}", self.chain),
            Op::Insert => format!("-I {}", self.chain),
        };
        for m in &self.matches {
            let _ = match m {
                Match::Source { addr, negated } => write!(line, "{} -s {addr}", not(*negated)),
                Match::Protocol(proto) => write!(line, " -p {proto}"),
                Match::Comment(text) => write!(line, " -m comment --comment \"{text}\""),
                Match::Set { name, flags } => write!(line, " -m set --match-set {name} {flags}"),
                Match::NotBridged => write!(line, " -m physdev ! --physdev-is-in"),
                Match::AddrType {
                    source,
                    kind,
                    negated,
                } => {
                    let dir = if *source { "src" } else { "dst" };
                    write!(line, " -m addrtype{} --{dir}-type {kind}", not(*negated))
                }
                Match::Mark { mark, negated } => {
                    let mark = hex(*mark);
                    write!(line, " -m mark{} --mark {mark}/{mark}", not(*negated))
                }
                Match::CtState(states) => write!(line, " -m conntrack --ctstate {states}"),
                Match::Ipvs {
                    vaddr,
                    vproto,
                    vport,
                } => write!(
                    line,
                    " -m ipvs --vaddr {vaddr} --vproto {vproto} --vport {vport}"
                ),
            };
        }
        let _ = write!(line, " -j {}", self.target.name());
        let _ = match self.target {
            Target::Jump(_)
            | Target::Masquerade {
                random_fully: false,
            } => Ok(()),
            Target::Masquerade { random_fully: true } => write!(line, " --random-fully"),
            Target::OrMark(mark) => write!(line, " --or-mark {}", hex(mark)),
            Target::XorMark(mark) => write!(line, " --xor-mark {}", hex(mark)),
        };
        line
    }

    /// Whether a saved line (`iptables-save`) is this rule's chain jumping
    /// to this rule's target; matches are not compared.
    pub fn is_saved_as(&self, line: &str) -> bool {
        let words: Vec<&str> = line.split_whitespace().collect();
        words.first() == Some(&"-A")
            && words.get(1) == Some(&self.chain)
            && words.windows(2).any(|w| w == ["-j", self.target.name()])
    }
}

/// One table's part: the chains it declares (each flushed and refilled by
/// a restore), their rules in order, and the jump rules from built-in
/// chains that must exist once (inserted with `-I` when missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRules {
    /// The table.
    pub table: Table,
    /// The declared chains, in order.
    pub chains: Vec<&'static str>,
    /// The rules of those chains, in order.
    pub rules: Vec<Rule>,
    /// The jumps from built-in chains.
    pub jumps: Vec<Rule>,
}

impl TableRules {
    /// An empty part of `table`.
    pub fn new(table: Table) -> Self {
        TableRules {
            table,
            chains: Vec::new(),
            rules: Vec::new(),
            jumps: Vec::new(),
        }
    }

    /// Whether nothing is declared (the table is left alone).
    pub fn is_empty(&self) -> bool {
        self.chains.is_empty() && self.rules.is_empty()
    }

    /// The restore block: `*TABLE`, the chain declarations, the rules,
    /// then `inserts` as `-I` lines, then `COMMIT`.
    pub fn render(&self, inserts: &[&Rule]) -> String {
        let mut out = format!("*{}\n", self.table.name());
        for chain in &self.chains {
            let _ = writeln!(out, ":{chain} - [0:0]");
        }
        for rule in &self.rules {
            out.push_str(&rule.line(Op::Append));
            out.push('\n');
        }
        for rule in inserts {
            out.push_str(&rule.line(Op::Insert));
            out.push('\n');
        }
        out.push_str("COMMIT\n");
        out
    }

    /// The restore block without jumps.
    pub fn text(&self) -> String {
        self.render(&[])
    }
}

/// The rules of one family: the `nat` and `filter` parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IptablesRules {
    /// The `nat` table.
    pub nat: TableRules,
    /// The `filter` table.
    pub filter: TableRules,
}

impl Default for IptablesRules {
    fn default() -> Self {
        IptablesRules {
            nat: TableRules::new(Table::Nat),
            filter: TableRules::new(Table::Filter),
        }
    }
}

impl IptablesRules {
    /// A table's part.
    pub fn table(&self, table: Table) -> &TableRules {
        match table {
            Table::Nat => &self.nat,
            Table::Filter => &self.filter,
        }
    }

    /// A table's part, to fill.
    pub fn table_mut(&mut self, table: Table) -> &mut TableRules {
        match table {
            Table::Nat => &mut self.nat,
            Table::Filter => &mut self.filter,
        }
    }

    /// The restore input of both tables, without the jumps.
    pub fn render(&self) -> String {
        Table::ALL
            .into_iter()
            .filter(|t| !self.table(*t).is_empty())
            .map(|t| self.table(t).text())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_match_and_target_like_kube_proxy() {
        let rule = Rule::new(
            "KUBE-SERVICES",
            vec![
                Match::Comment("Kubernetes service cluster ip + port for masquerade purpose"),
                Match::Set {
                    name: "KUBE-CLUSTER-IP".into(),
                    flags: "dst,dst",
                },
                Match::Source {
                    addr: "10.244.0.0/16".into(),
                    negated: true,
                },
            ],
            Target::Jump("KUBE-MARK-MASQ"),
        );
        assert_eq!(
            rule.line(Op::Append),
            "-A KUBE-SERVICES -m comment --comment \"Kubernetes service cluster ip + port for \
             masquerade purpose\" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 \
             -j KUBE-MARK-MASQ"
        );
        let external = Rule::new(
            "KUBE-SERVICES",
            vec![
                Match::NotBridged,
                Match::AddrType {
                    source: true,
                    kind: "LOCAL",
                    negated: true,
                },
            ],
            Target::Jump("ACCEPT"),
        );
        assert_eq!(
            external.line(Op::Insert),
            "-I KUBE-SERVICES -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT"
        );
        let mark = Rule::new(
            "KUBE-POSTROUTING",
            vec![Match::Mark {
                mark: 0x4000,
                negated: true,
            }],
            Target::Jump("RETURN"),
        );
        assert_eq!(
            mark.line(Op::Append),
            "-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN"
        );
        let ipvs = Rule::new(
            "KUBE-IPVS-OUT-FILTER",
            vec![
                Match::Source {
                    addr: "203.0.113.5".into(),
                    negated: false,
                },
                Match::Ipvs {
                    vaddr: "203.0.113.5".parse().unwrap(),
                    vproto: Protocol::Tcp,
                    vport: 443,
                },
            ],
            Target::Jump("DROP"),
        );
        assert_eq!(
            ipvs.line(Op::Append),
            "-A KUBE-IPVS-OUT-FILTER -s 203.0.113.5 -m ipvs --vaddr 203.0.113.5 --vproto tcp \
             --vport 443 -j DROP"
        );
        let line = |target| Rule::new("C", vec![], target).line(Op::Append);
        assert_eq!(
            line(Target::Masquerade { random_fully: true }),
            "-A C -j MASQUERADE --random-fully"
        );
        assert_eq!(
            line(Target::Masquerade {
                random_fully: false
            }),
            "-A C -j MASQUERADE"
        );
        assert_eq!(
            line(Target::OrMark(0x4000)),
            "-A C -j MARK --or-mark 0x00004000"
        );
        assert_eq!(
            line(Target::XorMark(1)),
            "-A C -j MARK --xor-mark 0x00000001"
        );
    }

    #[test]
    fn table_block_declares_then_appends_then_inserts() {
        let jump = Rule::new(
            "PREROUTING",
            vec![Match::Comment("kubernetes service portals")],
            Target::Jump("KUBE-SERVICES"),
        );
        let table = TableRules {
            table: Table::Nat,
            chains: vec!["KUBE-SERVICES", "KUBE-MARK-MASQ"],
            rules: vec![Rule::new("KUBE-MARK-MASQ", vec![], Target::OrMark(0x4000))],
            jumps: vec![jump.clone()],
        };
        assert_eq!(
            table.render(&[&jump]),
            "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n\
             -A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000\n\
             -I PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
             COMMIT\n"
        );
        assert!(jump.is_saved_as(
            "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
        ));
        assert!(!jump.is_saved_as("-A OUTPUT -j KUBE-SERVICES"));
        assert!(!jump.is_saved_as("-A PREROUTING -j KUBE-SERVICES-X"));
    }
}
