//! Sequence matching, with no I/O: the requests of one sent window, each
//! answer matched back to its request by sequence number, until every
//! request has its final answer.

use netlink_packet_core::DecodeError;

use crate::{
    TransportError,
    frame::{self, Expect, Frame, Reply},
};

/// The result of one request.
pub type Outcome = Result<(), TransportError>;

/// The open requests of one window: sequence numbers `first_seq ..
/// first_seq + len`, in order.
#[derive(Debug)]
pub struct Window {
    first_seq: u32,
    slots: Vec<Slot>,
    open: usize,
}

#[derive(Debug)]
struct Slot {
    expect: Expect,
    finished: bool,
    interrupted: bool,
    outcome: Outcome,
}

impl Window {
    /// A window of requests with these expectations, the first one sent
    /// with sequence number `first_seq`.
    pub fn new(first_seq: u32, expects: impl IntoIterator<Item = Expect>) -> Self {
        let slots: Vec<Slot> = expects
            .into_iter()
            .map(|expect| Slot {
                expect,
                finished: false,
                interrupted: false,
                outcome: Ok(()),
            })
            .collect();
        Window {
            first_seq,
            open: slots.len(),
            slots,
        }
    }

    /// Whether every request has its final answer.
    pub fn is_complete(&self) -> bool {
        self.open == 0
    }

    /// Feeds one received datagram. Data messages of open requests go to
    /// `on_data` with the index of their request; an error it returns
    /// becomes that request's outcome (the first error wins) and reading
    /// goes on. Answers with an unknown or finished sequence number (stale
    /// answers of an abandoned call) are dropped.
    ///
    /// The error is a datagram that does not split into messages; the
    /// messages before the broken one are applied.
    pub fn feed(
        &mut self,
        datagram: &[u8],
        on_data: &mut impl FnMut(usize, &Frame<'_>) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        for frame in frame::frames(datagram) {
            self.feed_frame(&frame?, on_data);
        }
        Ok(())
    }

    fn feed_frame(
        &mut self,
        frame: &Frame<'_>,
        on_data: &mut impl FnMut(usize, &Frame<'_>) -> Result<(), DecodeError>,
    ) {
        let index = frame.seq.wrapping_sub(self.first_seq) as usize;
        let Some(slot) = self.slots.get_mut(index).filter(|slot| !slot.finished) else {
            return;
        };
        if slot.expect == Expect::Dump && frame.is_dump_interrupted() {
            slot.interrupted = true;
        }
        let finished = match frame::classify(frame) {
            Ok(Reply::Data(data)) => {
                if let Err(err) = on_data(index, &data) {
                    slot.fail(err.into());
                }
                slot.expect == Expect::Reply
            }
            Ok(Reply::Ack | Reply::Done) => true,
            Ok(Reply::Failed(err)) => {
                slot.fail(TransportError::Kernel(err));
                true
            }
            Ok(Reply::Ignored) => false,
            Err(err) => {
                // A broken control message is still the end of its request:
                // waiting on would hang until the timeout.
                slot.fail(err.into());
                true
            }
        };
        if finished {
            slot.finished = true;
            if slot.interrupted {
                slot.fail(TransportError::DumpInterrupted);
            }
            self.open -= 1;
        }
    }

    /// One outcome per request, in order. Requests still open count as
    /// answered (call this once [`Window::is_complete`]).
    pub fn finish(self) -> Vec<Outcome> {
        self.slots.into_iter().map(|slot| slot.outcome).collect()
    }
}

impl Slot {
    fn fail(&mut self, err: TransportError) {
        if self.outcome.is_ok() {
            self.outcome = Err(err);
        }
    }
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use netlink_packet_core::{NLM_F_CAPPED, NLM_F_DUMP_INTR, NLM_F_MULTIPART};

    use super::*;
    use crate::frame::tests::{data, done, error};

    fn collect(window: &mut Window, datagram: &[u8], seen: &mut Vec<(usize, Vec<u8>)>) {
        window
            .feed(datagram, &mut |index, frame| {
                seen.push((index, frame.payload.to_vec()));
                if frame.payload == [0xee] {
                    Err("bad entry".into())
                } else {
                    Ok(())
                }
            })
            .unwrap();
    }

    #[test]
    fn every_answer_goes_to_its_request_in_any_order() {
        let mut window = Window::new(100, [Expect::Ack, Expect::Dump, Expect::Ack, Expect::Reply]);
        let mut seen = Vec::new();
        let mut first = error(-17, NLM_F_CAPPED, 102, &[]);
        first.extend(data(NLM_F_MULTIPART, 101, &[1]));
        // Unknown sequence numbers, before and after the window, are dropped.
        first.extend(error(0, NLM_F_CAPPED, 99, &[]));
        first.extend(error(0, NLM_F_CAPPED, 104, &[]));
        first.extend(data(0, 7, &[9]));
        collect(&mut window, &first, &mut seen);
        assert!(!window.is_complete());
        let mut second = data(0, 103, &[3]);
        second.extend(data(NLM_F_MULTIPART, 101, &[2]));
        second.extend(error(0, NLM_F_CAPPED, 100, &[]));
        collect(&mut window, &second, &mut seen);
        assert!(!window.is_complete());
        // A finished request ignores later answers.
        let mut third = error(-1, NLM_F_CAPPED, 100, &[]);
        third.extend(done(0, NLM_F_MULTIPART, 101));
        collect(&mut window, &third, &mut seen);
        assert!(window.is_complete());
        assert_eq!(seen, [(1, vec![1]), (3, vec![3]), (1, vec![2])]);
        let outcomes = window.finish();
        assert!(outcomes[0].is_ok() && outcomes[1].is_ok() && outcomes[3].is_ok());
        assert!(matches!(&outcomes[2], Err(TransportError::Kernel(e)) if e.errno == 17));
    }

    #[test]
    fn done_with_error_ends_a_dump_with_that_error() {
        let mut window = Window::new(1, [Expect::Dump]);
        let mut datagram = data(NLM_F_MULTIPART, 1, &[1]);
        datagram.extend(done(-16, NLM_F_MULTIPART, 1));
        collect(&mut window, &datagram, &mut Vec::new());
        assert!(window.is_complete());
        assert!(matches!(&window.finish()[0], Err(TransportError::Kernel(e)) if e.errno == 16));
    }

    #[test]
    fn dump_intr_is_reported_after_the_dump_is_read() {
        let mut window = Window::new(u32::MAX, [Expect::Dump, Expect::Dump]);
        // Sequence numbers wrap: the second request has seq 0.
        let mut datagram = data(NLM_F_MULTIPART | NLM_F_DUMP_INTR, u32::MAX, &[1]);
        datagram.extend(data(NLM_F_MULTIPART, 0, &[2]));
        datagram.extend(done(0, NLM_F_MULTIPART, 0));
        let mut seen = Vec::new();
        collect(&mut window, &datagram, &mut seen);
        assert!(!window.is_complete());
        collect(
            &mut window,
            &data(NLM_F_MULTIPART, u32::MAX, &[3]),
            &mut seen,
        );
        collect(&mut window, &done(0, NLM_F_MULTIPART, u32::MAX), &mut seen);
        assert!(window.is_complete());
        assert_eq!(seen.len(), 3);
        let outcomes = window.finish();
        assert!(matches!(outcomes[0], Err(TransportError::DumpInterrupted)));
        assert!(outcomes[1].is_ok());
        // The flag on NLMSG_DONE alone counts too.
        let mut window = Window::new(5, [Expect::Dump]);
        collect(&mut window, &done(0, NLM_F_DUMP_INTR, 5), &mut Vec::new());
        assert!(matches!(
            window.finish()[0],
            Err(TransportError::DumpInterrupted)
        ));
    }

    #[test]
    fn a_bad_entry_fails_its_request_only_and_reading_goes_on() {
        let mut window = Window::new(1, [Expect::Dump, Expect::Ack]);
        let mut datagram = data(NLM_F_MULTIPART, 1, &[0xee]);
        datagram.extend(data(NLM_F_MULTIPART, 1, &[1]));
        datagram.extend(done(0, NLM_F_MULTIPART, 1));
        datagram.extend(error(0, NLM_F_CAPPED, 2, &[]));
        let mut seen = Vec::new();
        collect(&mut window, &datagram, &mut seen);
        assert!(window.is_complete());
        assert_eq!(seen.len(), 2);
        let outcomes = window.finish();
        assert!(matches!(outcomes[0], Err(TransportError::Decode(_))));
        assert!(outcomes[1].is_ok());
    }

    #[test]
    fn truncated_datagrams_never_panic() {
        let mut datagram = error(0, NLM_F_CAPPED, 1, &[]);
        datagram.extend(data(0, 2, &[1, 2, 3, 4]));
        for cut in 0..datagram.len() {
            let mut window = Window::new(1, [Expect::Ack, Expect::Reply]);
            let result = window.feed(&datagram[..cut], &mut |_, _| Ok(()));
            assert_eq!(result.is_ok(), cut == 0 || cut == 36, "cut {cut}");
            assert!(!window.is_complete());
        }
        // A short NLMSG_ERROR still ends its request, with a decode error.
        let mut window = Window::new(1, [Expect::Ack]);
        let mut short = error(0, 0, 1, &[]);
        short.truncate(18);
        short[0] = 18;
        window.feed(&short, &mut |_, _| Ok(())).unwrap();
        assert!(window.is_complete());
        assert!(matches!(window.finish()[0], Err(TransportError::Decode(_))));
    }
}
