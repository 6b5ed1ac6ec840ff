//! iptables writer: the plan's rules through `iptables-restore --noflush`
//! (`ip6tables-restore` for IPv6), only when the text changed since the
//! last successful write.
//!
//! # JumpRule rules
//!
//! kube-proxy's chains are reached from the base chains by the jumps in
//! [`JUMP_RULES`](crate::plan::iptables::JUMP_RULES) (`-I PREROUTING -m comment --comment "kubernetes service
//! portals" -j KUBE-SERVICES`, ...). Before each write the writer runs
//! `iptables-save` once and adds the missing jumps to the restore input as
//! `-I` lines, just before the table's `COMMIT`: the chains and the jumps
//! land in one atomic restore and a jump is never duplicated. A write
//! therefore costs two forks per family (`iptables-save`, then
//! `iptables-restore`); an unchanged plan costs none. [`IptablesWriter::check`]
//! (for the periodic resync) costs one fork per family and rewrites only
//! when a jump or a declared chain is missing.

use std::{collections::BTreeMap, io, process::Stdio};

use tokio::{io::AsyncWriteExt, process::Command};

use crate::plan::{IpFamily, IptablesPlan};

use crate::plan::iptables::{JUMP_RULES, JumpRule};

/// The restore line that inserts a jump.
pub fn insert_line(jump: &JumpRule) -> String {
    format!(
        "-I {} -m comment --comment \"{}\" -j {}",
        jump.from, jump.comment, jump.to
    )
}

/// Errors of the iptables writer.
#[derive(Debug, thiserror::Error)]
pub enum IptablesError {
    /// The tool is not installed.
    #[error("{tool} not found: install iptables (e.g. `apt-get install iptables`)")]
    MissingTool {
        /// The binary.
        tool: String,
    },
    /// The tool could not be run.
    #[error("cannot run {tool}: {source}")]
    Spawn {
        /// The binary.
        tool: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The tool failed.
    #[error("{tool} failed ({status}): {stderr}")]
    Failed {
        /// The binary.
        tool: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
}

/// The binaries of one family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tools {
    /// `iptables-save` / `ip6tables-save`.
    pub save: String,
    /// `iptables-restore` / `ip6tables-restore`.
    pub restore: String,
}

impl Tools {
    /// The standard names for a family, from `PATH`.
    pub fn of(family: IpFamily) -> Self {
        let prefix = match family {
            IpFamily::V4 => "iptables",
            IpFamily::V6 => "ip6tables",
        };
        Tools {
            save: format!("{prefix}-save"),
            restore: format!("{prefix}-restore"),
        }
    }
}

/// Writer of the iptables rules of both families.
#[derive(Debug)]
pub struct IptablesWriter {
    tools: BTreeMap<IpFamily, Tools>,
    written: BTreeMap<IpFamily, IptablesPlan>,
    forks: u64,
}

impl Default for IptablesWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl IptablesWriter {
    /// A writer using the standard binaries from `PATH`.
    pub fn new() -> Self {
        let tools = [IpFamily::V4, IpFamily::V6]
            .into_iter()
            .map(|f| (f, Tools::of(f)))
            .collect();
        IptablesWriter {
            tools,
            written: BTreeMap::new(),
            forks: 0,
        }
    }

    /// Uses other binaries for a family (tests, `iptables-legacy`).
    #[must_use]
    pub fn with_tools(mut self, family: IpFamily, tools: Tools) -> Self {
        self.tools.insert(family, tools);
        self
    }

    /// Processes started so far.
    pub fn forks(&self) -> u64 {
        self.forks
    }

    /// Forgets what was written, so the next [`write`](Self::write)
    /// writes.
    pub fn invalidate(&mut self) {
        self.written.clear();
    }

    /// Writes a family's rules unless they equal the last successful
    /// write; returns whether it wrote.
    pub async fn write(
        &mut self,
        family: IpFamily,
        plan: &IptablesPlan,
    ) -> Result<bool, IptablesError> {
        if self.written.get(&family) == Some(plan) {
            return Ok(false);
        }
        let tools = self.tools_of(family);
        let saved = self.run(&tools.save, &[], None).await?;
        let input = restore_input(plan, &saved);
        self.run(&tools.restore, &["--noflush"], Some(&input))
            .await?;
        self.written.insert(family, plan.clone());
        Ok(true)
    }

    /// Checks that the jumps and the chains of the last write are still in
    /// the kernel (one `iptables-save`); rewrites them if not. Returns
    /// whether it wrote.
    pub async fn check(&mut self, family: IpFamily) -> Result<bool, IptablesError> {
        let Some(plan) = self.written.get(&family).cloned() else {
            return Ok(false);
        };
        let tools = self.tools_of(family);
        let saved = self.run(&tools.save, &[], None).await?;
        if is_intact(&plan, &saved) {
            return Ok(false);
        }
        let input = restore_input(&plan, &saved);
        self.run(&tools.restore, &["--noflush"], Some(&input))
            .await?;
        Ok(true)
    }

    /// `iptables-save` (or `ip6tables-save`) output: the current rules of
    /// a family (one fork).
    pub async fn save(&mut self, family: IpFamily) -> Result<String, IptablesError> {
        let tools = self.tools_of(family);
        self.run(&tools.save, &[], None).await
    }

    /// Feeds `input` to `iptables-restore --noflush` (or
    /// `ip6tables-restore`), one fork. Does not change what
    /// [`write`](Self::write) remembers; call [`invalidate`](Self::invalidate)
    /// if the input touched the written chains.
    pub async fn restore(&mut self, family: IpFamily, input: &str) -> Result<(), IptablesError> {
        let tools = self.tools_of(family);
        self.run(&tools.restore, &["--noflush"], Some(input))
            .await
            .map(drop)
    }

    fn tools_of(&self, family: IpFamily) -> Tools {
        self.tools
            .get(&family)
            .cloned()
            .unwrap_or_else(|| Tools::of(family))
    }

    async fn run(
        &mut self,
        tool: &str,
        args: &[&str],
        input: Option<&str>,
    ) -> Result<String, IptablesError> {
        self.forks += 1;
        let spawn_error = |source: io::Error| {
            if source.kind() == io::ErrorKind::NotFound {
                IptablesError::MissingTool {
                    tool: tool.to_owned(),
                }
            } else {
                IptablesError::Spawn {
                    tool: tool.to_owned(),
                    source,
                }
            }
        };
        let mut child = Command::new(tool)
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(spawn_error)?;
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin
                .write_all(input.as_bytes())
                .await
                .map_err(spawn_error)?;
        }
        let output = child.wait_with_output().await.map_err(spawn_error)?;
        if !output.status.success() {
            return Err(IptablesError::Failed {
                tool: tool.to_owned(),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// The lines of one table in `iptables-save` output (empty if the table
/// is absent).
pub fn saved_table<'a>(saved: &'a str, table: &str) -> Vec<&'a str> {
    let header = format!("*{table}");
    saved
        .lines()
        .skip_while(|l| l.trim() != header)
        .skip(1)
        .take_while(|l| l.trim() != "COMMIT")
        .collect()
}

/// Whether the saved table already jumps from `chain` to `target`.
fn has_jump(table: &[&str], jump: &JumpRule) -> bool {
    let prefix = format!("-A {} ", jump.from);
    table.iter().any(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        line.starts_with(&prefix) && words.windows(2).any(|w| w == ["-j", jump.to])
    })
}

/// The jumps of `table` missing from the saved rules.
pub fn missing_jumps(saved: &str, table: &str) -> Vec<JumpRule> {
    let lines = saved_table(saved, table);
    JUMP_RULES
        .iter()
        .filter(|j| j.table == table && !has_jump(&lines, j))
        .copied()
        .collect()
}

/// The chains a table text declares (`:KUBE-SERVICES - [0:0]`).
fn declared_chains(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(':'))
        .filter_map(|l| l.split_whitespace().next())
}

/// Whether every jump and every declared chain is in the saved rules.
pub fn is_intact(plan: &IptablesPlan, saved: &str) -> bool {
    [("nat", &plan.nat), ("filter", &plan.filter)]
        .into_iter()
        .filter(|(_, text)| !text.trim().is_empty())
        .all(|(table, text)| {
            let lines = saved_table(saved, table);
            missing_jumps(saved, table).is_empty()
                && declared_chains(text).all(|chain| {
                    let declared = format!(":{chain} ");
                    lines.iter().any(|l| l.starts_with(&declared))
                })
        })
}

/// The restore input: each table's text with the missing jumps inserted
/// before its last `COMMIT`.
pub fn restore_input(plan: &IptablesPlan, saved: &str) -> String {
    let mut input = String::new();
    for (table, text) in [("nat", &plan.nat), ("filter", &plan.filter)] {
        if text.trim().is_empty() {
            continue;
        }
        let jumps: Vec<String> = missing_jumps(saved, table)
            .iter()
            .map(insert_line)
            .collect();
        let body = text.trim_end();
        match body.strip_suffix("COMMIT") {
            Some(head) => {
                input.push_str(head);
                for line in &jumps {
                    input.push_str(line);
                    input.push('\n');
                }
                input.push_str("COMMIT\n");
            }
            None => {
                input.push_str(body);
                input.push('\n');
                for line in &jumps {
                    input.push_str(line);
                    input.push('\n');
                }
                input.push_str("COMMIT\n");
            }
        }
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAVED: &str = "# Generated\n*nat\n:PREROUTING ACCEPT [0:0]\n\
        :KUBE-SERVICES - [0:0]\n\
        -A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
        COMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";

    fn plan() -> IptablesPlan {
        IptablesPlan {
            nat: "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-POSTROUTING - [0:0]\nCOMMIT\n".into(),
            filter: String::new(),
        }
    }

    #[test]
    fn finds_missing_jumps() {
        let missing = missing_jumps(SAVED, "nat");
        let chains: Vec<_> = missing.iter().map(|j| j.from).collect();
        assert_eq!(chains, ["OUTPUT", "POSTROUTING"]);
        assert_eq!(missing_jumps(SAVED, "filter").len(), 6);
    }

    #[test]
    fn inserts_missing_jumps_before_commit() {
        let input = restore_input(&plan(), SAVED);
        assert_eq!(
            input,
            "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-POSTROUTING - [0:0]\n\
             -I OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
             -I POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n\
             COMMIT\n"
        );
    }

    #[test]
    fn intact_needs_jumps_and_chains() {
        assert!(!is_intact(&plan(), SAVED));
        let saved = "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-POSTROUTING - [0:0]\n\
            -A PREROUTING -j KUBE-SERVICES\n-A OUTPUT -j KUBE-SERVICES\n\
            -A POSTROUTING -m comment --comment x -j KUBE-POSTROUTING\nCOMMIT\n";
        assert!(is_intact(&plan(), saved));
    }

    #[tokio::test]
    async fn missing_binary_is_readable() {
        let mut writer = IptablesWriter::new().with_tools(
            IpFamily::V4,
            Tools {
                save: "/nonexistent/iptables-save".into(),
                restore: "/nonexistent/iptables-restore".into(),
            },
        );
        let err = writer.write(IpFamily::V4, &plan()).await.unwrap_err();
        assert!(err.to_string().contains("install iptables"), "{err}");
        assert_eq!(writer.forks(), 1);
    }
}
