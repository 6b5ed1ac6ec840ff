//! Pure request builders: every ipset request this library sends, as a
//! [`Request`] (message plus netlink flags), with the attribute order and
//! flags of the ipset 7.17 tool. No I/O here.

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};

use crate::{
    CreateOptions, Entry, Family, SetType,
    packet::{
        AdtAttribute, IpsetAttribute as A, IpsetCommand, IpsetMessage,
        constants::{IPSET_FLAG_LIST_HEADER, IPSET_FLAG_LIST_SETNAME},
    },
};

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

/// ADD or DEL of many elements: `per_message` elements per message inside
/// `IPSET_ATTR_ADT`, as `ipset restore` does. Element `i` of a message
/// carries line number `i + 1` and the message carries
/// `IPSET_ATTR_LINENO`, so a failing element is reported by position.
pub fn elements(
    protocol: u8,
    op: ElementOp,
    name: &str,
    entries: &[Entry],
    exist: bool,
    per_message: usize,
) -> Vec<Request> {
    entries
        .chunks(per_message.max(1))
        .map(|chunk| {
            let adt = (1..)
                .zip(chunk)
                .map(|(lineno, entry)| AdtAttribute::Data(entry.to_attributes(Some(lineno))))
                .collect();
            let mut attrs = named(protocol, name);
            attrs.extend([A::LineNo(1), A::Adt(adt)]);
            Request::new(op.command(), NLM_F_ACK | exclusive(exist), attrs)
        })
        .collect()
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
