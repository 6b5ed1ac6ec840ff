//! The netlink socket: sends requests in pipelined batches and matches
//! every reply back to its request by sequence number.

use std::io;

use netlink_packet_core::{NetlinkBuffer, NetlinkMessage, NetlinkPayload};
use netlink_sys::{
    AsyncSocket, AsyncSocketExt, SocketAddr, TokioSocket, protocols::NETLINK_NETFILTER,
};

use crate::{
    Error,
    packet::{IpsetAttribute, IpsetMessage},
    request::{ReplyKind, Request},
};

/// Receive buffer asked for with SO_RCVBUF (the kernel caps it at
/// `net.core.rmem_max`).
const RCVBUF: usize = 4 << 20;
/// Size of one recv; larger than any netlink dump skb (32 KiB).
const RECV_CHUNK: usize = 128 << 10;

/// Limits of one pipelined send. Every request of a send gets its reply
/// before the next send, so at most this many replies wait in the socket
/// receive buffer: small enough that it never overflows (ENOBUFS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchConfig {
    /// Elements per ADD/DEL message (inside `IPSET_ATTR_ADT`).
    pub elements_per_message: usize,
    /// Most requests per sendmsg.
    pub messages_per_send: usize,
    /// Most request bytes per sendmsg.
    pub bytes_per_send: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            elements_per_message: 128,
            messages_per_send: 64,
            bytes_per_send: 64 << 10,
        }
    }
}

/// The kernel's answer to one request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Reply messages (one for TYPE/PROTOCOL, many for a dump).
    pub messages: Vec<IpsetMessage>,
    /// Positive error code, and the failing element's line number when
    /// the kernel reported one.
    pub error: Option<(i32, Option<u32>)>,
}

/// An open `NETLINK_NETFILTER` socket.
pub(crate) struct Connection {
    socket: TokioSocket,
    seq: u32,
    recv_buf: Vec<u8>,
    send_buf: Vec<u8>,
    pub config: BatchConfig,
}

impl Connection {
    /// Opens and connects the socket, with NETLINK_CAP_ACK (ACKs without
    /// the request copy) and a large receive buffer.
    pub fn open(config: BatchConfig) -> io::Result<Self> {
        let mut socket = TokioSocket::new(NETLINK_NETFILTER)?;
        let sock = socket.socket_mut();
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        sock.set_cap_ack(true)?;
        // Best effort: a smaller buffer still works with the send limits.
        let _ = sock.set_rx_buf_sz(RCVBUF);
        Ok(Self {
            socket,
            seq: std::process::id().wrapping_mul(0x9e37_79b9),
            recv_buf: Vec::with_capacity(RECV_CHUNK),
            send_buf: Vec::new(),
            config,
        })
    }

    /// Runs `requests` in order and returns one outcome per request.
    /// Requests are packed into sends of bounded size; a dump is always
    /// the last request of its send, because its replies are produced
    /// while we read them. With `stop_on_error`, no further send starts
    /// after one that produced an error; the outcomes then stop early.
    pub async fn execute(
        &mut self,
        requests: &[Request],
        stop_on_error: bool,
    ) -> Result<Vec<Outcome>, Error> {
        let mut outcomes = Vec::with_capacity(requests.len());
        let mut start = 0;
        while start < requests.len() {
            let end = self.pack(requests, start);
            let base = self.seq;
            self.seq = self.seq.wrapping_add((end - start) as u32);
            let mut batch = vec![Outcome::default(); end - start];
            self.send_buf.clear();
            for (i, request) in requests[start..end].iter().enumerate() {
                request.write(base.wrapping_add(i as u32), &mut self.send_buf);
            }
            self.socket.send(&self.send_buf).await?;
            self.receive(&requests[start..end], base, &mut batch)
                .await?;
            let failed = batch.iter().any(|o| o.error.is_some());
            outcomes.extend(batch);
            start = end;
            if failed && stop_on_error {
                break;
            }
        }
        Ok(outcomes)
    }

    /// End (exclusive) of the send that starts at `start`.
    fn pack(&self, requests: &[Request], start: usize) -> usize {
        let mut bytes = 0;
        let mut end = start;
        for request in &requests[start..] {
            let len = request.message_len();
            let full = end - start >= self.config.messages_per_send
                || bytes + len > self.config.bytes_per_send;
            if end > start && full {
                break;
            }
            bytes += len;
            end += 1;
            if request.reply_kind() == ReplyKind::Dump {
                break;
            }
        }
        end
    }

    /// Reads replies until every request of the send is answered.
    async fn receive(
        &mut self,
        requests: &[Request],
        base: u32,
        batch: &mut [Outcome],
    ) -> Result<(), Error> {
        let mut pending = requests.len();
        while pending > 0 {
            self.recv_buf.clear();
            self.socket.recv(&mut self.recv_buf).await?;
            for msg in split_datagram(&self.recv_buf) {
                let msg = msg?;
                let index = msg.header.sequence_number.wrapping_sub(base) as usize;
                // Replies to earlier, already answered requests are dropped.
                let (Some(request), Some(outcome)) = (requests.get(index), batch.get_mut(index))
                else {
                    continue;
                };
                if complete(request.reply_kind(), msg.payload, outcome)? {
                    pending -= 1;
                }
            }
        }
        Ok(())
    }
}

impl Request {
    fn message_len(&self) -> usize {
        use netlink_packet_core::Emitable;
        16 + self.message.buffer_len()
    }
}

/// Applies one reply to its request's outcome; true when the request is
/// answered.
fn complete(
    kind: ReplyKind,
    payload: NetlinkPayload<IpsetMessage>,
    outcome: &mut Outcome,
) -> Result<bool, Error> {
    Ok(match payload {
        NetlinkPayload::Error(err) => {
            // Once a request is answered its later replies are ignored.
            if outcome.error.is_some() {
                return Ok(false);
            }
            if let Some(code) = err.code {
                outcome.error = Some((code.get().saturating_neg(), lineno(&err.header)));
            }
            true
        }
        NetlinkPayload::Done(_) => true,
        NetlinkPayload::InnerMessage(msg) => {
            outcome.messages.push(msg);
            kind == ReplyKind::Message
        }
        _ => false,
    })
}

/// The line number ipset writes into the request copy of a batch error.
fn lineno(request_copy: &[u8]) -> Option<u32> {
    let msg = NetlinkMessage::<IpsetMessage>::deserialize(request_copy).ok()?;
    match msg.payload {
        NetlinkPayload::InnerMessage(m) => m.attributes.iter().find_map(|a| match a {
            IpsetAttribute::LineNo(n) => Some(*n),
            _ => None,
        }),
        _ => None,
    }
}

/// Splits a received datagram into netlink messages. Never panics: a
/// malformed message ends the iteration with an error.
pub fn split_datagram(
    data: &[u8],
) -> impl Iterator<Item = Result<NetlinkMessage<IpsetMessage>, netlink_packet_core::DecodeError>> + '_
{
    let mut offset = 0;
    std::iter::from_fn(move || {
        let rest = data.get(offset..).filter(|r| !r.is_empty())?;
        let result = NetlinkBuffer::new_checked(rest).and_then(|buf| {
            let len = buf.length() as usize;
            let msg = NetlinkMessage::deserialize(rest.get(..len).unwrap_or(rest))?;
            Ok((msg, len))
        });
        match result {
            Ok((msg, len)) => {
                offset += len.next_multiple_of(4).max(16);
                Some(Ok(msg))
            }
            Err(e) => {
                offset = data.len();
                Some(Err(e))
            }
        }
    })
}
