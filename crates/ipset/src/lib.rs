//! Linux ipset over nfnetlink, without the `ipset` binary or libipset.
//!
//! This crate drives the kernel's ipset subsystem directly over a
//! `NETLINK_NETFILTER` socket. It covers what kube-proxy's IPVS mode
//! needs: the set types hash:ip, hash:ip,port, hash:ip,port,ip,
//! hash:ip,port,net, hash:net and bitmap:port, in the inet and inet6
//! families, and large batches of element changes.
//!
//! # Layout
//!
//! The crate is split like netlink-packet-route and rtnetlink, but in one
//! crate: a pure packet layer with no I/O, a typed model on top of it, and
//! an async I/O layer that owns the socket.
//!
//! * [`packet`] is the wire format. [`packet::IpsetMessage`] is one ipset
//!   message (command, nfgenmsg header, attributes); the attribute enums
//!   ([`packet::IpsetAttribute`], [`packet::HeaderAttribute`],
//!   [`packet::ElementAttribute`], [`packet::AdtAttribute`],
//!   [`packet::IpAttribute`]) each keep unknown attributes as
//!   `Other(DefaultNla)`. Everything implements the netlink-packet-core
//!   `Emitable`/`Parseable` traits and returns `DecodeError` on bad input;
//!   nothing in the reply path panics.
//!
//! * The typed model turns packets into values a caller works with:
//!   [`Entry`] (one set member, parsed from and displayed as the ipset CLI
//!   syntax, exactly as `ipset save` prints it), [`SetType`],
//!   [`CreateOptions`] and [`SetInfo`] (a listed set, built from the
//!   messages of a dump by [`collect_sets`]). [`Family`] and [`Protocol`]
//!   are `netlink-transport`'s, re-exported: the same types as
//!   `ipvs-netlink`'s.
//!
//! * [`request`] holds one pure builder per ipset command. Each returns a
//!   [`request::Request`] (message plus netlink flags) with the attribute
//!   order and flags of the ipset 7.17 tool, so the bytes we send can be
//!   compared with captures of that tool (`tests/captures.rs`).
//!
//! * The I/O layer is [`IpsetHandle`], a cloneable async handle (tokio)
//!   over one `NETLINK_NETFILTER` socket of the shared `netlink-transport`
//!   crate, which sends requests in pipelined batches: many messages per
//!   sendmsg, every ACK matched back by sequence number, a bounded number
//!   of replies in flight so the receive buffer never overflows, a reply
//!   timeout (10 s, [`IpsetHandle::set_reply_timeout`]), dumps read to
//!   `NLMSG_DONE` and run again when flagged `NLM_F_DUMP_INTR`. The socket
//!   has `NETLINK_CAP_ACK` and a large `SO_RCVBUF`. A private `batch`
//!   module adds what is ipset's own: many elements per message
//!   (`IPSET_ATTR_ADT`, at most [`ElementLimits::per_message`] and
//!   [`MAX_MESSAGE_BYTES`]) and the line number of a failed element read
//!   back from the kernel's copy of the request; the send window is the
//!   transport's [`BatchLimits`], the same type as `ipvs-netlink`'s.
//!
//! * On the handle sit the higher-level helpers: [`IpsetHandle::sync`]
//!   (make a set hold exactly a list of members with the fewest adds and
//!   deletes, in one batch) and [`IpsetHandle::replace`] (fill a temporary
//!   set, swap, destroy), and rtnetlink-shaped sub-handles:
//!   [`IpsetHandle::sets`] ([`SetHandle`]) and [`IpsetHandle::entries`]
//!   ([`EntryHandle`]), whose methods return request values run with
//!   `execute()`.
//!
//! * [`IpsetError`] maps kernel codes to typed variants that name the set and,
//!   for element errors, the element.
//!
//! # Protocol
//!
//! [`IpsetHandle::connect`] asks the kernel with `IPSET_CMD_PROTOCOL` and
//! uses protocol 7, or 6 if the kernel rejects 7.
//! Before creating a set of a type for the first time it asks
//! `IPSET_CMD_TYPE` and uses the highest revision both sides support.
//! `-exist` is the absence of `NLM_F_EXCL`.
//!
//! # Features
//!
//! `tokio` (default) is the client: [`IpsetHandle`], the sub-handles and
//! requests, [`SyncStats`] and the socket engine. `blocking` (default) is
//! [`blocking::IpsetClient`], the same operations for programs without an
//! async runtime, on netlink-transport's blocking socket (the same
//! requests, batches, errors and sync plan). With
//! `default-features = false` the crate is [`packet`], the typed model,
//! [`IpsetError`] and the [`request`] builders, with no tokio or socket
//! dependency.
//!
//! # Example
//!
//! ```no_run
//! use ipset_netlink::{Entry, Family, IpsetHandle, SetType};
//!
//! # async fn example() -> Result<(), ipset_netlink::IpsetError> {
//! let ipset = IpsetHandle::connect().await?;
//! ipset
//!     .sets()
//!     .create("KUBE-CLUSTER-IP", SetType::HashIpPort)
//!     .family(Family::Inet)
//!     .hashsize(1024)
//!     .maxelem(65536)
//!     .exist(true)
//!     .execute()
//!     .await?;
//! let members = ipset.entries("KUBE-CLUSTER-IP");
//! let dns = Entry::parse(SetType::HashIpPort, "10.96.0.10,udp:53")?;
//! members.add(dns).exist(true).execute().await?;
//! let wanted = vec![Entry::parse(SetType::HashIpPort, "10.96.0.1,tcp:443")?, dns];
//! let changes = members.sync(wanted).execute().await?;
//! println!("added {}, deleted {}", changes.added, changes.deleted);
//! for member in members.list().execute().await? {
//!     println!("{member}"); // 10.96.0.1,tcp:443 ...
//! }
//! # Ok(())
//! # }
//! ```

// Without the client, the readers and errno mappings only the socket engine
// uses are unused.
#![cfg_attr(not(any(feature = "tokio", feature = "blocking")), allow(dead_code))]

#[cfg(any(feature = "tokio", feature = "blocking"))]
mod batch;
#[cfg(feature = "blocking")]
pub mod blocking;
#[cfg(any(feature = "tokio", feature = "blocking"))]
mod client;
mod entry;
mod error;
mod extensions;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "tokio")]
mod handle;
#[cfg(feature = "tokio")]
mod handles;
pub mod packet;
pub mod request;
mod set;
mod set_type;
#[cfg(any(feature = "tokio", feature = "blocking"))]
mod sync;

#[cfg(any(feature = "tokio", feature = "blocking"))]
pub use batch::{ElementLimits, MAX_MESSAGE_BYTES};
pub use entry::{Entry, EntryError, Net};
pub use error::IpsetError;
/// The socket engine's name for [`IpsetError`].
#[cfg(any(feature = "tokio", feature = "blocking"))]
pub(crate) use error::IpsetError as Error;
pub use extensions::Extensions;
#[cfg(feature = "tokio")]
pub use handle::IpsetHandle;
#[cfg(feature = "tokio")]
pub use handles::*;
/// The address family and protocol types, the send window and the
/// transport error, shared with `ipvs-netlink`.
pub use netlink_transport::{BatchLimits, Family, InetError, Protocol, TransportError};
pub use set::{CreateOptions, SetHeader, SetInfo, collect_sets};
pub use set_type::{SetType, SetTypeError};
#[cfg(any(feature = "tokio", feature = "blocking"))]
pub use sync::SyncStats;

#[cfg(all(test, feature = "tokio"))]
mod tests;

/// The README's examples, compiled (and, where they need no privileges,
/// run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
