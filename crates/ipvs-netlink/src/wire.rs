//! Framing: requests into one send buffer, datagrams into replies. No I/O.

use netlink_packet_core::{
    DecodeError, Emitable, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP,
    NLMSG_OVERRUN, NetlinkHeader, NetlinkMessage, NetlinkPayload, NlasIterator,
    ParseableParametrized, parse_string, parse_u16,
};
use netlink_packet_generic::{
    GenlHeader, GenlMessage,
    ctrl::{GenlCtrl, GenlCtrlCmd, nlas::GenlCtrlAttrs},
};

use crate::{error::Failure, packet::IpvsMessage};

/// Size of `struct nlmsghdr`.
const HEADER_LEN: usize = 16;
/// Size of `struct genlmsghdr`.
const GENL_HEADER_LEN: usize = 4;
/// `CTRL_ATTR_FAMILY_ID`.
const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// `NLMSGERR_ATTR_MSG`.
const NLMSGERR_ATTR_MSG: u16 = 1;

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

fn push<F>(buf: &mut Vec<u8>, flags: u16, seq: u32, genl: GenlMessage<F>)
where
    GenlMessage<F>: netlink_packet_core::NetlinkSerializable,
{
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(genl));
    message.finalize();
    let start = buf.len();
    buf.resize(start + message.buffer_len(), 0);
    if let Some(dst) = buf.get_mut(start..) {
        message.emit(dst);
    }
}

/// One netlink message of a datagram, not yet decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frame<'a> {
    /// `nlmsg_type`.
    pub message_type: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// Everything after the 16-byte header.
    pub payload: &'a [u8],
}

/// Splits a datagram into frames. A frame whose length does not fit ends
/// the iteration with an error.
pub(crate) fn frames(datagram: &[u8]) -> impl Iterator<Item = Result<Frame<'_>, DecodeError>> {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let frame = split_frame(rest);
        match frame {
            Ok((frame, next)) => {
                rest = next;
                Some(Ok(frame))
            }
            Err(err) => {
                rest = &[];
                Some(Err(err))
            }
        }
    })
}

fn split_frame(buf: &[u8]) -> Result<(Frame<'_>, &[u8]), DecodeError> {
    let header = buf
        .get(..HEADER_LEN)
        .ok_or_else(|| DecodeError::buffer_too_small(buf.len(), HEADER_LEN))?;
    let field = |range: std::ops::Range<usize>| header.get(range).unwrap_or_default();
    let len = u32::from_ne_bytes(field(0..4).try_into().map_err(|_| "short header")?) as usize;
    if len < HEADER_LEN || len > buf.len() {
        return Err(format!(
            "netlink message length {len} in a {} byte buffer",
            buf.len()
        )
        .into());
    }
    let frame = Frame {
        message_type: u16::from_ne_bytes(field(4..6).try_into().map_err(|_| "short header")?),
        flags: u16::from_ne_bytes(field(6..8).try_into().map_err(|_| "short header")?),
        seq: u32::from_ne_bytes(field(8..12).try_into().map_err(|_| "short header")?),
        payload: buf.get(HEADER_LEN..len).unwrap_or_default(),
    };
    let next = buf.get(align(len)..).unwrap_or_default();
    Ok((frame, next))
}

const fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// A decoded reply; `D` is what a data message is decoded into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply<D = IpvsMessage> {
    /// A data message (dump entry or `GET_*` answer).
    Data(D),
    /// A positive acknowledgement: the request is finished.
    Ack,
    /// `NLMSG_DONE`: the dump is finished.
    Done,
    /// A negative acknowledgement (or a dump that ended with an error).
    Failed(Failure),
    /// Something to skip (`NLMSG_NOOP`, `NLMSG_OVERRUN`, other families).
    Ignored,
}

impl<D> Reply<D> {
    /// Whether this reply ends its request.
    pub(crate) fn is_final(&self) -> bool {
        matches!(self, Reply::Ack | Reply::Done | Reply::Failed(_))
    }
}

/// Decodes a frame of the IPVS family `family_id`.
pub(crate) fn decode(frame: &Frame<'_>, family_id: u16) -> Result<Reply, DecodeError> {
    decode_with(frame, family_id, IpvsMessage::parse_with_param)
}

/// Decodes a frame of the IPVS family `family_id`, a data message with
/// `data` (given its attributes, the bytes after the generic-netlink
/// header, and that header): typed readers skip the `IpvsMessage`.
pub(crate) fn decode_with<D>(
    frame: &Frame<'_>,
    family_id: u16,
    data: impl FnOnce(&[u8], GenlHeader) -> Result<D, DecodeError>,
) -> Result<Reply<D>, DecodeError> {
    match frame.message_type {
        NLMSG_ERROR => Ok(decode_error(frame)?.map_or(Reply::Ack, Reply::Failed)),
        NLMSG_DONE => {
            let code = frame.payload.get(..4).map_or(Ok(0), parse_code)?;
            Ok(if code < 0 {
                Reply::Failed(Failure {
                    errno: code.saturating_neg(),
                    message: ext_ack_message(frame.payload.get(4..).unwrap_or_default()),
                })
            } else {
                Reply::Done
            })
        }
        NLMSG_NOOP | NLMSG_OVERRUN => Ok(Reply::Ignored),
        t if t == family_id => {
            let header = GenlHeader::parse(frame.payload)?;
            let attrs = frame.payload.get(GENL_HEADER_LEN..).unwrap_or_default();
            Ok(Reply::Data(data(attrs, header)?))
        }
        _ => Ok(Reply::Ignored),
    }
}

/// `Ok(None)` for an ACK, `Ok(Some(failure))` for an error.
pub(crate) fn decode_error(frame: &Frame<'_>) -> Result<Option<Failure>, DecodeError> {
    let code = parse_code(frame.payload.get(..4).ok_or("short NLMSG_ERROR")?)?;
    if code == 0 {
        return Ok(None);
    }
    let original = frame.payload.get(4..).unwrap_or_default();
    let message = if frame.flags & NLM_F_ACK_TLVS != 0 {
        // The TLVs follow the echoed request: just its header when
        // NLM_F_CAPPED, the whole request otherwise.
        let echoed = if frame.flags & NLM_F_CAPPED != 0 {
            HEADER_LEN
        } else {
            original
                .get(..4)
                .and_then(|len| len.try_into().ok())
                .map_or(HEADER_LEN, |len| align(u32::from_ne_bytes(len) as usize))
        };
        original.get(echoed..).and_then(ext_ack_message)
    } else {
        None
    };
    Ok(Some(Failure {
        errno: code.saturating_neg(),
        message,
    }))
}

fn parse_code(bytes: &[u8]) -> Result<i32, DecodeError> {
    netlink_packet_core::parse_i32(bytes)
}

fn ext_ack_message(tlvs: &[u8]) -> Option<String> {
    NlasIterator::new(tlvs)
        .map_while(Result::ok)
        .find(|nla| nla.kind() == NLMSGERR_ATTR_MSG)
        .and_then(|nla| parse_string(nla.value()).ok())
        .filter(|msg| !msg.is_empty())
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

    fn error_frame(code: i32, flags: u16, tail: &[u8]) -> Vec<u8> {
        let mut payload = code.to_ne_bytes().to_vec();
        // The echoed request header: length 20, type 0x25.
        payload.extend([20, 0, 0, 0, 0x25, 0, 5, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        payload.extend(tail);
        let mut buf = ((16 + payload.len()) as u32).to_ne_bytes().to_vec();
        buf.extend(2u16.to_ne_bytes());
        buf.extend(flags.to_ne_bytes());
        buf.extend(9u32.to_ne_bytes());
        buf.extend(0u32.to_ne_bytes());
        buf.extend(payload);
        buf
    }

    #[test]
    fn acks_errors_and_extended_acks() {
        let ack = error_frame(0, NLM_F_CAPPED, &[]);
        let frame = frames(&ack).next().unwrap().unwrap();
        assert_eq!(decode(&frame, 0x25).unwrap(), Reply::Ack);

        let tlv = [12, 0, 1, 0, b'b', b'a', b'd', b'!', b'!', b'!', b'!', 0];
        let nack = error_frame(-22, NLM_F_CAPPED | NLM_F_ACK_TLVS, &tlv);
        let frame = frames(&nack).next().unwrap().unwrap();
        assert_eq!(
            decode(&frame, 0x25).unwrap(),
            Reply::Failed(Failure {
                errno: 22,
                message: Some("bad!!!!".into())
            })
        );

        // Not capped: the whole 20-byte request is echoed before the TLVs.
        let mut tail = vec![0u8; 4];
        tail.extend(tlv);
        let nack = error_frame(-17, NLM_F_ACK_TLVS, &tail);
        let frame = frames(&nack).next().unwrap().unwrap();
        assert_eq!(
            decode(&frame, 0x25).unwrap(),
            Reply::Failed(Failure {
                errno: 17,
                message: Some("bad!!!!".into())
            })
        );
    }

    #[test]
    fn done_and_bad_lengths() {
        let mut done = vec![20, 0, 0, 0, 3, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        done.extend(0i32.to_ne_bytes());
        let frame = frames(&done).next().unwrap().unwrap();
        assert_eq!(decode(&frame, 0x25).unwrap(), Reply::Done);
        done[16..20].copy_from_slice(&(-16i32).to_ne_bytes());
        let frame = frames(&done).next().unwrap().unwrap();
        assert!(matches!(
            decode(&frame, 0x25).unwrap(),
            Reply::Failed(Failure { errno: 16, .. })
        ));
        done[0] = 200;
        assert!(frames(&done).next().unwrap().is_err());
        assert!(frames(&done[..10]).next().unwrap().is_err());
    }

    #[test]
    fn family_id_reply() {
        let mut payload = vec![1u8, 2, 0, 0];
        payload.extend([
            9, 0, 2, 0, b'I', b'P', b'V', b'S', 0, 0, 0, 0, 6, 0, 1, 0, 0x25, 0, 0, 0,
        ]);
        let frame = Frame {
            message_type: 0x10,
            flags: 0,
            seq: 1,
            payload: &payload,
        };
        assert_eq!(decode_family_id(&frame).unwrap(), 0x25);
        let frame = Frame {
            message_type: 0x10,
            flags: 0,
            seq: 1,
            payload: &payload[..12],
        };
        assert!(decode_family_id(&frame).is_err());
    }
}
