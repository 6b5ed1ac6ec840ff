//! Batches on the shared netlink transport: the limits of one pipelined
//! send, and every request's answer gathered into an [`Outcome`].

use netlink_packet_core::{DecodeError, NetlinkMessage, NetlinkPayload};
use netlink_transport::{BatchLimits, Frame, OnError, TransportError};

use crate::{
    Error,
    packet::{IpsetAttribute, IpsetMessage},
    request::Request,
};

/// Most bytes of one ADD/DEL message, whatever
/// [`ElementLimits::per_message`] says. The kernel echoes a whole
/// failed element message back in its error (with the failing line number),
/// so a message must stay well inside the send window and the transport's
/// 128 KiB receive buffer; 32 KiB is about 300 of the largest elements
/// (IPv6 hash:ip,port,net) and more than 128 of any.
pub const MAX_MESSAGE_BYTES: usize = 32 << 10;

/// How many elements go into one ADD/DEL message (inside
/// `IPSET_ATTR_ADT`), as `ipset restore` packs them. How many messages go
/// into one send is the transport's [`BatchLimits`](crate::BatchLimits),
/// the same type as `ipvs-netlink`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ElementLimits {
    /// Most elements per message (at least 1).
    pub per_message: usize,
    /// Most bytes per message (capped at [`MAX_MESSAGE_BYTES`]); a single
    /// larger element still gets a message of its own.
    pub max_bytes: usize,
}

impl ElementLimits {
    /// At most `per_message` elements and `max_bytes` bytes a message.
    pub fn new(per_message: usize, max_bytes: usize) -> Self {
        ElementLimits {
            per_message: per_message.max(1),
            max_bytes: max_bytes.min(MAX_MESSAGE_BYTES),
        }
    }
}

impl Default for ElementLimits {
    /// 128 elements or [`MAX_MESSAGE_BYTES`], as `ipset restore`.
    fn default() -> Self {
        ElementLimits::new(128, MAX_MESSAGE_BYTES)
    }
}

/// The default send window of an ipset handle: 64 messages or 64 KiB (a
/// failed element message is echoed whole, so fewer than ipvs-netlink's).
pub(crate) fn default_send_limits() -> BatchLimits {
    BatchLimits::new(64, 64 << 10)
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

impl netlink_transport::Request for Request {
    fn write(&self, seq: u32, buf: &mut Vec<u8>) {
        Request::write(self, seq, buf);
    }
}

/// The outcomes of a batch being received: data messages go to their
/// request's outcome, then [`Gather::finish`] adds each request's result.
pub(crate) struct Gather(Vec<Outcome>);

impl Gather {
    /// For `len` requests.
    pub(crate) fn new(len: usize) -> Self {
        Gather(vec![Outcome::default(); len])
    }

    /// A data message of request `index`.
    pub(crate) fn data(&mut self, index: usize, frame: &Frame<'_>) -> Result<(), DecodeError> {
        let message = decode(frame)?;
        if let Some(outcome) = self.0.get_mut(index) {
            outcome.messages.extend(message);
        }
        Ok(())
    }

    /// The outcomes, with the transport's per-request results (fewer
    /// results than requests when the batch stopped early).
    pub(crate) fn finish(
        self,
        results: Vec<netlink_transport::Outcome>,
    ) -> Result<Vec<Outcome>, Error> {
        let mut outcomes = self.0;
        outcomes.truncate(results.len());
        for (outcome, result) in outcomes.iter_mut().zip(results) {
            outcome.error = kernel_error(result)?;
        }
        Ok(outcomes)
    }
}

/// Runs `requests` in order on `transport` and returns one outcome per
/// request. With [`OnError::Stop`], no further send starts after one that
/// produced an error; the outcomes then stop early.
#[cfg(feature = "tokio")]
pub(crate) async fn execute(
    transport: &netlink_transport::Transport,
    requests: &[Request],
    on_error: OnError,
) -> Result<Vec<Outcome>, Error> {
    let mut gather = Gather::new(requests.len());
    let results = transport
        .execute(requests, on_error, |index, frame| gather.data(index, frame))
        .await?;
    gather.finish(results)
}

/// One dump, read to its end and run again if the kernel flags it
/// interrupted ([`Transport::dump`](netlink_transport::Transport::dump)).
#[cfg(feature = "tokio")]
pub(crate) async fn dump(
    transport: &netlink_transport::Transport,
    request: &Request,
) -> Result<Outcome, Error> {
    dump_outcome(transport.dump(request, decode).await)
}

/// The async `execute` on the blocking transport.
#[cfg(feature = "blocking")]
pub(crate) fn execute_blocking(
    transport: &mut netlink_transport::BlockingTransport,
    requests: &[Request],
    on_error: OnError,
) -> Result<Vec<Outcome>, Error> {
    let mut gather = Gather::new(requests.len());
    let results =
        transport.execute(requests, on_error, |index, frame| gather.data(index, frame))?;
    gather.finish(results)
}

/// The async `dump` on the blocking transport.
#[cfg(feature = "blocking")]
pub(crate) fn dump_blocking(
    transport: &mut netlink_transport::BlockingTransport,
    request: &Request,
) -> Result<Outcome, Error> {
    dump_outcome(transport.dump(request, decode))
}

/// A dump's messages, or its kernel refusal as the outcome's error.
pub(crate) fn dump_outcome(
    result: Result<Vec<IpsetMessage>, TransportError>,
) -> Result<Outcome, Error> {
    match result {
        Ok(messages) => Ok(Outcome {
            messages,
            error: None,
        }),
        Err(err) => Ok(Outcome {
            messages: Vec::new(),
            error: kernel_error(Err(err))?,
        }),
    }
}

/// A kernel refusal as code and line number; other errors are errors.
fn kernel_error(result: Result<(), TransportError>) -> Result<Option<(i32, Option<u32>)>, Error> {
    match result {
        Ok(()) => Ok(None),
        Err(TransportError::Kernel(err)) => Ok(Some((err.errno, lineno(&err.request)))),
        Err(other) => Err(other.into()),
    }
}

/// An ipset data message.
fn decode(frame: &Frame<'_>) -> Result<Option<IpsetMessage>, DecodeError> {
    Ok(
        match NetlinkMessage::<IpsetMessage>::deserialize(frame.bytes)?.payload {
            NetlinkPayload::InnerMessage(message) => Some(message),
            _ => None,
        },
    )
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

/// Splits a received datagram into netlink messages (the transport's
/// framing, then the ipset decoding). Never panics: a malformed message
/// ends the iteration with an error.
#[cfg(any(test, feature = "fuzzing"))]
pub fn split_datagram(
    data: &[u8],
) -> impl Iterator<Item = Result<NetlinkMessage<IpsetMessage>, DecodeError>> + '_ {
    let mut broken = false;
    netlink_transport::frames(data).map_while(move |frame| {
        if broken {
            return None;
        }
        let message = frame.and_then(|frame| NetlinkMessage::deserialize(frame.bytes));
        broken = message.is_err();
        Some(message)
    })
}
