//! The iptables step of the cleanup: find kube-proxy's jumps and chains in
//! `iptables-save` output, remove them in one `iptables-restore --noflush`,
//! or one by one if that fails.

use std::fmt::Write;

use super::{CleanupError, CleanupReport, RemovedChain, RemovedJump};
use ipvs_netlink::Family;

use crate::{
    catalogue::iptables::{FILTER_CHAINS, JUMP_RULES, JumpRule, NAT_CHAINS},
    kernel::{IptablesError, IptablesWriter, iptables::saved_table},
};

/// The tables, with kube-proxy's chains in each.
const TABLES: [(&str, &[&str]); 2] = [("nat", &NAT_CHAINS), ("filter", &FILTER_CHAINS)];

/// What to remove from one family's rules, as found in `iptables-save`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleRemoval {
    /// The jumps from built-in chains, each with its saved line
    /// (`-A FROM ... -j TO`); a jump present twice is listed twice.
    pub jumps: Vec<(JumpRule, String)>,
    /// The kube-proxy chains present, as (table, chain).
    pub chains: Vec<(&'static str, &'static str)>,
}

/// One removal, as a line of restore input.
enum Step<'a> {
    Jump(&'a JumpRule, &'a str),
    Flush(&'static str, &'static str),
    Delete(&'static str, &'static str),
}

impl Step<'_> {
    fn table(&self) -> &'static str {
        match self {
            Step::Jump(jump, _) => jump.table,
            Step::Flush(table, _) | Step::Delete(table, _) => table,
        }
    }

    fn line(&self) -> String {
        match self {
            Step::Jump(_, saved) => format!("-D{}", saved.strip_prefix("-A").unwrap_or(saved)),
            Step::Flush(_, chain) => format!("-F {chain}"),
            Step::Delete(_, chain) => format!("-X {chain}"),
        }
    }

    fn describe(&self, family: Family) -> String {
        let family = family_label(family);
        match self {
            Step::Jump(jump, _) => format!(
                "{family} {}: delete jump {} -> {}",
                jump.table, jump.from, jump.to
            ),
            Step::Flush(table, chain) => format!("{family} {table}: flush chain {chain}"),
            Step::Delete(table, chain) => format!("{family} {table}: delete chain {chain}"),
        }
    }
}

/// Whether a saved rule is kube-proxy's jump: in the built-in chain, with
/// the comment (as `iptables-save` quotes it) and the target.
fn is_jump(line: &str, jump: &JumpRule) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    line.starts_with(&format!("-A {} ", jump.from))
        && line.contains(&format!("--comment \"{}\"", jump.comment))
        && words.windows(2).any(|w| w == ["-j", jump.to])
}

impl RuleRemoval {
    /// The jumps and chains of `saved` (`iptables-save` output of one
    /// family) that the cleanup removes; nothing else.
    pub fn from_saved(saved: &str) -> Self {
        let mut removal = RuleRemoval::default();
        for (table, chains) in TABLES {
            let lines = saved_table(saved, table);
            for jump in JUMP_RULES.iter().filter(|j| j.table == table) {
                removal.jumps.extend(
                    lines
                        .iter()
                        .filter(|line| is_jump(line, jump))
                        .map(|line| (*jump, line.trim().to_owned())),
                );
            }
            for chain in chains {
                let declared = format!(":{chain} ");
                if lines.iter().any(|l| l.starts_with(&declared)) {
                    removal.chains.push((table, chain));
                }
            }
        }
        removal
    }

    /// Whether there is nothing to remove.
    pub fn is_empty(&self) -> bool {
        self.jumps.is_empty() && self.chains.is_empty()
    }

    /// The steps in order: the jumps, then flush every chain (which also
    /// removes the jumps between them), then delete every chain.
    fn steps(&self) -> Vec<Step<'_>> {
        let mut steps: Vec<Step<'_>> = self
            .jumps
            .iter()
            .map(|(jump, line)| Step::Jump(jump, line))
            .collect();
        steps.extend(self.chains.iter().map(|&(t, c)| Step::Flush(t, c)));
        steps.extend(self.chains.iter().map(|&(t, c)| Step::Delete(t, c)));
        steps
    }

    /// The restore input doing every step, one block per table.
    pub fn restore_input(&self) -> String {
        let steps = self.steps();
        let mut input = String::new();
        for (table, _) in TABLES {
            let lines: Vec<String> = steps
                .iter()
                .filter(|s| s.table() == table)
                .map(Step::line)
                .collect();
            if !lines.is_empty() {
                input.push_str(&removal_input(table, &lines));
            }
        }
        input
    }
}

/// `*TABLE`, the lines, `COMMIT`.
pub fn removal_input(table: &str, lines: &[String]) -> String {
    let mut input = format!("*{table}\n");
    for line in lines {
        let _ = writeln!(input, "{line}");
    }
    input.push_str("COMMIT\n");
    input
}

fn family_label(family: Family) -> &'static str {
    match family {
        Family::Inet => "IPv4",
        Family::Inet6 => "IPv6",
    }
}

fn record(step: &Step<'_>, family: Family, report: &mut CleanupReport) {
    match *step {
        Step::Jump(jump, _) => report.jumps_deleted.push(RemovedJump {
            family,
            jump: *jump,
        }),
        Step::Delete(table, chain) => report.chains_deleted.push(RemovedChain {
            family,
            table,
            chain,
        }),
        Step::Flush(..) => {}
    }
}

/// Removes one family's jumps and chains (two forks when nothing fails,
/// one when there is nothing to remove).
pub(super) async fn remove_rules(
    writer: &mut IptablesWriter,
    family: Family,
    report: &mut CleanupReport,
) {
    let read_error = |source| CleanupError::Iptables {
        step: format!("{}: read the rules", family_label(family)),
        source,
    };
    let saved = match writer.save(family).await {
        Ok(saved) => saved,
        Err(err) => return report.errors.push(read_error(err)),
    };
    let removal = RuleRemoval::from_saved(&saved);
    if removal.is_empty() {
        return;
    }
    match writer.restore(family, &removal.restore_input()).await {
        Ok(()) => {
            for step in removal.steps() {
                record(&step, family, report);
            }
            return;
        }
        Err(
            err @ (IptablesError::MissingTool { .. }
            | IptablesError::Spawn { .. }
            | IptablesError::Timeout { .. }),
        ) => {
            return report.errors.push(CleanupError::Iptables {
                step: format!("{}: remove the rules", family_label(family)),
                source: err,
            });
        }
        Err(IptablesError::Failed { .. }) => {}
    }
    // Something refused (a foreign rule jumps to one of our chains): read
    // again, since a table may have been committed, and go one by one.
    let saved = match writer.save(family).await {
        Ok(saved) => saved,
        Err(err) => return report.errors.push(read_error(err)),
    };
    let removal = RuleRemoval::from_saved(&saved);
    for step in removal.steps() {
        let input = removal_input(step.table(), &[step.line()]);
        match writer.restore(family, &input).await {
            Ok(()) => record(&step, family, report),
            Err(source) => report.errors.push(CleanupError::Iptables {
                step: step.describe(family),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `iptables-save` of a node with kube-proxy's rules and foreign ones
    /// (written by hand in `iptables-save` syntax).
    const SAVED: &str = r#"# Generated by iptables-save v1.8.9 (nf_tables)
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:FOREIGN - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-IPVS-FILTER - [0:0]
:KUBE-NODE-PORT - [0:0]
-A INPUT -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT
-A INPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER
-A INPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER
-A INPUT -j FOREIGN
-A INPUT -m comment --comment "not kubernetes" -j KUBE-NODE-PORT
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FOREIGN -p tcp -m tcp --dport 22 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SEP-FOREIGN - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
COMMIT
"#;

    #[test]
    fn finds_only_kube_proxy_jumps_and_chains() {
        let removal = RuleRemoval::from_saved(SAVED);
        let jumps: Vec<(&str, &str)> = removal.jumps.iter().map(|(j, _)| (j.from, j.to)).collect();
        assert_eq!(
            jumps,
            [
                ("PREROUTING", "KUBE-SERVICES"),
                ("FORWARD", "KUBE-FORWARD"),
                ("INPUT", "KUBE-NODE-PORT"),
                ("INPUT", "KUBE-IPVS-FILTER"),
                ("INPUT", "KUBE-IPVS-FILTER"),
            ]
        );
        assert_eq!(
            removal.chains,
            [
                ("nat", "KUBE-SERVICES"),
                ("nat", "KUBE-MARK-MASQ"),
                ("filter", "KUBE-FORWARD"),
                ("filter", "KUBE-NODE-PORT"),
                ("filter", "KUBE-IPVS-FILTER"),
            ]
        );
    }

    #[test]
    fn restore_input_deletes_jumps_then_flushes_then_deletes() {
        let input = RuleRemoval::from_saved(SAVED).restore_input();
        let expected = "*nat\n\
            -D PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
            -F KUBE-SERVICES\n-F KUBE-MARK-MASQ\n-X KUBE-SERVICES\n-X KUBE-MARK-MASQ\nCOMMIT\n\
            *filter\n\
            -D FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n\
            -D INPUT -m comment --comment \"kubernetes health check rules\" -j KUBE-NODE-PORT\n\
            -D INPUT -m comment --comment \"kubernetes ipvs access filter\" -j KUBE-IPVS-FILTER\n\
            -D INPUT -m comment --comment \"kubernetes ipvs access filter\" -j KUBE-IPVS-FILTER\n\
            -F KUBE-FORWARD\n-F KUBE-NODE-PORT\n-F KUBE-IPVS-FILTER\n\
            -X KUBE-FORWARD\n-X KUBE-NODE-PORT\n-X KUBE-IPVS-FILTER\nCOMMIT\n";
        assert_eq!(input, expected);
    }

    #[test]
    fn clean_rules_need_nothing() {
        let saved = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n";
        let removal = RuleRemoval::from_saved(saved);
        assert!(removal.is_empty());
        assert_eq!(removal.restore_input(), "");
        assert!(RuleRemoval::from_saved("").is_empty());
    }

    #[tokio::test]
    async fn a_missing_tool_is_one_error() {
        let mut writer = IptablesWriter::new().with_tools(
            Family::Inet6,
            crate::kernel::iptables::Tools {
                save: "/nonexistent/ip6tables-save".into(),
                restore: "/nonexistent/ip6tables-restore".into(),
            },
        );
        let mut report = CleanupReport::default();
        remove_rules(&mut writer, Family::Inet6, &mut report).await;
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        let message = report.errors[0].to_string();
        assert!(message.starts_with("IPv6: read the rules"), "{message}");
        assert!(message.contains("install iptables"), "{message}");
        assert!(!report.is_ok());
    }
}
