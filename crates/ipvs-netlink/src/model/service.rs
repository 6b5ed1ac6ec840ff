//! Virtual services.

use std::{
    fmt,
    net::{Ipv4Addr, SocketAddr},
};

use netlink_packet_core::{DecodeError, ErrorContext};

use super::{
    Family, Protocol, Scheduler, ServiceFlags, Stats, encode,
    family::{decode_family, decode_protocol},
};
use crate::packet::{
    InetAddr, IpvsAttribute, IpvsCmd, IpvsMessage, NestKind, ServiceAttribute, nla::NestItem,
};

/// What identifies a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ServiceKey {
    /// An address/port service (`ipvsadm -t/-u/--sctp-service`).
    Inet {
        /// Transport protocol.
        protocol: Protocol,
        /// Virtual address and port; its family is the service family.
        addr: SocketAddr,
    },
    /// A firewall-mark service (`ipvsadm -f`).
    Fwmark {
        /// Address family of the real servers.
        family: Family,
        /// The mark.
        mark: u32,
    },
}

impl ServiceKey {
    /// A TCP service.
    pub fn tcp(addr: SocketAddr) -> Self {
        ServiceKey::Inet {
            protocol: Protocol::Tcp,
            addr,
        }
    }

    /// A UDP service.
    pub fn udp(addr: SocketAddr) -> Self {
        ServiceKey::Inet {
            protocol: Protocol::Udp,
            addr,
        }
    }

    /// An SCTP service.
    pub fn sctp(addr: SocketAddr) -> Self {
        ServiceKey::Inet {
            protocol: Protocol::Sctp,
            addr,
        }
    }

    /// A firewall-mark service.
    pub fn fwmark(family: Family, mark: u32) -> Self {
        ServiceKey::Fwmark { family, mark }
    }

    /// The service's address family.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Inet { addr, .. } => Family::of(addr.ip()),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }

    /// The identifying attributes (AF + FWMARK, or AF + PROTOCOL + ADDR +
    /// PORT).
    pub fn to_attributes(&self) -> Vec<ServiceAttribute> {
        encode::service_key(self)
    }

    /// Reads the identifying attributes of a service nest.
    pub fn from_attributes(attrs: &[ServiceAttribute]) -> Result<Self, DecodeError> {
        let mut parts = KeyParts::default();
        for attr in attrs {
            parts.add(attr);
        }
        parts.key()
    }
}

/// The identifying attributes of a service nest, as read (the last of
/// each kind wins).
#[derive(Default)]
struct KeyParts {
    af: Option<u16>,
    protocol: Option<u16>,
    addr: Option<InetAddr>,
    port: Option<u16>,
    fwmark: Option<u32>,
}

impl KeyParts {
    /// Takes `attr` if it is an identifying attribute.
    fn add(&mut self, attr: &ServiceAttribute) -> bool {
        match attr {
            ServiceAttribute::AddressFamily(v) => self.af = Some(*v),
            ServiceAttribute::Protocol(v) => self.protocol = Some(*v),
            ServiceAttribute::Address(v) => self.addr = Some(*v),
            ServiceAttribute::Port(v) => self.port = Some(*v),
            ServiceAttribute::Fwmark(v) => self.fwmark = Some(*v),
            _ => return false,
        }
        true
    }

    fn key(&self) -> Result<ServiceKey, DecodeError> {
        let af = self.af.ok_or("service without AF")?;
        let family = decode_family(af).context("service AF")?;
        match (self.fwmark, self.protocol, self.addr, self.port) {
            (Some(mark), ..) if mark != 0 => Ok(ServiceKey::Fwmark { family, mark }),
            (_, Some(protocol), Some(addr), Some(port)) => Ok(ServiceKey::Inet {
                protocol: decode_protocol(protocol).context("service PROTOCOL")?,
                addr: SocketAddr::new(addr.to_ip(family.is_v6()), port),
            }),
            _ => Err("service with neither FWMARK nor PROTOCOL, ADDR and PORT".into()),
        }
    }
}

impl fmt::Display for ServiceKey {
    /// `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`, `FWM 5`, `FWM 5 IPv6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Inet { protocol, addr } => match protocol.upper_name() {
                Some(name) => write!(f, "{name} {addr}"),
                None => write!(f, "proto {} {addr}", protocol.number()),
            },
            ServiceKey::Fwmark {
                family: Family::Inet,
                mark,
            } => write!(f, "FWM {mark}"),
            ServiceKey::Fwmark {
                family: Family::Inet6,
                mark,
            } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

/// Persistence granularity (`ipvsadm -M`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Netmask {
    /// An IPv4 mask (kube-proxy and ipvsadm default: 255.255.255.255).
    Ipv4(Ipv4Addr),
    /// An IPv6 prefix length, 1-128 (default 128).
    Ipv6Prefix(u8),
}

impl Netmask {
    /// The default, host-granular mask of a family.
    pub fn full(family: Family) -> Self {
        match family {
            Family::Inet => Netmask::Ipv4(Ipv4Addr::BROADCAST),
            Family::Inet6 => Netmask::Ipv6Prefix(128),
        }
    }

    /// The raw `IPVS_SVC_ATTR_NETMASK` value: the mask bytes in network
    /// order for IPv4, the prefix length for IPv6.
    pub fn to_raw(self) -> u32 {
        match self {
            Netmask::Ipv4(mask) => u32::from_ne_bytes(mask.octets()),
            Netmask::Ipv6Prefix(prefix) => prefix.into(),
        }
    }

    /// Interprets a raw `IPVS_SVC_ATTR_NETMASK` value for a family.
    pub fn from_raw(raw: u32, family: Family) -> Result<Self, DecodeError> {
        match family {
            Family::Inet => Ok(Netmask::Ipv4(Ipv4Addr::from(raw.to_ne_bytes()))),
            Family::Inet6 => u8::try_from(raw)
                .map(Netmask::Ipv6Prefix)
                .map_err(|_| format!("IPv6 netmask prefix {raw} out of range").into()),
        }
    }
}

/// A virtual service and its settings.
///
/// `PartialEq` compares every field, the kernel's `HASHED` flag and the
/// counters included; [`VirtualService::same_config`] compares what can be
/// configured (`stats` ignored, `HASHED` masked off the flags), so that a
/// dumped service is the same configuration as the service that was added.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VirtualService {
    /// What identifies the service.
    pub key: ServiceKey,
    /// Scheduler name.
    pub scheduler: Scheduler,
    /// Service flags.
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (used with
    /// [`ServiceFlags::PERSISTENT`]).
    pub timeout: u32,
    /// Persistence granularity.
    pub netmask: Netmask,
    /// Persistence engine (e.g. `sip`).
    pub pe_name: Option<String>,
    /// Counters, present in dumps only (read-only; boxed: a planned or
    /// cached service has none, and is kept small).
    pub stats: Option<Box<Stats>>,
}

impl VirtualService {
    /// A service with no flags, no persistence and a full netmask.
    pub fn new(key: ServiceKey, scheduler: Scheduler) -> Self {
        VirtualService {
            key,
            scheduler,
            flags: ServiceFlags::EMPTY,
            timeout: 0,
            netmask: Netmask::full(key.family()),
            pe_name: None,
            stats: None,
        }
    }

    /// Makes the service persistent with this timeout (seconds).
    pub fn persistent(mut self, timeout: u32) -> Self {
        self.flags.insert(ServiceFlags::PERSISTENT);
        self.timeout = timeout;
        self
    }

    /// Adds flags.
    pub fn with_flags(mut self, flags: ServiceFlags) -> Self {
        self.flags.insert(flags);
        self
    }

    /// Sets the persistence granularity.
    pub fn with_netmask(mut self, netmask: Netmask) -> Self {
        self.netmask = netmask;
        self
    }

    /// Sets the persistence engine.
    pub fn with_pe_name(mut self, pe_name: impl Into<String>) -> Self {
        self.pe_name = Some(pe_name.into());
        self
    }

    /// Whether `other` has the same configuration: key, scheduler, flags
    /// (without the kernel's `HASHED`), persistence timeout, netmask and
    /// persistence engine; the counters are ignored. What a reconciler
    /// compares a dumped service with a wanted one by (`PartialEq`
    /// compares every field).
    pub fn same_config(&self, other: &VirtualService) -> bool {
        self.key == other.key
            && self.scheduler == other.scheduler
            && self.flags.without_hashed() == other.flags.without_hashed()
            && self.timeout == other.timeout
            && self.netmask == other.netmask
            && self.pe_name == other.pe_name
    }

    /// The full attribute list of `NEW_SERVICE` / `SET_SERVICE`.
    pub fn to_attributes(&self) -> Vec<ServiceAttribute> {
        encode::service_full(self)
    }

    /// Reads a service nest (as dumped or sent).
    pub fn from_attributes(attrs: &[ServiceAttribute]) -> Result<Self, DecodeError> {
        let mut builder = Builder::default();
        for attr in attrs {
            builder.add(attr);
        }
        builder.finish()
    }

    /// Reads the service of a `NEW_SERVICE` message (a dump entry or a
    /// `GET_SERVICE` reply).
    pub fn from_message(msg: &IpvsMessage) -> Result<Self, DecodeError> {
        msg.attributes
            .iter()
            .find_map(|attr| match attr {
                IpvsAttribute::Service(nest) => Some(nest),
                _ => None,
            })
            .ok_or_else(|| DecodeError::from("service message without SERVICE nest"))
            .and_then(|nest| VirtualService::from_attributes(nest))
    }

    /// What `from_message` gives for the message with command `cmd` and
    /// attributes `attrs` (the bytes after the generic-netlink header),
    /// with the same checks and errors, without building the
    /// `IpvsMessage` in between.
    pub(crate) fn from_message_bytes(attrs: &[u8], cmd: IpvsCmd) -> Result<Self, DecodeError> {
        IpvsMessage::parse_first_nest(attrs, cmd, NestKind::Service, |nest| {
            let mut builder = Builder::default();
            ServiceAttribute::visit_nest(nest, |item| {
                match item {
                    // The strings are moved, not copied.
                    NestItem::Attr(ServiceAttribute::SchedName(name)) => {
                        builder.scheduler = Some(Scheduler::new(name))
                    }
                    NestItem::Attr(ServiceAttribute::PeName(name)) if !name.is_empty() => {
                        builder.pe_name = Some(name)
                    }
                    NestItem::Attr(attr) => builder.add(&attr),
                    NestItem::Stats { wide, nest } => {
                        let stats = Some(Stats::from_nest(&nest));
                        if wide {
                            builder.stats64 = stats;
                        } else {
                            builder.stats32 = stats;
                        }
                    }
                }
                Ok(())
            })?;
            Ok(builder)
        })?
        .ok_or_else(|| DecodeError::from("service message without SERVICE nest"))?
        .finish()
    }
}

/// A virtual service read attribute by attribute.
#[derive(Default)]
struct Builder {
    key: KeyParts,
    scheduler: Option<Scheduler>,
    flags: Option<u32>,
    timeout: u32,
    /// Every `NETMASK` in order (the family is known only at the end, and
    /// each must be valid for it).
    netmasks: Vec<u32>,
    pe_name: Option<String>,
    stats32: Option<Stats>,
    stats64: Option<Stats>,
}

impl Builder {
    fn add(&mut self, attr: &ServiceAttribute) {
        if self.key.add(attr) {
            return;
        }
        match attr {
            ServiceAttribute::SchedName(name) => {
                self.scheduler = Some(Scheduler::new(name.clone()))
            }
            ServiceAttribute::Flags { flags, .. } => self.flags = Some(*flags),
            ServiceAttribute::Timeout(v) => self.timeout = *v,
            ServiceAttribute::Netmask(raw) => self.netmasks.push(*raw),
            ServiceAttribute::PeName(name) if !name.is_empty() => self.pe_name = Some(name.clone()),
            ServiceAttribute::Stats(nest) => self.stats32 = Some(Stats::from_nest(nest)),
            ServiceAttribute::Stats64(nest) => self.stats64 = Some(Stats::from_nest(nest)),
            _ => {}
        }
    }

    fn finish(self) -> Result<VirtualService, DecodeError> {
        let key = self.key.key()?;
        let family = key.family();
        let mut netmask = Netmask::full(family);
        for raw in self.netmasks {
            netmask = Netmask::from_raw(raw, family).with_context(|| key.to_string())?;
        }
        let scheduler = self
            .scheduler
            .ok_or_else(|| DecodeError::from(format!("service {key} without SCHED_NAME")))?;
        Ok(VirtualService {
            key,
            scheduler,
            flags: self
                .flags
                .map_or(ServiceFlags::EMPTY, ServiceFlags::from_bits),
            timeout: self.timeout,
            netmask,
            pe_name: self.pe_name,
            stats: self.stats64.or(self.stats32).map(Box::new),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::Stats64Attribute;

    fn key() -> ServiceKey {
        ServiceKey::tcp("10.0.0.1:80".parse().unwrap())
    }

    #[test]
    fn display() {
        assert_eq!(key().to_string(), "TCP 10.0.0.1:80");
        assert_eq!(
            ServiceKey::udp("[2001:db8::1]:53".parse().unwrap()).to_string(),
            "UDP [2001:db8::1]:53"
        );
        assert_eq!(
            ServiceKey::fwmark(Family::Inet6, 5).to_string(),
            "FWM 5 IPv6"
        );
    }

    #[test]
    fn round_trip_and_same_config_ignore_hashed_and_stats() {
        let svc = VirtualService::new(key(), Scheduler::RR)
            .persistent(300)
            .with_flags(ServiceFlags::ONE_PACKET);
        let mut attrs = svc.to_attributes();
        attrs.push(ServiceAttribute::Stats64(Box::new(
            [Stats64Attribute::Conns(3)].into_iter().collect(),
        )));
        if let Some(ServiceAttribute::Flags { flags, .. }) = attrs
            .iter_mut()
            .find(|a| matches!(a, ServiceAttribute::Flags { .. }))
        {
            *flags |= ServiceFlags::HASHED.bits();
        }
        let parsed = VirtualService::from_attributes(&attrs).unwrap();
        assert!(parsed.same_config(&svc) && svc.same_config(&parsed));
        // Equality compares everything: the counters, then the flags.
        assert_ne!(parsed, svc);
        let mut no_stats = parsed.clone();
        no_stats.stats = None;
        assert_ne!(no_stats, svc);
        no_stats.flags = svc.flags;
        assert_eq!(no_stats, svc);
        assert_eq!(parsed.clone(), parsed);
        assert_eq!(parsed.stats.unwrap().conns, 3);
        assert!(parsed.flags.contains(ServiceFlags::HASHED));
        let other = VirtualService::new(key(), Scheduler::WRR);
        assert!(!other.same_config(&svc));
    }

    #[test]
    fn netmask_raw() {
        let mask = Netmask::Ipv4(Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(mask.to_raw().to_ne_bytes(), [255, 255, 255, 0]);
        assert_eq!(
            Netmask::from_raw(mask.to_raw(), Family::Inet).unwrap(),
            mask
        );
        assert_eq!(
            Netmask::from_raw(64, Family::Inet6).unwrap(),
            Netmask::Ipv6Prefix(64)
        );
        assert!(Netmask::from_raw(300, Family::Inet6).is_err());
    }

    #[test]
    fn malformed_nests() {
        assert!(VirtualService::from_attributes(&[]).is_err());
        let no_sched = [
            ServiceAttribute::AddressFamily(2),
            ServiceAttribute::Fwmark(1),
        ];
        assert!(VirtualService::from_attributes(&no_sched).is_err());
        assert!(ServiceKey::from_attributes(&no_sched).is_ok());
        let no_port = [
            ServiceAttribute::AddressFamily(2),
            ServiceAttribute::Protocol(6),
            ServiceAttribute::Address(InetAddr::default()),
        ];
        assert!(ServiceKey::from_attributes(&no_port).is_err());
        let bad_af = [
            ServiceAttribute::AddressFamily(99),
            ServiceAttribute::Fwmark(1),
        ];
        assert!(ServiceKey::from_attributes(&bad_af).is_err());
    }
}
