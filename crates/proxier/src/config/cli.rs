//! The command line: every kube-proxy flag (pflag syntax: `--flag=value`,
//! `--flag value`, booleans as `--flag` or `--flag=true|false`), this
//! proxier's own flags, and the optional `plan` / `run` subcommands.
//! [`Cli::resolve`] turns it into an [`Invocation`].
//!
//! kubeadm starts kube-proxy as `kube-proxy
//! --config=/var/lib/kube-proxy/config.conf --hostname-override=$(NODE_NAME)`;
//! the same line starts this binary. Precedence is kube-proxy's: with
//! `--config` the file replaces every flag except `--hostname-override`,
//! `--master`, `--cleanup`, `--init-only` and `--write-config-to` (each
//! replaced flag that is given gets a warning); without `--config` the flags
//! apply over kube-proxy's defaults. Our own flags (`--manifests`,
//! `--node-ip`, `--vip-bind-mode`, `--graceful-check-period`,
//! `--manifests-poll-period`) apply in both cases.
//!
//! kube-proxy flags that mean nothing here ([`IgnoredFlags`]: conntrack,
//! profiling, feature gates, iptables mode, logging) are accepted, and each
//! one given gets a warning; a flag kube-proxy does not have is an error.
//!
//! Warnings: [`Cli::resolve`] logs them with `tracing::warn!`;
//! [`Cli::resolve_with_warnings`] returns them instead.

use std::{net::IpAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};

use super::{
    BindMode, ConfigError, GoDuration, Settings,
    file::{self, API_VERSION, KIND, KubeProxyConfiguration},
    parse_duration,
    resolve::{self, Origin, Overrides},
};

/// kube-ipvs-proxier: kube-proxy's IPVS mode on raw netlink.
///
/// Takes kube-proxy's flags and configuration file; with no subcommand it
/// runs the proxier, like run.
#[derive(Debug, Clone, Parser)]
#[command(name = "kube-ipvs-proxier", version, args_override_self = true)]
pub struct Cli {
    /// What to do (default: `run`).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// kube-proxy's flags.
    #[command(flatten)]
    pub kube_proxy: KubeProxyFlags,
    /// kube-proxy's flags that have no effect here.
    #[command(flatten)]
    pub ignored: IgnoredFlags,
    /// This proxier's own flags.
    #[command(flatten)]
    pub own: OwnFlags,
}

/// The subcommands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Print the kernel state a node would get from --manifests (IPVS,
    /// ipsets, iptables), without root and without touching the kernel.
    Plan,
    /// Program this node's kernel and keep it in sync (the default).
    Run,
}

/// What the command line asks for, resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// `plan --manifests PATH [--node-ip ...] [flags]`: print a node's
    /// kernel state.
    Plan {
        /// The settings.
        settings: Settings,
        /// The manifests to plan from.
        manifests: PathBuf,
    },
    /// No subcommand (API server; or `--manifests PATH` for the manifests
    /// mode), or `run ...`.
    Run(Settings),
    /// `--cleanup`: remove what kube-proxy's IPVS mode leaves and exit.
    Cleanup(Settings),
    /// `--init-only`: kube-proxy's privileged initialization (the IPVS and
    /// ipset checks, the scheduler probe, the sysctls, the IPVS timeouts),
    /// then exit 0.
    InitOnly(Settings),
    /// Nothing more to do; exit 0: `--write-config-to` wrote its file.
    Exit,
}

/// Go's `strconv.ParseBool`, for pflag booleans.
fn parse_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("{text:?} is not a boolean (true or false)")),
    }
}

/// kube-proxy's flags that this proxier honours.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "kube-proxy flags")]
pub struct KubeProxyFlags {
    /// The path to the configuration file (KubeProxyConfiguration).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Write the effective configuration to this file (YAML) and exit.
    #[arg(long, global = true, value_name = "PATH")]
    pub write_config_to: Option<PathBuf>,
    /// Remove the IPVS, ipset, iptables and kube-ipvs0 state and exit.
    #[arg(long, global = true, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_bool)]
    pub cleanup: Option<bool>,
    /// Perform the privileged initialization (the sysctls, the IPVS checks
    /// and timeouts) and exit: a privileged init container's job.
    #[arg(long, global = true, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_bool)]
    pub init_only: Option<bool>,
    /// Path to a kubeconfig file (empty: in-cluster).
    #[arg(long, global = true, value_name = "PATH", allow_hyphen_values = true)]
    pub kubeconfig: Option<String>,
    /// The API server URL (overrides the kubeconfig's).
    #[arg(long, global = true, value_name = "URL", allow_hyphen_values = true)]
    pub master: Option<String>,
    /// QPS to the API server (default 5).
    #[arg(long, global = true, value_name = "QPS", allow_hyphen_values = true)]
    pub kube_api_qps: Option<f32>,
    /// Burst to the API server (default 10).
    #[arg(long, global = true, value_name = "N", allow_hyphen_values = true)]
    pub kube_api_burst: Option<i32>,
    /// The node name (lower-cased; default: the host name).
    #[arg(long, global = true, value_name = "NAME", allow_hyphen_values = true)]
    pub hostname_override: Option<String>,
    /// The node's primary IP if not 0.0.0.0 (binds nothing).
    #[arg(long, global = true, value_name = "IP", allow_hyphen_values = true)]
    pub bind_address: Option<String>,
    /// IP:port of the health server (default 0.0.0.0:10256; empty disables).
    #[arg(
        long,
        global = true,
        value_name = "IP:PORT",
        allow_hyphen_values = true
    )]
    pub healthz_bind_address: Option<String>,
    /// IP:port of the metrics server (default 127.0.0.1:10249; empty
    /// disables).
    #[arg(
        long,
        global = true,
        value_name = "IP:PORT",
        allow_hyphen_values = true
    )]
    pub metrics_bind_address: Option<String>,
    /// A failure to bind the health or metrics port is fatal.
    #[arg(long, global = true, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_bool)]
    pub bind_address_hard_fail: Option<bool>,
    /// The proxy mode; only ipvs runs (others are warned about).
    #[arg(long, global = true, value_name = "MODE", allow_hyphen_values = true)]
    pub proxy_mode: Option<String>,
    /// The fwmark bit marking packets for SNAT, 0-31 (default 14).
    #[arg(long, global = true, value_name = "BIT", allow_hyphen_values = true)]
    pub iptables_masquerade_bit: Option<i32>,
    /// SNAT all traffic sent to Service cluster IPs.
    #[arg(long, global = true, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_bool)]
    pub masquerade_all: Option<bool>,
    /// Full resync interval (Go duration, default 30s).
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub ipvs_sync_period: Option<GoDuration>,
    /// Least time between two syncs (default 0s).
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub ipvs_min_sync_period: Option<GoDuration>,
    /// The IPVS scheduler (default rr).
    #[arg(long, global = true, value_name = "NAME", allow_hyphen_values = true)]
    pub ipvs_scheduler: Option<String>,
    /// CIDRs whose virtual servers are never cleaned up (comma-separated).
    #[arg(
        long,
        global = true,
        value_name = "CIDRS",
        value_delimiter = ',',
        allow_hyphen_values = true
    )]
    pub ipvs_exclude_cidrs: Option<Vec<String>>,
    /// Set arp_ignore=1 and arp_announce=2.
    #[arg(long, global = true, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_bool)]
    pub ipvs_strict_arp: Option<bool>,
    /// Idle IPVS TCP timeout (0 leaves the kernel's).
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub ipvs_tcp_timeout: Option<GoDuration>,
    /// IPVS TCP timeout after a FIN (0 leaves the kernel's).
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub ipvs_tcpfin_timeout: Option<GoDuration>,
    /// IPVS UDP timeout (0 leaves the kernel's).
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub ipvs_udp_timeout: Option<GoDuration>,
    /// Local traffic detection; only ClusterCIDR (the default) is supported.
    #[arg(long, global = true, value_name = "MODE", allow_hyphen_values = true)]
    pub detect_local_mode: Option<String>,
    /// Pod CIDRs (comma-separated, one per family), for local traffic
    /// detection.
    #[arg(long, global = true, value_name = "CIDRS", allow_hyphen_values = true)]
    pub cluster_cidr: Option<String>,
    /// NodePort addresses: CIDRs or `primary` (default: all node addresses).
    #[arg(
        long,
        global = true,
        value_name = "CIDRS",
        value_delimiter = ',',
        allow_hyphen_values = true
    )]
    pub nodeport_addresses: Option<Vec<String>>,
    /// The process's oom_score_adj, -1000..1000 (default -999).
    #[arg(long, global = true, value_name = "N", allow_hyphen_values = true)]
    pub oom_score_adj: Option<i32>,
    /// How often configuration from the API server is refreshed (default
    /// 15m0s).
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub config_sync_period: Option<GoDuration>,
    /// Deprecated: the health server's port (0 disables).
    #[arg(long, global = true, value_name = "PORT", allow_hyphen_values = true)]
    pub healthz_port: Option<i32>,
    /// Deprecated: the metrics server's port (0 disables).
    #[arg(long, global = true, value_name = "PORT", allow_hyphen_values = true)]
    pub metrics_port: Option<i32>,
}

impl KubeProxyFlags {
    /// The flags `--config` replaces that are given (every kube-proxy flag
    /// but `--config`, `--write-config-to`, `--cleanup`, `--init-only`,
    /// `--hostname-override` and `--master`).
    pub fn replaced_by_config(&self) -> Vec<&'static str> {
        let given = [
            ("--kubeconfig", self.kubeconfig.is_some()),
            ("--kube-api-qps", self.kube_api_qps.is_some()),
            ("--kube-api-burst", self.kube_api_burst.is_some()),
            ("--bind-address", self.bind_address.is_some()),
            (
                "--healthz-bind-address",
                self.healthz_bind_address.is_some(),
            ),
            (
                "--metrics-bind-address",
                self.metrics_bind_address.is_some(),
            ),
            (
                "--bind-address-hard-fail",
                self.bind_address_hard_fail.is_some(),
            ),
            ("--proxy-mode", self.proxy_mode.is_some()),
            (
                "--iptables-masquerade-bit",
                self.iptables_masquerade_bit.is_some(),
            ),
            ("--masquerade-all", self.masquerade_all.is_some()),
            ("--ipvs-sync-period", self.ipvs_sync_period.is_some()),
            (
                "--ipvs-min-sync-period",
                self.ipvs_min_sync_period.is_some(),
            ),
            ("--ipvs-scheduler", self.ipvs_scheduler.is_some()),
            ("--ipvs-exclude-cidrs", self.ipvs_exclude_cidrs.is_some()),
            ("--ipvs-strict-arp", self.ipvs_strict_arp.is_some()),
            ("--ipvs-tcp-timeout", self.ipvs_tcp_timeout.is_some()),
            ("--ipvs-tcpfin-timeout", self.ipvs_tcpfin_timeout.is_some()),
            ("--ipvs-udp-timeout", self.ipvs_udp_timeout.is_some()),
            ("--detect-local-mode", self.detect_local_mode.is_some()),
            ("--cluster-cidr", self.cluster_cidr.is_some()),
            ("--nodeport-addresses", self.nodeport_addresses.is_some()),
            ("--oom-score-adj", self.oom_score_adj.is_some()),
            ("--config-sync-period", self.config_sync_period.is_some()),
            ("--healthz-port", self.healthz_port.is_some()),
            ("--metrics-port", self.metrics_port.is_some()),
        ];
        given
            .into_iter()
            .filter_map(|(flag, given)| given.then_some(flag))
            .collect()
    }

    /// The configuration the flags give without `--config` (zero where not
    /// given; the defaults come in [`resolve::resolve`]), and whether the
    /// health and metrics servers are disabled.
    pub fn to_config(&self) -> Result<(KubeProxyConfiguration, bool, bool), ConfigError> {
        let mut c = KubeProxyConfiguration {
            api_version: API_VERSION.to_owned(),
            kind: KIND.to_owned(),
            ..KubeProxyConfiguration::default()
        };
        fn set<T: Clone>(field: &mut T, flag: &Option<T>) {
            if let Some(value) = flag {
                *field = value.clone();
            }
        }
        set(&mut c.client_connection.kubeconfig, &self.kubeconfig);
        set(&mut c.client_connection.qps, &self.kube_api_qps);
        set(&mut c.client_connection.burst, &self.kube_api_burst);
        set(&mut c.bind_address, &self.bind_address);
        set(&mut c.bind_address_hard_fail, &self.bind_address_hard_fail);
        // Without --config this binary's mode is ipvs; only an explicit
        // other --proxy-mode is warned about.
        c.mode = self.proxy_mode.clone().unwrap_or_else(|| "ipvs".to_owned());
        if self.iptables_masquerade_bit.is_some() {
            c.iptables.masquerade_bit = self.iptables_masquerade_bit;
        }
        set(&mut c.iptables.masquerade_all, &self.masquerade_all);
        set(&mut c.ipvs.sync_period, &self.ipvs_sync_period);
        set(&mut c.ipvs.min_sync_period, &self.ipvs_min_sync_period);
        set(&mut c.ipvs.scheduler, &self.ipvs_scheduler);
        if self.ipvs_exclude_cidrs.is_some() {
            c.ipvs.exclude_cidrs = self.ipvs_exclude_cidrs.clone();
        }
        set(&mut c.ipvs.strict_arp, &self.ipvs_strict_arp);
        set(&mut c.ipvs.tcp_timeout, &self.ipvs_tcp_timeout);
        set(&mut c.ipvs.tcp_fin_timeout, &self.ipvs_tcpfin_timeout);
        set(&mut c.ipvs.udp_timeout, &self.ipvs_udp_timeout);
        set(&mut c.detect_local_mode, &self.detect_local_mode);
        set(&mut c.cluster_cidr, &self.cluster_cidr);
        if self.nodeport_addresses.is_some() {
            c.node_port_addresses = self.nodeport_addresses.clone();
        }
        if self.oom_score_adj.is_some() {
            c.oom_score_adj = self.oom_score_adj;
        }
        set(&mut c.config_sync_period, &self.config_sync_period);
        let (healthz_host, metrics_host) = resolve::default_hosts(&c.bind_address);
        let (healthz, healthz_off) = server_address(
            self.healthz_bind_address.as_deref(),
            ("--healthz-port", self.healthz_port),
            healthz_host,
        )?;
        let (metrics, metrics_off) = server_address(
            self.metrics_bind_address.as_deref(),
            ("--metrics-port", self.metrics_port),
            metrics_host,
        )?;
        c.healthz_bind_address = healthz;
        c.metrics_bind_address = metrics;
        Ok((c, healthz_off, metrics_off))
    }
}

/// A server address from its `--*-bind-address` and deprecated `--*-port`
/// flags: an empty address or port 0 disables it; the port applies when the
/// address has none (a bare IP, or no address: the default host).
fn server_address(
    address: Option<&str>,
    (port_flag, port): (&'static str, Option<i32>),
    default_host: IpAddr,
) -> Result<(String, bool), ConfigError> {
    if address.is_some_and(|a| a.trim().is_empty()) || port == Some(0) {
        return Ok((String::new(), true));
    }
    let Some(port) = port else {
        return Ok((address.unwrap_or_default().to_owned(), false));
    };
    let port = u16::try_from(port).map_err(|_| {
        ConfigError::invalid(
            port_flag,
            port.to_string(),
            "must be a valid port (0-65535)",
        )
    })?;
    // An address with its own port keeps it (kube-proxy's AppendPortIfNeeded).
    let address = address.map_or_else(|| default_host.to_string(), str::to_owned);
    Ok((resolve::append_port_if_needed(&address, port), false))
}

/// How an ignored flag takes its value.
#[derive(Debug, Clone, Copy)]
enum Value {
    /// `--flag=VALUE` or `--flag VALUE` (the name shown in help).
    Text(&'static str),
    /// `--flag` or `--flag=true|false`.
    Bool,
}

/// kube-proxy's flags that mean nothing here: (`--name`, value, help).
const IGNORED: &[(&str, Value, &str)] = &[
    (
        "--feature-gates",
        Value::Text("GATES"),
        "Feature gates (key=value pairs).",
    ),
    (
        "--kube-api-content-type",
        Value::Text("TYPE"),
        "Content type of requests to the API server.",
    ),
    ("--profiling", Value::Bool, "Profiling on /debug/pprof."),
    (
        "--show-hidden-metrics-for-version",
        Value::Text("VERSION"),
        "Show hidden metrics of a version.",
    ),
    (
        "--iptables-localhost-nodeports",
        Value::Bool,
        "iptables mode: localhost NodePorts.",
    ),
    (
        "--iptables-sync-period",
        Value::Text("DURATION"),
        "iptables mode: sync period.",
    ),
    (
        "--iptables-min-sync-period",
        Value::Text("DURATION"),
        "iptables mode: minimum sync period.",
    ),
    (
        "--pod-bridge-interface",
        Value::Text("NAME"),
        "BridgeInterface local detection: the bridge.",
    ),
    (
        "--pod-interface-name-prefix",
        Value::Text("PREFIX"),
        "InterfaceNamePrefix local detection: the prefix.",
    ),
    (
        "--conntrack-max-per-core",
        Value::Text("N"),
        "Conntrack: maximum entries per CPU.",
    ),
    (
        "--conntrack-min",
        Value::Text("N"),
        "Conntrack: minimum entries.",
    ),
    (
        "--conntrack-tcp-timeout-established",
        Value::Text("DURATION"),
        "Conntrack: established TCP timeout.",
    ),
    (
        "--conntrack-tcp-timeout-close-wait",
        Value::Text("DURATION"),
        "Conntrack: CLOSE_WAIT TCP timeout.",
    ),
    (
        "--conntrack-tcp-be-liberal",
        Value::Bool,
        "Conntrack: liberal TCP tracking.",
    ),
    (
        "--conntrack-udp-timeout",
        Value::Text("DURATION"),
        "Conntrack: UNREPLIED UDP timeout.",
    ),
    (
        "--conntrack-udp-timeout-stream",
        Value::Text("DURATION"),
        "Conntrack: ASSURED UDP timeout.",
    ),
    (
        "--proxy-port-range",
        Value::Text("RANGE"),
        "Userspace proxy port range (removed from kube-proxy).",
    ),
    (
        "--udp-timeout",
        Value::Text("DURATION"),
        "Userspace proxy UDP timeout (removed from kube-proxy).",
    ),
    (
        "--boot-id-file",
        Value::Text("PATHS"),
        "cAdvisor's boot id files (kube-proxy registers Go's global flags).",
    ),
    (
        "--machine-id-file",
        Value::Text("PATHS"),
        "cAdvisor's machine id files.",
    ),
    ("--v", Value::Text("LEVEL"), "Log verbosity (use RUST_LOG)."),
    (
        "--vmodule",
        Value::Text("PATTERN=N,..."),
        "Per-file log verbosity (use RUST_LOG).",
    ),
    ("--logging-format", Value::Text("FORMAT"), "Log format."),
    (
        "--log-flush-frequency",
        Value::Text("DURATION"),
        "Log flush frequency.",
    ),
    (
        "--log-text-split-stream",
        Value::Bool,
        "Text logs: split info and error streams.",
    ),
    (
        "--log-text-info-buffer-size",
        Value::Text("QUANTITY"),
        "Text logs: info buffer size.",
    ),
    (
        "--log-json-split-stream",
        Value::Bool,
        "JSON logs: split info and error streams.",
    ),
    (
        "--log-json-info-buffer-size",
        Value::Text("QUANTITY"),
        "JSON logs: info buffer size.",
    ),
];

/// kube-proxy's flags accepted for compatibility that have no effect here
/// (the table `IGNORED`); each one given is warned about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoredFlags {
    given: Vec<&'static str>,
}

impl IgnoredFlags {
    /// The names of the ignored flags that are given (`--name`).
    pub fn given(&self) -> Vec<&'static str> {
        self.given.clone()
    }
}

fn ignored_arg(flag: &'static str, value: Value, help: &'static str) -> clap::Arg {
    let name = flag.trim_start_matches('-');
    let arg = clap::Arg::new(name)
        .long(name)
        .global(true)
        .help(help)
        .action(clap::ArgAction::Set);
    let arg = if name == "v" { arg.short('v') } else { arg };
    match value {
        Value::Text(value_name) => arg.value_name(value_name).allow_hyphen_values(true),
        Value::Bool => arg
            .value_name("BOOL")
            .num_args(0..=1)
            .require_equals(true)
            .default_missing_value("true"),
    }
}

impl Args for IgnoredFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.next_help_heading("kube-proxy flags accepted and ignored")
            .args(IGNORED.iter().map(|(n, v, h)| ignored_arg(n, *v, h)))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for IgnoredFlags {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = IgnoredFlags::default();
        flags.update_from_arg_matches(matches)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        for (flag, _, _) in IGNORED {
            let name = flag.trim_start_matches('-');
            let given = matches.value_source(name) == Some(clap::parser::ValueSource::CommandLine);
            if given && !self.given.contains(flag) {
                self.given.push(flag);
            }
        }
        Ok(())
    }
}

/// This proxier's own flags (not kube-proxy's); they apply with and
/// without `--config`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "kube-ipvs-proxier flags")]
pub struct OwnFlags {
    /// Read Services, EndpointSlices and Nodes from YAML (a file or a
    /// directory of *.yaml / *.yml) instead of the API server.
    #[arg(long, global = true, value_name = "PATH")]
    pub manifests: Option<PathBuf>,
    /// The node's addresses (repeat or comma-separate); the first of each
    /// family is its primary address. Default: the Node object's.
    #[arg(long, global = true, value_name = "IP", value_delimiter = ',')]
    pub node_ip: Vec<IpAddr>,
    /// How VIPs are made local: `address` (kube-proxy's /32 and /128
    /// addresses on kube-ipvs0) or `route` (a local route per VIP; much
    /// faster with many Services).
    #[arg(long, global = true, value_name = "MODE", value_enum)]
    pub vip_bind_mode: Option<BindMode>,
    /// How often real servers draining at weight 0 are checked (default
    /// 1m).
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub graceful_check_period: Option<Duration>,
    /// How often the manifests are checked for changes (default 1s).
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub manifests_poll_period: Option<Duration>,
}

impl Cli {
    /// Loads `--config` if given, applies kube-proxy's precedence, defaults
    /// and validation, and logs the warnings with `tracing::warn!`.
    pub fn resolve(self) -> Result<Invocation, ConfigError> {
        let (invocation, warnings) = self.resolve_with_warnings()?;
        for warning in warnings {
            tracing::warn!("{warning}");
        }
        Ok(invocation)
    }

    /// [`Cli::resolve`], returning the warnings instead of logging them.
    /// With `--write-config-to`, the effective configuration is written
    /// here.
    pub fn resolve_with_warnings(self) -> Result<(Invocation, Vec<String>), ConfigError> {
        let flags = &self.kube_proxy;
        let mut warnings: Vec<String> = self
            .ignored
            .given()
            .into_iter()
            .map(|flag| format!("{flag} is not supported by this proxier; ignored"))
            .collect();
        let mut overrides = Overrides {
            hostname_override: flags.hostname_override.clone(),
            master: flags.master.clone(),
            bind_mode: self.own.vip_bind_mode.unwrap_or_default(),
            manifests: self.own.manifests.clone(),
            node_ips: self.own.node_ip.clone(),
            graceful_period: self.own.graceful_check_period,
            poll_period: self.own.manifests_poll_period,
            ..Overrides::default()
        };
        let (mut config, origin) = match &flags.config {
            Some(path) => {
                for flag in flags.replaced_by_config() {
                    warnings.push(format!(
                        "{flag} is ignored because --config is given (the file replaces the flags, as in kube-proxy)"
                    ));
                }
                let (config, found) = file::load(path)?;
                warnings.extend(found);
                (config, Origin::File(path.display().to_string()))
            }
            None => {
                let (config, healthz_off, metrics_off) = flags.to_config()?;
                overrides.healthz_disabled = healthz_off;
                overrides.metrics_disabled = metrics_off;
                (config, Origin::Flags)
            }
        };
        let mut settings = resolve::resolve(&mut config, &origin, overrides, &mut warnings)?;
        settings.config_file = flags.config.clone();
        let invocation = if let Some(path) = &flags.write_config_to {
            write_config(path, &config)?;
            Invocation::Exit
        } else if flags.cleanup == Some(true) {
            if self.command == Some(Command::Plan) {
                return Err(ConfigError::invalid(
                    "--cleanup",
                    "true",
                    "cannot be combined with plan",
                ));
            }
            Invocation::Cleanup(settings)
        } else if flags.init_only == Some(true) {
            Invocation::InitOnly(settings)
        } else if self.command == Some(Command::Plan) {
            let manifests = settings.manifests.clone().ok_or_else(|| {
                ConfigError::invalid("--manifests", "", "plan needs --manifests PATH")
            })?;
            Invocation::Plan {
                settings,
                manifests,
            }
        } else {
            Invocation::Run(settings)
        };
        Ok((invocation, warnings))
    }
}

/// `--write-config-to`: the effective configuration as YAML.
fn write_config(
    path: &std::path::Path,
    config: &KubeProxyConfiguration,
) -> Result<(), ConfigError> {
    let error = |message: String| ConfigError::Write {
        path: path.display().to_string(),
        message,
    };
    let yaml = serde_saphyr::to_string(config).map_err(|e| error(e.to_string()))?;
    std::fs::write(path, yaml).map_err(|e| error(e.to_string()))
}
