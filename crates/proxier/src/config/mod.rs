//! kube-proxy's configuration: the command line ([`cli`]), the
//! `KubeProxyConfiguration` file ([`mod@file`]), their resolution into the
//! run's [`Settings`] with kube-proxy's precedence, defaults and validation
//! ([`resolve`]), Go durations ([`GoDuration`]), and the planner's subset
//! ([`ProxyConfig`]). Its networks are [`Cidr`]s and its bind mode a
//! [`BindMode`], both from [`crate::types`] (re-exported here).
//!
//! Every [`ConfigError`] names what it is about: the flag (`--cluster-cidr`)
//! when the value came from the command line, the file and the field
//! (`ipvs.minSyncPeriod`) when it came from `--config`.

pub mod cli;
mod duration;
pub mod file;
pub mod resolve;
mod settings;
#[cfg(test)]
mod tests;

use std::net::IpAddr;

use crate::types::{BindMode, Cidr};
pub use duration::{DurationError, GoDuration, parse_duration};
pub use settings::Settings;

use ipvs_netlink::Family;

/// kube-proxy's default IPVS scheduler.
pub const DEFAULT_SCHEDULER: &str = "rr";

/// kube-proxy's default `--iptables-masquerade-bit`.
pub const DEFAULT_MASQUERADE_BIT: u8 = 14;

/// Which node addresses NodePort virtual servers listen on
/// (`--nodeport-addresses`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NodePortAddresses {
    /// Unset: every local address not on `kube-ipvs0` (no loopback, no IPv6
    /// link-local).
    #[default]
    All,
    /// The local addresses inside these CIDRs (no loopback). A family with
    /// no CIDR, or with a zero CIDR, matches all its addresses.
    Cidrs(Vec<Cidr>),
    /// `primary`: the node's primary address of each family only.
    Primary,
}

/// The configuration of the planner, with kube-proxy's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// `--ipvs-scheduler` (default `rr`).
    pub scheduler: String,
    /// `--masquerade-all`: SNAT all traffic to ClusterIPs.
    pub masquerade_all: bool,
    /// `--cluster-cidr`, one per family at most; used to detect local
    /// traffic (`! -s CIDR`). Empty: no local detection.
    pub cluster_cidrs: Vec<Cidr>,
    /// `--nodeport-addresses`.
    pub node_port_addresses: NodePortAddresses,
    /// `--ipvs-exclude-cidrs`: virtual servers in these are never cleaned up.
    pub exclude_cidrs: Vec<Cidr>,
    /// `--ipvs-strict-arp`.
    pub strict_arp: bool,
    /// `--ipvs-tcp-timeout` in seconds (0 = leave the kernel's value).
    pub tcp_timeout: u32,
    /// `--ipvs-tcpfin-timeout` in seconds (0 = leave the kernel's value).
    pub tcp_fin_timeout: u32,
    /// `--ipvs-udp-timeout` in seconds (0 = leave the kernel's value).
    pub udp_timeout: u32,
    /// `--iptables-masquerade-bit` (default 14, mark `0x4000`).
    pub masquerade_bit: u8,
    /// Whether `MASQUERADE` gets `--random-fully` (kube-proxy adds it when
    /// iptables supports it, which every iptables ≥ 1.6.2 does).
    pub random_fully: bool,
    /// How virtual addresses are bound.
    pub bind_mode: BindMode,
    /// `--hostname-override`: the node name used to find local endpoints.
    pub hostname_override: Option<String>,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            scheduler: DEFAULT_SCHEDULER.to_owned(),
            masquerade_all: false,
            cluster_cidrs: Vec::new(),
            node_port_addresses: NodePortAddresses::All,
            exclude_cidrs: Vec::new(),
            strict_arp: false,
            tcp_timeout: 0,
            tcp_fin_timeout: 0,
            udp_timeout: 0,
            masquerade_bit: DEFAULT_MASQUERADE_BIT,
            random_fully: true,
            bind_mode: BindMode::Address,
            hostname_override: None,
        }
    }
}

/// A configuration that cannot be used; each variant names the flag, or
/// the file and its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A flag's value did not parse or is out of range.
    #[error("invalid {flag} {value:?}: {message}")]
    Invalid {
        /// The flag, e.g. `--cluster-cidr`.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is wrong.
        message: String,
    },
    /// A configuration file's field is out of range.
    #[error("{path}: invalid {field} {value:?}: {message}")]
    InvalidField {
        /// The file.
        path: String,
        /// The field, e.g. `ipvs.minSyncPeriod`.
        field: &'static str,
        /// The value found.
        value: String,
        /// What is wrong.
        message: String,
    },
    /// The configuration file could not be read.
    #[error("cannot read the configuration file {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// The system's reason.
        message: String,
    },
    /// The configuration file is not a usable KubeProxyConfiguration: bad
    /// YAML or JSON, a wrong type, a wrong `apiVersion` or `kind`.
    #[error("failed to decode {path}: {message}")]
    Decode {
        /// The file.
        path: String,
        /// The field path, the parser's message and the line.
        message: String,
    },
    /// `--write-config-to` could not write its file.
    #[error("cannot write the configuration to {path}: {message}")]
    Write {
        /// The file.
        path: String,
        /// The reason.
        message: String,
    },
    /// No node name: no `--hostname-override`, no `hostnameOverride`, and
    /// no usable host name.
    #[error("cannot determine the node name: {0}")]
    NodeName(String),
}

impl ConfigError {
    fn invalid(flag: &'static str, value: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            flag,
            value: value.into(),
            message: message.into(),
        }
    }
}

/// Parses a list of CIDRs for `flag` (items may themselves be
/// comma-separated, like kube-proxy's flags).
pub fn parse_cidrs<S: AsRef<str>>(
    flag: &'static str,
    values: &[S],
) -> Result<Vec<Cidr>, ConfigError> {
    values
        .iter()
        .flat_map(|v| v.as_ref().split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            if !v.contains('/') {
                return Err(ConfigError::invalid(flag, v, "expected ADDRESS/PREFIX"));
            }
            v.parse::<Cidr>()
                .map_err(|e| ConfigError::invalid(flag, v, e.reason))
        })
        .collect()
}

/// Parses `--nodeport-addresses`: empty, `primary`, or CIDRs.
pub fn parse_node_port_addresses<S: AsRef<str>>(
    values: &[S],
) -> Result<NodePortAddresses, ConfigError> {
    const FLAG: &str = "--nodeport-addresses";
    let items: Vec<&str> = values
        .iter()
        .flat_map(|v| v.as_ref().split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if items.is_empty() {
        return Ok(NodePortAddresses::All);
    }
    if items.contains(&"primary") {
        if items.len() > 1 {
            return Err(ConfigError::invalid(
                FLAG,
                items.join(","),
                "\"primary\" cannot be combined with CIDRs",
            ));
        }
        return Ok(NodePortAddresses::Primary);
    }
    parse_cidrs(FLAG, &items).map(NodePortAddresses::Cidrs)
}

impl ProxyConfig {
    /// Checks the values flags cannot check by type.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.scheduler.trim().is_empty() || self.scheduler.contains(char::is_whitespace) {
            return Err(ConfigError::invalid(
                "--ipvs-scheduler",
                &self.scheduler,
                "expected a scheduler name such as rr",
            ));
        }
        if self.masquerade_bit > 31 {
            return Err(ConfigError::invalid(
                "--iptables-masquerade-bit",
                self.masquerade_bit.to_string(),
                "must be within [0, 31]",
            ));
        }
        for family in [Family::Inet, Family::Inet6] {
            if self
                .cluster_cidrs
                .iter()
                .filter(|c| c.family() == family)
                .count()
                > 1
            {
                return Err(ConfigError::invalid(
                    "--cluster-cidr",
                    self.cluster_cidrs
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                    "at most one CIDR per IP family",
                ));
            }
        }
        Ok(())
    }

    /// The masquerade mark value, `1 << masquerade_bit` (0x4000 by default).
    pub fn masquerade_mark(&self) -> u32 {
        1u32.checked_shl(u32::from(self.masquerade_bit))
            .unwrap_or(0)
    }

    /// The cluster CIDR of a family, if configured.
    pub fn cluster_cidr(&self, family: Family) -> Option<Cidr> {
        self.cluster_cidrs
            .iter()
            .copied()
            .find(|c| c.family() == family)
    }

    /// Whether `ip` is in one of `--ipvs-exclude-cidrs`.
    pub fn is_excluded(&self, ip: IpAddr) -> bool {
        self.exclude_cidrs.iter().any(|c| c.contains(ip))
    }
}
