//! The subset of kube-proxy's configuration the planner needs
//! ([`ProxyConfig`]), with kube-proxy's defaults, and the [`Cidr`] type.
//!
//! Values come from flags (see the binary's `cli` module) or are built in
//! code; [`ProxyConfig::validate`] checks what flags cannot, and every
//! [`ConfigError`] names the flag it is about.

mod cidr;
mod settings;

use std::net::IpAddr;

pub use cidr::{Cidr, CidrError};
pub use settings::Settings;

use crate::plan::IpFamily;

/// kube-proxy's default IPVS scheduler.
pub const DEFAULT_SCHEDULER: &str = "rr";

/// kube-proxy's default `--iptables-masquerade-bit`.
pub const DEFAULT_MASQUERADE_BIT: u8 = 14;

/// How virtual addresses are made local on the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BindMode {
    /// Like kube-proxy: /32 and /128 addresses on `kube-ipvs0`.
    #[default]
    Address,
    /// A `local` route per address in table local on `kube-ipvs0`.
    Route,
}

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

/// A configuration value that is not valid; `flag` names the flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A value did not parse or is out of range.
    #[error("invalid {flag} {value:?}: {message}")]
    Invalid {
        /// The flag, e.g. `--cluster-cidr`.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is wrong.
        message: String,
    },
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
        for family in [IpFamily::V4, IpFamily::V6] {
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
    pub fn cluster_cidr(&self, family: IpFamily) -> Option<Cidr> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_kube_proxys() {
        let config = ProxyConfig::default();
        assert_eq!(config.scheduler, "rr");
        assert_eq!(config.masquerade_mark(), 0x4000);
        assert_eq!(config.bind_mode, BindMode::Address);
        assert_eq!(config.node_port_addresses, NodePortAddresses::All);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn errors_name_the_flag() {
        let err = parse_cidrs("--cluster-cidr", &["10.244.0.0/16,nope/8"]).unwrap_err();
        assert!(err.to_string().contains("--cluster-cidr"), "{err}");
        assert!(err.to_string().contains("nope/8"), "{err}");
        let err = parse_cidrs("--ipvs-exclude-cidrs", &["10.0.0.1"]).unwrap_err();
        assert!(err.to_string().contains("--ipvs-exclude-cidrs"), "{err}");
        let config = ProxyConfig {
            masquerade_bit: 32,
            ..ProxyConfig::default()
        };
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("--iptables-masquerade-bit")
        );
        let config = ProxyConfig {
            cluster_cidrs: parse_cidrs("--cluster-cidr", &["10.0.0.0/8", "10.1.0.0/16"]).unwrap(),
            ..ProxyConfig::default()
        };
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("--cluster-cidr")
        );
    }

    #[test]
    fn node_port_addresses() {
        assert_eq!(
            parse_node_port_addresses::<&str>(&[]).unwrap(),
            NodePortAddresses::All
        );
        assert_eq!(
            parse_node_port_addresses(&["primary"]).unwrap(),
            NodePortAddresses::Primary
        );
        assert_eq!(
            parse_node_port_addresses(&["10.0.0.0/8,fd00::/64"]).unwrap(),
            NodePortAddresses::Cidrs(vec![
                "10.0.0.0/8".parse().unwrap(),
                "fd00::/64".parse().unwrap()
            ])
        );
        assert!(parse_node_port_addresses(&["primary,10.0.0.0/8"]).is_err());
        let config = ProxyConfig {
            exclude_cidrs: parse_cidrs("--ipvs-exclude-cidrs", &["10.96.0.0/12"]).unwrap(),
            ..ProxyConfig::default()
        };
        assert!(config.is_excluded("10.100.0.1".parse().unwrap()));
        assert!(!config.is_excluded("10.200.0.1".parse().unwrap()));
    }
}
