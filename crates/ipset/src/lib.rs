//! Placeholder essay (rewritten below).
mod connection;
mod entry;
mod error;
mod family;
mod handle;
pub mod packet;
pub mod request;
mod set;
mod set_type;
mod sync;

pub use connection::{BatchConfig, split_datagram};
pub use entry::{Entry, EntryError, Net, Protocol};
pub use error::Error;
pub use family::{Family, FamilyError};
pub use handle::{IpsetHandle, negotiate_protocol};
pub use set::{CreateOptions, SetHeader, SetInfo, collect_sets};
pub use set_type::{SetType, SetTypeError};
pub use sync::{SyncStats, diff, temporary_name};
