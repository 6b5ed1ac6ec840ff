//! What a failed IPVS command tells about the kernel, and how the cache
//! is corrected so that the next diff sends exactly what is needed. Pure:
//! no I/O.

use std::collections::BTreeMap;

use ipvs_netlink::{Command, IpvsError, ServiceKey};

use super::{
    graceful::GracefulQueue,
    state::{Cached, KnownService},
};

/// What to do after a command failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The cache was corrected; a second diff will fix it.
    Retry,
    /// Nothing to report (already done, or a consequence of another
    /// reported failure).
    Silent,
    /// Report it.
    Report,
}

/// Corrects the cache after a failure the kernel state explains.
pub fn recover(
    services: &mut BTreeMap<ServiceKey, KnownService>,
    graceful: &mut GracefulQueue,
    command: &Command,
    err: &IpvsError,
) -> Failure {
    match (command, err) {
        // It exists with unknown settings: the next diff updates it.
        (Command::AddService(service), IpvsError::ServiceExists(_)) => {
            services.insert(
                service.key,
                KnownService {
                    service: Cached::Unknown,
                    real_servers: BTreeMap::new(),
                },
            );
            Failure::Retry
        }
        (Command::AddRealServer(key, rs), IpvsError::RealServerExists { .. }) => {
            if let Some(known) = services.get_mut(key) {
                known.real_servers.insert(rs.addr, Cached::Unknown);
            }
            Failure::Retry
        }
        (Command::UpdateRealServer(key, rs), IpvsError::RealServerNotFound { .. }) => {
            if let Some(known) = services.get_mut(key) {
                known.real_servers.remove(&rs.addr);
            }
            Failure::Retry
        }
        (Command::DeleteService(key), IpvsError::ServiceNotFound(_)) => {
            services.remove(key);
            graceful.remove_service(key);
            Failure::Silent
        }
        (Command::DeleteRealServer(key, addr), IpvsError::RealServerNotFound { .. }) => {
            if let Some(service) = services.get_mut(key) {
                service.real_servers.remove(addr);
            }
            graceful.remove(key, addr);
            Failure::Silent
        }
        // The service vanished: forget it, the next diff re-adds it.
        (_, IpvsError::ServiceNotFound(key)) => {
            if services.remove(key).is_some() {
                Failure::Retry
            } else {
                Failure::Silent
            }
        }
        _ => Failure::Report,
    }
}
