//! rtnetlink dumps that come back whole: repeated while the kernel flags
//! them interrupted (`NLM_F_DUMP_INTR`) or replies were lost to an
//! overrun, and the address dump both the link writer and the address
//! cache ([`crate::kernel::addresses`]) read.
//!
//! rtnetlink 0.24's typed requests (`handle.address().get()`, ...) drop
//! the netlink header and with it that flag, and netlink-proto does not
//! forward the `NLMSG_DONE` (which may be the only message carrying it)
//! unless asked to; so dumps go through [`Handle::request`] on a
//! connection that forwards `NLMSG_DONE` ([`connect`]), and every reply
//! header is checked.

use std::net::IpAddr;

use futures::StreamExt;
use rtnetlink::{
    Handle,
    packet_core::{NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload},
    packet_route::{
        RouteNetlinkMessage,
        address::{AddressAttribute, AddressMessage},
    },
};

use super::{DUMP_ATTEMPTS, LinkError, failure};

/// A handle for dumps: a connection of its own (spawned on the runtime)
/// that forwards `NLMSG_DONE`.
pub(crate) fn connect() -> Result<Handle, LinkError> {
    let (mut connection, handle, _) = rtnetlink::new_connection().map_err(LinkError::Socket)?;
    connection.set_forward_done(true);
    tokio::spawn(connection);
    Ok(handle)
}

/// One table, dumped on `handle` (from [`connect`]) until a dump comes
/// back whole (see [`consistent_dump`]).
pub(crate) async fn dump(
    handle: &Handle,
    request: RouteNetlinkMessage,
    operation: &str,
) -> Result<Vec<RouteNetlinkMessage>, LinkError> {
    consistent_dump(operation, || {
        dump_once(handle.clone(), request.clone(), operation)
    })
    .await
}

/// An address as the kernel lists it: on which interface, with which
/// prefix length (an interface may hold one address under two prefix
/// lengths, and deleting one leaves the other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct LinkAddress {
    /// The interface index.
    pub index: u32,
    /// The address (`IFA_LOCAL`, else `IFA_ADDRESS`).
    pub address: IpAddr,
    /// The prefix length.
    pub prefix_len: u8,
}

impl LinkAddress {
    /// The address of an address message (dumped or notified); `None`
    /// when it carries none.
    pub(crate) fn of(message: &AddressMessage) -> Option<Self> {
        Some(LinkAddress {
            index: message.header.index,
            address: address_of(message)?,
            prefix_len: message.header.prefix_len,
        })
    }
}

/// Every address of every interface (one whole `RTM_GETADDR` dump, both
/// families).
pub(crate) async fn addresses(handle: &Handle) -> Result<Vec<LinkAddress>, LinkError> {
    let request = RouteNetlinkMessage::GetAddress(AddressMessage::default());
    let messages = dump(handle, request, "dump addresses").await?;
    Ok(messages
        .iter()
        .filter_map(|message| match message {
            RouteNetlinkMessage::NewAddress(message) => LinkAddress::of(message),
            _ => None,
        })
        .collect())
}

/// The replies of one dump, and whether the kernel flagged it
/// interrupted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dumped<T> {
    /// The replies.
    pub replies: Vec<T>,
    /// Whether the kernel flagged the dump interrupted.
    pub interrupted: bool,
}

/// Runs `dump` until it returns a dump that was not interrupted, at most
/// [`DUMP_ATTEMPTS`] times; errors end it at once.
pub(crate) async fn consistent_dump<T, F, Fut>(
    operation: &str,
    mut dump: F,
) -> Result<Vec<T>, LinkError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Dumped<T>, LinkError>>,
{
    for attempt in 1..=DUMP_ATTEMPTS {
        let dumped = dump().await?;
        if !dumped.interrupted {
            return Ok(dumped.replies);
        }
        tracing::debug!(
            attempt,
            "{operation}: interrupted (NLM_F_DUMP_INTR), dumping again"
        );
    }
    Err(LinkError::DumpInterrupted {
        operation: operation.to_owned(),
        attempts: DUMP_ATTEMPTS,
    })
}

/// One `NLM_F_DUMP` request; `interrupted` when any reply (the
/// `NLMSG_DONE` included, so `handle`'s connection must forward it)
/// carries `NLM_F_DUMP_INTR`, or replies were lost (an overrun).
async fn dump_once(
    mut handle: Handle,
    request: RouteNetlinkMessage,
    operation: &str,
) -> Result<Dumped<RouteNetlinkMessage>, LinkError> {
    let mut message = NetlinkMessage::from(request);
    message.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let mut replies = handle
        .request(message)
        .map_err(|err| failure(operation.to_owned(), err))?;
    let mut dumped = Dumped {
        replies: Vec::new(),
        interrupted: false,
    };
    while let Some(reply) = replies.next().await {
        dumped.interrupted |= reply.header.flags & NLM_F_DUMP_INTR != 0;
        match reply.payload {
            NetlinkPayload::InnerMessage(inner) => dumped.replies.push(inner),
            NetlinkPayload::Error(err) => {
                return Err(failure(
                    operation.to_owned(),
                    rtnetlink::Error::NetlinkError(err),
                ));
            }
            NetlinkPayload::Overrun(_) => dumped.interrupted = true,
            _ => {}
        }
    }
    Ok(dumped)
}

/// The address of a dumped address message (`IFA_LOCAL`, else
/// `IFA_ADDRESS`).
fn address_of(message: &AddressMessage) -> Option<IpAddr> {
    let mut address = None;
    for attr in &message.attributes {
        match attr {
            AddressAttribute::Local(a) => return Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            _ => {}
        }
    }
    address
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::link::INTERFACE;

    /// A fake dump: replies `[n]` for the n-th call, flagged interrupted
    /// for the first `interrupted` calls; counts the calls.
    fn flaky_dump(
        interrupted: usize,
        calls: &std::cell::Cell<usize>,
    ) -> impl FnMut() -> std::future::Ready<Result<Dumped<usize>, LinkError>> + '_ {
        move || {
            calls.set(calls.get() + 1);
            std::future::ready(Ok(Dumped {
                replies: vec![calls.get()],
                interrupted: calls.get() <= interrupted,
            }))
        }
    }

    #[tokio::test]
    async fn an_interrupted_dump_is_repeated_until_whole() {
        let calls = std::cell::Cell::new(0);
        let replies = consistent_dump("dump addresses", flaky_dump(2, &calls))
            .await
            .unwrap();
        assert_eq!(calls.get(), 3);
        assert_eq!(replies, vec![3], "the replies of the whole dump only");
    }

    #[tokio::test]
    async fn a_whole_dump_is_not_repeated() {
        let calls = std::cell::Cell::new(0);
        let replies = consistent_dump("dump routes", flaky_dump(0, &calls))
            .await
            .unwrap();
        assert_eq!((calls.get(), replies), (1, vec![1]));
    }

    #[tokio::test]
    async fn dumps_interrupted_every_time_give_up_after_the_bound() {
        let calls = std::cell::Cell::new(0);
        let err = consistent_dump("dump addresses", flaky_dump(usize::MAX, &calls))
            .await
            .unwrap_err();
        assert_eq!(calls.get(), DUMP_ATTEMPTS);
        assert!(
            matches!(&err, LinkError::DumpInterrupted { attempts, .. } if *attempts == DUMP_ATTEMPTS),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "dump addresses: interrupted by concurrent changes 5 times in a row"
        );
    }

    #[tokio::test]
    async fn a_failed_dump_is_not_repeated() {
        let calls = std::cell::Cell::new(0);
        let err = consistent_dump::<usize, _, _>("dump routes", || {
            calls.set(calls.get() + 1);
            std::future::ready(Err(LinkError::NoInterface {
                name: INTERFACE.to_owned(),
            }))
        })
        .await
        .unwrap_err();
        assert_eq!(calls.get(), 1);
        assert!(matches!(err, LinkError::NoInterface { .. }));
    }
}
