//! Pipelined batches: many commands, one `send` per window, every answer
//! matched back to its command by sequence number.

use crate::{
    Command, IpvsError,
    handle::{IpvsHandle, REQUEST},
    wire::{self, Reply},
};

/// How much of a batch goes into one datagram.
///
/// The kernel processes every message of a datagram in order and queues one
/// acknowledgement per message on the socket; the window bounds those so
/// the receive buffer never overflows (`ENOBUFS`). Each window is drained
/// before the next is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchLimits {
    /// Most messages per datagram (at least 1).
    pub max_messages: usize,
    /// Most bytes per datagram; a single larger message is still sent alone.
    pub max_bytes: usize,
}

impl BatchLimits {
    /// A window of at most `max_messages` messages and `max_bytes` bytes.
    pub fn new(max_messages: usize, max_bytes: usize) -> Self {
        BatchLimits {
            max_messages: max_messages.max(1),
            max_bytes,
        }
    }
}

impl Default for BatchLimits {
    /// 256 messages or 64 KiB.
    fn default() -> Self {
        BatchLimits {
            max_messages: 256,
            max_bytes: 64 << 10,
        }
    }
}

impl IpvsHandle {
    /// The batch window of [`IpvsHandle::execute`].
    pub fn batch_limits(&self) -> BatchLimits {
        self.limits
    }

    /// Sets the batch window of [`IpvsHandle::execute`].
    pub fn set_batch_limits(&mut self, limits: BatchLimits) {
        self.limits = BatchLimits::new(limits.max_messages, limits.max_bytes);
    }

    /// Runs `commands` in order, pipelined: each window of
    /// [`BatchLimits`] is serialized into one buffer and written with one
    /// `send`; the kernel applies every message in order and acknowledges
    /// each. Returns one result per command, in the same order: a failing
    /// command does not stop or hide the others (later commands still run,
    /// e.g. adding real servers to a service whose creation failed fails
    /// with [`IpvsError::ServiceNotFound`]).
    ///
    /// The outer error is a socket or decode failure; the batch may then be
    /// partly applied.
    pub async fn execute(
        &mut self,
        commands: &[Command],
    ) -> Result<Vec<Result<(), IpvsError>>, IpvsError> {
        let mut results: Vec<Result<(), IpvsError>> = Vec::with_capacity(commands.len());
        let mut buf = Vec::new();
        let mut rest = commands;
        while !rest.is_empty() {
            buf.clear();
            let first_seq = self.take_seqs(rest.len().min(self.limits.max_messages));
            let mut count = 0;
            for command in rest.iter().take(self.limits.max_messages) {
                let before = buf.len();
                let seq = first_seq.wrapping_add(count as u32);
                wire::push_request(
                    &mut buf,
                    self.family_id(),
                    REQUEST,
                    seq,
                    command.to_message(),
                );
                if count > 0 && buf.len() > self.limits.max_bytes {
                    buf.truncate(before);
                    break;
                }
                count += 1;
            }
            let (window, next) = rest.split_at(count.min(rest.len()));
            let mut answers: Vec<Option<Result<(), IpvsError>>> =
                window.iter().map(|_| None).collect();
            self.exchange(&buf, first_seq, window.len(), |index, reply| {
                let (Some(answer), Some(command)) = (answers.get_mut(index), window.get(index))
                else {
                    return;
                };
                match reply {
                    Reply::Ack | Reply::Done => *answer = Some(Ok(())),
                    Reply::Failed(failure) => *answer = Some(Err(command.error(failure))),
                    Reply::Data(_) | Reply::Ignored => {}
                }
            })
            .await?;
            results.extend(answers.into_iter().map(|answer| answer.unwrap_or(Ok(()))));
            rest = next;
        }
        Ok(results)
    }
}

/// These run against the real kernel's nlctrl family, which every Linux has:
/// IPVS command numbers sent to it are rejected one by one, which exercises
/// the windows and the sequence matching without IPVS.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Scheduler, ServiceKey, VirtualService};

    /// `GENL_ID_CTRL`.
    const NLCTRL: u16 = 0x10;
    /// `EOPNOTSUPP`.
    const EOPNOTSUPP: i32 = 95;

    #[tokio::test]
    async fn every_command_of_every_window_gets_its_answer() {
        let mut handle = IpvsHandle::with_family_id(NLCTRL).unwrap();
        handle.set_batch_limits(BatchLimits::new(7, 1 << 16));
        let key = ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
        let commands: Vec<Command> = (0..600)
            .map(|i| match i % 3 {
                0 => Command::Flush,
                1 => Command::AddService(VirtualService::new(key, Scheduler::RR)),
                _ => Command::Zero(None),
            })
            .collect();
        let results = handle.execute(&commands).await.unwrap();
        assert_eq!(results.len(), commands.len());
        for result in results {
            assert_eq!(result.unwrap_err().errno(), Some(EOPNOTSUPP));
        }
    }

    #[tokio::test]
    async fn default_window_and_byte_limit() {
        let mut handle = IpvsHandle::with_family_id(NLCTRL).unwrap();
        let commands = vec![Command::Flush; 1000];
        let results = handle.execute(&commands).await.unwrap();
        assert!(
            results
                .iter()
                .all(|r| r.as_ref().is_err_and(|e| e.errno() == Some(EOPNOTSUPP)))
        );
        // A byte limit smaller than one message still sends one at a time.
        handle.set_batch_limits(BatchLimits::new(256, 1));
        let results = handle.execute(&commands[..20]).await.unwrap();
        assert_eq!(results.len(), 20);
        let single = handle.flush().await.unwrap_err();
        assert!(
            matches!(
                single,
                IpvsError::Kernel {
                    errno: EOPNOTSUPP,
                    ..
                }
            ),
            "{single}"
        );
    }
}
