//! A `KubeProxyConfiguration` (from the file, or built from the flags)
//! into [`Settings`]: kube-proxy's defaults (`SetDefaults_KubeProxyConfiguration`
//! and `platformApplyDefaults`), its validation (`validation.Validate`, IPVS
//! parts), and what this proxier does with modes it does not run.
//!
//! Decisions where kube-proxy has nothing to say:
//! * `mode`: `""` (kube-proxy: iptables) and `iptables`, `nftables`,
//!   `kernelspace` are warned about and IPVS runs; any other value is an
//!   error, as in kube-proxy.
//! * `detectLocalMode`: `""` means `ClusterCIDR`; `NodeCIDR`,
//!   `BridgeInterface` and `InterfaceNamePrefix` are warned about and no
//!   local traffic detection is done; other values are errors.
//! * An empty `healthzBindAddress` or `metricsBindAddress` in a file gets
//!   the default (kube-proxy's defaulting); only the flags
//!   (`--healthz-bind-address=` or `--healthz-port=0`, and the metrics pair)
//!   disable a server.
//! * The IPVS scheduler is not checked here (the kernel is probed at start).

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use super::{
    BindMode, ConfigError, GoDuration, ProxyConfig, Settings, file::KubeProxyConfiguration,
    parse_cidrs, parse_node_port_addresses,
};

/// kube-proxy's healthz port (`ports.ProxyHealthzPort`).
pub const HEALTHZ_PORT: u16 = 10256;
/// kube-proxy's metrics port (`ports.ProxyStatusPort`).
pub const METRICS_PORT: u16 = 10249;
/// kube-proxy's `oomScoreAdj` (`qos.KubeProxyOOMScoreAdj`).
pub const OOM_SCORE_ADJ: i32 = -999;
/// Default `--graceful-check-period` (ours; kube-proxy checks every minute).
pub const GRACEFUL_PERIOD: Duration = Duration::from_secs(60);
/// Default `--manifests-poll-period` (ours).
pub const POLL_PERIOD: Duration = Duration::from_secs(1);

const SECOND: i64 = 1_000_000_000;

/// The flags each validated configuration field is set by, to name the
/// field (from a file) or the flag (from the command line) in errors.
pub(super) const FIELDS: &[(&str, &str)] = &[
    ("--bind-address", "bindAddress"),
    ("--healthz-bind-address", "healthzBindAddress"),
    ("--metrics-bind-address", "metricsBindAddress"),
    ("--kube-api-burst", "clientConnection.burst"),
    ("--iptables-masquerade-bit", "iptables.masqueradeBit"),
    ("--ipvs-sync-period", "ipvs.syncPeriod"),
    ("--ipvs-min-sync-period", "ipvs.minSyncPeriod"),
    ("--ipvs-scheduler", "ipvs.scheduler"),
    ("--ipvs-exclude-cidrs", "ipvs.excludeCIDRs"),
    ("--ipvs-tcp-timeout", "ipvs.tcpTimeout"),
    ("--ipvs-tcpfin-timeout", "ipvs.tcpFinTimeout"),
    ("--ipvs-udp-timeout", "ipvs.udpTimeout"),
    ("--config-sync-period", "configSyncPeriod"),
    ("--cluster-cidr", "clusterCIDR"),
    ("--nodeport-addresses", "nodePortAddresses"),
    ("--oom-score-adj", "oomScoreAdj"),
    ("--proxy-mode", "mode"),
    ("--detect-local-mode", "detectLocalMode"),
];

/// Where a configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `--config FILE`: errors name the file and the field.
    File(String),
    /// The command line: errors name the flag.
    Flags,
}

impl Origin {
    /// The name of what `flag` sets: the flag itself, or the file's field.
    pub fn name(&self, flag: &'static str) -> &'static str {
        match self {
            Origin::Flags => flag,
            Origin::File(_) => FIELDS
                .iter()
                .find(|(f, _)| *f == flag)
                .map_or(flag, |(_, field)| field),
        }
    }

    /// An error about the value `flag` sets.
    pub fn error(
        &self,
        flag: &'static str,
        value: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        self.rename(ConfigError::invalid(flag, value, message))
    }

    /// `err` naming the file's field instead of the flag, for a file.
    pub fn rename(&self, err: ConfigError) -> ConfigError {
        match (self, err) {
            (
                Origin::File(path),
                ConfigError::Invalid {
                    flag,
                    value,
                    message,
                },
            ) if FIELDS.iter().any(|(f, _)| *f == flag) => ConfigError::InvalidField {
                path: path.clone(),
                field: self.name(flag),
                value,
                message,
            },
            (_, err) => err,
        }
    }
}

/// What the command line adds to a configuration in both cases (with and
/// without `--config`), and this proxier's own settings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Overrides {
    /// `--hostname-override`, as given.
    pub hostname_override: Option<String>,
    /// `--master`.
    pub master: Option<String>,
    /// `--healthz-bind-address=` or `--healthz-port=0` (flags only).
    pub healthz_disabled: bool,
    /// `--metrics-bind-address=` or `--metrics-port=0` (flags only).
    pub metrics_disabled: bool,
    /// `--vip-bind-mode`.
    pub bind_mode: BindMode,
    /// `--manifests`.
    pub manifests: Option<PathBuf>,
    /// `--node-ip`.
    pub node_ips: Vec<IpAddr>,
    /// `--graceful-check-period`; `None`: [`GRACEFUL_PERIOD`].
    pub graceful_period: Option<Duration>,
    /// `--manifests-poll-period`; `None`: [`POLL_PERIOD`].
    pub poll_period: Option<Duration>,
}

/// The healthz and metrics hosts kube-proxy defaults to for a
/// `bindAddress` (`getDefaultAddresses`): IPv4 unless it is not IPv4
/// (empty is the default, `0.0.0.0`).
pub fn default_hosts(bind_address: &str) -> (IpAddr, IpAddr) {
    let bind_address = if bind_address.is_empty() {
        "0.0.0.0"
    } else {
        bind_address
    };
    match bind_address.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => ([0, 0, 0, 0].into(), [127, 0, 0, 1].into()),
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => {
            ([0, 0, 0, 0].into(), [127, 0, 0, 1].into())
        }
        _ => (
            IpAddr::from([0u16; 8]),
            IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1u16]),
        ),
    }
}

/// kube-proxy's `AppendPortIfNeeded`: a bare IP gets `port`; anything else
/// is kept as is (and validated later).
pub fn append_port_if_needed(address: &str, port: u16) -> String {
    match address.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port).to_string(),
        Err(_) => address.to_owned(),
    }
}

fn or_default(value: &mut GoDuration, default: i64) {
    if *value == GoDuration::ZERO {
        *value = GoDuration(default);
    }
}

/// kube-proxy's defaults, applied to zero fields (`SetDefaults_KubeProxyConfiguration`,
/// `SetRecommendedLoggingConfiguration`, `platformApplyDefaults` for
/// `detectLocalMode`). `mode` is left alone (see [`resolve`]).
pub fn set_defaults(cfg: &mut KubeProxyConfiguration) {
    if cfg.bind_address.is_empty() {
        cfg.bind_address = "0.0.0.0".to_owned();
    }
    let (healthz_host, metrics_host) = default_hosts(&cfg.bind_address);
    cfg.healthz_bind_address = if cfg.healthz_bind_address.is_empty() {
        SocketAddr::new(healthz_host, HEALTHZ_PORT).to_string()
    } else {
        append_port_if_needed(&cfg.healthz_bind_address, HEALTHZ_PORT)
    };
    cfg.metrics_bind_address = if cfg.metrics_bind_address.is_empty() {
        SocketAddr::new(metrics_host, METRICS_PORT).to_string()
    } else {
        append_port_if_needed(&cfg.metrics_bind_address, METRICS_PORT)
    };
    cfg.oom_score_adj.get_or_insert(OOM_SCORE_ADJ);
    or_default(&mut cfg.iptables.sync_period, 30 * SECOND);
    or_default(&mut cfg.iptables.min_sync_period, SECOND);
    cfg.iptables.localhost_node_ports.get_or_insert(true);
    cfg.iptables.masquerade_bit.get_or_insert(14);
    or_default(&mut cfg.ipvs.sync_period, 30 * SECOND);
    or_default(&mut cfg.nftables.sync_period, 30 * SECOND);
    or_default(&mut cfg.nftables.min_sync_period, SECOND);
    cfg.nftables.masquerade_bit.get_or_insert(14);
    cfg.conntrack.max_per_core.get_or_insert(32 * 1024);
    cfg.conntrack.min.get_or_insert(128 * 1024);
    cfg.conntrack
        .tcp_established_timeout
        .get_or_insert(GoDuration(24 * 3600 * SECOND));
    cfg.conntrack
        .tcp_close_wait_timeout
        .get_or_insert(GoDuration(3600 * SECOND));
    or_default(&mut cfg.config_sync_period, 15 * 60 * SECOND);
    let client = &mut cfg.client_connection;
    if client.content_type.is_empty() {
        client.content_type = "application/vnd.kubernetes.protobuf".to_owned();
    }
    if client.qps == 0.0 {
        client.qps = 5.0;
    }
    if client.burst == 0 {
        client.burst = 10;
    }
    let logging = &mut cfg.logging;
    if logging.format.is_empty() {
        logging.format = "text".to_owned();
    }
    if logging.flush_frequency.duration == GoDuration::ZERO {
        logging.flush_frequency.duration = GoDuration(5 * SECOND);
        logging.flush_frequency.as_string = true;
    }
    if cfg.detect_local_mode.is_empty() {
        cfg.detect_local_mode = "ClusterCIDR".to_owned();
    }
}

/// Warnings for settings this proxier accepts but does not act on
/// (after [`set_defaults`]).
fn unsupported(cfg: &KubeProxyConfiguration, warnings: &mut Vec<String>) {
    if !cfg.feature_gates.is_empty() {
        // Quoted and escaped: a gate's name is the file's text, and a
        // control character in it would forge a log line.
        let gates: Vec<String> = cfg.feature_gates.keys().map(|g| format!("{g:?}")).collect();
        warnings.push(format!(
            "featureGates ({}) are not used by this proxier; ignored",
            gates.join(", ")
        ));
    }
    if cfg.enable_profiling {
        warnings.push("enableProfiling is not supported by this proxier; ignored".to_owned());
    }
    if !cfg.show_hidden_metrics_for_version.is_empty() {
        warnings.push(
            "showHiddenMetricsForVersion is not supported by this proxier; ignored".to_owned(),
        );
    }
    // After the defaults: anything but kube-proxy's defaults was asked for.
    let c = &cfg.conntrack;
    if c.max_per_core != Some(32 * 1024)
        || c.min != Some(128 * 1024)
        || c.tcp_established_timeout != Some(GoDuration(24 * 3600 * SECOND))
        || c.tcp_close_wait_timeout != Some(GoDuration(3600 * SECOND))
        || c.tcp_be_liberal
        || c.udp_timeout != GoDuration::ZERO
        || c.udp_stream_timeout != GoDuration::ZERO
    {
        warnings.push(
            "conntrack settings are not applied by this proxier (set the nf_conntrack sysctls on the node); ignored"
                .to_owned(),
        );
    }
    let l = &cfg.logging;
    if l.verbosity != 0 || !l.vmodule.is_empty() || !matches!(l.format.as_str(), "" | "text") {
        warnings.push(
            "logging (verbosity, vmodule, format) is not used by this proxier: set RUST_LOG (e.g. RUST_LOG=debug); ignored"
                .to_owned(),
        );
    }
}

/// `mode`: IPVS always runs; see the module documentation.
fn check_mode(
    cfg: &KubeProxyConfiguration,
    origin: &Origin,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let name = origin.name("--proxy-mode");
    match cfg.mode.as_str() {
        "ipvs" => Ok(()),
        "" => {
            warnings.push(format!(
                "{name} is empty (kube-proxy would run iptables); this proxier runs IPVS: set {name} to ipvs"
            ));
            Ok(())
        }
        mode @ ("iptables" | "nftables" | "kernelspace") => {
            warnings.push(format!(
                "{name} {mode:?} is not supported by this proxier; running IPVS instead"
            ));
            Ok(())
        }
        mode => Err(origin.error(
            "--proxy-mode",
            mode,
            "must be ipvs (or iptables, nftables, which run as ipvs here)",
        )),
    }
}

/// `detectLocalMode`: whether local traffic is detected by `clusterCIDR`.
fn detect_by_cluster_cidr(
    cfg: &KubeProxyConfiguration,
    origin: &Origin,
    warnings: &mut Vec<String>,
) -> Result<bool, ConfigError> {
    match cfg.detect_local_mode.as_str() {
        "ClusterCIDR" | "" => Ok(true),
        mode @ ("NodeCIDR" | "BridgeInterface" | "InterfaceNamePrefix") => {
            warnings.push(format!(
                "{} {mode:?} is not supported by this proxier: no local traffic detection (only ClusterCIDR is)",
                origin.name("--detect-local-mode")
            ));
            Ok(false)
        }
        mode => Err(origin.error(
            "--detect-local-mode",
            mode,
            "supported values: ClusterCIDR, NodeCIDR, BridgeInterface, InterfaceNamePrefix",
        )),
    }
}

/// A duration that must be > 0 (`positive`) or ≥ 0.
fn check_duration(
    origin: &Origin,
    flag: &'static str,
    value: GoDuration,
    positive: bool,
) -> Result<(), ConfigError> {
    if positive && value.0 <= 0 {
        return Err(origin.error(flag, value.to_string(), "must be greater than 0"));
    }
    if value.is_negative() {
        return Err(origin.error(
            flag,
            value.to_string(),
            "must be greater than or equal to 0",
        ));
    }
    Ok(())
}

/// `IP:port` with a port in 1..=65535 (kube-proxy's `validateHostPort`).
fn host_port(origin: &Origin, flag: &'static str, value: &str) -> Result<SocketAddr, ConfigError> {
    let addr: SocketAddr = value
        .parse()
        .map_err(|_| origin.error(flag, value, "must be IP:port"))?;
    if addr.port() == 0 {
        return Err(origin.error(flag, value, "must be a valid port (1-65535)"));
    }
    Ok(addr)
}

/// The `clusterCIDR` list: at most two (dual-stack), all CIDRs.
fn cluster_cidrs(
    cfg: &KubeProxyConfiguration,
    origin: &Origin,
) -> Result<Vec<super::Cidr>, ConfigError> {
    let text = cfg.cluster_cidr.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    if text.split(',').count() > 2 {
        return Err(origin.error(
            "--cluster-cidr",
            text,
            "only one CIDR allowed or a valid DualStack CIDR (e.g. 10.100.0.0/16,fde4:8dba:82e1::/48)",
        ));
    }
    parse_cidrs("--cluster-cidr", &[text]).map_err(|e| origin.rename(e))
}

/// The node name: `--hostname-override`, else `hostnameOverride`, else the
/// host name, trimmed and lower-cased (kube-proxy's `GetHostname`). The
/// second value tells whether it is an override.
pub fn node_name(flag: Option<&str>, file: &str) -> Result<(String, bool), ConfigError> {
    if let Some(flag) = flag {
        let name = flag.trim();
        if name.is_empty() {
            return Err(ConfigError::invalid(
                "--hostname-override",
                flag,
                "empty hostname-override is invalid",
            ));
        }
        return Ok((name.to_lowercase(), true));
    }
    let name = file.trim();
    if !name.is_empty() {
        return Ok((name.to_lowercase(), true));
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_err(|e| ConfigError::NodeName(format!("/proc/sys/kernel/hostname: {e}")))?;
    let host = host.trim();
    if host.is_empty() {
        return Err(ConfigError::NodeName("the host name is empty".to_owned()));
    }
    Ok((host.to_lowercase(), false))
}

/// Defaults, validation and [`Settings`] for a configuration from
/// `origin`; warnings are appended to `warnings`. The configuration is
/// completed in place into the effective one (also in
/// [`Settings::configz`]).
pub fn resolve(
    cfg: &mut KubeProxyConfiguration,
    origin: &Origin,
    overrides: Overrides,
    warnings: &mut Vec<String>,
) -> Result<Settings, ConfigError> {
    set_defaults(cfg);
    if overrides.healthz_disabled {
        cfg.healthz_bind_address.clear();
    }
    if overrides.metrics_disabled {
        cfg.metrics_bind_address.clear();
    }
    unsupported(cfg, warnings);
    check_mode(cfg, origin, warnings)?;
    let local_by_cidr = detect_by_cluster_cidr(cfg, origin, warnings)?;

    let ipvs = &cfg.ipvs;
    check_duration(origin, "--ipvs-sync-period", ipvs.sync_period, true)?;
    check_duration(
        origin,
        "--ipvs-min-sync-period",
        ipvs.min_sync_period,
        false,
    )?;
    if ipvs.min_sync_period > ipvs.sync_period {
        return Err(origin.error(
            "--ipvs-sync-period",
            ipvs.sync_period.to_string(),
            format!(
                "must be greater than or equal to {} ({})",
                origin.name("--ipvs-min-sync-period"),
                ipvs.min_sync_period
            ),
        ));
    }
    check_duration(origin, "--ipvs-tcp-timeout", ipvs.tcp_timeout, false)?;
    check_duration(origin, "--ipvs-tcpfin-timeout", ipvs.tcp_fin_timeout, false)?;
    check_duration(origin, "--ipvs-udp-timeout", ipvs.udp_timeout, false)?;
    check_duration(origin, "--config-sync-period", cfg.config_sync_period, true)?;

    let masquerade_bit = cfg.iptables.masquerade_bit.unwrap_or(14);
    let masquerade_bit = u8::try_from(masquerade_bit)
        .ok()
        .filter(|bit| *bit <= 31)
        .ok_or_else(|| {
            origin.error(
                "--iptables-masquerade-bit",
                masquerade_bit.to_string(),
                "must be within the range [0, 31]",
            )
        })?;
    let burst = cfg.client_connection.burst;
    if burst < 0 {
        return Err(origin.error(
            "--kube-api-burst",
            burst.to_string(),
            "must be greater than or equal to 0",
        ));
    }
    let oom_score_adj = cfg.oom_score_adj.unwrap_or(OOM_SCORE_ADJ);
    if !(-1000..=1000).contains(&oom_score_adj) {
        return Err(origin.error(
            "--oom-score-adj",
            oom_score_adj.to_string(),
            "must be within the range [-1000, 1000]",
        ));
    }
    let bind_address: IpAddr = cfg.bind_address.parse().map_err(|_| {
        origin.error(
            "--bind-address",
            &cfg.bind_address,
            "not a valid textual representation of an IP address",
        )
    })?;
    let healthz = match cfg.healthz_bind_address.as_str() {
        "" => None,
        value => Some(host_port(origin, "--healthz-bind-address", value)?),
    };
    let metrics = match cfg.metrics_bind_address.as_str() {
        "" => None,
        value => Some(host_port(origin, "--metrics-bind-address", value)?),
    };
    let cluster_cidrs = cluster_cidrs(cfg, origin)?;
    let node_port_addresses =
        parse_node_port_addresses(cfg.node_port_addresses.as_deref().unwrap_or_default())
            .map_err(|e| origin.rename(e))?;
    let exclude_cidrs = parse_cidrs(
        "--ipvs-exclude-cidrs",
        cfg.ipvs.exclude_cidrs.as_deref().unwrap_or_default(),
    )
    .map_err(|e| origin.rename(e))?;

    let (node_name, is_override) = node_name(
        overrides.hostname_override.as_deref(),
        &cfg.hostname_override,
    )?;
    if is_override {
        cfg.hostname_override = node_name.clone();
    }
    if cfg.ipvs.scheduler.is_empty() {
        cfg.ipvs.scheduler = super::DEFAULT_SCHEDULER.to_owned();
    }
    // What runs, whatever was asked (warned about above).
    cfg.mode = "ipvs".to_owned();

    let proxy = ProxyConfig {
        scheduler: cfg.ipvs.scheduler.clone(),
        masquerade_all: cfg.iptables.masquerade_all,
        cluster_cidrs: if local_by_cidr {
            cluster_cidrs
        } else {
            Vec::new()
        },
        node_port_addresses,
        exclude_cidrs,
        strict_arp: cfg.ipvs.strict_arp,
        tcp_timeout: cfg.ipvs.tcp_timeout.whole_seconds(),
        tcp_fin_timeout: cfg.ipvs.tcp_fin_timeout.whole_seconds(),
        udp_timeout: cfg.ipvs.udp_timeout.whole_seconds(),
        masquerade_bit,
        bind_mode: overrides.bind_mode,
        hostname_override: is_override.then(|| node_name.clone()),
        ..ProxyConfig::default()
    };
    proxy.validate().map_err(|e| origin.rename(e))?;

    let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    Ok(Settings {
        proxy,
        node_name,
        kubeconfig: non_empty(&cfg.client_connection.kubeconfig).map(PathBuf::from),
        master: overrides.master.as_deref().and_then(non_empty),
        qps: cfg.client_connection.qps,
        burst,
        bind_address: (!bind_address.is_unspecified()).then_some(bind_address),
        healthz_bind_address: healthz,
        metrics_bind_address: metrics,
        bind_address_hard_fail: cfg.bind_address_hard_fail,
        sync_period: cfg.ipvs.sync_period.to_std(),
        min_sync_period: cfg.ipvs.min_sync_period.to_std(),
        config_sync_period: cfg.config_sync_period.to_std(),
        oom_score_adj: Some(oom_score_adj),
        manifests: overrides.manifests,
        node_ips: overrides.node_ips,
        graceful_period: overrides.graceful_period.unwrap_or(GRACEFUL_PERIOD),
        poll_period: overrides.poll_period.unwrap_or(POLL_PERIOD),
        config_file: None,
        configz: serde_json::to_value(&*cfg).unwrap_or(serde_json::Value::Null),
    })
}
