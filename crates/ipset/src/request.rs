//! Pure request builders: every ipset request this library sends, as a
//! [`Request`] (message plus netlink flags), with the attribute order and
//! flags of the ipset 7.17 tool. No I/O here.

use netlink_packet_core::{
    Emitable, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader,
    NetlinkMessage, NetlinkPayload,
};

use crate::{
    CreateOptions, Entry, Extensions, Family, SetType,
    packet::{
        AdtAttribute, IpsetAttribute as A, IpsetCommand, IpsetMessage,
        constants::{IPSET_FLAG_LIST_HEADER, IPSET_FLAG_LIST_SETNAME},
    },
};

/// Size of `struct nlmsghdr`.
const NETLINK_HEADER_LEN: usize = 16;

/// One request: an ipset message and the netlink flags to send it with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Request {
    /// The message.
    pub message: IpsetMessage,
    /// Netlink header flags (`NLM_F_*`).
    pub flags: u16,
}

/// What the kernel answers to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// An ACK (NLMSG_ERROR with code 0) or an error.
    Ack,
    /// One ipset message, or an error.
    Message,
    /// A multi-part dump ending with NLMSG_DONE, or an error.
    Dump,
}

impl Request {
    fn new(command: IpsetCommand, flags: u16, attributes: Vec<A>) -> Self {
        Self {
            message: IpsetMessage::new(command, attributes),
            flags: NLM_F_REQUEST | flags,
        }
    }

    /// What the kernel answers, from the flags.
    pub fn reply_kind(&self) -> ReplyKind {
        if self.flags & NLM_F_DUMP == NLM_F_DUMP {
            ReplyKind::Dump
        } else if self.flags & NLM_F_ACK != 0 {
            ReplyKind::Ack
        } else {
            ReplyKind::Message
        }
    }

    /// The netlink message with sequence number `seq` and port id 0,
    /// with its length filled in.
    pub fn to_netlink(&self, seq: u32) -> NetlinkMessage<IpsetMessage> {
        let mut header = NetlinkHeader::default();
        header.flags = self.flags;
        header.sequence_number = seq;
        let mut msg =
            NetlinkMessage::new(header, NetlinkPayload::InnerMessage(self.message.clone()));
        msg.finalize();
        msg
    }

    /// Serialises the request with sequence number `seq` onto `buf`.
    pub fn write(&self, seq: u32, buf: &mut Vec<u8>) {
        let msg = self.to_netlink(seq);
        let start = buf.len();
        buf.resize(start + msg.buffer_len(), 0);
        msg.serialize(&mut buf[start..]);
    }

    /// How many elements the message carries in `IPSET_ATTR_ADT`.
    pub fn element_count(&self) -> usize {
        self.message
            .attributes
            .iter()
            .map(|a| match a {
                A::Adt(adt) => adt.len(),
                _ => 0,
            })
            .sum()
    }

    /// Serialized size, netlink header included.
    pub fn message_len(&self) -> usize {
        NETLINK_HEADER_LEN + self.message.buffer_len()
    }

    /// The set name the request is about, if any.
    pub fn set_name(&self) -> Option<&str> {
        self.message.attributes.iter().find_map(|a| match a {
            A::SetName(name) => Some(name.as_str()),
            _ => None,
        })
    }
}

fn exclusive(exist: bool) -> u16 {
    if exist { 0 } else { NLM_F_EXCL }
}

fn named(protocol: u8, name: &str) -> Vec<A> {
    vec![A::Protocol(protocol), A::SetName(name.to_owned())]
}

/// `IPSET_CMD_PROTOCOL`: asks the kernel's protocol range.
pub fn protocol(protocol: u8) -> Request {
    Request::new(IpsetCommand::Protocol, 0, vec![A::Protocol(protocol)])
}

/// The `NFPROTO_*` family sent for a set type (0 for bitmaps).
fn nfproto(set_type: SetType, family: Family) -> u8 {
    if set_type.is_bitmap() {
        0
    } else {
        family.nfproto()
    }
}

/// `IPSET_CMD_TYPE`: asks the kernel's revision range of a type. Like
/// the ipset tool, it asks for the inet family: the revisions of these
/// types do not depend on the family.
pub fn type_query(protocol: u8, set_type: SetType) -> Request {
    Request::new(
        IpsetCommand::Type,
        0,
        vec![
            A::Protocol(protocol),
            A::TypeName(set_type.name().to_owned()),
            A::Family(nfproto(set_type, Family::Inet)),
        ],
    )
}

/// `IPSET_CMD_CREATE`. With `exist`, creating an identical existing set
/// succeeds (`-exist`).
pub fn create(
    protocol: u8,
    name: &str,
    set_type: SetType,
    revision: u8,
    options: &CreateOptions,
    exist: bool,
) -> Request {
    let mut attrs = named(protocol, name);
    attrs.extend([
        A::TypeName(set_type.name().to_owned()),
        A::Revision(revision),
        A::Family(nfproto(set_type, options.family)),
        A::Header(options.to_attributes(set_type)),
    ]);
    Request::new(
        IpsetCommand::Create,
        NLM_F_ACK | NLM_F_CREATE | exclusive(exist),
        attrs,
    )
}

/// `IPSET_CMD_DESTROY` of one set.
pub fn destroy(protocol: u8, name: &str) -> Request {
    Request::new(
        IpsetCommand::Destroy,
        NLM_F_ACK | NLM_F_EXCL,
        named(protocol, name),
    )
}

/// `IPSET_CMD_FLUSH` of one set.
pub fn flush(protocol: u8, name: &str) -> Request {
    Request::new(IpsetCommand::Flush, NLM_F_ACK, named(protocol, name))
}

/// `IPSET_CMD_RENAME`.
pub fn rename(protocol: u8, from: &str, to: &str) -> Request {
    let mut attrs = named(protocol, from);
    attrs.push(A::SetName2(to.to_owned()));
    Request::new(IpsetCommand::Rename, NLM_F_ACK, attrs)
}

/// `IPSET_CMD_SWAP`.
pub fn swap(protocol: u8, first: &str, second: &str) -> Request {
    let mut attrs = named(protocol, first);
    attrs.push(A::SetName2(second.to_owned()));
    Request::new(IpsetCommand::Swap, NLM_F_ACK, attrs)
}

/// The element commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementOp {
    /// Add.
    Add,
    /// Delete.
    Del,
    /// Test.
    Test,
}

impl ElementOp {
    fn command(self) -> IpsetCommand {
        match self {
            ElementOp::Add => IpsetCommand::Add,
            ElementOp::Del => IpsetCommand::Del,
            ElementOp::Test => IpsetCommand::Test,
        }
    }
}

/// ADD, DEL or TEST of one element. `exist` ignores an element that is
/// already present (ADD) or missing (DEL).
pub fn element(protocol: u8, op: ElementOp, name: &str, entry: &Entry, exist: bool) -> Request {
    let (flags, lineno) = match op {
        ElementOp::Test => (NLM_F_ACK, None),
        _ => (NLM_F_ACK | exclusive(exist), Some(0)),
    };
    let mut attrs = named(protocol, name);
    attrs.push(A::Element(entry.to_attributes(lineno)));
    Request::new(op.command(), flags, attrs)
}

/// ADD or DEL of many elements: at most `per_message` elements per
/// message inside `IPSET_ATTR_ADT`, as `ipset restore` does, and no more
/// than `max_bytes` per message (a single larger element still gets a
/// message of its own). Element `i` of a message carries line number
/// `i + 1` and the message carries `IPSET_ATTR_LINENO`, so a failing
/// element is reported by position.
pub fn elements(
    protocol: u8,
    op: ElementOp,
    name: &str,
    entries: &[Entry],
    exist: bool,
    per_message: usize,
    max_bytes: usize,
) -> Vec<Request> {
    let no_extensions = Extensions::default();
    elements_with(
        protocol,
        op,
        name,
        entries,
        &no_extensions,
        exist,
        per_message,
        max_bytes,
    )
}

/// [`elements`] with the same [`Extensions`] (timeout, counters, comment)
/// on every element, as `ipset add SET ELEMENT timeout 60 comment "x"`.
#[allow(clippy::too_many_arguments)]
pub fn elements_with(
    protocol: u8,
    op: ElementOp,
    name: &str,
    entries: &[Entry],
    extensions: &Extensions,
    exist: bool,
    per_message: usize,
    max_bytes: usize,
) -> Vec<Request> {
    let element = |entry: &Entry, lineno: u32| {
        let mut attrs = entry.to_attributes(Some(lineno));
        attrs.extend(extensions.to_attributes());
        AdtAttribute::Data(attrs)
    };
    let per_message = per_message.max(1);
    let message = |adt: Vec<AdtAttribute>| {
        let mut attrs = named(protocol, name);
        attrs.extend([A::LineNo(1), A::Adt(adt)]);
        Request::new(op.command(), NLM_F_ACK | exclusive(exist), attrs)
    };
    // Everything but the elements: netlink header and the message without
    // its ADT nest's contents.
    let overhead = NETLINK_HEADER_LEN + message(Vec::new()).message.buffer_len();
    let mut requests = Vec::new();
    let mut adt = Vec::new();
    let mut bytes = overhead;
    for entry in entries {
        let data = element(entry, adt.len() as u32 + 1);
        let len = data.buffer_len();
        if !adt.is_empty() && (adt.len() == per_message || bytes + len > max_bytes) {
            requests.push(message(std::mem::take(&mut adt)));
            bytes = overhead;
            // Line numbers restart at 1 in the next message.
            adt.push(element(entry, 1));
        } else {
            adt.push(data);
        }
        bytes += len;
    }
    if !adt.is_empty() {
        requests.push(message(adt));
    }
    requests
}

/// How much a dump lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListScope {
    /// Names only (`ipset list -n`).
    Names,
    /// Headers without members (`ipset list -t`).
    Headers,
    /// Headers and members (`ipset list`).
    Full,
}

/// `IPSET_CMD_LIST` of one set (`name`) or all sets.
pub fn list(protocol: u8, name: Option<&str>, scope: ListScope) -> Request {
    let mut attrs = vec![A::Protocol(protocol)];
    attrs.extend(name.map(|n| A::SetName(n.to_owned())));
    match scope {
        ListScope::Names => attrs.push(A::Flags(IPSET_FLAG_LIST_SETNAME)),
        ListScope::Headers => attrs.push(A::Flags(IPSET_FLAG_LIST_HEADER)),
        ListScope::Full => {}
    }
    Request::new(IpsetCommand::List, NLM_F_ACK | NLM_F_DUMP, attrs)
}

/// `IPSET_CMD_SAVE` of one set or all sets (what `ipset save` sends).
pub fn save(protocol: u8, name: Option<&str>) -> Request {
    let mut attrs = vec![A::Protocol(protocol)];
    attrs.extend(name.map(|n| A::SetName(n.to_owned())));
    Request::new(IpsetCommand::Save, NLM_F_ACK | NLM_F_DUMP, attrs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ElementLimits, MAX_MESSAGE_BYTES};

    fn entries(count: usize) -> Vec<Entry> {
        (0..count)
            .map(|i| {
                let text = format!("fd00::{:x},tcp:{},fd01::/64", i + 1, 1000 + i % 5000);
                Entry::parse(SetType::HashIpPortNet, &text).unwrap()
            })
            .collect()
    }

    fn lines(request: &Request) -> Vec<u32> {
        request
            .message
            .attributes
            .iter()
            .flat_map(|a| match a {
                A::Adt(adt) => adt.clone(),
                _ => Vec::new(),
            })
            .map(|data| match data {
                AdtAttribute::Data(attrs) => attrs
                    .iter()
                    .find_map(|a| match a {
                        crate::packet::ElementAttribute::LineNo(n) => Some(*n),
                        _ => None,
                    })
                    .unwrap(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn element_messages_are_bounded_by_count_and_bytes() {
        let all = entries(1000);
        // The default: 128 elements a message, well inside the byte bound.
        let ElementLimits {
            per_message,
            max_bytes,
            ..
        } = ElementLimits::default();
        let requests = elements(7, ElementOp::Add, "s", &all, true, per_message, max_bytes);
        assert_eq!(requests.len(), 1000usize.div_ceil(128));
        assert!(
            requests
                .iter()
                .all(|r| r.message_len() <= MAX_MESSAGE_BYTES)
        );
        assert_eq!(
            requests.iter().map(Request::element_count).sum::<usize>(),
            1000
        );

        // A byte bound smaller than 128 elements cuts messages sooner.
        let requests = elements(7, ElementOp::Add, "s", &all, true, 128, 2048);
        assert!(requests.len() > 1000 / 128 + 1, "{}", requests.len());
        for request in &requests {
            assert!(request.message_len() <= 2048, "{}", request.message_len());
            let count = request.element_count();
            assert!((1..=128).contains(&count));
            // Line numbers restart at 1 in every message.
            assert_eq!(lines(request), (1..=count as u32).collect::<Vec<_>>());
        }
        assert_eq!(
            requests.iter().map(Request::element_count).sum::<usize>(),
            1000
        );

        // A bound below one element still sends one element a message.
        let requests = elements(7, ElementOp::Del, "s", &all[..5], false, 0, 1);
        assert_eq!(requests.len(), 5);
        assert!(requests.iter().all(|r| r.element_count() == 1));

        // A configured bound above the hard cap is capped.
        let ElementLimits {
            per_message,
            max_bytes,
            ..
        } = ElementLimits::new(100_000, usize::MAX);
        let requests = elements(
            7,
            ElementOp::Add,
            "s",
            &entries(2000),
            true,
            per_message,
            max_bytes,
        );
        assert!(requests.len() > 1);
        assert!(
            requests
                .iter()
                .all(|r| r.message_len() <= MAX_MESSAGE_BYTES)
        );
    }
}
