//! Typed values to attribute lists.
//!
//! This file is the one place that decides which attributes a request
//! carries and in which order. The order follows ipvsadm's libipvs
//! (`ipvs_nl_fill_service_attr` / `ipvs_nl_fill_dest_attr`), so a request
//! built here can be compared byte for byte with an ipvsadm capture. The
//! kernel itself does not care about order.

use std::net::SocketAddr;

use super::{Family, ForwardMethod, RealServer, ServiceKey, VirtualService};
use crate::packet::{DestinationAttribute, InetAddr, ServiceAttribute};

/// The mask sent with `IPVS_SVC_ATTR_FLAGS`: every bit is applied.
const FLAGS_MASK: u32 = 0xffff_ffff;

/// AF, then FWMARK, or PROTOCOL + ADDR (16 bytes) + PORT.
pub(crate) fn service_key(key: &ServiceKey) -> Vec<ServiceAttribute> {
    let mut attrs = vec![ServiceAttribute::AddressFamily(key.family().af())];
    match key {
        ServiceKey::Fwmark { mark, .. } => attrs.push(ServiceAttribute::Fwmark(*mark)),
        ServiceKey::Inet { protocol, addr } => {
            attrs.push(ServiceAttribute::Protocol(protocol.number()));
            attrs.push(ServiceAttribute::Address(InetAddr::from(addr.ip())));
            attrs.push(ServiceAttribute::Port(addr.port()));
        }
    }
    attrs
}

/// The key, then SCHED_NAME, PE_NAME (if any), FLAGS, TIMEOUT, NETMASK.
pub(crate) fn service_full(svc: &VirtualService) -> Vec<ServiceAttribute> {
    let mut attrs = service_key(&svc.key);
    attrs.push(ServiceAttribute::SchedName(svc.scheduler.name().to_owned()));
    if let Some(pe) = &svc.pe_name {
        attrs.push(ServiceAttribute::PeName(pe.clone()));
    }
    attrs.push(ServiceAttribute::Flags {
        flags: svc.flags.without_hashed().bits(),
        mask: FLAGS_MASK,
    });
    attrs.push(ServiceAttribute::Timeout(svc.timeout));
    attrs.push(ServiceAttribute::Netmask(svc.netmask.to_raw()));
    attrs
}

/// ADDR_FAMILY, ADDR (16 bytes), PORT: what `DEL_DEST` needs.
pub(crate) fn destination_key(addr: SocketAddr) -> Vec<DestinationAttribute> {
    vec![
        DestinationAttribute::AddressFamily(Family::of(&addr.ip()).af()),
        DestinationAttribute::Address(InetAddr::from(addr.ip())),
        DestinationAttribute::Port(addr.port()),
    ]
}

/// The key, then FWD_METHOD, WEIGHT, TUN_TYPE, TUN_PORT, TUN_FLAGS,
/// U_THRESH, L_THRESH.
pub(crate) fn destination_full(rs: &RealServer) -> Vec<DestinationAttribute> {
    let tunnel = match rs.forward {
        ForwardMethod::Tunnel(tunnel) => tunnel,
        _ => Default::default(),
    };
    let mut attrs = destination_key(rs.addr);
    attrs.extend([
        DestinationAttribute::FwdMethod(rs.forward.raw()),
        DestinationAttribute::Weight(rs.weight),
        DestinationAttribute::TunnelType(tunnel.kind.raw()),
        DestinationAttribute::TunnelPort(tunnel.port),
        DestinationAttribute::TunnelFlags(tunnel.flags),
        DestinationAttribute::UpperThreshold(rs.upper_threshold),
        DestinationAttribute::LowerThreshold(rs.lower_threshold),
    ]);
    attrs
}
