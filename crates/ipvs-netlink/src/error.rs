//! [`IpvsError`]: every failure of this crate, with kernel errnos given their
//! meaning in context.

use std::{io, net::SocketAddr};

use libc::{EEXIST, ENOENT, EPERM, ESRCH};
use netlink_packet_core::DecodeError;
use netlink_transport::{KernelError, TransportError};

use crate::{DaemonState, ServiceKey};

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
    /// `NEW_DAEMON` for a sync daemon of a state that runs already
    /// (`EEXIST`).
    #[error("the {0} sync daemon is already running")]
    DaemonRunning(DaemonState),
    /// `DEL_DAEMON` for a sync daemon that does not run (`ESRCH`).
    #[error("no {0} sync daemon is running")]
    DaemonNotRunning(DaemonState),
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
    /// A reply could not be decoded into IPVS values.
    #[error("malformed netlink reply: {0}")]
    Decode(#[from] DecodeError),
    /// The netlink transport failed: the socket (this includes `ENOBUFS`
    /// when the receive buffer overflowed), a reply timeout, a dump
    /// interrupted too often, an undecodable datagram.
    #[error("{0}")]
    Transport(#[from] TransportError),
}

/// The generic meaning of a kernel refusal of `operation`: `EPERM` is
/// [`IpvsError::PermissionDenied`], anything else [`IpvsError::Kernel`].
pub(crate) fn from_kernel(err: KernelError, operation: impl Into<String>) -> IpvsError {
    let operation = operation.into();
    if err.errno == EPERM {
        IpvsError::PermissionDenied { operation }
    } else {
        IpvsError::Kernel {
            operation,
            errno: err.errno,
            message: err.message,
        }
    }
}

/// A transport error of `operation`: kernel refusals get the generic
/// meaning of [`from_kernel`].
pub(crate) fn from_transport(err: TransportError, operation: impl Into<String>) -> IpvsError {
    match err {
        TransportError::Kernel(err) => from_kernel(err, operation),
        other => other.into(),
    }
}

impl IpvsError {
    /// The kernel errno behind this error, if it came from the kernel.
    pub fn errno(&self) -> Option<i32> {
        match self {
            IpvsError::ServiceExists(_)
            | IpvsError::RealServerExists { .. }
            | IpvsError::DaemonRunning(_) => Some(EEXIST),
            IpvsError::ServiceNotFound(_) | IpvsError::DaemonNotRunning(_) => Some(ESRCH),
            IpvsError::RealServerNotFound { .. } | IpvsError::UnknownScheduler { .. } => {
                Some(ENOENT)
            }
            IpvsError::PermissionDenied { .. } => Some(EPERM),
            IpvsError::Kernel { errno, .. } => Some(*errno),
            IpvsError::Transport(err) => err.errno(),
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
        let err = from_kernel(
            KernelError {
                errno: 22,
                message: Some("bad attr".into()),
                request: Vec::new(),
            },
            "add service",
        );
        assert!(
            err.to_string()
                .starts_with("add service failed: Invalid argument"),
            "{err}"
        );
        assert!(err.to_string().ends_with(": bad attr"));
        assert_eq!(err.errno(), Some(22));
        let denied = from_kernel(
            KernelError {
                errno: 1,
                message: None,
                request: Vec::new(),
            },
            "flush",
        );
        assert_eq!(
            denied.to_string(),
            "flush: permission denied (IPVS needs CAP_NET_ADMIN)"
        );
        assert!(IpvsError::NotLoaded.to_string().contains("modprobe ip_vs"));
        let timeout = IpvsError::from(TransportError::Timeout(std::time::Duration::from_secs(10)));
        assert_eq!(timeout.to_string(), "no answer from the kernel within 10s");
        assert_eq!(timeout.errno(), Some(libc::ETIMEDOUT));
    }
}
