//! [`BlockingTransport`]: one netlink socket for programs without an async
//! runtime, with the windows, sequence matching and timeouts of the async
//! [`Transport`](crate::Transport) (the same [`Pipeline`] and
//! [`Window`](crate::Window)).

use std::{io, os::fd::AsFd, time::Duration};

use netlink_packet_core::DecodeError;
use netlink_sys::Socket;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::{
    BatchLimits, DEFAULT_REPLY_TIMEOUT, OnError, Request, TransportError,
    frame::Frame,
    pipeline::{DUMP_ATTEMPTS, Pipeline, RECV_LEN, first_seq, set_up, single},
    window::Outcome,
};

/// A blocking netlink connection to the kernel: one socket, owned (calls
/// take `&mut self`; open one per thread, or share it behind a mutex).
pub struct BlockingTransport {
    socket: Socket,
    next_seq: u32,
    send_buf: Vec<u8>,
    recv_buf: Vec<u8>,
    limits: BatchLimits,
    reply_timeout: Duration,
}

impl std::fmt::Debug for BlockingTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingTransport")
            .field("limits", &self.limits)
            .field("reply_timeout", &self.reply_timeout)
            .finish_non_exhaustive()
    }
}

impl BlockingTransport {
    /// Opens, binds and connects a socket of netlink `protocol`, with the
    /// options of [`Transport::open`](crate::Transport::open)
    /// (`NETLINK_CAP_ACK`, `NETLINK_EXT_ACK`, a 4 MiB `SO_RCVBUF`, best
    /// effort).
    pub fn open(protocol: isize) -> Result<Self, TransportError> {
        let mut socket = Socket::new(protocol)?;
        set_up(&mut socket)?;
        Ok(BlockingTransport {
            socket,
            next_seq: first_seq(),
            send_buf: Vec::new(),
            recv_buf: Vec::with_capacity(RECV_LEN),
            limits: BatchLimits::default(),
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
        })
    }

    /// The batch window of [`BlockingTransport::execute`].
    pub fn limits(&self) -> BatchLimits {
        self.limits
    }

    /// Sets the batch window of [`BlockingTransport::execute`].
    pub fn set_limits(&mut self, limits: BatchLimits) {
        self.limits = BatchLimits::new(limits.max_messages, limits.max_bytes);
    }

    /// How long a call waits for each datagram of an answer.
    pub fn reply_timeout(&self) -> Duration {
        self.reply_timeout
    }

    /// Sets how long a call waits for each datagram of an answer before
    /// failing with [`TransportError::Timeout`] (default 10 s).
    pub fn set_reply_timeout(&mut self, timeout: Duration) {
        self.reply_timeout = timeout;
    }

    /// [`Transport::execute`](crate::Transport::execute), blocking.
    pub fn execute<R: Request>(
        &mut self,
        requests: &[R],
        on_error: OnError,
        mut on_data: impl FnMut(usize, &Frame<'_>) -> Result<(), DecodeError>,
    ) -> Result<Vec<Outcome>, TransportError> {
        let mut pipeline = Pipeline::new(requests, self.limits, on_error);
        while let Some((mut window, len)) =
            pipeline.next_window(&mut self.next_seq, &mut self.send_buf)
        {
            self.send(len)?;
            while !window.is_complete() {
                self.recv()?;
                window.feed(&self.recv_buf, &mut |index, frame| {
                    on_data(pipeline.index(index), frame)
                })?;
            }
            pipeline.finish_window(window, &mut self.send_buf);
        }
        Ok(pipeline.into_outcomes())
    }

    /// [`Transport::request`](crate::Transport::request), blocking.
    pub fn request<D>(
        &mut self,
        request: &impl Request,
        mut decode: impl FnMut(&Frame<'_>) -> Result<Option<D>, DecodeError>,
    ) -> Result<Vec<D>, TransportError> {
        let mut data = Vec::new();
        let outcomes = self.execute(
            std::slice::from_ref(request),
            OnError::Continue,
            |_, frame| {
                data.extend(decode(frame)?);
                Ok(())
            },
        )?;
        single(outcomes)?;
        Ok(data)
    }

    /// [`Transport::dump`](crate::Transport::dump), blocking: run again
    /// while the kernel flags it interrupted.
    pub fn dump<D>(
        &mut self,
        request: &impl Request,
        mut decode: impl FnMut(&Frame<'_>) -> Result<Option<D>, DecodeError>,
    ) -> Result<Vec<D>, TransportError> {
        let mut attempt = 1;
        loop {
            match self.request(request, &mut decode) {
                Err(TransportError::DumpInterrupted) if attempt < DUMP_ATTEMPTS => attempt += 1,
                result => return result,
            }
        }
    }

    /// Writes the first `len` bytes of `send_buf` in one datagram.
    fn send(&mut self, len: usize) -> Result<(), TransportError> {
        let datagram = self.send_buf.get(..len).unwrap_or(&self.send_buf);
        let sent = self.socket.send(datagram, 0)?;
        if sent != datagram.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("netlink send wrote {sent} of {} bytes", datagram.len()),
            )
            .into());
        }
        Ok(())
    }

    /// Reads one datagram into `recv_buf`, waiting at most the reply
    /// timeout.
    fn recv(&mut self) -> Result<(), TransportError> {
        let millis = i32::try_from(self.reply_timeout.as_millis()).unwrap_or(i32::MAX);
        let timeout = PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX);
        let ready = loop {
            let mut fds = [PollFd::new(self.socket.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Err(nix::errno::Errno::EINTR) => continue,
                result => break result.map_err(io::Error::from)?,
            }
        };
        if ready == 0 {
            return Err(TransportError::Timeout(self.reply_timeout));
        }
        self.recv_buf.clear();
        self.recv_buf.reserve(RECV_LEN);
        self.socket.recv(&mut self.recv_buf, 0)?;
        Ok(())
    }
}
