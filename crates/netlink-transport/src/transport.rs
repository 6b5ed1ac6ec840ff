//! [`Transport`]: one netlink socket on tokio, shared by cheap clones.

use std::{io, sync::Arc, time::Duration};

use netlink_packet_core::DecodeError;
use netlink_sys::{AsyncSocket, AsyncSocketExt, SocketAddr, TokioSocket};
use tokio::sync::Mutex;

use crate::{
    TransportError,
    frame::{Expect, Frame},
    window::{Outcome, Window},
};

/// Receive buffer asked of the kernel (`SO_RCVBUF`; capped by
/// `net.core.rmem_max`).
const RCVBUF: usize = 4 << 20;
/// Size of one `recv`: larger than any datagram the kernel builds (dump
/// datagrams are at most 32 KiB, batch acks at most one window).
const RECV_LEN: usize = 128 << 10;
/// Default time to wait for each datagram of an answer.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often [`Transport::dump`] runs a dump that keeps being interrupted.
pub const DUMP_ATTEMPTS: usize = 3;

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

/// The socket and what goes with it, behind the handle's lock.
struct Socket {
    socket: TokioSocket,
    next_seq: u32,
    send_buf: Vec<u8>,
    recv_buf: Vec<u8>,
}

/// An async netlink connection to the kernel: one socket, shared by cheap
/// clones and used one call at a time (each call holds the socket for its
/// whole exchange). Each clone has its own [`BatchLimits`] and reply
/// timeout.
///
/// A call abandoned half way (its future dropped) leaves answers on the
/// socket; the next call drops them by sequence number.
#[derive(Clone)]
pub struct Transport {
    socket: Arc<Mutex<Socket>>,
    limits: BatchLimits,
    reply_timeout: Duration,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("limits", &self.limits)
            .field("reply_timeout", &self.reply_timeout)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Opens, binds and connects a socket of netlink `protocol`
    /// (`netlink_sys::protocols::NETLINK_GENERIC`, `NETLINK_NETFILTER`, ...)
    /// with `NETLINK_CAP_ACK` (acks echo only the request header),
    /// `NETLINK_EXT_ACK` (error messages) and a 4 MiB `SO_RCVBUF`, all best
    /// effort: older kernels lack the options and the reply parser copes.
    ///
    /// Must be called within a tokio runtime.
    pub fn open(protocol: isize) -> Result<Self, TransportError> {
        let mut socket = TokioSocket::new(protocol)?;
        let raw = socket.socket_mut();
        raw.bind_auto()?;
        raw.connect(&SocketAddr::new(0, 0))?;
        let _ = raw.set_cap_ack(true);
        let _ = raw.set_ext_ack(true);
        let _ = raw.set_rx_buf_sz(RCVBUF);
        Ok(Transport {
            socket: Arc::new(Mutex::new(Socket {
                socket,
                next_seq: std::process::id().wrapping_mul(0x9e37_79b9),
                send_buf: Vec::new(),
                recv_buf: Vec::with_capacity(RECV_LEN),
            })),
            limits: BatchLimits::default(),
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
        })
    }

    /// The batch window of [`Transport::execute`].
    pub fn limits(&self) -> BatchLimits {
        self.limits
    }

    /// Sets the batch window of [`Transport::execute`] for this clone.
    pub fn set_limits(&mut self, limits: BatchLimits) {
        self.limits = BatchLimits::new(limits.max_messages, limits.max_bytes);
    }

    /// How long a call waits for each datagram of an answer.
    pub fn reply_timeout(&self) -> Duration {
        self.reply_timeout
    }

    /// Sets how long a call of this clone waits for each datagram of an
    /// answer before failing with [`TransportError::Timeout`] (default
    /// 10 s).
    pub fn set_reply_timeout(&mut self, timeout: Duration) {
        self.reply_timeout = timeout;
    }

    /// Runs `requests` in order, pipelined: each window of [`BatchLimits`]
    /// is serialized into one buffer and written with one `send`, then
    /// drained; a dump always ends its window. Data messages go to
    /// `on_data` with the index of their request. Returns one result per
    /// request, in order: a failing request gets its own error
    /// ([`TransportError::Kernel`], [`TransportError::DumpInterrupted`], or
    /// the decode error `on_data` returned) and the others still run. With
    /// [`OnError::Stop`] the results end after the first window with a
    /// failure.
    ///
    /// The outer error is a socket failure, a timeout or a datagram that
    /// does not split into messages; the batch may then be partly applied.
    pub async fn execute<R: Request>(
        &self,
        requests: &[R],
        on_error: OnError,
        mut on_data: impl FnMut(usize, &Frame<'_>) -> Result<(), DecodeError>,
    ) -> Result<Vec<Outcome>, TransportError> {
        let mut guard = self.socket.lock().await;
        let socket = &mut *guard;
        let mut outcomes = Vec::with_capacity(requests.len());
        let mut start = 0;
        // Whether `send_buf` already holds `requests[start]`: the request that
        // did not fit in the previous window, written with the sequence
        // number it has as the first of this one.
        let mut carried = false;
        socket.send_buf.clear();
        while start < requests.len() {
            let first_seq = socket.next_seq;
            let mut expects = Vec::new();
            let mut overflow = None;
            if carried {
                expects.push(Expect::of_request(&socket.send_buf));
            }
            let rest = requests.get(start + expects.len()..).unwrap_or_default();
            for request in rest {
                if expects.len() >= self.limits.max_messages
                    || expects.last() == Some(&Expect::Dump)
                {
                    break;
                }
                let before = socket.send_buf.len();
                let seq = first_seq.wrapping_add(expects.len() as u32);
                request.write(seq, &mut socket.send_buf);
                if !expects.is_empty() && socket.send_buf.len() > self.limits.max_bytes {
                    overflow = Some(before);
                    break;
                }
                let expect = Expect::of_request(socket.send_buf.get(before..).unwrap_or_default());
                expects.push(expect);
            }
            let count = expects.len();
            socket.next_seq = first_seq.wrapping_add(count as u32);
            let mut window = Window::new(first_seq, expects);
            socket
                .send(overflow.unwrap_or(socket.send_buf.len()))
                .await?;
            while !window.is_complete() {
                socket.recv(self.reply_timeout).await?;
                window.feed(&socket.recv_buf, &mut |index, frame| {
                    on_data(start + index, frame)
                })?;
            }
            let results = window.finish();
            let failed = results.iter().any(Result::is_err);
            outcomes.extend(results);
            start += count;
            // Keep the request that did not fit: it opens the next window
            // (a carried dump is alone in its window).
            match overflow {
                Some(at) => {
                    socket.send_buf.drain(..at);
                    carried = true;
                }
                None => {
                    socket.send_buf.clear();
                    carried = false;
                }
            }
            if failed && on_error == OnError::Stop {
                break;
            }
        }
        Ok(outcomes)
    }

    /// Runs one request and collects its data messages, each decoded with
    /// `decode` (`None` skips a message). A kernel refusal is
    /// [`TransportError::Kernel`].
    pub async fn request<D>(
        &self,
        request: &impl Request,
        mut decode: impl FnMut(&Frame<'_>) -> Result<Option<D>, DecodeError>,
    ) -> Result<Vec<D>, TransportError> {
        let mut data = Vec::new();
        let outcome = self
            .execute(
                std::slice::from_ref(request),
                OnError::Continue,
                |_, frame| {
                    data.extend(decode(frame)?);
                    Ok(())
                },
            )
            .await?;
        outcome.into_iter().next().unwrap_or(Ok(()))?;
        Ok(data)
    }

    /// [`Transport::request`] for a dump, run again (up to
    /// [`DUMP_ATTEMPTS`] times in all) while the kernel flags it
    /// interrupted; [`TransportError::DumpInterrupted`] if it still is.
    pub async fn dump<D>(
        &self,
        request: &impl Request,
        mut decode: impl FnMut(&Frame<'_>) -> Result<Option<D>, DecodeError>,
    ) -> Result<Vec<D>, TransportError> {
        let mut attempt = 1;
        loop {
            match self.request(request, &mut decode).await {
                Err(TransportError::DumpInterrupted) if attempt < DUMP_ATTEMPTS => attempt += 1,
                result => return result,
            }
        }
    }
}

impl Socket {
    /// Writes the first `len` bytes of `send_buf` in one datagram.
    async fn send(&mut self, len: usize) -> Result<(), TransportError> {
        let datagram = self.send_buf.get(..len).unwrap_or(&self.send_buf);
        let sent = self.socket.send(datagram).await?;
        if sent != datagram.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("netlink send wrote {sent} of {} bytes", datagram.len()),
            )
            .into());
        }
        Ok(())
    }

    /// Reads one datagram into `recv_buf`.
    async fn recv(&mut self, timeout: Duration) -> Result<(), TransportError> {
        self.recv_buf.clear();
        self.recv_buf.reserve(RECV_LEN);
        match tokio::time::timeout(timeout, self.socket.recv(&mut self.recv_buf)).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(TransportError::Timeout(timeout)),
        }
    }
}
