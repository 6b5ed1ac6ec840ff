//! Placeholder: the generic-netlink IPVS client is being written.

mod command;
mod error;
pub mod model;
pub mod packet;

pub use command::Command;
pub use error::IpvsError;
pub use model::*;
