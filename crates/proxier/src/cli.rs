//! The command line: kube-proxy's flag names where they exist.

use std::{net::IpAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};

use ipvs_proxier::config::{
    BindMode, ConfigError, ProxyConfig, parse_cidrs, parse_node_port_addresses,
};

/// `kube-ipvs-proxier`: kube-proxy `--proxy-mode=ipvs` on raw netlink.
#[derive(Debug, Parser)]
#[command(name = "kube-ipvs-proxier", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the kernel state a node would get (IPVS, ipsets, iptables),
    /// without root and without touching the kernel.
    Plan(PlanArgs),
    /// Program this node's kernel from the manifests and keep it in sync
    /// (root; IPVS, ipset and iptables needed).
    Run(RunArgs),
}

/// Flags shared with kube-proxy.
#[derive(Debug, Args)]
pub struct ProxyFlags {
    /// Accepted for compatibility; only `ipvs` is supported.
    #[arg(long, default_value = "ipvs", value_parser = ["ipvs"])]
    pub proxy_mode: String,
    /// The node name (default: the host name).
    #[arg(long)]
    pub hostname_override: Option<String>,
    /// The IPVS scheduler.
    #[arg(long, default_value = "rr")]
    pub ipvs_scheduler: String,
    /// SNAT all traffic sent to Service ClusterIPs.
    #[arg(long)]
    pub masquerade_all: bool,
    /// Pod CIDRs (comma-separated, one per family), for local traffic
    /// detection.
    #[arg(long, value_delimiter = ',')]
    pub cluster_cidr: Vec<String>,
    /// NodePort addresses: CIDRs or `primary` (default: all node addresses).
    #[arg(long, value_delimiter = ',')]
    pub nodeport_addresses: Vec<String>,
    /// CIDRs whose virtual servers are never cleaned up.
    #[arg(long, value_delimiter = ',')]
    pub ipvs_exclude_cidrs: Vec<String>,
    /// Set arp_ignore=1 and arp_announce=2.
    #[arg(long)]
    pub ipvs_strict_arp: bool,
    /// IPVS TCP timeout in seconds (0: keep the kernel's).
    #[arg(long, default_value_t = 0)]
    pub ipvs_tcp_timeout: u32,
    /// IPVS TCP FIN timeout in seconds (0: keep the kernel's).
    #[arg(long, default_value_t = 0)]
    pub ipvs_tcpfin_timeout: u32,
    /// IPVS UDP timeout in seconds (0: keep the kernel's).
    #[arg(long, default_value_t = 0)]
    pub ipvs_udp_timeout: u32,
    /// The fwmark bit for SNAT (0-31).
    #[arg(long, default_value_t = 14)]
    pub iptables_masquerade_bit: u8,
    /// How VIPs are made local: `address` (kube-proxy's /32 and /128
    /// addresses on kube-ipvs0) or `route` (a local route per VIP; much
    /// faster with many Services). Not a kube-proxy flag.
    #[arg(long, default_value = "address", value_parser = ["address", "route"])]
    pub vip_bind_mode: String,
}

impl ProxyFlags {
    /// The planner configuration these flags give.
    pub fn config(&self) -> Result<ProxyConfig, ConfigError> {
        let config = ProxyConfig {
            scheduler: self.ipvs_scheduler.clone(),
            masquerade_all: self.masquerade_all,
            cluster_cidrs: parse_cidrs("--cluster-cidr", &self.cluster_cidr)?,
            node_port_addresses: parse_node_port_addresses(&self.nodeport_addresses)?,
            exclude_cidrs: parse_cidrs("--ipvs-exclude-cidrs", &self.ipvs_exclude_cidrs)?,
            strict_arp: self.ipvs_strict_arp,
            tcp_timeout: self.ipvs_tcp_timeout,
            tcp_fin_timeout: self.ipvs_tcpfin_timeout,
            udp_timeout: self.ipvs_udp_timeout,
            masquerade_bit: self.iptables_masquerade_bit,
            hostname_override: self.hostname_override.clone(),
            bind_mode: if self.vip_bind_mode == "route" {
                BindMode::Route
            } else {
                BindMode::Address
            },
            ..ProxyConfig::default()
        };
        config.validate()?;
        Ok(config)
    }
}

/// `plan` arguments.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A YAML file or a directory of *.yaml / *.yml files.
    #[arg(long)]
    pub manifests: PathBuf,
    /// The node's addresses (repeat or comma-separate); the first of each
    /// family is its primary address. Default: the Node object's addresses.
    #[arg(long, value_delimiter = ',')]
    pub node_ip: Vec<IpAddr>,
    /// kube-proxy flags.
    #[command(flatten)]
    pub proxy: ProxyFlags,
}

/// `run` arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// What to plan from (as for `plan`).
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Full resync interval (e.g. `30s`, `1m`).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub ipvs_sync_period: Duration,
    /// Least time between two syncs.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub ipvs_min_sync_period: Duration,
    /// How often real servers draining at weight 0 are checked.
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    pub graceful_check_period: Duration,
    /// How often the manifests are checked for changes.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub manifests_poll_period: Duration,
}

/// A Go-style duration with one unit: `250ms`, `30s`, `1m`, `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 30s, 1m, 250ms)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
