//! One async netlink transport for the generic-netlink IPVS client
//! (`ipvs-netlink`) and the nfnetlink ipset client (`ipset-netlink`).
//!
//! # Layout
//!
//! * [`frame`] is the framing, with no I/O: [`push`] appends a request to
//!   a send buffer (many requests make one datagram), [`frames`] splits a
//!   received datagram into messages (an error, never a panic, on a
//!   truncated one), [`classify`] decodes the control messages
//!   (`NLMSG_ERROR` with extended acks into [`KernelError`], `NLMSG_DONE`
//!   with or without an error) and hands data messages back undecoded, and
//!   [`Expect`] reads from a request's flags what answer finishes it.
//! * [`Window`] is the sequence matching, with no I/O: the requests of one
//!   sent datagram, every answer matched back to its request by sequence
//!   number (stale and unknown ones dropped), `NLM_F_DUMP_INTR` noted, one
//!   result per request.
//! * [`Transport`] owns one socket (netlink-sys on tokio) behind an async
//!   mutex, so clones are cheap and calls take `&self`. It runs pipelined
//!   batches ([`Transport::execute`], windowed by [`BatchLimits`] so the
//!   answers never overflow the receive buffer), single requests
//!   ([`Transport::request`]) and dumps ([`Transport::dump`], run again
//!   when interrupted), each datagram awaited at most the reply timeout
//!   (default 10 s).
//! * [`TransportError`] is the one error vocabulary: `Io`, `Timeout`,
//!   `Kernel` (errno and extended-ack message), `DumpInterrupted`,
//!   `Decode`. Each library maps it to its own error enum, which gives
//!   kernel codes their meaning.
//! * [`Family`] (IPv4, IPv6) and [`Protocol`] (TCP, UDP, SCTP, or another
//!   IP protocol number) are the one address family and the one protocol
//!   type of both libraries, which re-export them: their kernel numbers
//!   (`AF_*`, `NFPROTO_*`, `IPPROTO_*`) and names.
//!
//! * [`Pipeline`] is the batch windows, with no I/O: which requests go into
//!   each datagram ([`BatchLimits`]) and the results gathered window by
//!   window; both transports drive it.
//! * [`BlockingTransport`] (feature `blocking`) is [`Transport`] for
//!   programs without an async runtime: the same calls, blocking, on one
//!   owned socket (`poll` for the reply timeout).
//!
//! The `tokio` feature (default) is [`Transport`]; `blocking` is
//! [`BlockingTransport`]; with `default-features = false` the crate is the
//! framing, the sequence matching, the batch windows, the errors and the
//! family and protocol types, with no I/O.
//!
//! The messages themselves (generic netlink, nfnetlink) are the libraries'
//! business: a request is anything that implements [`Request`], and data
//! messages reach the caller as raw [`Frame`]s.

// Without a socket, the helpers only the transports use are unused.
#![cfg_attr(not(any(feature = "tokio", feature = "blocking")), allow(dead_code))]

#[cfg(feature = "blocking")]
mod blocking;
mod error;
pub mod frame;
mod inet;
mod pipeline;
#[cfg(feature = "tokio")]
mod transport;
mod window;

#[cfg(all(test, feature = "tokio", feature = "blocking"))]
mod tests;

#[cfg(feature = "blocking")]
pub use blocking::BlockingTransport;
pub use error::{KernelError, TransportError};
pub use frame::{Expect, Frame, Reply, classify, frames, push};
pub use inet::{Family, InetError, Protocol};
pub use pipeline::{BatchLimits, DEFAULT_REPLY_TIMEOUT, DUMP_ATTEMPTS, OnError, Pipeline, Request};
#[cfg(feature = "tokio")]
pub use transport::Transport;
pub use window::{Outcome, Window};

/// The README's examples, compiled (and, where they need no privileges,
/// run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
