//! The transport against the real kernel's nlctrl generic-netlink family,
//! which every Linux has (no privileges needed).

use std::time::{Duration, Instant};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_NOOP, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_generic::{
    GenlMessage,
    ctrl::{GenlCtrl, GenlCtrlCmd, nlas::GenlCtrlAttrs},
};
use netlink_sys::protocols::NETLINK_GENERIC;

use crate::{
    BatchLimits, BlockingTransport, Frame, OnError, Request, Transport, TransportError, push,
};

/// `CTRL_CMD_GETFAMILY` for one family name, or a dump of all families.
struct GetFamily {
    name: Option<&'static str>,
    flags: u16,
}

impl Request for GetFamily {
    fn write(&self, seq: u32, buf: &mut Vec<u8>) {
        let ctrl = GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: self
                .name
                .map(|n| GenlCtrlAttrs::FamilyName(n.to_owned()))
                .into_iter()
                .collect(),
        };
        push(buf, self.flags, seq, GenlMessage::from_payload(ctrl));
    }
}

/// A bare `NLMSG_NOOP` without `NLM_F_ACK`: the kernel answers nothing.
struct Noop;

impl Request for Noop {
    fn write(&self, seq: u32, buf: &mut Vec<u8>) {
        let mut header = NetlinkHeader::default();
        header.message_type = NLMSG_NOOP;
        header.flags = NLM_F_REQUEST;
        header.sequence_number = seq;
        header.length = 16;
        let message = NetlinkMessage::<GenlMessage<GenlCtrl>>::new(header, NetlinkPayload::Noop);
        let start = buf.len();
        buf.resize(start + 16, 0);
        message.serialize(&mut buf[start..]);
    }
}

fn family_names(frame: &Frame<'_>) -> Result<Option<String>, netlink_packet_core::DecodeError> {
    let message = NetlinkMessage::<GenlMessage<GenlCtrl>>::deserialize(frame.bytes)?;
    let NetlinkPayload::InnerMessage(genl) = message.payload else {
        return Ok(None);
    };
    Ok(genl.payload.nlas.into_iter().find_map(|nla| match nla {
        GenlCtrlAttrs::FamilyName(name) => Some(name),
        _ => None,
    }))
}

const ACKED: u16 = NLM_F_REQUEST | NLM_F_ACK;

#[tokio::test]
async fn a_batch_gets_one_result_per_request_across_windows() {
    let mut transport = Transport::open(NETLINK_GENERIC).unwrap();
    transport.set_limits(BatchLimits::new(3, 1 << 16));
    let requests: Vec<GetFamily> = (0..50)
        .map(|i| GetFamily {
            name: Some(if i % 5 == 0 {
                "no-such-family"
            } else {
                "nlctrl"
            }),
            flags: ACKED,
        })
        .collect();
    let mut names = vec![Vec::new(); requests.len()];
    let results = transport
        .execute(&requests, OnError::Continue, |index, frame| {
            names[index].extend(family_names(frame)?);
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(results.len(), 50);
    for (i, (result, names)) in results.iter().zip(&names).enumerate() {
        if i % 5 == 0 {
            assert_eq!(result.as_ref().unwrap_err().errno(), Some(libc::ENOENT));
            assert!(names.is_empty());
        } else {
            assert!(result.is_ok(), "{i}: {result:?}");
            assert_eq!(names, &["nlctrl"]);
        }
    }
    // Stop after the first window with a failure: requests 0..3.
    let results = transport
        .execute(&requests, OnError::Stop, |_, _| Ok(()))
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
}

#[tokio::test]
async fn dumps_are_read_to_done_and_clones_share_the_socket() {
    let transport = Transport::open(NETLINK_GENERIC).unwrap();
    let clone = transport.clone();
    let dump = GetFamily {
        name: None,
        flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP,
    };
    let (a, b) = tokio::join!(
        transport.dump(&dump, family_names),
        clone.dump(&dump, family_names)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.contains(&"nlctrl".to_owned()), "{a:?}");
    assert_eq!(a, b);
    // A dump and acked requests in one batch: the dump ends its window.
    let batch = [
        dump,
        GetFamily {
            name: Some("nlctrl"),
            flags: ACKED,
        },
    ];
    let mut count = [0; 2];
    let results = transport
        .execute(&batch, OnError::Continue, |index, _| {
            count[index] += 1;
            Ok(())
        })
        .await
        .unwrap();
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(count, [a.len(), 1]);
}

#[tokio::test]
async fn a_request_without_answer_times_out_and_the_socket_goes_on() {
    let mut transport = Transport::open(NETLINK_GENERIC).unwrap();
    transport.set_reply_timeout(Duration::from_millis(200));
    let start = Instant::now();
    let err = transport
        .request(&Noop, |_| Ok(Some(())))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::Timeout(t) if t == Duration::from_millis(200)),
        "{err}"
    );
    assert!(start.elapsed() >= Duration::from_millis(200));
    // The same socket still answers the next request.
    let names = transport
        .request(
            &GetFamily {
                name: Some("nlctrl"),
                flags: ACKED,
            },
            family_names,
        )
        .await
        .unwrap();
    assert_eq!(names, ["nlctrl"]);
}

/// The blocking transport: the same windows, per-request results, dumps
/// and timeout, without a runtime.
#[test]
fn the_blocking_transport_batches_dumps_and_times_out() {
    let mut transport = BlockingTransport::open(NETLINK_GENERIC).unwrap();
    transport.set_limits(BatchLimits::new(4, 1 << 16));
    let requests: Vec<GetFamily> = (0..30)
        .map(|i| GetFamily {
            name: Some(if i % 7 == 3 {
                "no-such-family"
            } else {
                "nlctrl"
            }),
            flags: ACKED,
        })
        .collect();
    let mut answered = vec![0; requests.len()];
    let results = transport
        .execute(&requests, OnError::Continue, |index, _| {
            answered[index] += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(results.len(), 30);
    for (i, result) in results.iter().enumerate() {
        if i % 7 == 3 {
            assert_eq!(result.as_ref().unwrap_err().errno(), Some(libc::ENOENT));
            assert_eq!(answered[i], 0);
        } else {
            assert!(result.is_ok(), "{i}: {result:?}");
            assert_eq!(answered[i], 1);
        }
    }
    // Stop after the first window with a failure: requests 0..4.
    let stopped = transport
        .execute(&requests, OnError::Stop, |_, _| Ok(()))
        .unwrap();
    assert_eq!(stopped.len(), 4);
    let dump = GetFamily {
        name: None,
        flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP,
    };
    let names = transport.dump(&dump, family_names).unwrap();
    assert!(names.contains(&"nlctrl".to_owned()), "{names:?}");
    transport.set_reply_timeout(Duration::from_millis(200));
    let start = Instant::now();
    let err = transport.request(&Noop, |_| Ok(Some(()))).unwrap_err();
    assert!(matches!(err, TransportError::Timeout(_)), "{err}");
    assert!(start.elapsed() >= Duration::from_millis(200));
    let again = transport
        .request(
            &GetFamily {
                name: Some("nlctrl"),
                flags: ACKED,
            },
            family_names,
        )
        .unwrap();
    assert_eq!(again, ["nlctrl"]);
}
