//! ipvsadm's command line, tokenized the way popt does it: short options
//! bundle (`-Ln`, `-Sn`), a short option's value is the rest of its word or
//! the next word (`-t 10.0.0.1:80`, `-w3`), long options take `--name value`
//! or `--name=value`, and `-p`'s timeout is optional (taken only when the
//! next word does not start with `-`). Words that are no option are
//! positional (the three `--set` values).

use thiserror::Error;

/// Everything ipvsadm 1.31 accepts, as a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// `-A`.
    AddService,
    /// `-E`.
    EditService,
    /// `-D`.
    DeleteService,
    /// `-C`.
    Clear,
    /// `-L` / `-l`.
    List,
    /// `-Z`.
    Zero,
    /// `-a`.
    AddServer,
    /// `-e`.
    EditServer,
    /// `-d`.
    DeleteServer,
    /// `--set`.
    Set,
    /// `-h`.
    Help,
    /// `-v`.
    Version,
    /// `-R`.
    Restore,
    /// `-S`.
    Save,
    /// `--start-daemon` / `--stop-daemon` (not supported here).
    Daemon,
    /// `-t`.
    Tcp,
    /// `-u`.
    Udp,
    /// `--sctp-service`.
    Sctp,
    /// `-f`.
    Fwmark,
    /// `-s`.
    Scheduler,
    /// `-p [timeout]`.
    Persistent,
    /// `-M`.
    Netmask,
    /// `-r`.
    RealServer,
    /// `-m`.
    Masquerading,
    /// `-i`.
    Ipip,
    /// `-g`.
    Gatewaying,
    /// `-w`.
    Weight,
    /// `-x`.
    UpperThreshold,
    /// `-y`.
    LowerThreshold,
    /// `-n`.
    Numeric,
    /// `-c`.
    Connection,
    /// `--timeout`.
    Timeout,
    /// `--daemon`.
    DaemonInfo,
    /// `--stats`.
    Stats,
    /// `--rate`.
    Rate,
    /// `--thresholds`.
    Thresholds,
    /// `--persistent-conn`.
    PersistentConn,
    /// `--nosort`.
    NoSort,
    /// `--sort` (a no-op).
    Sort,
    /// `-X` / `--exact`.
    Exact,
    /// `-6`.
    Ipv6,
    /// `-o`.
    Ops,
    /// `--pe`.
    Pe,
    /// `-b`.
    SchedFlags,
    /// `--tun-info`.
    TunInfo,
    /// `--tun-type`.
    TunType,
    /// `--tun-port`.
    TunPort,
    /// `--tun-nocsum`.
    TunNoCsum,
    /// `--tun-csum`.
    TunCsum,
    /// `--tun-remcsum`.
    TunRemCsum,
    /// Sync-daemon options (`--mcast-interface`, `--syncid`, ...; not
    /// supported here).
    DaemonOption,
}

/// Whether an option takes a value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Value {
    No,
    Required,
    Optional,
}

/// One option: short letter, long name, value, tag.
struct Spec(Option<char>, &'static str, Value, Tag);

/// ipvsadm 1.31's popt table.
const SPECS: &[Spec] = &[
    Spec(Some('A'), "add-service", Value::No, Tag::AddService),
    Spec(Some('E'), "edit-service", Value::No, Tag::EditService),
    Spec(Some('D'), "delete-service", Value::No, Tag::DeleteService),
    Spec(Some('C'), "clear", Value::No, Tag::Clear),
    Spec(Some('L'), "list", Value::No, Tag::List),
    Spec(Some('l'), "list", Value::No, Tag::List),
    Spec(Some('Z'), "zero", Value::No, Tag::Zero),
    Spec(Some('a'), "add-server", Value::No, Tag::AddServer),
    Spec(Some('e'), "edit-server", Value::No, Tag::EditServer),
    Spec(Some('d'), "delete-server", Value::No, Tag::DeleteServer),
    Spec(None, "set", Value::No, Tag::Set),
    Spec(Some('h'), "help", Value::No, Tag::Help),
    Spec(Some('v'), "version", Value::No, Tag::Version),
    Spec(Some('R'), "restore", Value::No, Tag::Restore),
    Spec(Some('S'), "save", Value::No, Tag::Save),
    Spec(None, "start-daemon", Value::Required, Tag::Daemon),
    Spec(None, "stop-daemon", Value::Required, Tag::Daemon),
    Spec(Some('t'), "tcp-service", Value::Required, Tag::Tcp),
    Spec(Some('u'), "udp-service", Value::Required, Tag::Udp),
    Spec(None, "sctp-service", Value::Required, Tag::Sctp),
    Spec(Some('f'), "fwmark-service", Value::Required, Tag::Fwmark),
    Spec(Some('s'), "scheduler", Value::Required, Tag::Scheduler),
    Spec(Some('p'), "persistent", Value::Optional, Tag::Persistent),
    Spec(Some('M'), "netmask", Value::Required, Tag::Netmask),
    Spec(Some('r'), "real-server", Value::Required, Tag::RealServer),
    Spec(Some('m'), "masquerading", Value::No, Tag::Masquerading),
    Spec(Some('i'), "ipip", Value::No, Tag::Ipip),
    Spec(Some('g'), "gatewaying", Value::No, Tag::Gatewaying),
    Spec(Some('w'), "weight", Value::Required, Tag::Weight),
    Spec(
        Some('x'),
        "u-threshold",
        Value::Required,
        Tag::UpperThreshold,
    ),
    Spec(
        Some('y'),
        "l-threshold",
        Value::Required,
        Tag::LowerThreshold,
    ),
    Spec(Some('n'), "numeric", Value::No, Tag::Numeric),
    Spec(Some('c'), "connection", Value::No, Tag::Connection),
    Spec(None, "mcast-interface", Value::Required, Tag::DaemonOption),
    Spec(None, "syncid", Value::Required, Tag::DaemonOption),
    Spec(None, "timeout", Value::No, Tag::Timeout),
    Spec(None, "daemon", Value::No, Tag::DaemonInfo),
    Spec(None, "stats", Value::No, Tag::Stats),
    Spec(None, "rate", Value::No, Tag::Rate),
    Spec(None, "thresholds", Value::No, Tag::Thresholds),
    Spec(None, "persistent-conn", Value::No, Tag::PersistentConn),
    Spec(None, "nosort", Value::No, Tag::NoSort),
    Spec(None, "sort", Value::No, Tag::Sort),
    Spec(Some('X'), "exact", Value::No, Tag::Exact),
    Spec(Some('6'), "ipv6", Value::No, Tag::Ipv6),
    Spec(Some('o'), "ops", Value::No, Tag::Ops),
    Spec(None, "pe", Value::Required, Tag::Pe),
    Spec(Some('b'), "sched-flags", Value::Required, Tag::SchedFlags),
    Spec(None, "mcast-group", Value::Required, Tag::DaemonOption),
    Spec(None, "mcast-port", Value::Required, Tag::DaemonOption),
    Spec(None, "mcast-ttl", Value::Required, Tag::DaemonOption),
    Spec(None, "sync-maxlen", Value::Required, Tag::DaemonOption),
    Spec(None, "tun-info", Value::No, Tag::TunInfo),
    Spec(None, "tun-type", Value::Required, Tag::TunType),
    Spec(None, "tun-port", Value::Required, Tag::TunPort),
    Spec(None, "tun-nocsum", Value::No, Tag::TunNoCsum),
    Spec(None, "tun-csum", Value::No, Tag::TunCsum),
    Spec(None, "tun-remcsum", Value::No, Tag::TunRemCsum),
];

/// A word of the command line, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    /// An option, its name as written (for messages) and its value.
    Option {
        /// What it is.
        tag: Tag,
        /// `-t` or `--tcp-service`, as given.
        name: String,
        /// Its value, if it takes one.
        value: Option<String>,
    },
    /// Anything else.
    Positional(String),
}

/// A command line that cannot be tokenized.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum OptionsError {
    /// No such option.
    #[error("invalid option `{0}'")]
    Unknown(String),
    /// A value-taking option at the end of the line.
    #[error("option `{0}' requires an argument")]
    MissingValue(String),
    /// `--flag=value` for an option without a value.
    #[error("option `{0}' does not take an argument")]
    UnexpectedValue(String),
}

/// Splits `args` (without the program name) into options and positional
/// words.
pub fn tokenize<S: AsRef<str>>(args: &[S]) -> Result<Vec<Word>, OptionsError> {
    let mut words = Vec::new();
    let mut rest = args.iter().map(AsRef::as_ref).peekable();
    while let Some(arg) = rest.next() {
        if arg == "--" {
            words.extend(rest.by_ref().map(|w| Word::Positional(w.to_string())));
        } else if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (long, None),
            };
            let spec = SPECS
                .iter()
                .find(|spec| spec.1 == name)
                .ok_or_else(|| OptionsError::Unknown(arg.to_string()))?;
            let shown = format!("--{name}");
            let value = match (spec.2, inline) {
                (Value::No, Some(_)) => return Err(OptionsError::UnexpectedValue(shown)),
                (Value::No, None) => None,
                (_, Some(value)) => Some(value),
                (Value::Required, None) => Some(
                    rest.next()
                        .ok_or_else(|| OptionsError::MissingValue(shown.clone()))?
                        .to_string(),
                ),
                (Value::Optional, None) => rest
                    .next_if(|next| !next.starts_with('-'))
                    .map(str::to_string),
            };
            words.push(Word::Option {
                tag: spec.3,
                name: shown,
                value,
            });
        } else if let Some(shorts) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (at, letter) in shorts.char_indices() {
                let spec = SPECS
                    .iter()
                    .find(|spec| spec.0 == Some(letter))
                    .ok_or_else(|| OptionsError::Unknown(format!("-{letter}")))?;
                let shown = format!("-{letter}");
                let attached = &shorts[at + letter.len_utf8()..];
                if spec.2 == Value::No {
                    words.push(Word::Option {
                        tag: spec.3,
                        name: shown,
                        value: None,
                    });
                    continue;
                }
                let value = if !attached.is_empty() {
                    Some(attached.to_string())
                } else if spec.2 == Value::Required {
                    Some(
                        rest.next()
                            .ok_or_else(|| OptionsError::MissingValue(shown.clone()))?
                            .to_string(),
                    )
                } else {
                    rest.next_if(|next| !next.starts_with('-'))
                        .map(str::to_string)
                };
                words.push(Word::Option {
                    tag: spec.3,
                    name: shown,
                    value,
                });
                break;
            }
        } else {
            words.push(Word::Positional(arg.to_string()));
        }
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(tag: Tag, name: &str, value: Option<&str>) -> Word {
        Word::Option {
            tag,
            name: name.to_string(),
            value: value.map(str::to_string),
        }
    }

    #[test]
    fn bundles_values_and_optional_timeout() {
        let words = tokenize(&["-Ln", "-t", "10.0.0.1:80", "-w3", "-p", "-s", "rr"]).unwrap();
        assert_eq!(
            words,
            [
                opt(Tag::List, "-L", None),
                opt(Tag::Numeric, "-n", None),
                opt(Tag::Tcp, "-t", Some("10.0.0.1:80")),
                opt(Tag::Weight, "-w", Some("3")),
                opt(Tag::Persistent, "-p", None),
                opt(Tag::Scheduler, "-s", Some("rr")),
            ]
        );
        let words = tokenize(&["-A", "-p", "300", "--set", "1", "2", "3"]).unwrap();
        assert_eq!(words[1], opt(Tag::Persistent, "-p", Some("300")));
        assert_eq!(words[3], Word::Positional("1".into()));
        let words = tokenize(&["--sctp-service=10.0.0.1:1", "--stats"]).unwrap();
        assert_eq!(
            words[0],
            opt(Tag::Sctp, "--sctp-service", Some("10.0.0.1:1"))
        );
    }

    #[test]
    fn errors_name_the_option() {
        assert_eq!(
            tokenize(&["-A", "-t"]),
            Err(OptionsError::MissingValue("-t".into()))
        );
        assert_eq!(tokenize(&["-Q"]), Err(OptionsError::Unknown("-Q".into())));
        assert_eq!(
            tokenize(&["--stats=1"]),
            Err(OptionsError::UnexpectedValue("--stats".into()))
        );
        assert_eq!(
            tokenize(&["--bogus"]),
            Err(OptionsError::Unknown("--bogus".into()))
        );
    }
}
