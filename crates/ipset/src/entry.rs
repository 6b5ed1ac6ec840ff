//! Typed set members in the ipset CLI syntax.
//!
//! [`Entry`] parses what `ipset add` accepts and displays exactly what
//! `ipset save` prints, so member lists can be compared as strings.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    str::FromStr,
};

use crate::{Family, Protocol, SetType, packet::ElementAttribute};

/// Errors from parsing or decoding an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// Not an IPv4 or IPv6 address.
    #[error("invalid address {0:?}")]
    Address(String),
    /// Not a port number.
    #[error("invalid port {0:?}")]
    Port(String),
    /// A protocol other than tcp, udp or sctp.
    #[error("unsupported protocol {0:?} (expected tcp, udp or sctp)")]
    Protocol(String),
    /// A prefix length too long for the address.
    #[error("invalid prefix length in {0:?}")]
    Prefix(String),
    /// The text does not have the shape of an entry of the set type.
    #[error("{entry:?} is not a {set_type} entry")]
    Syntax {
        /// The text given.
        entry: String,
        /// The set type it was parsed for.
        set_type: SetType,
    },
    /// The two addresses of an entry have different families.
    #[error("{0:?} mixes IPv4 and IPv6")]
    MixedFamily(String),
    /// A kernel element lacks an attribute its set type needs.
    #[error("{set_type} element without {attribute}")]
    Missing {
        /// The set type.
        set_type: SetType,
        /// The missing attribute.
        attribute: &'static str,
    },
}

/// A network: an address with its host bits cleared and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// The network of `addr`/`prefix`; host bits are cleared, as the kernel
    /// does. Fails if the prefix is longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, EntryError> {
        let addr = match addr {
            IpAddr::V4(v4) if prefix <= 32 => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
            }
            IpAddr::V6(v6) if prefix <= 128 => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
            _ => return Err(EntryError::Prefix(format!("{addr}/{prefix}"))),
        };
        Ok(Self { addr, prefix })
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }
}

/// Like `ipset save`: the prefix is left out for a single host.
impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix == Family::of(self.addr).max_prefix() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl FromStr for Net {
    type Err = EntryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (
                parse_ip(addr)?,
                Some(
                    prefix
                        .parse::<u8>()
                        .map_err(|_| EntryError::Prefix(s.to_owned()))?,
                ),
            ),
            None => (parse_ip(s)?, None),
        };
        Net::new(addr, prefix.unwrap_or(Family::of(addr).max_prefix()))
    }
}

/// One member of a set, in the shape of its set type.
///
/// The protocol of a parsed or decoded entry is tcp, udp or sctp; others
/// are refused with [`EntryError::Protocol`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Entry {
    /// hash:ip: `10.0.0.1`.
    Ip(IpAddr),
    /// hash:ip,port: `10.0.0.1,tcp:80`.
    IpPort {
        /// The address.
        ip: IpAddr,
        /// The protocol.
        proto: Protocol,
        /// The port.
        port: u16,
    },
    /// hash:ip,port,ip: `10.0.0.1,tcp:80,10.0.0.1`.
    IpPortIp {
        /// The first address.
        ip: IpAddr,
        /// The protocol.
        proto: Protocol,
        /// The port.
        port: u16,
        /// The second address.
        ip2: IpAddr,
    },
    /// hash:ip,port,net: `10.0.0.1,tcp:80,10.1.0.0/16`.
    IpPortNet {
        /// The address.
        ip: IpAddr,
        /// The protocol.
        proto: Protocol,
        /// The port.
        port: u16,
        /// The network.
        net: Net,
    },
    /// hash:net: `10.0.0.0/8`.
    Net(Net),
    /// bitmap:port: `30080`.
    Port(u16),
}

impl Entry {
    /// The set type this entry belongs to.
    pub fn set_type(&self) -> SetType {
        match self {
            Entry::Ip(_) => SetType::HashIp,
            Entry::IpPort { .. } => SetType::HashIpPort,
            Entry::IpPortIp { .. } => SetType::HashIpPortIp,
            Entry::IpPortNet { .. } => SetType::HashIpPortNet,
            Entry::Net(_) => SetType::HashNet,
            Entry::Port(_) => SetType::BitmapPort,
        }
    }

    /// The address family, or `None` for a port.
    pub fn family(&self) -> Option<Family> {
        match self {
            Entry::Ip(ip)
            | Entry::IpPort { ip, .. }
            | Entry::IpPortIp { ip, .. }
            | Entry::IpPortNet { ip, .. } => Some(Family::of(*ip)),
            Entry::Net(net) => Some(Family::of(net.addr)),
            Entry::Port(_) => None,
        }
    }

    /// Parses `s` as an entry of `set_type`. Unlike [`FromStr`], this tells
    /// apart shapes that look alike (a hash:net host, a hash:ip,port,net
    /// entry with a host as network).
    pub fn parse(set_type: SetType, s: &str) -> Result<Self, EntryError> {
        let syntax = || EntryError::Syntax {
            entry: s.to_owned(),
            set_type,
        };
        let parts: Vec<&str> = s.split(',').collect();
        let entry = match (set_type, parts.as_slice()) {
            (SetType::HashIp, [ip]) => Entry::Ip(parse_ip(ip)?),
            (SetType::HashNet, [net]) => Entry::Net(net.parse()?),
            (SetType::BitmapPort, [port]) => Entry::Port(parse_port(port)?),
            (SetType::HashIpPort, [ip, pp]) => {
                let (proto, port) = parse_proto_port(pp)?;
                Entry::IpPort {
                    ip: parse_ip(ip)?,
                    proto,
                    port,
                }
            }
            (SetType::HashIpPortIp, [ip, pp, ip2]) => {
                let (proto, port) = parse_proto_port(pp)?;
                Entry::IpPortIp {
                    ip: parse_ip(ip)?,
                    proto,
                    port,
                    ip2: parse_ip(ip2)?,
                }
            }
            (SetType::HashIpPortNet, [ip, pp, net]) => {
                let (proto, port) = parse_proto_port(pp)?;
                Entry::IpPortNet {
                    ip: parse_ip(ip)?,
                    proto,
                    port,
                    net: net.parse()?,
                }
            }
            _ => return Err(syntax()),
        };
        entry.check_family(s)?;
        Ok(entry)
    }

    fn check_family(self, text: &str) -> Result<(), EntryError> {
        let second = match self {
            Entry::IpPortIp { ip2, .. } => ip2,
            Entry::IpPortNet { net, .. } => net.addr,
            _ => return Ok(()),
        };
        if self.family() == Some(Family::of(second)) {
            Ok(())
        } else {
            Err(EntryError::MixedFamily(text.to_owned()))
        }
    }

    /// The element attributes of this entry, in the order the ipset tool
    /// sends them, followed by `IPSET_ATTR_CADT_LINENO` if `lineno` is
    /// given.
    pub fn to_attributes(&self, lineno: Option<u32>) -> Vec<ElementAttribute> {
        use ElementAttribute as A;
        let mut attrs = match *self {
            Entry::Ip(ip) => vec![A::Ip(ip)],
            Entry::IpPort { ip, proto, port } => {
                vec![A::Ip(ip), A::Port(port), A::Proto(proto.number())]
            }
            Entry::IpPortIp {
                ip,
                proto,
                port,
                ip2,
            } => vec![
                A::Ip(ip),
                A::Port(port),
                A::Proto(proto.number()),
                A::Ip2(ip2),
            ],
            Entry::IpPortNet {
                ip,
                proto,
                port,
                net,
            } => vec![
                A::Ip(ip),
                A::Port(port),
                A::Proto(proto.number()),
                A::Ip2(net.addr),
                A::Cidr2(net.prefix),
            ],
            Entry::Net(net) => vec![A::Ip(net.addr), A::Cidr(net.prefix)],
            Entry::Port(port) => vec![A::Port(port)],
        };
        attrs.extend(lineno.map(A::LineNo));
        attrs
    }

    /// Decodes a kernel element of a `set_type` set. Extension attributes
    /// (timeout, counters, comment) are ignored.
    pub fn from_attributes(
        set_type: SetType,
        attrs: &[ElementAttribute],
    ) -> Result<Self, EntryError> {
        let mut ip = None;
        let mut ip2 = None;
        let mut cidr = None;
        let mut cidr2 = None;
        let mut port = None;
        let mut proto = None;
        for attr in attrs {
            match attr {
                ElementAttribute::Ip(a) => ip = Some(*a),
                ElementAttribute::Ip2(a) => ip2 = Some(*a),
                ElementAttribute::Cidr(c) => cidr = Some(*c),
                ElementAttribute::Cidr2(c) => cidr2 = Some(*c),
                ElementAttribute::Port(p) => port = Some(*p),
                ElementAttribute::Proto(p) => proto = Some(*p),
                _ => {}
            }
        }
        let missing = |attribute| EntryError::Missing {
            set_type,
            attribute,
        };
        let ip = || ip.ok_or_else(|| missing("IP"));
        let port = || port.ok_or_else(|| missing("PORT"));
        let proto = || {
            let number = proto.ok_or_else(|| missing("PROTO"))?;
            match Protocol::from_number(number) {
                proto @ (Protocol::Tcp | Protocol::Udp | Protocol::Sctp) => Ok(proto),
                _ => Err(EntryError::Protocol(number.to_string())),
            }
        };
        let net = |addr: IpAddr, prefix: Option<u8>| {
            Net::new(addr, prefix.unwrap_or(Family::of(addr).max_prefix()))
        };
        Ok(match set_type {
            SetType::HashIp => Entry::Ip(ip()?),
            SetType::HashNet => Entry::Net(net(ip()?, cidr)?),
            SetType::BitmapPort => Entry::Port(port()?),
            SetType::HashIpPort => Entry::IpPort {
                ip: ip()?,
                proto: proto()?,
                port: port()?,
            },
            SetType::HashIpPortIp => Entry::IpPortIp {
                ip: ip()?,
                proto: proto()?,
                port: port()?,
                ip2: ip2.ok_or_else(|| missing("IP2"))?,
            },
            SetType::HashIpPortNet => Entry::IpPortNet {
                ip: ip()?,
                proto: proto()?,
                port: port()?,
                net: net(ip2.ok_or_else(|| missing("IP2"))?, cidr2)?,
            },
        })
    }
}

/// Prints the entry exactly as `ipset save` does.
impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Ip(ip) => write!(f, "{ip}"),
            Entry::IpPort { ip, proto, port } => write!(f, "{ip},{proto}:{port}"),
            Entry::IpPortIp {
                ip,
                proto,
                port,
                ip2,
            } => write!(f, "{ip},{proto}:{port},{ip2}"),
            Entry::IpPortNet {
                ip,
                proto,
                port,
                net,
            } => write!(f, "{ip},{proto}:{port},{net}"),
            Entry::Net(net) => write!(f, "{net}"),
            Entry::Port(port) => write!(f, "{port}"),
        }
    }
}

/// Parses by shape: `PORT`, `IP`, `NET/LEN`, `IP,PROTO:PORT`,
/// `IP,PROTO:PORT,IP` or `IP,PROTO:PORT,NET/LEN`. A third part without a
/// prefix length is read as hash:ip,port,ip; use [`Entry::parse`] when the
/// set type is known.
impl FromStr for Entry {
    type Err = EntryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(',').collect();
        let set_type = match parts.as_slice() {
            [one] if one.bytes().all(|b| b.is_ascii_digit()) => SetType::BitmapPort,
            [one] if one.contains('/') => SetType::HashNet,
            [_] => SetType::HashIp,
            [_, _] => SetType::HashIpPort,
            [_, _, third] if third.contains('/') => SetType::HashIpPortNet,
            _ => SetType::HashIpPortIp,
        };
        Entry::parse(set_type, s)
    }
}

fn parse_ip(s: &str) -> Result<IpAddr, EntryError> {
    s.parse().map_err(|_| EntryError::Address(s.to_owned()))
}

fn parse_port(s: &str) -> Result<u16, EntryError> {
    s.parse().map_err(|_| EntryError::Port(s.to_owned()))
}

/// `tcp:80`, or a bare port meaning tcp as in the ipset tool.
fn parse_proto_port(s: &str) -> Result<(Protocol, u16), EntryError> {
    match s.split_once(':') {
        Some((proto, port)) => {
            let proto = proto
                .parse()
                .map_err(|_| EntryError::Protocol(proto.to_owned()))?;
            Ok((proto, parse_port(port)?))
        }
        None => Ok((Protocol::Tcp, parse_port(s)?)),
    }
}
