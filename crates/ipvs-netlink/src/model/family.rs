//! Address family and transport protocol.

use std::{fmt, net::IpAddr};

use netlink_packet_core::DecodeError;

/// `AF_INET`.
const AF_INET: u16 = 2;
/// `AF_INET6`.
const AF_INET6: u16 = 10;

/// The address family of a service or real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Inet,
    /// IPv6 (`AF_INET6`).
    Inet6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }

    /// The `AF_*` number.
    pub fn af(self) -> u16 {
        match self {
            Family::Inet => AF_INET,
            Family::Inet6 => AF_INET6,
        }
    }

    /// Parses an `AF_*` number.
    pub fn from_af(af: u16) -> Result<Self, DecodeError> {
        match af {
            AF_INET => Ok(Family::Inet),
            AF_INET6 => Ok(Family::Inet6),
            other => Err(format!("unsupported address family {other}").into()),
        }
    }

    /// `true` for IPv6.
    pub fn is_v6(self) -> bool {
        self == Family::Inet6
    }
}

/// The transport protocol of an address/port service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Protocol {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// SCTP (132).
    Sctp,
    /// Any other IP protocol number.
    Other(u16),
}

impl Protocol {
    /// The IP protocol number.
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
            Protocol::Other(n) => n,
        }
    }

    /// The protocol with this IP protocol number.
    pub fn from_number(number: u16) -> Self {
        match number {
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            132 => Protocol::Sctp,
            n => Protocol::Other(n),
        }
    }
}

impl fmt::Display for Protocol {
    /// `TCP`, `UDP`, `SCTP`, or `proto N`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Tcp => f.write_str("TCP"),
            Protocol::Udp => f.write_str("UDP"),
            Protocol::Sctp => f.write_str("SCTP"),
            Protocol::Other(n) => write!(f, "proto {n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for n in [6, 17, 132, 1, 0] {
            assert_eq!(Protocol::from_number(n).number(), n);
        }
        assert_eq!(Family::from_af(10).unwrap(), Family::Inet6);
        assert!(Family::from_af(7).is_err());
    }
}
