//! The batch windows, with no I/O: which requests of a batch go into each
//! datagram ([`BatchLimits`]), and the results gathered window by window.
//! Both the async [`Transport`](crate::Transport) and the
//! [`BlockingTransport`](crate::BlockingTransport) drive a [`Pipeline`].

use std::time::Duration;

use crate::{
    frame::Expect,
    window::{Outcome, Window},
};

/// Receive buffer asked of the kernel (`SO_RCVBUF`; capped by
/// `net.core.rmem_max`).
pub(crate) const RCVBUF: usize = 4 << 20;
/// Size of one `recv`: larger than any datagram the kernel builds (dump
/// datagrams are at most 32 KiB, batch acks at most one window).
pub(crate) const RECV_LEN: usize = 128 << 10;
/// Default time to wait for each datagram of an answer.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often `dump` runs a dump that keeps being interrupted.
pub const DUMP_ATTEMPTS: usize = 3;

/// Binds and connects a fresh netlink socket and sets `NETLINK_CAP_ACK`,
/// `NETLINK_EXT_ACK` and a [`RCVBUF`] receive buffer, best effort (older
/// kernels lack the options and the reply parser copes): the set-up both
/// transports share.
#[cfg(any(feature = "tokio", feature = "blocking"))]
pub(crate) fn set_up(socket: &mut netlink_sys::Socket) -> std::io::Result<()> {
    socket.bind_auto()?;
    socket.connect(&netlink_sys::SocketAddr::new(0, 0))?;
    let _ = socket.set_cap_ack(true);
    let _ = socket.set_ext_ack(true);
    let _ = socket.set_rx_buf_sz(RCVBUF);
    Ok(())
}

/// The first sequence number of a socket: spread by process id, so two
/// processes' requests are easy to tell apart in a capture.
pub(crate) fn first_seq() -> u32 {
    std::process::id().wrapping_mul(0x9e37_79b9)
}

/// One request of a batch: anything that can serialize itself as one
/// netlink message. The transport reads the message's flags to know what
/// answer finishes it ([`Expect`]).
pub trait Request {
    /// Appends this request, with sequence number `seq`, to `buf`.
    fn write(&self, seq: u32, buf: &mut Vec<u8>);
}

impl<R: Request + ?Sized> Request for &R {
    fn write(&self, seq: u32, buf: &mut Vec<u8>) {
        (**self).write(seq, buf);
    }
}

/// How much of a batch goes into one datagram.
///
/// The kernel processes every message of a datagram in order and queues one
/// answer per message on the socket; the window bounds those so the receive
/// buffer never overflows (`ENOBUFS`). Each window is drained before the
/// next is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchLimits {
    /// Most messages per datagram (at least 1).
    pub max_messages: usize,
    /// Most bytes per datagram; a single larger message is still sent alone.
    pub max_bytes: usize,
}

impl BatchLimits {
    /// A window of at most `max_messages` messages and `max_bytes` bytes.
    pub fn new(max_messages: usize, max_bytes: usize) -> Self {
        BatchLimits {
            max_messages: max_messages.max(1),
            max_bytes,
        }
    }
}

impl Default for BatchLimits {
    /// 256 messages or 64 KiB.
    fn default() -> Self {
        BatchLimits::new(256, 64 << 10)
    }
}

/// What to do after a window in which a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Send the remaining windows too (every request gets its result).
    Continue,
    /// Send no further window; the results end with the failed window.
    Stop,
}

/// A batch being run window by window: [`Pipeline::next_window`] writes
/// the next datagram, the caller sends it and feeds the answers to the
/// [`Window`], then hands it back with [`Pipeline::finish_window`].
#[derive(Debug)]
pub struct Pipeline<'r, R> {
    requests: &'r [R],
    limits: BatchLimits,
    on_error: OnError,
    /// Index of the first request of the current window.
    start: usize,
    /// Requests in the current window.
    count: usize,
    /// Where the request that did not fit starts in the send buffer.
    overflow: Option<usize>,
    /// Whether the send buffer already holds `requests[start]`: the request
    /// that did not fit in the previous window, written with the sequence
    /// number it has as the first of this one.
    carried: bool,
    stopped: bool,
    outcomes: Vec<Outcome>,
}

impl<'r, R: Request> Pipeline<'r, R> {
    /// A pipeline over `requests`.
    pub fn new(requests: &'r [R], limits: BatchLimits, on_error: OnError) -> Self {
        Pipeline {
            requests,
            limits: BatchLimits::new(limits.max_messages, limits.max_bytes),
            on_error,
            start: 0,
            count: 0,
            overflow: None,
            carried: false,
            stopped: false,
            outcomes: Vec::with_capacity(requests.len()),
        }
    }

    /// Writes the next window into `buf`, numbered from `*next_seq` (which
    /// is advanced past it): the window to feed the answers to, and how
    /// many leading bytes of `buf` make the datagram to send. A dump always
    /// ends its window. `None` when the batch is done.
    pub fn next_window(
        &mut self,
        next_seq: &mut u32,
        buf: &mut Vec<u8>,
    ) -> Option<(Window, usize)> {
        if self.stopped || self.start >= self.requests.len() {
            return None;
        }
        if !self.carried {
            buf.clear();
        }
        let first_seq = *next_seq;
        let mut expects = Vec::new();
        let mut overflow = None;
        if self.carried {
            expects.push(Expect::of_request(buf));
        }
        let rest = self
            .requests
            .get(self.start + expects.len()..)
            .unwrap_or_default();
        for request in rest {
            if expects.len() >= self.limits.max_messages || expects.last() == Some(&Expect::Dump) {
                break;
            }
            let before = buf.len();
            let seq = first_seq.wrapping_add(expects.len() as u32);
            request.write(seq, buf);
            if !expects.is_empty() && buf.len() > self.limits.max_bytes {
                overflow = Some(before);
                break;
            }
            expects.push(Expect::of_request(buf.get(before..).unwrap_or_default()));
        }
        self.count = expects.len();
        self.overflow = overflow;
        *next_seq = first_seq.wrapping_add(self.count as u32);
        Some((
            Window::new(first_seq, expects),
            overflow.unwrap_or(buf.len()),
        ))
    }

    /// The index in the batch of request `index` of the current window.
    pub fn index(&self, index: usize) -> usize {
        self.start + index
    }

    /// Takes the results of the current window, once it is complete, and
    /// keeps the request that did not fit at the start of `buf`.
    pub fn finish_window(&mut self, window: Window, buf: &mut Vec<u8>) {
        let results = window.finish();
        let failed = results.iter().any(Result::is_err);
        self.outcomes.extend(results);
        self.start += self.count;
        match self.overflow.take() {
            Some(at) => {
                buf.drain(..at);
                self.carried = true;
            }
            None => {
                buf.clear();
                self.carried = false;
            }
        }
        if failed && self.on_error == OnError::Stop {
            self.stopped = true;
        }
    }

    /// One outcome per request run, in order.
    pub fn into_outcomes(self) -> Vec<Outcome> {
        self.outcomes
    }
}

/// The outcome of a single request from the outcomes of its batch.
pub(crate) fn single(outcomes: Vec<Outcome>) -> Outcome {
    outcomes.into_iter().next().unwrap_or(Ok(()))
}
