//! Framing, with no I/O: requests appended to one send buffer, datagrams
//! split into messages, and the netlink control messages (`NLMSG_ERROR`
//! with extended acks, `NLMSG_DONE` with or without an error) decoded.

use netlink_packet_core::{
    DecodeError, Emitable, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_DUMP_INTR,
    NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NetlinkHeader, NetlinkMessage,
    NetlinkPayload, NetlinkSerializable, NlasIterator, parse_i32, parse_string,
};

use crate::KernelError;

/// Size of `struct nlmsghdr`.
pub const HEADER_LEN: usize = 16;
/// `NLMSGERR_ATTR_MSG`.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// Appends `message` as one netlink message with `flags` and sequence
/// number `seq` (port id 0: to the kernel) to `buf`.
pub fn push<M: NetlinkSerializable>(buf: &mut Vec<u8>, flags: u16, seq: u32, message: M) {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
    message.finalize();
    let start = buf.len();
    let len = message.buffer_len();
    buf.resize(start + len, 0);
    if let Some(dst) = buf.get_mut(start..) {
        message.emit(dst);
    }
    // The next message starts 4-byte aligned.
    buf.resize(start + align(len), 0);
}

/// One netlink message of a datagram, not yet decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// `nlmsg_type`.
    pub message_type: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// The whole message, header included (`nlmsg_len` bytes).
    pub bytes: &'a [u8],
    /// Everything after the 16-byte header.
    pub payload: &'a [u8],
}

impl Frame<'_> {
    /// Whether the kernel flagged this part of a dump `NLM_F_DUMP_INTR`.
    pub fn is_dump_interrupted(&self) -> bool {
        self.flags & NLM_F_DUMP_INTR != 0
    }
}

/// Splits a datagram into frames. A message whose length does not fit ends
/// the iteration with an error; nothing panics.
pub fn frames(datagram: &[u8]) -> impl Iterator<Item = Result<Frame<'_>, DecodeError>> {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match split_frame(rest) {
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
    let u32_at = |at: usize| {
        header
            .get(at..at + 4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u16_at = |at: usize| {
        header
            .get(at..at + 2)
            .map(|b| u16::from_ne_bytes([b[0], b[1]]))
    };
    let short = || DecodeError::from("short netlink header");
    let len = u32_at(0).ok_or_else(short)? as usize;
    if len < HEADER_LEN || len > buf.len() {
        return Err(format!(
            "netlink message length {len} in a {} byte buffer",
            buf.len()
        )
        .into());
    }
    let frame = Frame {
        message_type: u16_at(4).ok_or_else(short)?,
        flags: u16_at(6).ok_or_else(short)?,
        seq: u32_at(8).ok_or_else(short)?,
        bytes: buf.get(..len).unwrap_or_default(),
        payload: buf.get(HEADER_LEN..len).unwrap_or_default(),
    };
    let next = buf.get(align(len)..).unwrap_or_default();
    Ok((frame, next))
}

const fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// What a reply frame is, for the request it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<'a> {
    /// A data message (a dump entry or the answer to a get).
    Data(Frame<'a>),
    /// A positive acknowledgement.
    Ack,
    /// `NLMSG_DONE` without an error: the dump is finished.
    Done,
    /// A negative acknowledgement, or a dump that ended with an error.
    Failed(KernelError),
    /// Something to skip (`NLMSG_NOOP`, `NLMSG_OVERRUN`).
    Ignored,
}

/// Decodes the control part of a frame; data messages are handed back
/// undecoded.
pub fn classify<'a>(frame: &Frame<'a>) -> Result<Reply<'a>, DecodeError> {
    match frame.message_type {
        NLMSG_ERROR => Ok(decode_error(frame)?.map_or(Reply::Ack, Reply::Failed)),
        NLMSG_DONE => {
            // The code is optional in NLMSG_DONE (old kernels send none).
            let code = frame.payload.get(..4).map_or(Ok(0), parse_i32)?;
            Ok(if code < 0 {
                Reply::Failed(KernelError {
                    errno: code.saturating_neg(),
                    message: ext_ack_message(frame.payload.get(4..).unwrap_or_default()),
                    request: Vec::new(),
                })
            } else {
                Reply::Done
            })
        }
        NLMSG_NOOP | NLMSG_OVERRUN => Ok(Reply::Ignored),
        _ => Ok(Reply::Data(*frame)),
    }
}

/// `Ok(None)` for an ACK, `Ok(Some(error))` for a negative answer.
fn decode_error(frame: &Frame<'_>) -> Result<Option<KernelError>, DecodeError> {
    let code = parse_i32(frame.payload.get(..4).ok_or("short NLMSG_ERROR")?)?;
    if code == 0 {
        return Ok(None);
    }
    let original = frame.payload.get(4..).unwrap_or_default();
    // The echoed request: just its header when NLM_F_CAPPED, the whole
    // request otherwise (its own length says how long).
    let echoed = if frame.flags & NLM_F_CAPPED != 0 {
        HEADER_LEN
    } else {
        original
            .get(..4)
            .and_then(|len| len.try_into().ok())
            .map_or(HEADER_LEN, |len| u32::from_ne_bytes(len) as usize)
    };
    let request = original.get(..echoed).unwrap_or(original).to_vec();
    let message = if frame.flags & NLM_F_ACK_TLVS != 0 {
        original.get(align(echoed)..).and_then(ext_ack_message)
    } else {
        None
    };
    Ok(Some(KernelError {
        errno: code.saturating_neg(),
        message,
        request,
    }))
}

fn ext_ack_message(tlvs: &[u8]) -> Option<String> {
    NlasIterator::new(tlvs)
        .map_while(Result::ok)
        .find(|nla| nla.kind() == NLMSGERR_ATTR_MSG)
        .and_then(|nla| parse_string(nla.value()).ok())
        .filter(|msg| !msg.is_empty())
}

/// What answer finishes a request, read from its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// `NLM_F_ACK`: data messages, if any, then an ACK or an error.
    Ack,
    /// Neither `NLM_F_ACK` nor `NLM_F_DUMP`: one data message or an error.
    Reply,
    /// `NLM_F_DUMP`: data messages until `NLMSG_DONE` (or an error).
    Dump,
}

impl Expect {
    /// The expectation of a request sent with `flags`.
    pub fn from_flags(flags: u16) -> Self {
        if flags & NLM_F_DUMP == NLM_F_DUMP {
            Expect::Dump
        } else if flags & NLM_F_ACK != 0 {
            Expect::Ack
        } else {
            Expect::Reply
        }
    }

    /// The expectation of the serialized request at the start of `message`
    /// (its flags are bytes 6..8); a request too short to have flags is
    /// taken to expect an ACK.
    pub fn of_request(message: &[u8]) -> Self {
        match message.get(6..8) {
            Some(&[a, b]) => Expect::from_flags(u16::from_ne_bytes([a, b])),
            _ => Expect::Ack,
        }
    }
}

#[cfg(all(test, target_endian = "little"))]
pub(crate) mod tests {
    use netlink_packet_core::{NLM_F_REQUEST, NetlinkDeserializable, NetlinkHeader};

    use super::*;

    /// A minimal payload type: raw bytes with message type 0x25.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Raw(Vec<u8>);

    impl NetlinkSerializable for Raw {
        fn message_type(&self) -> u16 {
            0x25
        }
        fn buffer_len(&self) -> usize {
            self.0.len()
        }
        fn serialize(&self, buffer: &mut [u8]) {
            buffer.copy_from_slice(&self.0);
        }
    }

    impl NetlinkDeserializable for Raw {
        type Error = DecodeError;
        fn deserialize(_: &NetlinkHeader, payload: &[u8]) -> Result<Self, Self::Error> {
            Ok(Raw(payload.to_vec()))
        }
    }

    fn message(message_type: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut buf = ((HEADER_LEN + payload.len()) as u32).to_ne_bytes().to_vec();
        buf.extend(message_type.to_ne_bytes());
        buf.extend(flags.to_ne_bytes());
        buf.extend(seq.to_ne_bytes());
        buf.extend(0u32.to_ne_bytes());
        buf.extend(payload);
        buf.resize(align(buf.len()), 0);
        buf
    }

    /// An NLMSG_ERROR answering a 20-byte request of type 0x25, seq `seq`.
    pub(crate) fn error(code: i32, flags: u16, seq: u32, tail: &[u8]) -> Vec<u8> {
        let mut payload = code.to_ne_bytes().to_vec();
        payload.extend([20, 0, 0, 0, 0x25, 0, 5, 0]);
        payload.extend(seq.to_ne_bytes());
        payload.extend([0, 0, 0, 0]);
        payload.extend(tail);
        message(NLMSG_ERROR, flags, seq, &payload)
    }

    /// An NLMSG_DONE with `code`.
    pub(crate) fn done(code: i32, flags: u16, seq: u32) -> Vec<u8> {
        message(NLMSG_DONE, flags, seq, &code.to_ne_bytes())
    }

    /// A data message of type 0x25.
    pub(crate) fn data(flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        message(0x25, flags, seq, payload)
    }

    #[test]
    fn requests_are_framed_and_split_back() {
        let mut buf = Vec::new();
        push(&mut buf, NLM_F_REQUEST | NLM_F_ACK, 7, Raw(vec![1, 2, 3]));
        push(&mut buf, NLM_F_REQUEST | NLM_F_DUMP, 8, Raw(vec![4; 4]));
        assert_eq!(
            &buf[..20],
            &[
                19, 0, 0, 0, 0x25, 0, 5, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0
            ]
        );
        assert_eq!(buf.len(), 20 + 20);
        let frames: Vec<_> = frames(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].payload, &[1, 2, 3]);
        assert_eq!(frames[0].bytes.len(), 19);
        assert_eq!((frames[1].seq, frames[1].payload), (8, &[4u8; 4][..]));
        assert_eq!(Expect::of_request(frames[0].bytes), Expect::Ack);
        assert_eq!(Expect::of_request(frames[1].bytes), Expect::Dump);
        assert_eq!(Expect::from_flags(NLM_F_REQUEST), Expect::Reply);
        assert_eq!(Expect::of_request(&[1, 2]), Expect::Ack);
        let parsed = NetlinkMessage::<Raw>::deserialize(frames[1].bytes).unwrap();
        assert_eq!(
            parsed.payload,
            NetlinkPayload::InnerMessage(Raw(vec![4; 4]))
        );
    }

    #[test]
    fn acks_errors_and_extended_acks() {
        let ack = error(0, NLM_F_CAPPED, 9, &[]);
        let frame = frames(&ack).next().unwrap().unwrap();
        assert_eq!(classify(&frame).unwrap(), Reply::Ack);

        let tlv = [12, 0, 1, 0, b'b', b'a', b'd', b'!', b'!', b'!', b'!', 0];
        let nack = error(-22, NLM_F_CAPPED | NLM_F_ACK_TLVS, 9, &tlv);
        let frame = frames(&nack).next().unwrap().unwrap();
        let Reply::Failed(err) = classify(&frame).unwrap() else {
            panic!("not a failure");
        };
        assert_eq!((err.errno, err.message.as_deref()), (22, Some("bad!!!!")));
        assert_eq!(err.request.len(), HEADER_LEN);

        // Not capped: the whole 20-byte request is echoed before the TLVs.
        let mut tail = vec![7u8; 4];
        tail.extend(tlv);
        let nack = error(-17, NLM_F_ACK_TLVS, 9, &tail);
        let frame = frames(&nack).next().unwrap().unwrap();
        let Reply::Failed(err) = classify(&frame).unwrap() else {
            panic!("not a failure");
        };
        assert_eq!((err.errno, err.message.as_deref()), (17, Some("bad!!!!")));
        assert_eq!(err.request.len(), 20);
        assert_eq!(&err.request[16..], &[7; 4]);

        // Without NLM_F_ACK_TLVS, trailing bytes are not a message.
        let nack = error(-17, 0, 9, &tail);
        let frame = frames(&nack).next().unwrap().unwrap();
        assert!(matches!(
            classify(&frame).unwrap(),
            Reply::Failed(KernelError { message: None, .. })
        ));
    }

    #[test]
    fn done_with_and_without_error() {
        let ok = done(0, NLM_F_DUMP_INTR, 3);
        let frame = frames(&ok).next().unwrap().unwrap();
        assert_eq!(classify(&frame).unwrap(), Reply::Done);
        assert!(frame.is_dump_interrupted());
        let mut failed = done(-16, 0, 3);
        failed.extend([12, 0, 1, 0, b'b', b'u', b's', b'y', b'!', b'!', b'!', 0]);
        failed[0] = 32;
        let frame = frames(&failed).next().unwrap().unwrap();
        assert!(!frame.is_dump_interrupted());
        assert_eq!(
            classify(&frame).unwrap(),
            Reply::Failed(KernelError {
                errno: 16,
                message: Some("busy!!!".into()),
                request: Vec::new()
            })
        );
        // Old kernels send NLMSG_DONE without a code.
        let bare = message(NLMSG_DONE, 0, 3, &[]);
        assert_eq!(
            classify(&frames(&bare).next().unwrap().unwrap()).unwrap(),
            Reply::Done
        );
        let noop = message(NLMSG_NOOP, 0, 3, &[]);
        assert_eq!(
            classify(&frames(&noop).next().unwrap().unwrap()).unwrap(),
            Reply::Ignored
        );
        let data = data(0, 3, &[1]);
        assert!(
            matches!(classify(&frames(&data).next().unwrap().unwrap()).unwrap(), Reply::Data(f) if f.payload == [1])
        );
    }

    #[test]
    fn truncated_datagrams_are_errors_not_panics() {
        let mut datagram = data(0, 1, &[1, 2, 3, 4]);
        datagram.extend(error(0, NLM_F_CAPPED, 1, &[]));
        for cut in 0..datagram.len() {
            let parts: Vec<_> = frames(&datagram[..cut]).collect();
            // Whole messages come out; a cut one ends the iteration with an error.
            let whole = usize::from(cut >= 20) + usize::from(cut >= datagram.len());
            assert_eq!(
                parts.iter().filter(|p| p.is_ok()).count(),
                whole,
                "cut {cut}"
            );
            assert!(
                parts
                    .iter()
                    .take(parts.len().saturating_sub(1))
                    .all(Result::is_ok)
            );
            for frame in parts.into_iter().flatten() {
                let _ = classify(&frame);
            }
        }
        // A length below the header size, and a short NLMSG_ERROR.
        let mut bad = data(0, 1, &[]);
        bad[0] = 4;
        assert!(frames(&bad).next().unwrap().is_err());
        let short = message(NLMSG_ERROR, 0, 1, &[0, 0]);
        assert!(classify(&frames(&short).next().unwrap().unwrap()).is_err());
        // An error whose echoed length points past the end keeps what is there.
        let mut payload = (-1i32).to_ne_bytes().to_vec();
        payload.extend(200u32.to_ne_bytes());
        let odd = message(NLMSG_ERROR, NLM_F_ACK_TLVS, 1, &payload);
        assert!(matches!(
            classify(&frames(&odd).next().unwrap().unwrap()).unwrap(),
            Reply::Failed(KernelError {
                errno: 1,
                message: None,
                ..
            })
        ));
    }
}
