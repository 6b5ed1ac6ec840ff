//! The command line: kube-proxy's flag names where they exist.

use std::{net::IpAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

use ipvs_proxier::config::{ConfigError, ProxyConfig, parse_cidrs, parse_node_port_addresses};

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
