//! One ipvsadm command line, turned into an [`Action`] with ipvsadm
//! 1.31's rules (`parse_options`, `process_options`, `generic_opt_check`,
//! `tunnel_opt_check`): the defaults (scheduler `wlc`, gatewaying, weight
//! 1, persistence 360 s), which options each command allows or needs, and
//! its checks (zero port only for persistent services, `-o` only for UDP
//! and fwmark services, tunnel options only for tunnels).
//!
//! Addresses and ports must be numeric: host and service names are not
//! resolved.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipvs_netlink::{
    Command, Family, ForwardMethod, ListFormat, Netmask, Protocol, RealServer, Scheduler,
    ServiceFlags, ServiceKey, Timeouts, Tunnel, TunnelType, VirtualService,
};
use thiserror::Error;

use crate::options::{OptionsError, Tag, Word, tokenize};

/// `MAX_TIMEOUT`: 31 days.
const MAX_TIMEOUT: u32 = 86400 * 31;
/// `IPVS_SVC_PERSISTENT_TIMEOUT`: the timeout of a bare `-p`.
const DEFAULT_PERSISTENCE: u32 = 360;
/// `DEF_SCHED`.
const DEFAULT_SCHEDULER: &str = "wlc";

/// What one command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `-L` / `-l`.
    List(Listing),
    /// `-L --timeout`.
    ListTimeouts,
    /// `-S` (always sorted: `--nosort` is not allowed with it).
    Save,
    /// `-R`.
    Restore,
    /// A mutation: `-A -E -D -a -e -d -C -Z --set`.
    Apply(Command),
    /// `-h`.
    Help,
    /// `-v`.
    Version,
}

/// What `-L` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// `-t/-u/--sctp-service/-f`: one service only.
    pub service: Option<ServiceKey>,
    /// Plain, `--stats`, `--rate`, `--thresholds`, `--persistent-conn`.
    pub format: ListFormat,
    /// Not `--nosort`.
    pub sort: bool,
    /// `--exact`.
    pub exact: bool,
}

/// A command line ipvsadm would refuse, or one this tool does not support.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ParseError {
    /// Bad option syntax.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// No command option.
    #[error("no command given (one of -A -E -D -C -R -S -a -e -d -L -Z --set -h)")]
    NoCommand,
    /// Two command options.
    #[error("multiple commands specified")]
    MultipleCommands,
    /// An option given twice.
    #[error("multiple '{0}' options specified")]
    Repeated(&'static str),
    /// An option the command forbids.
    #[error("Illegal '{option}' option with the '{command}' command")]
    Illegal {
        /// The option's ipvsadm name.
        option: &'static str,
        /// The command's ipvsadm name.
        command: &'static str,
    },
    /// An option the command needs.
    #[error("You need to supply the '{option}' option for the '{command}' command")]
    Required {
        /// The option's ipvsadm name.
        option: &'static str,
        /// The command's ipvsadm name.
        command: &'static str,
    },
    /// Two mutually exclusive options.
    #[error("The option '{0}' conflicts with the '{1}' option in the '{2}' command")]
    Conflict(&'static str, &'static str, &'static str),
    /// A value that does not parse or is out of range.
    #[error("illegal {what} `{value}' specified")]
    Invalid {
        /// What the value is for.
        what: &'static str,
        /// The value given.
        value: String,
    },
    /// Any other refusal, in ipvsadm's words.
    #[error("{0}")]
    Refused(String),
    /// Something ipvsadm does that this tool does not.
    #[error("{0} is not supported by this ipvsadm")]
    Unsupported(&'static str),
}

/// Option indices of ipvsadm's `commands_v_options` table (`OPTC_*`).
const OPTION_NAMES: [&str; 34] = [
    "numeric",
    "connection",
    "service-address",
    "scheduler",
    "persistent",
    "netmask",
    "real-server",
    "forwarding-method",
    "weight",
    "u-threshold",
    "l-threshold",
    "mcast-interface",
    "timeout",
    "daemon",
    "stats",
    "rate",
    "thresholds",
    "persistent-conn",
    "nosort",
    "syncid",
    "exact",
    "ops",
    "pe",
    "sched-flags",
    "mcast-group",
    "mcast-port",
    "mcast-ttl",
    "sync-maxlen",
    "tun-info",
    "tun-type",
    "tun-port",
    "tun-nocsum",
    "tun-csum",
    "tun-remcsum",
];

/// ipvsadm's `commands_v_options`: per command, per option, `+`
/// compulsory, `x` illegal, `1` at most one of them, ` ` optional.
const COMMANDS: [(&str, &[u8; 34]); 14] = [
    ("add-service", b"xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx"),
    ("edit-service", b"xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx"),
    ("delete-service", b"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ("flush", b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ("list", b" 11xxxxxxxxx11       xxxxxxx xxxxx"),
    ("add-server", b"xx+xxx+    xxxxxxxxxxxxxxxxxx     "),
    ("delete-server", b"xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ("edit-server", b"xx+xxx+    xxxxxxxxxxxxxxxxxx     "),
    ("set", b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ("start-daemon", b"xxxxxxxxxxx xxxxxxx xxxx    xxxxxx"),
    ("stop-daemon", b"xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxx"),
    ("restore", b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ("save", b" xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ("zero", b"xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
];

/// The commands, in `COMMANDS` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Add,
    Edit,
    Del,
    Flush,
    List,
    AddDest,
    DelDest,
    EditDest,
    Timeout,
    StartDaemon,
    StopDaemon,
    Restore,
    Save,
    Zero,
    Help,
    Version,
}

/// The service options as given.
#[derive(Debug, Clone, Copy, Default)]
struct Service {
    protocol: Option<Protocol>,
    addr: Option<IpAddr>,
    port: u16,
    fwmark: u32,
    fwmark_v6: bool,
}

/// Everything parsed from one command line, before the final checks.
#[derive(Debug, Default)]
struct State {
    cmd: Option<Cmd>,
    options: u64,
    svc: Service,
    scheduler: Option<String>,
    persistent: Option<u32>,
    netmask: Option<String>,
    dest: Option<(IpAddr, Option<u16>)>,
    forward: Option<Tag>,
    weight: Option<u32>,
    upper: u32,
    lower: u32,
    ops: bool,
    pe: Option<String>,
    sched_flags: Option<String>,
    tun_type: TunnelType,
    tun_port: u16,
    tun_flags: u16,
    sort: bool,
    exact: bool,
    positional: Vec<String>,
}

/// Parses one ipvsadm command line (without the program name).
pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Action, ParseError> {
    let mut state = State {
        sort: true,
        ..State::default()
    };
    for word in tokenize(args)? {
        match word {
            Word::Positional(value) => state.positional.push(value),
            Word::Option { tag, name, value } => state.apply(tag, &name, value)?,
        }
    }
    state.finish()
}

/// `string_to_number`: a decimal in `min..=max`.
fn number(value: &str, min: u32, max: u32, what: &'static str) -> Result<u32, ParseError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| ParseError::Invalid {
            what,
            value: value.to_string(),
        })
}

/// `parse_service`: `a.b.c.d[:port]`, `[v6]:port` or a bare IPv6 address.
fn address(value: &str, what: &'static str) -> Result<(IpAddr, Option<u16>), ParseError> {
    let invalid = || ParseError::Invalid {
        what,
        value: value.to_string(),
    };
    let port = |p: &str| number(p, 0, 65535, what).map(|p| p as u16);
    if let Some(inner) = value.strip_prefix('[') {
        let (ip, port_text) = inner.split_once("]:").ok_or_else(invalid)?;
        let ip: Ipv6Addr = ip.parse().map_err(|_| invalid())?;
        return Ok((IpAddr::V6(ip), Some(port(port_text)?)));
    }
    if let Ok(ip) = value.parse::<Ipv6Addr>() {
        return Ok((IpAddr::V6(ip), None));
    }
    let (ip, port_text) = match value.rsplit_once(':') {
        Some((ip, p)) => (ip, Some(p)),
        None => (value, None),
    };
    let ip: Ipv4Addr = ip.parse().map_err(|_| invalid())?;
    Ok((IpAddr::V4(ip), port_text.map(port).transpose()?))
}

impl State {
    /// Marks an option as given (`set_option`).
    fn set_option(&mut self, index: usize) -> Result<(), ParseError> {
        let bit = 1u64 << index;
        if self.options & bit != 0 {
            return Err(ParseError::Repeated(OPTION_NAMES[index]));
        }
        self.options |= bit;
        Ok(())
    }

    fn has(&self, index: usize) -> bool {
        self.options & (1u64 << index) != 0
    }

    fn set_command(&mut self, cmd: Cmd) -> Result<(), ParseError> {
        if self.cmd.replace(cmd).is_some() {
            return Err(ParseError::MultipleCommands);
        }
        Ok(())
    }

    /// One option, in command-line order.
    fn apply(&mut self, tag: Tag, name: &str, value: Option<String>) -> Result<(), ParseError> {
        let value = value.unwrap_or_default();
        match tag {
            Tag::AddService => self.set_command(Cmd::Add)?,
            Tag::EditService => self.set_command(Cmd::Edit)?,
            Tag::DeleteService => self.set_command(Cmd::Del)?,
            Tag::Clear => self.set_command(Cmd::Flush)?,
            Tag::List => self.set_command(Cmd::List)?,
            Tag::Zero => self.set_command(Cmd::Zero)?,
            Tag::AddServer => self.set_command(Cmd::AddDest)?,
            Tag::EditServer => self.set_command(Cmd::EditDest)?,
            Tag::DeleteServer => self.set_command(Cmd::DelDest)?,
            Tag::Set => self.set_command(Cmd::Timeout)?,
            Tag::Restore => self.set_command(Cmd::Restore)?,
            Tag::Save => self.set_command(Cmd::Save)?,
            Tag::Help => self.set_command(Cmd::Help)?,
            Tag::Version => self.set_command(Cmd::Version)?,
            Tag::Daemon => self.set_command(if name == "--start-daemon" {
                Cmd::StartDaemon
            } else {
                Cmd::StopDaemon
            })?,
            Tag::Tcp | Tag::Udp | Tag::Sctp => {
                self.set_option(2)?;
                let protocol = match tag {
                    Tag::Tcp => Protocol::Tcp,
                    Tag::Udp => Protocol::Udp,
                    _ => Protocol::Sctp,
                };
                let (addr, port) = address(&value, "virtual server address[:port]")?;
                self.svc.protocol = Some(protocol);
                self.svc.addr = Some(addr);
                self.svc.port = port.unwrap_or(0);
            }
            Tag::Fwmark => {
                self.set_option(2)?;
                let mark = value.parse::<u32>().ok().filter(|m| *m > 0);
                self.svc.fwmark = mark.ok_or_else(|| {
                    ParseError::Refused(format!("invalid fwmark value `{value}' specified"))
                })?;
            }
            Tag::Scheduler => {
                self.set_option(3)?;
                self.scheduler = Some(value);
            }
            Tag::Persistent => {
                self.set_option(4)?;
                self.persistent = Some(if value.is_empty() {
                    DEFAULT_PERSISTENCE
                } else {
                    number(&value, 1, MAX_TIMEOUT, "persistence timeout")?
                });
            }
            Tag::Netmask => {
                self.set_option(5)?;
                self.netmask = Some(value);
            }
            Tag::RealServer => {
                self.set_option(6)?;
                self.dest = Some(address(&value, "real server address[:port]")?);
            }
            Tag::Masquerading | Tag::Ipip | Tag::Gatewaying => {
                self.set_option(7)?;
                self.forward = Some(tag);
            }
            Tag::Weight => {
                self.set_option(8)?;
                self.weight = Some(number(&value, 0, 65535, "weight")?);
            }
            Tag::UpperThreshold => {
                self.set_option(9)?;
                self.upper = number(&value, 0, i32::MAX as u32, "u_threshold")?;
            }
            Tag::LowerThreshold => {
                self.set_option(10)?;
                self.lower = number(&value, 0, i32::MAX as u32, "l_threshold")?;
            }
            Tag::Numeric => self.set_option(0)?,
            Tag::Connection => {
                self.set_option(1)?;
                return Err(ParseError::Unsupported("-c (connection listing)"));
            }
            Tag::Timeout => self.set_option(12)?,
            Tag::DaemonInfo => self.set_option(13)?,
            Tag::Stats => {
                self.set_option(14)?;
            }
            Tag::Rate => {
                self.set_option(15)?;
            }
            Tag::Thresholds => {
                self.set_option(16)?;
            }
            Tag::PersistentConn => {
                self.set_option(17)?;
            }
            Tag::NoSort => {
                self.set_option(18)?;
                self.sort = false;
            }
            Tag::Sort => {}
            Tag::Exact => {
                self.set_option(20)?;
                self.exact = true;
            }
            Tag::Ipv6 => {
                if self.svc.fwmark == 0 {
                    return Err(ParseError::Refused("-6 used before -f".into()));
                }
                self.svc.fwmark_v6 = true;
            }
            Tag::Ops => {
                self.set_option(21)?;
                self.ops = true;
            }
            Tag::Pe => {
                self.set_option(22)?;
                self.pe = Some(value);
            }
            Tag::SchedFlags => {
                self.set_option(23)?;
                self.sched_flags = Some(value);
            }
            Tag::TunInfo => {
                self.set_option(28)?;
                return Err(ParseError::Unsupported("--tun-info"));
            }
            Tag::TunType => {
                self.set_option(29)?;
                self.tun_type = match value.as_str() {
                    "ipip" => TunnelType::Ipip,
                    "gue" => TunnelType::Gue,
                    "gre" => TunnelType::Gre,
                    _ => {
                        return Err(ParseError::Invalid {
                            what: "tunnel type",
                            value,
                        });
                    }
                };
            }
            Tag::TunPort => {
                self.set_option(30)?;
                self.tun_port = number(&value, 1, 65535, "tunnel port")? as u16;
            }
            Tag::TunNoCsum => self.set_option(31)?,
            Tag::TunCsum => {
                self.set_option(32)?;
                self.tun_flags |= Tunnel::CSUM;
            }
            Tag::TunRemCsum => {
                self.set_option(33)?;
                self.tun_flags |= Tunnel::REMCSUM;
            }
            Tag::DaemonOption => return Err(ParseError::Unsupported("the sync daemon")),
        }
        Ok(())
    }

    /// `generic_opt_check`.
    fn check_options(&self, cmd: Cmd) -> Result<(), ParseError> {
        let (command, row) = COMMANDS[cmd as usize];
        let mut exclusive = None;
        for (index, rule) in row.iter().enumerate() {
            let option = OPTION_NAMES[index];
            match (self.has(index), rule) {
                (false, b'+') => return Err(ParseError::Required { option, command }),
                (true, b'x') => return Err(ParseError::Illegal { option, command }),
                (true, b'1') => match exclusive {
                    None => exclusive = Some(option),
                    Some(first) => return Err(ParseError::Conflict(option, first, command)),
                },
                _ => {}
            }
        }
        Ok(())
    }

    /// `tunnel_opt_check`: which of `--tun-port`, `--tun-nocsum`,
    /// `--tun-csum`, `--tun-remcsum` each tunnel type takes.
    fn check_tunnel(&self) -> Result<(), ParseError> {
        let (name, row): (&str, &[u8; 4]) = match self.tun_type {
            TunnelType::Gue => ("gue", b"+111"),
            TunnelType::Gre => ("gre", b"x11x"),
            _ => ("ipip", b"xxxx"),
        };
        let mut exclusive = None;
        for (index, rule) in (30..34).zip(row) {
            let option = OPTION_NAMES[index];
            match (self.has(index), rule) {
                (false, b'+') => {
                    return Err(ParseError::Refused(format!(
                        "You need to supply the '{option}' option for the '{name}' tunnel type"
                    )));
                }
                (true, b'x') => {
                    return Err(ParseError::Refused(format!(
                        "Illegal '{option}' option with the '{name}' tunnel type"
                    )));
                }
                (true, b'1') => match exclusive {
                    None => exclusive = Some(option),
                    Some(first) => {
                        return Err(ParseError::Refused(format!(
                            "The option '{option}' conflicts with the '{first}' option in the \
                             '{name}' tunnel type"
                        )));
                    }
                },
                _ => {}
            }
        }
        Ok(())
    }

    /// The service key of `-t/-u/--sctp-service/-f`, if given.
    fn key(&self) -> Option<ServiceKey> {
        if self.svc.fwmark != 0 {
            let family = if self.svc.fwmark_v6 {
                Family::Inet6
            } else {
                Family::Inet
            };
            return Some(ServiceKey::fwmark(family, self.svc.fwmark));
        }
        let addr = SocketAddr::new(self.svc.addr?, self.svc.port);
        Some(ServiceKey::Inet {
            protocol: self.svc.protocol?,
            addr,
        })
    }

    /// The key of a command that requires `service-address` (checked by
    /// `check_options` before).
    fn required_key(&self) -> Result<ServiceKey, ParseError> {
        self.key().ok_or(ParseError::Required {
            option: "service-address",
            command: "this",
        })
    }

    /// The service of `-A` / `-E`.
    fn service(&self, key: ServiceKey) -> Result<VirtualService, ParseError> {
        let scheduler = self.scheduler.as_deref().unwrap_or(DEFAULT_SCHEDULER);
        let fwmark = matches!(key, ServiceKey::Fwmark { .. });
        if !fwmark && self.svc.port == 0 && self.persistent.is_none() {
            return Err(ParseError::Refused(
                "Zero port specified for non-persistent service".into(),
            ));
        }
        if self.ops && !fwmark && self.svc.protocol != Some(Protocol::Udp) {
            return Err(ParseError::Refused(
                "One-Packet Scheduling is only for UDP virtual services".into(),
            ));
        }
        let mut service = VirtualService::new(key, Scheduler::new(scheduler));
        if let Some(timeout) = self.persistent {
            service = service.persistent(timeout);
        }
        if self.ops {
            service = service.with_flags(ServiceFlags::ONE_PACKET);
        }
        if let Some(flags) = &self.sched_flags {
            service = service.with_flags(sched_flags(scheduler, flags)?);
        }
        if let Some(mask) = &self.netmask {
            let netmask =
                if key.family().is_v6() {
                    let prefix = mask.parse::<u8>().ok().filter(|p| (1..=128).contains(p));
                    Netmask::Ipv6Prefix(prefix.ok_or_else(|| {
                        ParseError::Refused("illegal ipv6 netmask specified".into())
                    })?)
                } else {
                    Netmask::Ipv4(mask.parse().map_err(|_| ParseError::Invalid {
                        what: "virtual server persistent mask",
                        value: mask.clone(),
                    })?)
                };
            service = service.with_netmask(netmask);
        }
        if let Some(pe) = &self.pe {
            service = service.with_pe_name(pe.clone());
        }
        Ok(service)
    }

    /// The real server of `-a` / `-e`.
    fn real_server(&self, key: ServiceKey) -> Result<RealServer, ParseError> {
        let (ip, port) = self.dest.ok_or(ParseError::Required {
            option: "real-server",
            command: "this",
        })?;
        let forward = match self.forward {
            Some(Tag::Masquerading) => ForwardMethod::Masq,
            Some(Tag::Ipip) => {
                ForwardMethod::Tunnel(Tunnel::new(self.tun_type, self.tun_port, self.tun_flags))
            }
            _ => ForwardMethod::DirectRoute,
        };
        let tunnel = matches!(forward, ForwardMethod::Tunnel(_));
        let fwmark = matches!(key, ServiceKey::Fwmark { .. });
        // Gatewaying and tunnelling keep the virtual port.
        let port = if !fwmark && forward != ForwardMethod::Masq {
            self.svc.port
        } else {
            port.unwrap_or(self.svc.port)
        };
        if Family::of(ip) != key.family() && !tunnel {
            return Err(ParseError::Refused(
                "Different address family is allowed only for tunneling servers".into(),
            ));
        }
        if (29..34).any(|index| self.has(index)) && !tunnel {
            return Err(ParseError::Refused(
                "Tunnel options conflict with forward method".into(),
            ));
        }
        self.check_tunnel()?;
        Ok(
            RealServer::new(SocketAddr::new(ip, port), forward, self.weight.unwrap_or(1))
                .with_thresholds(self.upper, self.lower),
        )
    }

    fn finish(self) -> Result<Action, ParseError> {
        let cmd = self.cmd.ok_or(ParseError::NoCommand)?;
        match cmd {
            Cmd::Help => return Ok(Action::Help),
            Cmd::Version => return Ok(Action::Version),
            Cmd::StartDaemon | Cmd::StopDaemon => {
                return Err(ParseError::Unsupported("the sync daemon"));
            }
            _ => {}
        }
        self.check_options(cmd)?;
        let timeouts = if cmd == Cmd::Timeout {
            let [tcp, fin, udp, ..] = self.positional.as_slice() else {
                return Err(ParseError::Refused(
                    "--set option requires 3 timeout values".into(),
                ));
            };
            let timeout = |v: &str| number(v, 0, MAX_TIMEOUT, "timeout value");
            Some(Timeouts::new(timeout(tcp)?, timeout(fin)?, timeout(udp)?))
        } else {
            None
        };
        let extra = if cmd == Cmd::Timeout { 3 } else { 0 };
        if let Some(arg) = self.positional.get(extra) {
            return Err(ParseError::Refused(format!("unexpected argument {arg}")));
        }
        Ok(match cmd {
            Cmd::List => {
                if self.has(12) && self.has(17) {
                    return Err(ParseError::Refused(
                        "options conflicts in the list command".into(),
                    ));
                }
                if self.has(12) {
                    if self.has(14) || self.has(15) || self.has(16) {
                        return Err(ParseError::Refused(
                            "options conflicts in the list command".into(),
                        ));
                    }
                    Action::ListTimeouts
                } else if self.has(13) {
                    return Err(ParseError::Unsupported("--daemon"));
                } else {
                    // print_title's precedence when several are given.
                    let format = [
                        (14, ListFormat::Stats),
                        (15, ListFormat::Rate),
                        (16, ListFormat::Thresholds),
                        (17, ListFormat::PersistentConn),
                    ]
                    .into_iter()
                    .find(|(index, _)| self.has(*index))
                    .map_or(ListFormat::Plain, |(_, format)| format);
                    Action::List(Listing {
                        service: self.key(),
                        format,
                        sort: self.sort,
                        exact: self.exact,
                    })
                }
            }
            Cmd::Save => Action::Save,
            Cmd::Restore => Action::Restore,
            Cmd::Flush => Action::Apply(Command::Flush),
            Cmd::Zero => Action::Apply(Command::Zero(self.key())),
            Cmd::Timeout => {
                Action::Apply(Command::SetTimeouts(timeouts.ok_or(ParseError::NoCommand)?))
            }
            Cmd::Add => Action::Apply(Command::AddService(self.service(self.required_key()?)?)),
            Cmd::Edit => Action::Apply(Command::UpdateService(self.service(self.required_key()?)?)),
            Cmd::Del => Action::Apply(Command::DeleteService(self.required_key()?)),
            Cmd::AddDest => {
                let key = self.required_key()?;
                Action::Apply(Command::AddRealServer(key, self.real_server(key)?))
            }
            Cmd::EditDest => {
                let key = self.required_key()?;
                Action::Apply(Command::UpdateRealServer(key, self.real_server(key)?))
            }
            Cmd::DelDest => {
                let key = self.required_key()?;
                let (ip, port) = self.dest.ok_or(ParseError::Required {
                    option: "real-server",
                    command: "delete-server",
                })?;
                let addr = SocketAddr::new(ip, port.unwrap_or(self.svc.port));
                Action::Apply(Command::DeleteRealServer(key, addr))
            }
            Cmd::Help | Cmd::Version | Cmd::StartDaemon | Cmd::StopDaemon => {
                return Err(ParseError::NoCommand);
            }
        })
    }
}

/// `parse_sched_flags`: comma-separated names, checked against the
/// scheduler.
fn sched_flags(scheduler: &str, list: &str) -> Result<ServiceFlags, ParseError> {
    let mut flags = ServiceFlags::EMPTY;
    for flag in list.split(',').filter(|f| !f.is_empty()) {
        let (bit, only_for) = match flag {
            "flag-1" => (ServiceFlags::SCHED1, None),
            "flag-2" => (ServiceFlags::SCHED2, None),
            "flag-3" => (ServiceFlags::SCHED3, None),
            "sh-fallback" => (ServiceFlags::SH_FALLBACK, Some("sh")),
            "sh-port" => (ServiceFlags::SH_PORT, Some("sh")),
            "mh-fallback" => (ServiceFlags::MH_FALLBACK, Some("mh")),
            "mh-port" => (ServiceFlags::MH_PORT, Some("mh")),
            _ => {
                return Err(ParseError::Refused(format!(
                    "invalid scheduler flag `{flag}'"
                )));
            }
        };
        if only_for.is_some_and(|s| s != scheduler) {
            return Err(ParseError::Refused(format!(
                "incompatible scheduler flag `{flag}'"
            )));
        }
        flags.insert(bit);
    }
    Ok(flags)
}

#[cfg(test)]
mod tests;
