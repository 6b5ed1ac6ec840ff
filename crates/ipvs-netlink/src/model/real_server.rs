//! Real servers (IPVS destinations).

use std::net::SocketAddr;

use netlink_packet_core::{DecodeError, ErrorContext};

use super::{Family, Stats, encode, family::decode_family};
use crate::packet::{
    DestinationAttribute, IpvsAttribute, IpvsCmd, IpvsMessage, NestKind, nla::NestItem,
};

/// Tunnel encapsulation type (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TunnelType {
    /// IP-in-IP (0), the default.
    #[default]
    Ipip,
    /// Generic UDP encapsulation (1).
    Gue,
    /// GRE (2).
    Gre,
    /// Another value.
    Other(u8),
}

impl TunnelType {
    /// The `IPVS_DEST_ATTR_TUN_TYPE` value.
    pub fn raw(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
            TunnelType::Other(v) => v,
        }
    }

    /// The type of an `IPVS_DEST_ATTR_TUN_TYPE` value.
    pub fn from_raw(raw: u8) -> Self {
        match raw {
            0 => TunnelType::Ipip,
            1 => TunnelType::Gue,
            2 => TunnelType::Gre,
            v => TunnelType::Other(v),
        }
    }
}

/// Tunnel settings of a [`ForwardMethod::Tunnel`] real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Tunnel {
    /// Encapsulation.
    pub kind: TunnelType,
    /// Destination port of GUE encapsulation (0 otherwise).
    pub port: u16,
    /// `IP_VS_TUNNEL_ENCAP_FLAG_*` bits ([`Tunnel::CSUM`],
    /// [`Tunnel::REMCSUM`]).
    pub flags: u16,
}

impl Tunnel {
    /// `IP_VS_TUNNEL_ENCAP_FLAG_CSUM`.
    pub const CSUM: u16 = 1;
    /// `IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM`.
    pub const REMCSUM: u16 = 2;

    /// A tunnel of this type, port and flags.
    pub fn new(kind: TunnelType, port: u16, flags: u16) -> Self {
        Tunnel { kind, port, flags }
    }
}

/// How packets reach a real server (`IP_VS_CONN_F_FWD_MASK` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ForwardMethod {
    /// NAT (0); what kube-proxy uses. ipvsadm prints `Masq`.
    Masq,
    /// Local node (1). ipvsadm prints `Local`.
    Local,
    /// IP tunnel (2). ipvsadm prints `Tunnel`.
    Tunnel(Tunnel),
    /// Direct routing / gatewaying (3). ipvsadm prints `Route`.
    DirectRoute,
}

impl ForwardMethod {
    /// The `IPVS_DEST_ATTR_FWD_METHOD` value.
    pub fn raw(&self) -> u32 {
        match self {
            ForwardMethod::Masq => 0,
            ForwardMethod::Local => 1,
            ForwardMethod::Tunnel(_) => 2,
            ForwardMethod::DirectRoute => 3,
        }
    }

    /// The tunnel settings, if any.
    pub fn tunnel(&self) -> Option<Tunnel> {
        match self {
            ForwardMethod::Tunnel(tunnel) => Some(*tunnel),
            _ => None,
        }
    }

    /// The name ipvsadm prints in its `Forward` column.
    pub fn ipvsadm_name(&self) -> &'static str {
        match self {
            ForwardMethod::Masq => "Masq",
            ForwardMethod::Local => "Local",
            ForwardMethod::Tunnel(_) => "Tunnel",
            ForwardMethod::DirectRoute => "Route",
        }
    }
}

/// A real server (destination) of a virtual service.
///
/// `PartialEq` compares every field, the read-only connection counters and
/// stats included; [`RealServer::same_config`] compares what can be
/// configured (address, forwarding, weight, thresholds).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RealServer {
    /// Address and port.
    pub addr: SocketAddr,
    /// Forwarding method.
    pub forward: ForwardMethod,
    /// Weight (0 = quiesced).
    pub weight: u32,
    /// Upper connection threshold (0 = unlimited).
    pub upper_threshold: u32,
    /// Lower connection threshold.
    pub lower_threshold: u32,
    /// Active connections (read-only).
    pub active_conns: u32,
    /// Inactive connections (read-only).
    pub inactive_conns: u32,
    /// Persistent connection templates (read-only).
    pub persistent_conns: u32,
    /// Counters, present in dumps only (read-only; boxed: a planned or
    /// cached real server has none, and is kept small).
    pub stats: Option<Box<Stats>>,
}

impl RealServer {
    /// A real server with no thresholds.
    pub fn new(addr: SocketAddr, forward: ForwardMethod, weight: u32) -> Self {
        RealServer {
            addr,
            forward,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
            active_conns: 0,
            inactive_conns: 0,
            persistent_conns: 0,
            stats: None,
        }
    }

    /// Sets the upper and lower connection thresholds.
    pub fn with_thresholds(mut self, upper: u32, lower: u32) -> Self {
        self.upper_threshold = upper;
        self.lower_threshold = lower;
        self
    }

    /// Whether `other` has the same configuration: address, forwarding
    /// method, weight and thresholds; the read-only counters are ignored.
    /// What a reconciler compares a dumped real server with a wanted one
    /// by (`PartialEq` compares every field).
    pub fn same_config(&self, other: &RealServer) -> bool {
        self.addr == other.addr
            && self.forward == other.forward
            && self.weight == other.weight
            && self.upper_threshold == other.upper_threshold
            && self.lower_threshold == other.lower_threshold
    }

    /// The full attribute list of `NEW_DEST` / `SET_DEST`.
    pub fn to_attributes(&self) -> Vec<DestinationAttribute> {
        encode::destination_full(self)
    }

    /// Reads a destination nest. `service_family` is used when the kernel
    /// sends no `ADDR_FAMILY` (before 3.18).
    pub fn from_attributes(
        attrs: &[DestinationAttribute],
        service_family: Family,
    ) -> Result<Self, DecodeError> {
        let mut builder = Builder::new(service_family);
        for attr in attrs {
            builder.add(attr)?;
        }
        builder.finish()
    }

    /// Reads the destination of a `NEW_DEST` dump message.
    pub fn from_message(msg: &IpvsMessage, service_family: Family) -> Result<Self, DecodeError> {
        msg.attributes
            .iter()
            .find_map(|attr| match attr {
                IpvsAttribute::Destination(nest) => Some(nest),
                _ => None,
            })
            .ok_or_else(|| DecodeError::from("destination message without DEST nest"))
            .and_then(|nest| RealServer::from_attributes(nest, service_family))
    }

    /// What `from_message` gives for the message with command `cmd` and
    /// attributes `attrs` (the bytes after the generic-netlink header),
    /// with the same checks and errors, without building the
    /// `IpvsMessage` in between.
    pub(crate) fn from_message_bytes(
        attrs: &[u8],
        cmd: IpvsCmd,
        service_family: Family,
    ) -> Result<Self, DecodeError> {
        IpvsMessage::parse_first_nest(attrs, cmd, NestKind::Destination, |nest| {
            let mut builder = Builder::new(service_family);
            DestinationAttribute::visit_nest(nest, |item| match item {
                NestItem::Attr(attr) => builder.add(&attr),
                NestItem::Stats { wide, nest } => {
                    builder.stats(wide, Stats::from_nest(&nest));
                    Ok(())
                }
            })?;
            Ok(builder)
        })?
        .ok_or_else(|| DecodeError::from("destination message without DEST nest"))?
        .finish()
    }
}

/// A real server read attribute by attribute.
struct Builder {
    family: Family,
    addr: Option<crate::packet::InetAddr>,
    port: Option<u16>,
    fwd: Option<u32>,
    tunnel: Tunnel,
    server: RealServer,
    stats32: Option<Stats>,
    stats64: Option<Stats>,
}

impl Builder {
    fn new(service_family: Family) -> Self {
        Builder {
            family: service_family,
            addr: None,
            port: None,
            fwd: None,
            tunnel: Tunnel::default(),
            server: RealServer::new(SocketAddr::from(([0, 0, 0, 0], 0)), ForwardMethod::Masq, 0),
            stats32: None,
            stats64: None,
        }
    }

    fn stats(&mut self, wide: bool, stats: Stats) {
        if wide {
            self.stats64 = Some(stats);
        } else {
            self.stats32 = Some(stats);
        }
    }

    fn add(&mut self, attr: &DestinationAttribute) -> Result<(), DecodeError> {
        let server = &mut self.server;
        match attr {
            DestinationAttribute::AddressFamily(af) => {
                self.family = decode_family(*af).context("destination ADDR_FAMILY")?
            }
            DestinationAttribute::Address(v) => self.addr = Some(*v),
            DestinationAttribute::Port(v) => self.port = Some(*v),
            DestinationAttribute::FwdMethod(v) => self.fwd = Some(*v),
            DestinationAttribute::Weight(v) => server.weight = *v,
            DestinationAttribute::UpperThreshold(v) => server.upper_threshold = *v,
            DestinationAttribute::LowerThreshold(v) => server.lower_threshold = *v,
            DestinationAttribute::ActiveConns(v) => server.active_conns = *v,
            DestinationAttribute::InactiveConns(v) => server.inactive_conns = *v,
            DestinationAttribute::PersistentConns(v) => server.persistent_conns = *v,
            DestinationAttribute::TunnelType(v) => self.tunnel.kind = TunnelType::from_raw(*v),
            DestinationAttribute::TunnelPort(v) => self.tunnel.port = *v,
            DestinationAttribute::TunnelFlags(v) => self.tunnel.flags = *v,
            DestinationAttribute::Stats(nest) => self.stats32 = Some(Stats::from_nest(nest)),
            DestinationAttribute::Stats64(nest) => self.stats64 = Some(Stats::from_nest(nest)),
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<RealServer, DecodeError> {
        let mut server = self.server;
        let (Some(addr), Some(port)) = (self.addr, self.port) else {
            return Err("destination without ADDR or PORT".into());
        };
        server.addr = SocketAddr::new(addr.to_ip(self.family.is_v6()), port);
        server.forward = match self.fwd {
            None | Some(0) => ForwardMethod::Masq,
            Some(1) => ForwardMethod::Local,
            Some(2) => ForwardMethod::Tunnel(self.tunnel),
            Some(3) => ForwardMethod::DirectRoute,
            Some(other) => {
                return Err(format!(
                    "destination {} with unknown FWD_METHOD {other}",
                    server.addr
                )
                .into());
            }
        };
        server.stats = self.stats64.or(self.stats32).map(Box::new);
        Ok(server)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_config_ignores_counters_equality_does_not() {
        let rs = RealServer::new("10.0.0.2:8080".parse().unwrap(), ForwardMethod::Masq, 1)
            .with_thresholds(100, 10);
        let mut attrs = rs.to_attributes();
        attrs.push(DestinationAttribute::ActiveConns(4));
        let parsed = RealServer::from_attributes(&attrs, Family::Inet).unwrap();
        assert!(parsed.same_config(&rs) && rs.same_config(&parsed));
        assert_ne!(parsed, rs);
        assert_eq!(parsed.active_conns, 4);
        let mut idle = parsed.clone();
        idle.active_conns = 0;
        assert_eq!(idle, rs);
        assert!(!rs.same_config(&rs.clone().with_thresholds(100, 9)));
    }

    #[test]
    fn stats64_wins_over_stats() {
        use crate::packet::{Stats64Attribute, StatsAttribute};
        let rs = RealServer::new("10.0.0.2:8080".parse().unwrap(), ForwardMethod::Masq, 1);
        let mut attrs = rs.to_attributes();
        attrs.push(DestinationAttribute::Stats(Box::new(
            [StatsAttribute::Conns(5)].into_iter().collect(),
        )));
        assert_eq!(
            RealServer::from_attributes(&attrs, Family::Inet)
                .unwrap()
                .stats
                .map(|s| s.conns),
            Some(5)
        );
        attrs.insert(
            0,
            DestinationAttribute::Stats64(Box::new(
                [Stats64Attribute::Conns(1 << 40)].into_iter().collect(),
            )),
        );
        let parsed = RealServer::from_attributes(&attrs, Family::Inet).unwrap();
        assert_eq!(parsed.stats.map(|s| s.conns), Some(1 << 40));
    }

    #[test]
    fn tunnel_and_v6() {
        let tunnel = Tunnel::new(TunnelType::Gue, 6080, Tunnel::CSUM);
        let rs = RealServer::new(
            "[2001:db8::2]:80".parse().unwrap(),
            ForwardMethod::Tunnel(tunnel),
            5,
        );
        let parsed = RealServer::from_attributes(&rs.to_attributes(), Family::Inet).unwrap();
        assert_eq!(parsed, rs);
        assert_eq!(parsed.forward.tunnel(), Some(tunnel));
    }

    #[test]
    fn family_falls_back_to_the_service() {
        let attrs = [
            DestinationAttribute::Address(crate::packet::InetAddr::parse(&[10, 0, 0, 3]).unwrap()),
            DestinationAttribute::Port(80),
            DestinationAttribute::FwdMethod(3),
        ];
        let rs = RealServer::from_attributes(&attrs, Family::Inet).unwrap();
        assert_eq!(rs.addr, "10.0.0.3:80".parse().unwrap());
        assert_eq!(rs.forward, ForwardMethod::DirectRoute);
        let bad = [DestinationAttribute::Port(80)];
        assert!(RealServer::from_attributes(&bad, Family::Inet).is_err());
        let mut unknown_fwd = attrs.to_vec();
        unknown_fwd.push(DestinationAttribute::FwdMethod(7));
        assert!(RealServer::from_attributes(&unknown_fwd, Family::Inet).is_err());
    }
}
