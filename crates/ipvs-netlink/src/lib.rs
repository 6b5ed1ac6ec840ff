//! A typed, async client for Linux IPVS (the kernel's layer-4 load
//! balancer, what `ipvsadm` drives) over generic netlink.
//!
//! # Layout
//!
//! The crate is split the way the rust-netlink packet crates are: pure wire
//! types at the bottom, a typed model in the middle, I/O on top.
//!
//! * [`packet`] is the wire format with no I/O: [`packet::IpvsCmd`] (the 17
//!   `IPVS_CMD_*` commands), one attribute enum per attribute space
//!   ([`packet::IpvsAttribute`], [`packet::ServiceAttribute`],
//!   [`packet::DestinationAttribute`], [`packet::StatsAttribute`],
//!   [`packet::Stats64Attribute`]), each keeping unknown attributes as
//!   `Other(DefaultNla)`; the `STATS`/`STATS64` nests are parsed into a
//!   fixed [`packet::StatsNest`] (counter slots plus the other attributes)
//!   rather than a list; and [`packet::IpvsMessage`], which implements
//!   `GenlFamily` ("IPVS", version 1), `Emitable` and
//!   `ParseableParametrized<[u8], GenlHeader>` so it travels inside
//!   `NetlinkMessage<GenlMessage<IpvsMessage>>`.
//! * [`model`] (re-exported at the root) is what users handle:
//!   [`ServiceKey`], [`VirtualService`], [`RealServer`], [`Stats`],
//!   [`Timeouts`], [`Info`] on std `IpAddr`/`SocketAddr`, with conversions
//!   to and from attribute lists; [`Family`] and [`Protocol`] are
//!   `netlink-transport`'s, the same types as `ipset-netlink`'s. Its `encode` module is the single place
//!   that fixes which attributes a request carries and in which order
//!   (ipvsadm's order).
//! * [`Command`] is one mutation as a value (add/update/delete a service or
//!   real server, flush, set timeouts, zero); it knows its request message
//!   and what each kernel errno means for it ([`IpvsError`]).
//! * [`IpvsHandle`] is a cheap-to-clone handle (methods take `&self`) on
//!   one `NETLINK_GENERIC` socket of the shared `netlink-transport` crate
//!   (netlink-sys on tokio, the socket behind an async mutex): it resolves
//!   the family once, sends requests, reads dumps until `NLMSG_DONE`
//!   (decoding each dump entry straight to [`VirtualService`] /
//!   [`RealServer`], with the same checks as the [`packet`] types but
//!   without building an `IpvsMessage`; a dump flagged `NLM_F_DUMP_INTR` is
//!   run again), and runs pipelined batches ([`IpvsHandle::execute`],
//!   windowed by [`BatchLimits`]). Every datagram of an answer is awaited at
//!   most the reply timeout (10 s, [`IpvsHandle::set_reply_timeout`]).
//!   Framing, sequence matching and extended acks are the transport's; a
//!   private `genl` module puts IPVS messages into generic-netlink requests
//!   and reads them back, with no I/O.
//! * On the handle sit rtnetlink-shaped sub-handles, the one way to a
//!   single operation: [`IpvsHandle::services`] ([`ServiceHandle`]),
//!   [`IpvsHandle::real_servers`] ([`RealServerHandle`]),
//!   [`IpvsHandle::daemons`] ([`DaemonHandle`]), [`IpvsHandle::sync`]
//!   ([`SyncRequest`], the desired-state sync) and [`IpvsHandle::batch`]
//!   ([`BatchRequest`]), whose methods return request values run with
//!   `execute()`.
//! * [`blocking::IpvsClient`] (feature `blocking`) is the client for
//!   programs without tokio, on netlink-transport's blocking socket.
//! * [`Table`] prints a dumped table exactly like `ipvsadm -Ln` and
//!   `ipvsadm -Ln --stats` ([`ListFormat`]).
//!
//! Nothing panics on kernel bytes: short or malformed replies are
//! [`IpvsError::Decode`] (or, for the framing, [`IpvsError::Transport`])
//! errors with context. A fuzz target lives in
//! `fuzz/`.
//!
//! # Batches
//!
//! [`IpvsHandle::execute`] serializes many commands into one buffer and
//! writes it with one `send`. The kernel processes every message of a
//! datagram in order and acknowledges each, so N commands cost one send and
//! a few receives instead of N round trips. Each acknowledgement is matched
//! to its command by sequence number; a failing command gets its own error
//! and the others still run. Windows of at most
//! [`BatchLimits::max_messages`] messages / [`BatchLimits::max_bytes`]
//! bytes are drained before the next is sent, so the acknowledgements never
//! overflow the socket's receive buffer.
//!
//! # Features
//!
//! `tokio` (default) is the async client: [`IpvsHandle`], the sub-handles
//! and requests and the socket engine. `blocking` (default) is
//! [`blocking::IpvsClient`]. `fuzzing` exposes the decoders the fuzz
//! targets drive. With `default-features = false` the crate is [`packet`],
//! the model, [`Command`], [`sync_commands`], [`IpvsError`] and [`Table`],
//! with no tokio or socket dependency.
//!
//! # Example
//!
//! ```no_run
//! use ipvs_netlink::{ForwardMethod, IpvsHandle, RealServer, Scheduler, ServiceKey, VirtualService};
//!
//! # async fn run() -> Result<(), ipvs_netlink::IpvsError> {
//! let ipvs = IpvsHandle::connect().await?;
//! let key = ServiceKey::tcp("10.96.0.1:443".parse().unwrap());
//!
//! // One request at a time: add the service, or update it if it exists.
//! ipvs.services()
//!     .add(VirtualService::new(key, Scheduler::RR))
//!     .replace()
//!     .execute()
//!     .await?;
//!
//! // One send for many real servers, one result each.
//! let mut batch = ipvs.batch();
//! for addr in ["10.244.0.5:6443", "10.244.1.7:6443"] {
//!     let server = RealServer::new(addr.parse().unwrap(), ForwardMethod::Masq, 1);
//!     batch = batch.add_real_server(key, server);
//! }
//! for result in batch.execute().await? {
//!     if let Err(err) = result {
//!         eprintln!("{err}");
//!     }
//! }
//! println!("{:?}", ipvs.real_servers(key).list().execute().await?);
//!
//! // `ipvsadm -Ln`.
//! print!("{}", ipvs.table().await?);
//! # Ok(())
//! # }
//! ```

// Without the client, the readers and errno mappings only the socket engine
// uses are unused.
#![cfg_attr(not(all(feature = "tokio", feature = "blocking")), allow(dead_code))]

#[cfg(feature = "blocking")]
pub mod blocking;
mod command;
mod error;
mod format;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(any(feature = "tokio", feature = "blocking"))]
mod genl;
#[cfg(feature = "tokio")]
mod handle;
#[cfg(feature = "tokio")]
mod handles;
pub mod model;
pub mod packet;
#[cfg(all(test, feature = "fuzzing"))]
mod robustness;
mod sync;
#[cfg(all(test, feature = "tokio", target_endian = "little"))]
mod vectors;

pub use command::{Command, requests};
pub use error::IpvsError;
pub use format::{ListFormat, Table, TableDisplay, TableEntry};
#[cfg(feature = "tokio")]
pub use handle::IpvsHandle;
#[cfg(feature = "tokio")]
pub use handles::*;
pub use model::*;
#[cfg(feature = "tokio")]
pub use netlink_transport::BatchLimits;
pub use netlink_transport::TransportError;
pub use sync::{SyncScope, SyncStats, sync_commands};

/// The README's examples, compiled (and, where they need no privileges,
/// run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
