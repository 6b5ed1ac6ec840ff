//! [`TransportError`]: every failure of the transport, and
//! [`KernelError`], the kernel's negative answer to one message.

use std::{io, time::Duration};

use netlink_packet_core::DecodeError;

/// A negative answer from the kernel to one message (`NLMSG_ERROR` with a
/// non-zero code, or `NLMSG_DONE` carrying an error), before a library
/// gives it a meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// The positive errno (or subsystem code, e.g. ipset's 4097 and up).
    pub errno: i32,
    /// The extended-ack message (`NLMSGERR_ATTR_MSG`), if the kernel sent
    /// one.
    pub message: Option<String>,
    /// The request the kernel echoed back: only its 16-byte header when the
    /// ack is capped (`NETLINK_CAP_ACK`), the whole message otherwise (ipset
    /// always echoes the whole message of a failed element, with the
    /// failing line number in it). Empty for an error in `NLMSG_DONE`.
    pub request: Vec<u8>,
}

impl std::fmt::Display for KernelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", io::Error::from_raw_os_error(self.errno))?;
        match &self.message {
            Some(message) => write!(f, ": {message}"),
            None => Ok(()),
        }
    }
}

/// An error of the netlink transport.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The socket failed (this includes `ENOBUFS` when the receive buffer
    /// overflowed and answers were lost).
    #[error("netlink socket error: {0}")]
    Io(#[from] io::Error),
    /// The kernel sent nothing for this long while answers were due.
    #[error("no answer from the kernel within {0:?}")]
    Timeout(Duration),
    /// The kernel refused a message.
    #[error("kernel error: {0}")]
    Kernel(KernelError),
    /// A dump was interrupted (`NLM_F_DUMP_INTR`: the table changed while
    /// it was dumped, so the entries may be inconsistent); dumping again
    /// gives a consistent view.
    #[error("the dump was interrupted by a concurrent change (NLM_F_DUMP_INTR)")]
    DumpInterrupted,
    /// A datagram or message could not be decoded.
    #[error("malformed netlink reply: {0}")]
    Decode(#[from] DecodeError),
}

impl TransportError {
    /// The errno behind this error: the kernel's code, or the socket's.
    pub fn errno(&self) -> Option<i32> {
        match self {
            TransportError::Kernel(err) => Some(err.errno),
            TransportError::Io(err) => err.raw_os_error(),
            TransportError::Timeout(_) => Some(libc::ETIMEDOUT),
            TransportError::DumpInterrupted | TransportError::Decode(_) => None,
        }
    }
}

impl From<KernelError> for TransportError {
    fn from(err: KernelError) -> Self {
        TransportError::Kernel(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_errnos() {
        let err = TransportError::Kernel(KernelError {
            errno: libc::EINVAL,
            message: Some("bad attr".into()),
            request: Vec::new(),
        });
        assert_eq!(
            err.to_string(),
            "kernel error: Invalid argument (os error 22): bad attr"
        );
        assert_eq!(err.errno(), Some(22));
        let timeout = TransportError::Timeout(Duration::from_millis(20));
        assert_eq!(timeout.to_string(), "no answer from the kernel within 20ms");
        assert_eq!(timeout.errno(), Some(libc::ETIMEDOUT));
        assert_eq!(TransportError::DumpInterrupted.errno(), None);
        let io = TransportError::from(io::Error::from_raw_os_error(libc::ENOBUFS));
        assert_eq!(io.errno(), Some(libc::ENOBUFS));
    }
}
