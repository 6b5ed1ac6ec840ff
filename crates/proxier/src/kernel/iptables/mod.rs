//! iptables writer: the plan's structured rules
//! ([`crate::plan::rules`]) rendered and fed to
//! `iptables-restore --noflush` (`ip6tables-restore` for IPv6), only when
//! they changed since the last successful write.
//!
//! # Jump rules
//!
//! kube-proxy's chains are reached from the built-in chains by the jumps
//! each table lists ([`TableRules::jumps`]: `-I PREROUTING -m comment
//! --comment "kubernetes service portals" -j KUBE-SERVICES`, ...). Before
//! each write the writer runs `iptables-save` once and adds the missing
//! jumps to the restore input as `-I` lines, just before the table's
//! `COMMIT`: the chains and the jumps land in one atomic restore and a jump
//! is never duplicated.
//!
//! # Drift
//!
//! After a write the writer runs `iptables-save` again and keeps the lines
//! of its chains as the kernel prints them. [`IptablesWriter::check`] (the
//! periodic resync) runs one `iptables-save` and rewrites when a jump or a
//! chain is missing or when the lines of a chain differ from the kept ones
//! (a rule deleted, edited or added by someone else). So a write costs
//! three forks per family (save, restore, save), an unchanged plan none,
//! a check one, and the check compares the kernel with the kernel's own
//! printing of our rules: no second renderer has to match `iptables-save`'s
//! canonical form.
//!
//! # Lock and hangs
//!
//! `iptables-restore` runs with kube-proxy's `-w 5` (wait at most 5 s for
//! the xtables lock; kube-proxy's `-W 100000` is left out: iptables 1.8
//! ignores it and says so on stderr), and every tool
//! runs under a timeout (15 s by default): a tool still running then is
//! killed and the write fails with [`IptablesError::Timeout`], so a held
//! lock or a hung binary costs one bounded wait per sync and never stops
//! the IPVS part of a sync.

use crate::plan::rules;

use ipvs_netlink::Family;

use std::{collections::BTreeMap, io, process::Stdio, time::Duration};

use tokio::{io::AsyncWriteExt, process::Command};

use rules::{IptablesRules, Rule, Table, TableRules};

/// kube-proxy's `-w` (seconds to wait for the xtables lock).
pub const LOCK_WAIT_SECONDS: u32 = 5;

/// How long a tool may run before it is killed, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

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
    /// The tool did not finish in time and was killed.
    #[error("{tool} did not finish within {} ms and was killed (a hung binary, or the xtables lock held)", after.as_millis())]
    Timeout {
        /// The binary.
        tool: String,
        /// The time it was given.
        after: Duration,
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
    pub fn of(family: Family) -> Self {
        let prefix = match family {
            Family::Inet => "iptables",
            Family::Inet6 => "ip6tables",
        };
        Tools {
            save: format!("{prefix}-save"),
            restore: format!("{prefix}-restore"),
        }
    }
}

/// A successful write: the rules, and the lines of their chains as the
/// kernel printed them right after.
#[derive(Debug, Clone)]
struct Written {
    rules: IptablesRules,
    saved: BTreeMap<Table, Vec<String>>,
}

/// Writer of the iptables rules of both families.
#[derive(Debug)]
pub struct IptablesWriter {
    tools: BTreeMap<Family, Tools>,
    written: BTreeMap<Family, Written>,
    forks: u64,
    timeout: Duration,
}

impl Default for IptablesWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl IptablesWriter {
    /// A writer using the standard binaries from `PATH`.
    pub fn new() -> Self {
        let tools = [Family::Inet, Family::Inet6]
            .into_iter()
            .map(|f| (f, Tools::of(f)))
            .collect();
        IptablesWriter {
            tools,
            written: BTreeMap::new(),
            forks: 0,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Uses other binaries for a family (tests, `iptables-legacy`).
    #[must_use]
    pub fn with_tools(mut self, family: Family, tools: Tools) -> Self {
        self.tools.insert(family, tools);
        self
    }

    /// Kills a tool still running after `timeout`.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
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
        family: Family,
        rules: &IptablesRules,
    ) -> Result<bool, IptablesError> {
        if self.written.get(&family).is_some_and(|w| w.rules == *rules) {
            return Ok(false);
        }
        self.written.remove(&family);
        let saved = self.save(family).await?;
        self.rewrite(family, rules, &saved).await?;
        Ok(true)
    }

    /// Checks that the jumps, the chains and the chains' rules of the last
    /// write are still in the kernel as written (one `iptables-save`);
    /// rewrites them if not. Returns whether it wrote.
    pub async fn check(&mut self, family: Family) -> Result<bool, IptablesError> {
        let Some(written) = self.written.get(&family).cloned() else {
            return Ok(false);
        };
        let saved = self.save(family).await?;
        if is_intact(&written.rules, &written.saved, &saved) {
            return Ok(false);
        }
        self.written.remove(&family);
        self.rewrite(family, &written.rules, &saved).await?;
        Ok(true)
    }

    /// Restores `rules` with the jumps `saved` lacks, then records the
    /// kernel's printing of the chains.
    async fn rewrite(
        &mut self,
        family: Family,
        rules: &IptablesRules,
        saved: &str,
    ) -> Result<(), IptablesError> {
        self.restore(family, &restore_input(rules, saved)).await?;
        let after = self.save(family).await?;
        let saved = Table::ALL
            .into_iter()
            .map(|t| (t, chain_lines(&after, t, &rules.table(t).chains)))
            .collect();
        self.written.insert(
            family,
            Written {
                rules: rules.clone(),
                saved,
            },
        );
        Ok(())
    }

    /// `iptables-save` (or `ip6tables-save`) output: the current rules of
    /// a family (one fork).
    pub async fn save(&mut self, family: Family) -> Result<String, IptablesError> {
        let tools = self.tools_of(family);
        self.run(&tools.save, &[], None).await
    }

    /// Feeds `input` to `iptables-restore -w 5 --noflush` (or
    /// `ip6tables-restore`), one fork. Does not change what
    /// [`write`](Self::write) remembers; call [`invalidate`](Self::invalidate)
    /// if the input touched the written chains.
    pub async fn restore(&mut self, family: Family, input: &str) -> Result<(), IptablesError> {
        let tools = self.tools_of(family);
        let wait = LOCK_WAIT_SECONDS.to_string();
        let args = ["-w", wait.as_str(), "--noflush"];
        self.run(&tools.restore, &args, Some(input)).await.map(drop)
    }

    fn tools_of(&self, family: Family) -> Tools {
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
        let stdin = child.stdin.take();
        // Dropping the child on timeout kills it (`kill_on_drop`).
        let finished = tokio::time::timeout(self.timeout, async move {
            if let (Some(input), Some(mut stdin)) = (input, stdin) {
                stdin.write_all(input.as_bytes()).await?;
            }
            child.wait_with_output().await
        })
        .await;
        let output = match finished {
            Ok(output) => output.map_err(spawn_error)?,
            Err(_) => {
                return Err(IptablesError::Timeout {
                    tool: tool.to_owned(),
                    after: self.timeout,
                });
            }
        };
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

/// The rule lines of `chains` in a table of `iptables-save` output, in
/// the order printed.
pub fn chain_lines(saved: &str, table: Table, chains: &[&str]) -> Vec<String> {
    saved_table(saved, table.name())
        .into_iter()
        .filter(|line| {
            let mut words = line.split_whitespace();
            words.next() == Some("-A") && words.next().is_some_and(|c| chains.contains(&c))
        })
        .map(|line| line.trim().to_owned())
        .collect()
}

/// The jumps of a table missing from the saved rules.
pub fn missing_jumps<'a>(saved: &str, table: Table, rules: &'a TableRules) -> Vec<&'a Rule> {
    let lines = saved_table(saved, table.name());
    rules
        .jumps
        .iter()
        .filter(|jump| !lines.iter().any(|line| jump.is_saved_as(line)))
        .collect()
}

/// Whether every jump and every declared chain is in the saved rules, and
/// the chains hold the lines `kept` (per table) and nothing else.
pub fn is_intact(rules: &IptablesRules, kept: &BTreeMap<Table, Vec<String>>, saved: &str) -> bool {
    Table::ALL
        .into_iter()
        .filter(|t| !rules.table(*t).is_empty())
        .all(|table| {
            let part = rules.table(table);
            let lines = saved_table(saved, table.name());
            missing_jumps(saved, table, part).is_empty()
                && part.chains.iter().all(|chain| {
                    let declared = format!(":{chain} ");
                    lines.iter().any(|l| l.starts_with(&declared))
                })
                && kept
                    .get(&table)
                    .is_some_and(|kept| *kept == chain_lines(saved, table, &part.chains))
        })
}

/// The restore input: each non-empty table's block with the jumps
/// `saved` lacks inserted before its `COMMIT`.
pub fn restore_input(rules: &IptablesRules, saved: &str) -> String {
    Table::ALL
        .into_iter()
        .filter(|t| !rules.table(*t).is_empty())
        .map(|table| {
            let part = rules.table(table);
            part.render(&missing_jumps(saved, table, part))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{
        rules::{Match, Target},
        *,
    };

    const SAVED: &str = "# Generated\n*nat\n:PREROUTING ACCEPT [0:0]\n\
        :KUBE-SERVICES - [0:0]\n\
        -A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
        COMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";

    fn jump(from: &'static str, comment: &'static str, to: &'static str) -> Rule {
        Rule::new(from, vec![Match::Comment(comment)], Target::Jump(to))
    }

    fn rules() -> IptablesRules {
        let mut rules = IptablesRules::default();
        rules.nat = TableRules {
            table: Table::Nat,
            chains: vec!["KUBE-SERVICES", "KUBE-POSTROUTING"],
            rules: vec![Rule::new(
                "KUBE-SERVICES",
                vec![Match::Source {
                    addr: "127.0.0.0/8".into(),
                    negated: false,
                }],
                Target::Jump("RETURN"),
            )],
            jumps: vec![
                jump("OUTPUT", "kubernetes service portals", "KUBE-SERVICES"),
                jump("PREROUTING", "kubernetes service portals", "KUBE-SERVICES"),
                jump(
                    "POSTROUTING",
                    "kubernetes postrouting rules",
                    "KUBE-POSTROUTING",
                ),
            ],
        };
        rules
    }

    #[test]
    fn finds_missing_jumps() {
        let rules = rules();
        let missing = missing_jumps(SAVED, Table::Nat, &rules.nat);
        let chains: Vec<_> = missing.iter().map(|j| j.chain).collect();
        assert_eq!(chains, ["OUTPUT", "POSTROUTING"]);
        assert!(missing_jumps(SAVED, Table::Filter, &rules.filter).is_empty());
    }

    #[test]
    fn inserts_missing_jumps_before_commit_and_skips_empty_tables() {
        let input = restore_input(&rules(), SAVED);
        assert_eq!(
            input,
            "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-POSTROUTING - [0:0]\n\
             -A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN\n\
             -I OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
             -I POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n\
             COMMIT\n"
        );
    }

    #[test]
    fn intact_needs_jumps_chains_and_the_kept_lines() {
        let rules = rules();
        let kept: BTreeMap<Table, Vec<String>> = [(
            Table::Nat,
            vec!["-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN".to_owned()],
        )]
        .into();
        assert!(!is_intact(&rules, &kept, SAVED), "jumps missing");
        let saved = "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-POSTROUTING - [0:0]\n\
            -A PREROUTING -j KUBE-SERVICES\n-A OUTPUT -j KUBE-SERVICES\n\
            -A POSTROUTING -m comment --comment x -j KUBE-POSTROUTING\n\
            -A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN\nCOMMIT\n";
        assert!(is_intact(&rules, &kept, saved));
        // A rule deleted from our chain, or one added to it: not intact.
        let deleted = saved.replace("-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN\n", "");
        assert!(!is_intact(&rules, &kept, &deleted));
        let added = saved.replace("COMMIT", "-A KUBE-POSTROUTING -j ACCEPT\nCOMMIT");
        assert!(!is_intact(&rules, &kept, &added));
        // A foreign chain's rules do not matter.
        let foreign = saved.replace("COMMIT", "-A FOREIGN -j ACCEPT\nCOMMIT");
        assert!(is_intact(&rules, &kept, &foreign));
        let undeclared = saved.replace(":KUBE-POSTROUTING - [0:0]\n", "");
        assert!(!is_intact(&rules, &kept, &undeclared));
    }

    #[tokio::test]
    async fn missing_binary_is_readable() {
        let mut writer = IptablesWriter::new().with_tools(
            Family::Inet,
            Tools {
                save: "/nonexistent/iptables-save".into(),
                restore: "/nonexistent/iptables-restore".into(),
            },
        );
        let err = writer.write(Family::Inet, &rules()).await.unwrap_err();
        assert!(err.to_string().contains("install iptables"), "{err}");
        assert_eq!(writer.forks(), 1);
    }

    /// A tool that never ends is killed at the timeout, with an error
    /// naming it; a failing one reports its status and stderr.
    #[tokio::test]
    async fn hung_tool_is_killed_at_the_timeout() {
        let dir = std::env::temp_dir().join(format!("kpvs-ipt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = |name: &str, body: &str| {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            path.display().to_string()
        };
        let hung = script("hung", "exec sleep 600");
        let failing = script(
            "failing",
            "echo 'Another app is holding the lock' >&2; exit 4",
        );
        let mut writer = IptablesWriter::new()
            .with_timeout(Duration::from_millis(300))
            .with_tools(
                Family::Inet,
                Tools {
                    save: hung.clone(),
                    restore: hung.clone(),
                },
            )
            .with_tools(
                Family::Inet6,
                Tools {
                    save: failing.clone(),
                    restore: failing,
                },
            );
        let started = std::time::Instant::now();
        let err = writer.write(Family::Inet, &rules()).await.unwrap_err();
        let took = started.elapsed();
        assert!(matches!(err, IptablesError::Timeout { .. }), "{err}");
        assert!(err.to_string().contains(&hung), "{err}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        let err = writer.write(Family::Inet6, &rules()).await.unwrap_err();
        assert!(err.to_string().contains("exit status: 4"), "{err}");
        assert!(err.to_string().contains("holding the lock"), "{err}");
        // Nothing was written: the next write tries again.
        assert!(writer.write(Family::Inet6, &rules()).await.is_err());
        assert_eq!(writer.forks(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
