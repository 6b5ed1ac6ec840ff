//! The address family and the IP protocol, one type each for the IPVS and
//! the ipset client (and their users), with the kernel's numbers for them.

use std::{fmt, net::IpAddr, str::FromStr};

// The kernel's numbers, from libc (all small positive `c_int`s).
const AF_INET: u16 = libc::AF_INET as u16;
const AF_INET6: u16 = libc::AF_INET6 as u16;
const NFPROTO_IPV4: u8 = libc::NFPROTO_IPV4 as u8;
const NFPROTO_IPV6: u8 = libc::NFPROTO_IPV6 as u8;
const IPPROTO_TCP: u8 = libc::IPPROTO_TCP as u8;
const IPPROTO_UDP: u8 = libc::IPPROTO_UDP as u8;
const IPPROTO_SCTP: u8 = libc::IPPROTO_SCTP as u8;

/// An address family: IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Family {
    /// IPv4 (`AF_INET`, `NFPROTO_IPV4`), the default.
    #[default]
    Inet,
    /// IPv6 (`AF_INET6`, `NFPROTO_IPV6`).
    Inet6,
}

impl Family {
    /// Both families, IPv4 first.
    pub const ALL: [Family; 2] = [Family::Inet, Family::Inet6];

    /// The family of an address.
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }

    /// The `AF_*` number (IPVS attributes).
    pub fn af(self) -> u16 {
        match self {
            Family::Inet => AF_INET,
            Family::Inet6 => AF_INET6,
        }
    }

    /// The family of an `AF_*` number, if it is IPv4 or IPv6.
    pub fn from_af(af: u16) -> Option<Self> {
        match af {
            AF_INET => Some(Family::Inet),
            AF_INET6 => Some(Family::Inet6),
            _ => None,
        }
    }

    /// The `NFPROTO_*` number (`IPSET_ATTR_FAMILY`).
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

    /// `true` for IPv6.
    pub fn is_v6(self) -> bool {
        self == Family::Inet6
    }

    /// The address length in bits (32 or 128).
    pub fn max_prefix(self) -> u8 {
        match self {
            Family::Inet => 32,
            Family::Inet6 => 128,
        }
    }
}

/// `inet` or `inet6`, as ipset names them.
impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
        })
    }
}

/// `inet` or `ipv4`, `inet6` or `ipv6`.
impl FromStr for Family {
    type Err = InetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "inet" | "ipv4" => Ok(Family::Inet),
            "inet6" | "ipv6" => Ok(Family::Inet6),
            other => Err(InetError::Family(other.to_owned())),
        }
    }
}

/// An IP protocol (the transport protocol of a service or a set entry).
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
    Other(u8),
}

impl Protocol {
    /// The IP protocol number (`IPPROTO_*`).
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => IPPROTO_TCP,
            Protocol::Udp => IPPROTO_UDP,
            Protocol::Sctp => IPPROTO_SCTP,
            Protocol::Other(n) => n,
        }
    }

    /// The protocol with this IP protocol number.
    pub fn from_number(number: u8) -> Self {
        match number {
            IPPROTO_TCP => Protocol::Tcp,
            IPPROTO_UDP => Protocol::Udp,
            IPPROTO_SCTP => Protocol::Sctp,
            n => Protocol::Other(n),
        }
    }

    /// The lower-case name ipset and iptables use: `tcp`, `udp`, `sctp`;
    /// `None` for another protocol.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Protocol::Tcp => Some("tcp"),
            Protocol::Udp => Some("udp"),
            Protocol::Sctp => Some("sctp"),
            Protocol::Other(_) => None,
        }
    }

    /// The upper-case name ipvsadm and Kubernetes use: `TCP`, `UDP`,
    /// `SCTP`; `None` for another protocol.
    pub fn upper_name(self) -> Option<&'static str> {
        match self {
            Protocol::Tcp => Some("TCP"),
            Protocol::Udp => Some("UDP"),
            Protocol::Sctp => Some("SCTP"),
            Protocol::Other(_) => None,
        }
    }
}

/// The lower-case [`name`](Protocol::name), or the number of another
/// protocol, as `iptables -p` takes it.
impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", self.number()),
        }
    }
}

/// `tcp`, `udp` or `sctp`.
impl FromStr for Protocol {
    type Err = InetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            "sctp" => Ok(Protocol::Sctp),
            other => Err(InetError::Protocol(other.to_owned())),
        }
    }
}

/// A name that is not a [`Family`] or a [`Protocol`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InetError {
    /// Not `inet`, `ipv4`, `inet6` or `ipv6`.
    #[error("unknown family {0:?} (expected inet or inet6)")]
    Family(String),
    /// Not `tcp`, `udp` or `sctp`.
    #[error("unsupported protocol {0:?} (expected tcp, udp or sctp)")]
    Protocol(String),
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    /// The numbers are the kernel's (linux/socket.h, linux/netfilter.h,
    /// linux/in.h), not whatever libc might be built for.
    #[test]
    fn kernel_numbers() {
        assert_eq!((Family::Inet.af(), Family::Inet6.af()), (2, 10));
        assert_eq!((Family::Inet.nfproto(), Family::Inet6.nfproto()), (2, 10));
        let numbers = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp].map(Protocol::number);
        assert_eq!(numbers, [6, 17, 132]);
    }

    #[test]
    fn numbers_round_trip() {
        for family in Family::ALL {
            assert_eq!(Family::from_af(family.af()), Some(family));
            assert_eq!(Family::from_nfproto(family.nfproto()), Some(family));
        }
        assert_eq!(Family::from_af(7), None);
        assert_eq!(Family::from_nfproto(0), None);
        for n in 0..=u8::MAX {
            assert_eq!(Protocol::from_number(n).number(), n);
        }
        assert_eq!(Protocol::from_number(1), Protocol::Other(1));
    }

    #[test]
    fn families_of_addresses() {
        assert_eq!(Family::of(Ipv4Addr::LOCALHOST.into()), Family::Inet);
        assert_eq!(Family::of(Ipv6Addr::LOCALHOST.into()), Family::Inet6);
        assert_eq!(Family::default(), Family::Inet);
        assert!(Family::Inet6.is_v6() && !Family::Inet.is_v6());
        assert_eq!(Family::Inet6.max_prefix(), 128);
    }

    #[test]
    fn names() {
        for (text, family) in [("inet", Family::Inet), ("ipv6", Family::Inet6)] {
            assert_eq!(text.parse::<Family>(), Ok(family));
        }
        assert_eq!(Family::Inet6.to_string(), "inet6");
        assert_eq!(
            "inet5".parse::<Family>(),
            Err(InetError::Family("inet5".into()))
        );
        for protocol in [Protocol::Tcp, Protocol::Udp, Protocol::Sctp] {
            assert_eq!(protocol.to_string().parse::<Protocol>(), Ok(protocol));
        }
        assert_eq!(Protocol::Sctp.upper_name(), Some("SCTP"));
        assert_eq!(Protocol::Other(47).to_string(), "47");
        assert_eq!(Protocol::Other(47).name(), None);
        assert_eq!(
            "TCP".parse::<Protocol>(),
            Err(InetError::Protocol("TCP".into()))
        );
    }
}
