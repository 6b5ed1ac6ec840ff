//! [`IpvsError`]: every failure of this crate, with kernel errnos given their
//! meaning in context.

use std::{io, net::SocketAddr};

use netlink_packet_core::DecodeError;

use crate::ServiceKey;

/// `EPERM`.
pub(crate) const EPERM: i32 = 1;
/// `ENOENT`.
pub(crate) const ENOENT: i32 = 2;
/// `ESRCH`.
pub(crate) const ESRCH: i32 = 3;
/// `EEXIST`.
pub(crate) const EEXIST: i32 = 17;

/// An error of the IPVS client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IpvsError {
    /// `NEW_SERVICE` for a service that exists (`EEXIST`).
    #[error("service {0} already exists")]
    ServiceExists(ServiceKey),
    /// The service does not exist (`ESRCH`).
    #[error("service {0} does not exist")]
    ServiceNotFound(ServiceKey),
    /// `NEW_DEST` for a real server that exists (`EEXIST`).
    #[error("real server {server} already exists in service {service}")]
    RealServerExists {
        /// The service.
        service: ServiceKey,
        /// The real server.
        server: SocketAddr,
    },
    /// `SET_DEST` / `DEL_DEST` for a real server that does not exist
    /// (`ENOENT`).
    #[error("real server {server} does not exist in service {service}")]
    RealServerNotFound {
        /// The service.
        service: ServiceKey,
        /// The real server.
        server: SocketAddr,
    },
    /// `NEW_SERVICE` / `SET_SERVICE` named a scheduler the kernel does not
    /// have (`ENOENT`).
    #[error(
        "scheduler {name:?} of service {service} is not available in the kernel \
         (is the ip_vs_{name} module loadable?)"
    )]
    UnknownScheduler {
        /// The service.
        service: ServiceKey,
        /// The scheduler name.
        name: String,
    },
    /// The kernel has no "IPVS" generic-netlink family.
    #[error(
        "IPVS is not available: the kernel has no \"IPVS\" generic netlink family \
         (load it with `modprobe ip_vs`)"
    )]
    NotLoaded,
    /// The kernel refused the operation (`EPERM`).
    #[error("{operation}: permission denied (IPVS needs CAP_NET_ADMIN)")]
    PermissionDenied {
        /// What was attempted.
        operation: String,
    },
    /// Any other kernel error, with the extended-ack message when the kernel
    /// sent one.
    #[error(
        "{operation} failed: {}{}",
        io::Error::from_raw_os_error(*errno),
        message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
    )]
    Kernel {
        /// What was attempted.
        operation: String,
        /// The positive errno.
        errno: i32,
        /// `NLMSGERR_ATTR_MSG`, if any.
        message: Option<String>,
    },
    /// A reply could not be decoded.
    #[error("malformed netlink reply: {0}")]
    Decode(#[from] DecodeError),
    /// The socket failed (this includes `ENOBUFS` when the receive buffer
    /// overflowed, and `TimedOut` when the kernel did not answer).
    #[error("netlink socket error: {0}")]
    Io(#[from] io::Error),
}

/// A negative answer from the kernel, before it is given a meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// Positive errno.
    pub errno: i32,
    /// Extended-ack message.
    pub message: Option<String>,
}

impl Failure {
    /// The generic meaning: `EPERM` is [`IpvsError::PermissionDenied`],
    /// anything else [`IpvsError::Kernel`].
    pub(crate) fn into_error(self, operation: impl Into<String>) -> IpvsError {
        let operation = operation.into();
        if self.errno == EPERM {
            IpvsError::PermissionDenied { operation }
        } else {
            IpvsError::Kernel {
                operation,
                errno: self.errno,
                message: self.message,
            }
        }
    }
}

impl IpvsError {
    /// The kernel errno behind this error, if it came from the kernel.
    pub fn errno(&self) -> Option<i32> {
        match self {
            IpvsError::ServiceExists(_) | IpvsError::RealServerExists { .. } => Some(EEXIST),
            IpvsError::ServiceNotFound(_) => Some(ESRCH),
            IpvsError::RealServerNotFound { .. } | IpvsError::UnknownScheduler { .. } => {
                Some(ENOENT)
            }
            IpvsError::PermissionDenied { .. } => Some(EPERM),
            IpvsError::Kernel { errno, .. } => Some(*errno),
            IpvsError::Io(err) => err.raw_os_error(),
            IpvsError::NotLoaded | IpvsError::Decode(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_failed() {
        let key = ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
        assert_eq!(
            IpvsError::ServiceExists(key).to_string(),
            "service TCP 10.0.0.1:80 already exists"
        );
        let err = Failure {
            errno: 22,
            message: Some("bad attr".into()),
        }
        .into_error("add service");
        assert!(
            err.to_string()
                .starts_with("add service failed: Invalid argument"),
            "{err}"
        );
        assert!(err.to_string().ends_with(": bad attr"));
        assert_eq!(err.errno(), Some(22));
        let denied = Failure {
            errno: 1,
            message: None,
        }
        .into_error("flush");
        assert_eq!(
            denied.to_string(),
            "flush: permission denied (IPVS needs CAP_NET_ADMIN)"
        );
        assert!(IpvsError::NotLoaded.to_string().contains("modprobe ip_vs"));
    }
}
