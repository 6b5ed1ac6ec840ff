//! The generic-netlink side of IPVS messages: requests as
//! [`netlink_transport::Request`]s, replies decoded from transport frames.
//! No I/O; framing and control messages are the transport's.

use netlink_packet_core::{
    DecodeError, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NlasIterator, parse_u16,
};
use netlink_packet_generic::{
    GenlHeader, GenlMessage,
    ctrl::{GenlCtrl, GenlCtrlCmd, nlas::GenlCtrlAttrs},
};
pub(crate) use netlink_transport::Frame;
#[cfg(test)]
pub(crate) use netlink_transport::frames;
use netlink_transport::{Request, TransportError, push};

use crate::{
    Command, IpvsError, ServiceKey, VirtualService, error::from_transport, packet::IpvsMessage,
};

/// Flags of a request that expects an acknowledgement.
pub(crate) const REQUEST: u16 = NLM_F_REQUEST | NLM_F_ACK;
/// Flags of a dump request.
pub(crate) const DUMP: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP;

/// Size of `struct genlmsghdr`.
const GENL_HEADER_LEN: usize = 4;
/// `CTRL_ATTR_FAMILY_ID`.
const CTRL_ATTR_FAMILY_ID: u16 = 1;

/// Appends one IPVS request to `buf`.
pub(crate) fn push_request(
    buf: &mut Vec<u8>,
    family_id: u16,
    flags: u16,
    seq: u32,
    message: IpvsMessage,
) {
    let mut genl = GenlMessage::from_payload(message);
    genl.set_resolved_family_id(family_id);
    push(buf, flags, seq, genl);
}

/// Appends `CTRL_CMD_GETFAMILY` for `name` to `buf`.
pub(crate) fn push_get_family(buf: &mut Vec<u8>, flags: u16, seq: u32, name: &str) {
    let ctrl = GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName(name.to_owned())],
    };
    push(buf, flags, seq, GenlMessage::from_payload(ctrl));
}

/// One IPVS request: a message for the family `family_id`.
pub(crate) struct Query {
    /// The resolved IPVS family id.
    pub family_id: u16,
    /// Netlink flags.
    pub flags: u16,
    /// The message.
    pub message: IpvsMessage,
}

impl Request for Query {
    fn write(&self, seq: u32, buf: &mut Vec<u8>) {
        push_request(buf, self.family_id, self.flags, seq, self.message.clone());
    }
}

/// One command of a batch, acknowledged.
pub(crate) struct CommandRequest<'a> {
    /// The resolved IPVS family id.
    pub family_id: u16,
    /// The command.
    pub command: &'a Command,
}

impl Request for CommandRequest<'_> {
    fn write(&self, seq: u32, buf: &mut Vec<u8>) {
        push_request(buf, self.family_id, REQUEST, seq, self.command.to_message());
    }
}

/// `CTRL_CMD_GETFAMILY` for a family name, acknowledged.
pub(crate) struct GetFamily(pub &'static str);

impl Request for GetFamily {
    fn write(&self, seq: u32, buf: &mut Vec<u8>) {
        push_get_family(buf, REQUEST, seq, self.0);
    }
}

/// A decoded reply; `D` is what a data message is decoded into.
#[cfg(any(test, feature = "fuzzing"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply<D = IpvsMessage> {
    /// A data message (dump entry or `GET_*` answer).
    Data(D),
    /// A positive acknowledgement: the request is finished.
    Ack,
    /// `NLMSG_DONE`: the dump is finished.
    Done,
    /// A negative acknowledgement (or a dump that ended with an error).
    Failed(netlink_transport::KernelError),
    /// Something to skip (`NLMSG_NOOP`, `NLMSG_OVERRUN`, other families).
    Ignored,
}

/// Decodes a frame of the IPVS family `family_id`.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn decode(frame: &Frame<'_>, family_id: u16) -> Result<Reply, DecodeError> {
    use netlink_packet_core::ParseableParametrized;
    decode_with(frame, family_id, IpvsMessage::parse_with_param)
}

/// Decodes a frame of the IPVS family `family_id`, a data message with
/// `data` (see [`data`]).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn decode_with<D>(
    frame: &Frame<'_>,
    family_id: u16,
    data: impl FnOnce(&[u8], GenlHeader) -> Result<D, DecodeError>,
) -> Result<Reply<D>, DecodeError> {
    Ok(match netlink_transport::classify(frame)? {
        netlink_transport::Reply::Data(frame) => match self::data(&frame, family_id, data)? {
            Some(value) => Reply::Data(value),
            None => Reply::Ignored,
        },
        netlink_transport::Reply::Ack => Reply::Ack,
        netlink_transport::Reply::Done => Reply::Done,
        netlink_transport::Reply::Failed(err) => Reply::Failed(err),
        netlink_transport::Reply::Ignored => Reply::Ignored,
    })
}

/// A data message of the IPVS family `family_id` decoded with `data`
/// (given its attributes, the bytes after the generic-netlink header, and
/// that header): typed readers skip the `IpvsMessage`. `None` for a
/// message of another family.
pub(crate) fn data<D>(
    frame: &Frame<'_>,
    family_id: u16,
    data: impl FnOnce(&[u8], GenlHeader) -> Result<D, DecodeError>,
) -> Result<Option<D>, DecodeError> {
    if frame.message_type != family_id {
        return Ok(None);
    }
    let header = GenlHeader::parse(frame.payload)?;
    let attrs = frame.payload.get(GENL_HEADER_LEN..).unwrap_or_default();
    data(attrs, header).map(Some)
}

/// The family id of the answer to `CTRL_CMD_GETFAMILY` for `name`;
/// [`IpvsError::NotLoaded`] when the kernel has no such family.
pub(crate) fn family_id(
    ids: Result<Vec<u16>, TransportError>,
    name: &str,
) -> Result<u16, IpvsError> {
    match ids {
        Ok(ids) => Ok(ids
            .first()
            .copied()
            .ok_or_else(|| DecodeError::from("nlctrl acked without reply"))?),
        Err(TransportError::Kernel(err)) if err.errno == libc::ENOENT => Err(IpvsError::NotLoaded),
        Err(err) => Err(from_transport(err, format!("resolve the {name} family"))),
    }
}

/// The service of the answer to a single-service `GET_SERVICE`; `None`
/// when the kernel says it does not exist (`ESRCH`).
pub(crate) fn service_reply(
    reply: Result<Vec<IpvsMessage>, TransportError>,
    key: &ServiceKey,
) -> Result<Option<VirtualService>, IpvsError> {
    match reply {
        Ok(messages) => match messages.first() {
            Some(msg) => Ok(Some(VirtualService::from_message(msg)?)),
            None => Ok(None),
        },
        Err(TransportError::Kernel(err)) if err.errno == libc::ESRCH => Ok(None),
        Err(err) => Err(from_transport(err, format!("get service {key}"))),
    }
}

/// The first reply of a `GET_CONFIG` or `GET_INFO` (`what`).
pub(crate) fn first_reply(
    reply: Result<Vec<IpvsMessage>, TransportError>,
    what: &str,
) -> Result<IpvsMessage, IpvsError> {
    let messages = reply.map_err(|err| from_transport(err, format!("get {what}")))?;
    Ok(messages
        .into_iter()
        .next()
        .ok_or_else(|| DecodeError::from(format!("no reply to get {what}")))?)
}

/// The `CTRL_ATTR_FAMILY_ID` of a `CTRL_CMD_NEWFAMILY` reply.
pub(crate) fn decode_family_id(frame: &Frame<'_>) -> Result<u16, DecodeError> {
    let attrs = frame
        .payload
        .get(GENL_HEADER_LEN..)
        .ok_or("nlctrl reply without generic netlink header")?;
    for nla in NlasIterator::new(attrs) {
        let nla = nla?;
        if nla.kind() == CTRL_ATTR_FAMILY_ID {
            return parse_u16(nla.value());
        }
    }
    Err("nlctrl reply without CTRL_ATTR_FAMILY_ID".into())
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;
    use crate::packet::{IpvsAttribute, IpvsCmd};

    #[test]
    fn requests_frame_and_decode_back() {
        let mut buf = Vec::new();
        let msg = IpvsMessage::new(IpvsCmd::SetConfig, vec![IpvsAttribute::TimeoutTcp(900)]);
        push_request(&mut buf, 0x25, 5, 7, msg.clone());
        push_request(
            &mut buf,
            0x25,
            5,
            8,
            IpvsMessage::new(IpvsCmd::Flush, vec![]),
        );
        assert_eq!(
            &buf[..20],
            &[
                28, 0, 0, 0, 0x25, 0, 5, 0, 7, 0, 0, 0, 0, 0, 0, 0, 12, 1, 0, 0
            ]
        );
        let frames: Vec<_> = frames(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].seq, 8);
        assert_eq!(decode(&frames[0], 0x25).unwrap(), Reply::Data(msg));
        assert_eq!(decode(&frames[0], 0x26).unwrap(), Reply::Ignored);
    }

    #[test]
    fn get_family_request() {
        let mut buf = Vec::new();
        push_get_family(&mut buf, 5, 1, "IPVS");
        assert_eq!(
            buf,
            [
                32, 0, 0, 0, 0x10, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 2, 0, 0, 9, 0, 2, 0, b'I',
                b'P', b'V', b'S', 0, 0, 0, 0
            ]
        );
    }

    #[test]
    fn family_id_reply() {
        let mut message = vec![40, 0, 0, 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        message.extend([1u8, 2, 0, 0]);
        message.extend([
            9, 0, 2, 0, b'I', b'P', b'V', b'S', 0, 0, 0, 0, 6, 0, 1, 0, 0x25, 0, 0, 0,
        ]);
        let frame = frames(&message).next().unwrap().unwrap();
        assert_eq!(decode_family_id(&frame).unwrap(), 0x25);
        message[0] = 32;
        let frame = frames(&message[..32]).next().unwrap().unwrap();
        assert!(decode_family_id(&frame).is_err());
    }
}
