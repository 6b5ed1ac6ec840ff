//! [`Transport`]: one netlink socket on tokio, shared by cheap clones.

use std::{io, sync::Arc, time::Duration};

use netlink_packet_core::DecodeError;
use netlink_sys::{AsyncSocket, AsyncSocketExt, TokioSocket};
use tokio::sync::Mutex;

use crate::{
    BatchLimits, OnError, Request, TransportError,
    frame::Frame,
    pipeline::{DUMP_ATTEMPTS, Pipeline, RECV_LEN, first_seq, set_up, single},
    window::Outcome,
};

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
        set_up(socket.socket_mut())?;
        Ok(Transport {
            socket: Arc::new(Mutex::new(Socket {
                socket,
                next_seq: first_seq(),
                send_buf: Vec::new(),
                recv_buf: Vec::with_capacity(RECV_LEN),
            })),
            limits: BatchLimits::default(),
            reply_timeout: crate::DEFAULT_REPLY_TIMEOUT,
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
        let mut pipeline = Pipeline::new(requests, self.limits, on_error);
        while let Some((mut window, len)) =
            pipeline.next_window(&mut socket.next_seq, &mut socket.send_buf)
        {
            socket.send(len).await?;
            while !window.is_complete() {
                socket.recv(self.reply_timeout).await?;
                window.feed(&socket.recv_buf, &mut |index, frame| {
                    on_data(pipeline.index(index), frame)
                })?;
            }
            pipeline.finish_window(window, &mut socket.send_buf);
        }
        Ok(pipeline.into_outcomes())
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
        single(outcome)?;
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
