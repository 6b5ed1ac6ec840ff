//! Placeholder: the generic-netlink IPVS client is being written.

mod batch;
mod command;
mod error;
mod format;
#[doc(hidden)]
pub mod fuzzing;
mod handle;
pub mod model;
pub mod packet;
#[cfg(test)]
mod robustness;
mod wire;

pub use batch::BatchLimits;
pub use command::Command;
pub use error::IpvsError;
pub use format::{ListFormat, Table, TableDisplay, TableEntry, large_number};
pub use handle::IpvsHandle;
pub use model::*;
