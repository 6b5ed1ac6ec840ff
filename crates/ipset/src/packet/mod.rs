//! The pure packet layer: ipset messages as typed values, with no I/O.
//!
//! An ipset request or reply is one netlink message whose type is
//! `NFNL_SUBSYS_IPSET << 8 | command`, followed by the 4-byte nfgenmsg
//! header ([`NfGenHeader`]) and a list of attributes ([`IpsetAttribute`]).
//! `DATA` attributes nest either set-header attributes ([`HeaderAttribute`],
//! in CREATE and LIST) or element attributes ([`ElementAttribute`], in
//! ADD/DEL/TEST and inside `ADT`). Every enum keeps attributes it does not
//! know as `Other(DefaultNla)`, so parse followed by emit is lossless.
//!
//! Everything here implements [`Emitable`](netlink_packet_core::Emitable)
//! and the netlink-packet-core parse traits; decoding errors are
//! [`DecodeError`](netlink_packet_core::DecodeError) values, never panics.

mod attribute;
mod command;
pub mod constants;
mod element;
mod header;
mod header_data;
mod ip;
mod message;
mod value;

pub use attribute::{AdtAttribute, IpsetAttribute};
pub use command::IpsetCommand;
pub use element::ElementAttribute;
pub use header::NfGenHeader;
pub use header_data::HeaderAttribute;
pub use ip::IpAttribute;
pub use message::IpsetMessage;
