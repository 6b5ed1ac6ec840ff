//! `ipvsadm -R` input: one ipvsadm command line per line (what `ipvsadm -S`
//! writes), parsed completely before anything is sent, so that a typo on
//! line 90,000 applies nothing.
//!
//! Like ipvsadm's `config_stream_read`, words are split on blanks, a word
//! `ipvsadm` is skipped (so `ipvsadm -A ...` lines work) and blank lines
//! are ignored; unlike it, `#` starts a comment.

use ipvs_netlink::Command;
use thiserror::Error;

use crate::parse::{Action, ParseError, parse};

/// A line of restore input that is not a mutation ipvsadm accepts.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RestoreError {
    /// The line does not parse.
    #[error("line {line}: {source}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// Why.
        source: ParseError,
    },
    /// A listing, save or restore inside restore input.
    #[error("line {line}: only -A -E -D -a -e -d -C -Z --set can be restored")]
    NotAMutation {
        /// 1-based line number.
        line: usize,
    },
}

/// A parsed command and the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// 1-based line number.
    pub line: usize,
    /// The command.
    pub command: Command,
}

/// Parses the whole input.
pub fn parse_input(input: &str) -> Result<Vec<Restored>, RestoreError> {
    let mut commands = Vec::new();
    for (index, text) in input.lines().enumerate() {
        let line = index + 1;
        let text = text.split_once('#').map_or(text, |(before, _)| before);
        let words: Vec<&str> = text
            .split([' ', '\t', '\r'])
            .filter(|w| !w.is_empty() && *w != "ipvsadm")
            .collect();
        if words.is_empty() {
            continue;
        }
        match parse(&words) {
            Ok(Action::Apply(command)) => commands.push(Restored { line, command }),
            Ok(_) => return Err(RestoreError::NotAMutation { line }),
            Err(source) => return Err(RestoreError::Line { line, source }),
        }
    }
    Ok(commands)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipvs_netlink::{ForwardMethod, RealServer, Scheduler, ServiceKey, VirtualService};

    #[test]
    fn reads_save_output_with_blank_lines_and_comments() {
        let input = "# saved\n-A -t 10.0.0.1:80 -s rr\n\n\
                     ipvsadm -a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 2  # backend\r\n";
        let key = ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
        assert_eq!(
            parse_input(input).unwrap(),
            [
                Restored {
                    line: 2,
                    command: Command::AddService(VirtualService::new(key, Scheduler::RR)),
                },
                Restored {
                    line: 4,
                    command: Command::AddRealServer(
                        key,
                        RealServer::new("10.1.0.1:8080".parse().unwrap(), ForwardMethod::Masq, 2)
                    ),
                },
            ]
        );
    }

    #[test]
    fn a_bad_line_is_named_and_nothing_is_returned() {
        let input = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1 -w 70000\n";
        assert_eq!(
            parse_input(input),
            Err(RestoreError::Line {
                line: 2,
                source: ParseError::Invalid {
                    what: "weight",
                    value: "70000".into()
                }
            })
        );
        assert_eq!(
            parse_input("-Ln\n"),
            Err(RestoreError::NotAMutation { line: 1 })
        );
    }
}
