use std::{fmt, net::IpAddr, str::FromStr};

use crate::packet::constants::{NFPROTO_IPV4, NFPROTO_IPV6};

/// The address family of a hash set: `inet` or `inet6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Family {
    /// IPv4 (`NFPROTO_IPV4`).
    #[default]
    Inet,
    /// IPv6 (`NFPROTO_IPV6`).
    Inet6,
}

impl Family {
    /// The `NFPROTO_*` number sent in `IPSET_ATTR_FAMILY`.
    pub fn nfproto(self) -> u8 {
        match self {
            Family::Inet => NFPROTO_IPV4,
            Family::Inet6 => NFPROTO_IPV6,
        }
    }

    /// The family of an `NFPROTO_*` number, if it is IPv4 or IPv6.
    pub fn from_nfproto(value: u8) -> Option<Self> {
        match value {
            NFPROTO_IPV4 => Some(Family::Inet),
            NFPROTO_IPV6 => Some(Family::Inet6),
            _ => None,
        }
    }

    /// The family of an address.
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }

    /// Address length in bits (32 or 128).
    pub fn max_prefix(self) -> u8 {
        match self {
            Family::Inet => 32,
            Family::Inet6 => 128,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
        })
    }
}

/// Error for an unknown family name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown family {0:?} (expected inet or inet6)")]
pub struct FamilyError(pub String);

impl FromStr for Family {
    type Err = FamilyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "inet" | "ipv4" => Ok(Family::Inet),
            "inet6" | "ipv6" => Ok(Family::Inet6),
            other => Err(FamilyError(other.to_owned())),
        }
    }
}
