//! The wire format: pure types, no I/O.
//!
//! One enum per attribute space, each keeping unknown attributes as
//! `Other(DefaultNla)`; the `STATS`/`STATS64` nests are a [`StatsNest`]
//! (boxed in the service and destination enums, which stay small);
//! [`IpvsMessage`] ties them to a command and plugs into
//! `NetlinkMessage<GenlMessage<IpvsMessage>>`.

mod address;
mod cmd;
mod daemon;
mod destination;
mod message;
pub(crate) mod nla;
mod service;
mod stats;

pub use self::{
    address::InetAddr,
    cmd::IpvsCmd,
    daemon::DaemonAttribute,
    destination::DestinationAttribute,
    message::{IPVS_GENL_NAME, IPVS_GENL_VERSION, IpvsAttribute, IpvsMessage},
    service::ServiceAttribute,
    stats::{Stats64Attribute, StatsAttribute, StatsNest},
};

pub(crate) use self::message::NestKind;
