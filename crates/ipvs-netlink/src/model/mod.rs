//! The typed model: services, real servers, stats and settings on std
//! `IpAddr`/`SocketAddr`, with conversions to and from attributes.

mod config;
mod daemon;
mod encode;
mod family;
mod flags;
mod real_server;
mod scheduler;
mod service;
mod stats;

pub(crate) use self::encode::{
    destination_reference, service_key, service_lookup, service_reference,
};
/// The address family and protocol types shared with `ipset-netlink`.
pub use netlink_transport::{Family, InetError, Protocol};

pub use self::{
    config::{Info, Timeouts},
    daemon::{DaemonState, SyncDaemon},
    flags::ServiceFlags,
    real_server::{ForwardMethod, RealServer, Tunnel, TunnelType},
    scheduler::Scheduler,
    service::{Netmask, ServiceKey, VirtualService},
    stats::Stats,
};
