//! [`Command`]: the mutations, as values, for [`IpvsHandle::execute`]
//! batches and the single-shot methods alike.
//!
//! [`IpvsHandle::execute`]: crate::IpvsHandle::execute

use std::net::SocketAddr;

use libc::{EEXIST, ENOENT, ESRCH};
use netlink_transport::KernelError;

use crate::{
    DaemonState, IpvsError, RealServer, ServiceKey, SyncDaemon, Timeouts, VirtualService,
    error::from_kernel,
    model::{destination_reference, service_key, service_lookup, service_reference},
    packet::{IpvsAttribute, IpvsCmd, IpvsMessage},
};

/// One IPVS mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `NEW_SERVICE` (`ipvsadm -A`).
    AddService(VirtualService),
    /// `SET_SERVICE` (`ipvsadm -E`).
    UpdateService(VirtualService),
    /// `DEL_SERVICE` (`ipvsadm -D`).
    DeleteService(ServiceKey),
    /// `NEW_DEST` (`ipvsadm -a`).
    AddRealServer(ServiceKey, RealServer),
    /// `SET_DEST` (`ipvsadm -e`).
    UpdateRealServer(ServiceKey, RealServer),
    /// `DEL_DEST` (`ipvsadm -d`).
    DeleteRealServer(ServiceKey, SocketAddr),
    /// `FLUSH` (`ipvsadm -C`): delete every service.
    Flush,
    /// `SET_CONFIG` (`ipvsadm --set`).
    SetTimeouts(Timeouts),
    /// `ZERO` (`ipvsadm -Z`): one service's counters, or all.
    Zero(Option<ServiceKey>),
    /// `NEW_DAEMON` (`ipvsadm --start-daemon`): start a sync daemon.
    StartDaemon(SyncDaemon),
    /// `DEL_DAEMON` (`ipvsadm --stop-daemon`): stop the master or backup
    /// sync daemon.
    StopDaemon(DaemonState),
}

impl Command {
    /// The request message.
    pub fn to_message(&self) -> IpvsMessage {
        let service = |key: &ServiceKey| IpvsAttribute::Service(service_reference(key));
        let (cmd, attributes) = match self {
            Command::AddService(svc) => (
                IpvsCmd::NewService,
                vec![IpvsAttribute::Service(svc.to_attributes())],
            ),
            Command::UpdateService(svc) => (
                IpvsCmd::SetService,
                vec![IpvsAttribute::Service(svc.to_attributes())],
            ),
            Command::DeleteService(key) => (IpvsCmd::DelService, vec![service(key)]),
            Command::AddRealServer(key, rs) => (
                IpvsCmd::NewDest,
                vec![service(key), IpvsAttribute::Destination(rs.to_attributes())],
            ),
            Command::UpdateRealServer(key, rs) => (
                IpvsCmd::SetDest,
                vec![service(key), IpvsAttribute::Destination(rs.to_attributes())],
            ),
            Command::DeleteRealServer(key, addr) => (
                IpvsCmd::DelDest,
                vec![
                    service(key),
                    IpvsAttribute::Destination(destination_reference(*addr)),
                ],
            ),
            Command::Flush => (IpvsCmd::Flush, vec![]),
            Command::SetTimeouts(timeouts) => (IpvsCmd::SetConfig, timeouts.to_attributes()),
            Command::Zero(None) => (IpvsCmd::Zero, vec![]),
            Command::Zero(Some(key)) => (IpvsCmd::Zero, vec![service(key)]),
            Command::StartDaemon(daemon) => (
                IpvsCmd::NewDaemon,
                vec![IpvsAttribute::Daemon(daemon.to_attributes())],
            ),
            // As ipvsadm sends it: the kernel reads only the state.
            Command::StopDaemon(state) => (
                IpvsCmd::DelDaemon,
                vec![IpvsAttribute::Daemon(
                    SyncDaemon::new(*state, "", 0).to_attributes(),
                )],
            ),
        };
        IpvsMessage::new(cmd, attributes)
    }

    /// What this command does, for error messages.
    pub fn describe(&self) -> String {
        match self {
            Command::AddService(svc) => format!("add service {}", svc.key),
            Command::UpdateService(svc) => format!("update service {}", svc.key),
            Command::DeleteService(key) => format!("delete service {key}"),
            Command::AddRealServer(key, rs) => {
                format!("add real server {} to service {key}", rs.addr)
            }
            Command::UpdateRealServer(key, rs) => {
                format!("update real server {} of service {key}", rs.addr)
            }
            Command::DeleteRealServer(key, addr) => {
                format!("delete real server {addr} of service {key}")
            }
            Command::Flush => "flush".to_owned(),
            Command::SetTimeouts(_) => "set timeouts".to_owned(),
            Command::Zero(None) => "zero all counters".to_owned(),
            Command::Zero(Some(key)) => format!("zero counters of service {key}"),
            Command::StartDaemon(daemon) => format!(
                "start the {} sync daemon on {}",
                daemon.state, daemon.interface
            ),
            Command::StopDaemon(state) => format!("stop the {state} sync daemon"),
        }
    }

    /// Gives a kernel errno its meaning for this command (see
    /// `ip_vs_genl_set_cmd` and friends in `net/netfilter/ipvs/ip_vs_ctl.c`).
    pub(crate) fn error(&self, failure: KernelError) -> IpvsError {
        let errno = failure.errno;
        match self {
            Command::AddService(svc) if errno == EEXIST => IpvsError::ServiceExists(svc.key),
            Command::AddService(svc) | Command::UpdateService(svc)
                if errno == ENOENT && svc.pe_name.is_none() =>
            {
                IpvsError::UnknownScheduler {
                    service: svc.key,
                    name: svc.scheduler.name().to_owned(),
                }
            }
            Command::AddService(svc) | Command::UpdateService(svc) if errno == ENOENT => {
                IpvsError::Kernel {
                    operation: self.describe(),
                    errno,
                    message: Some(format!(
                        "scheduler {:?} or persistence engine {:?} not available",
                        svc.scheduler.name(),
                        svc.pe_name.as_deref().unwrap_or_default()
                    )),
                }
            }
            Command::UpdateService(svc) if errno == ESRCH => IpvsError::ServiceNotFound(svc.key),
            Command::DeleteService(key)
            | Command::AddRealServer(key, _)
            | Command::UpdateRealServer(key, _)
            | Command::DeleteRealServer(key, _)
            | Command::Zero(Some(key))
                if errno == ESRCH =>
            {
                IpvsError::ServiceNotFound(*key)
            }
            Command::AddRealServer(key, rs) if errno == EEXIST => IpvsError::RealServerExists {
                service: *key,
                server: rs.addr,
            },
            Command::UpdateRealServer(key, rs) if errno == ENOENT => {
                IpvsError::RealServerNotFound {
                    service: *key,
                    server: rs.addr,
                }
            }
            Command::DeleteRealServer(key, addr) if errno == ENOENT => {
                IpvsError::RealServerNotFound {
                    service: *key,
                    server: *addr,
                }
            }
            Command::StartDaemon(daemon) if errno == EEXIST => {
                IpvsError::DaemonRunning(daemon.state)
            }
            Command::StopDaemon(state) if errno == ESRCH => IpvsError::DaemonNotRunning(*state),
            _ => from_kernel(failure, self.describe()),
        }
    }
}

/// One result per command from the transport's outcomes, each kernel
/// refusal given its meaning for its command.
pub(crate) fn results(
    outcomes: Vec<Result<(), netlink_transport::TransportError>>,
    commands: &[Command],
) -> Vec<Result<(), IpvsError>> {
    outcomes
        .into_iter()
        .zip(commands)
        .map(|(outcome, command)| {
            outcome.map_err(|err| match err {
                netlink_transport::TransportError::Kernel(err) => command.error(err),
                other => other.into(),
            })
        })
        .collect()
}

/// The request messages of the reads (which are not [`Command`]s), for
/// callers that drive their own socket. Send dumps with
/// `NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP`, the others with
/// `NLM_F_REQUEST | NLM_F_ACK`.
pub mod requests {
    use super::*;

    /// `GET_SERVICE` + `NLM_F_DUMP`, no attributes (as libipvs sends it).
    pub fn dump_services() -> IpvsMessage {
        IpvsMessage::new(IpvsCmd::GetService, vec![])
    }

    /// `GET_SERVICE` for one service (no dump); the kernel answers
    /// `ESRCH` when it does not exist.
    pub fn get_service(key: &ServiceKey) -> IpvsMessage {
        IpvsMessage::new(
            IpvsCmd::GetService,
            vec![IpvsAttribute::Service(service_lookup(key))],
        )
    }

    /// `GET_DEST` + `NLM_F_DUMP` for one service.
    pub fn dump_destinations(key: &ServiceKey) -> IpvsMessage {
        IpvsMessage::new(
            IpvsCmd::GetDest,
            vec![IpvsAttribute::Service(service_key(key))],
        )
    }

    /// `GET_CONFIG`.
    pub fn get_config() -> IpvsMessage {
        IpvsMessage::new(IpvsCmd::GetConfig, vec![])
    }

    /// `GET_INFO`.
    pub fn get_info() -> IpvsMessage {
        IpvsMessage::new(IpvsCmd::GetInfo, vec![])
    }

    /// `GET_DAEMON` + `NLM_F_DUMP`, no attributes: the running sync
    /// daemons, each answered as a `NEW_DAEMON` message.
    pub fn dump_daemons() -> IpvsMessage {
        IpvsMessage::new(IpvsCmd::GetDaemon, vec![])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ForwardMethod, Scheduler};

    fn key() -> ServiceKey {
        ServiceKey::tcp("10.0.0.1:80".parse().unwrap())
    }

    fn fail(errno: i32) -> KernelError {
        KernelError {
            errno,
            message: None,
            request: Vec::new(),
        }
    }

    #[test]
    fn errnos_in_context() {
        let svc = VirtualService::new(key(), Scheduler::new("nope"));
        let rs = RealServer::new("10.0.0.2:80".parse().unwrap(), ForwardMethod::Masq, 1);
        assert!(matches!(
            Command::AddService(svc.clone()).error(fail(EEXIST)),
            IpvsError::ServiceExists(_)
        ));
        let unknown = Command::AddService(svc.clone()).error(fail(ENOENT));
        assert!(matches!(&unknown, IpvsError::UnknownScheduler { name, .. } if name == "nope"));
        assert!(matches!(
            Command::UpdateService(svc).error(fail(ESRCH)),
            IpvsError::ServiceNotFound(_)
        ));
        assert!(matches!(
            Command::DeleteService(key()).error(fail(ESRCH)),
            IpvsError::ServiceNotFound(_)
        ));
        assert!(matches!(
            Command::AddRealServer(key(), rs.clone()).error(fail(EEXIST)),
            IpvsError::RealServerExists { .. }
        ));
        assert!(matches!(
            Command::AddRealServer(key(), rs.clone()).error(fail(ESRCH)),
            IpvsError::ServiceNotFound(_)
        ));
        let missing = Command::DeleteRealServer(key(), rs.addr).error(fail(ENOENT));
        assert_eq!(
            missing.to_string(),
            "real server 10.0.0.2:80 does not exist in service TCP 10.0.0.1:80"
        );
        assert!(matches!(
            Command::Flush.error(fail(1)),
            IpvsError::PermissionDenied { .. }
        ));
        assert!(matches!(
            Command::Flush.error(fail(22)),
            IpvsError::Kernel { errno: 22, .. }
        ));
    }

    #[test]
    fn messages() {
        assert_eq!(
            Command::Flush.to_message(),
            IpvsMessage::new(IpvsCmd::Flush, vec![])
        );
        assert_eq!(Command::Zero(None).to_message().attributes, vec![]);
        let del = Command::DeleteRealServer(key(), "10.0.0.2:80".parse().unwrap()).to_message();
        assert_eq!(del.cmd, IpvsCmd::DelDest);
        assert_eq!(del.attributes.len(), 2);
    }
}
