//! Typed values to attribute lists.
//!
//! This file is the one place that decides which attributes a request
//! carries and in which order. The order follows ipvsadm's libipvs
//! (`ipvs_nl_fill_service_attr` / `ipvs_nl_fill_dest_attr`), so a request
//! built here can be compared byte for byte with an ipvsadm capture. The
//! kernel itself does not care about order.
//!
//! Verified against ipvsadm 1.31 talking to a 6.1 kernel: requests built here
//! are byte-identical to ipvsadm's (`NLA_F_NESTED` on nests, the whole
//! 16-byte address union, ipvsadm's blank settings in a service nest that
//! only names a service, and ipvsadm's defaults in `DEL_DEST`).

use std::net::SocketAddr;

use super::{Family, ForwardMethod, Netmask, RealServer, ServiceKey, VirtualService};
use crate::packet::{DestinationAttribute, InetAddr, ServiceAttribute};

/// The mask sent with `IPVS_SVC_ATTR_FLAGS`: every bit is applied.
const FLAGS_MASK: u32 = 0xffff_ffff;

/// AF, then FWMARK, or PROTOCOL + ADDR (16 bytes) + PORT: the service
/// nest of a `GET_DEST` dump.
pub(crate) fn service_key(key: &ServiceKey) -> Vec<ServiceAttribute> {
    let mut attrs = vec![ServiceAttribute::AddressFamily(key.family().af())];
    match key {
        ServiceKey::Fwmark { mark, .. } => attrs.push(ServiceAttribute::Fwmark(*mark)),
        ServiceKey::Inet { protocol, addr } => {
            attrs.push(ServiceAttribute::Protocol(u16::from(protocol.number())));
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

/// The service nest of a request that only names a service (`DEL_SERVICE`,
/// `ZERO`, the `*_DEST` commands): the key plus blank settings, as ipvsadm
/// sends it (empty SCHED_NAME, FLAGS 0/all, TIMEOUT 0, a full NETMASK). The
/// kernel reads only the key.
pub(crate) fn service_reference(key: &ServiceKey) -> Vec<ServiceAttribute> {
    service_with_blank_settings(key, Netmask::full(key.family()).to_raw())
}

/// The service nest of a single-service `GET_SERVICE`: like
/// [`service_reference`] with NETMASK 0, as ipvsadm sends it.
pub(crate) fn service_lookup(key: &ServiceKey) -> Vec<ServiceAttribute> {
    service_with_blank_settings(key, 0)
}

fn service_with_blank_settings(key: &ServiceKey, netmask: u32) -> Vec<ServiceAttribute> {
    let mut attrs = service_key(key);
    attrs.extend([
        ServiceAttribute::SchedName(String::new()),
        ServiceAttribute::Flags {
            flags: 0,
            mask: FLAGS_MASK,
        },
        ServiceAttribute::Timeout(0),
        ServiceAttribute::Netmask(netmask),
    ]);
    attrs
}

/// The destination nest of `DEL_DEST`: the full attribute list with
/// ipvsadm's defaults (direct routing, weight 1). The kernel reads only
/// ADDR and PORT.
pub(crate) fn destination_reference(addr: SocketAddr) -> Vec<DestinationAttribute> {
    destination_full(&RealServer::new(addr, ForwardMethod::DirectRoute, 1))
}

/// ADDR_FAMILY, ADDR (16 bytes), PORT, then FWD_METHOD, WEIGHT, TUN_TYPE, TUN_PORT, TUN_FLAGS,
/// U_THRESH, L_THRESH.
pub(crate) fn destination_full(rs: &RealServer) -> Vec<DestinationAttribute> {
    let tunnel = match rs.forward {
        ForwardMethod::Tunnel(tunnel) => tunnel,
        _ => Default::default(),
    };
    let ip = rs.addr.ip();
    vec![
        DestinationAttribute::AddressFamily(Family::of(ip).af()),
        DestinationAttribute::Address(InetAddr::from(ip)),
        DestinationAttribute::Port(rs.addr.port()),
        DestinationAttribute::FwdMethod(rs.forward.raw()),
        DestinationAttribute::Weight(rs.weight),
        DestinationAttribute::TunnelType(tunnel.kind.raw()),
        DestinationAttribute::TunnelPort(tunnel.port),
        DestinationAttribute::TunnelFlags(tunnel.flags),
        DestinationAttribute::UpperThreshold(rs.upper_threshold),
        DestinationAttribute::LowerThreshold(rs.lower_threshold),
    ]
}
