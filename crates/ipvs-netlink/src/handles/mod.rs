//! rtnetlink-shaped sub-handles on [`IpvsHandle`]: [`ServiceHandle`],
//! [`RealServerHandle`], [`DaemonHandle`] and [`BatchRequest`], whose methods return request
//! values run with `execute()`. Each holds a clone of the handle and calls
//! its methods, so both styles share one socket and one behaviour.

mod batch;
mod daemons;
mod real_servers;
mod services;
mod sync;

pub use self::{
    batch::BatchRequest,
    daemons::{DaemonAddRequest, DaemonDelRequest, DaemonHandle, DaemonListRequest},
    real_servers::{
        RealServerAddRequest, RealServerDelRequest, RealServerHandle, RealServerListRequest,
        RealServerUpdateRequest,
    },
    services::{
        ServiceAddRequest, ServiceDelRequest, ServiceFlushRequest, ServiceGetRequest,
        ServiceHandle, ServiceListRequest, ServiceUpdateRequest,
    },
    sync::SyncRequest,
};
use crate::{IpvsHandle, ServiceKey, TableEntry};

impl IpvsHandle {
    /// The virtual services (`ipvsadm -A`, `-E`, `-D`, `-C`, `-L`).
    pub fn services(&self) -> ServiceHandle {
        ServiceHandle::new(self.clone())
    }

    /// The real servers of the service `key` (`ipvsadm -a`, `-e`, `-d`,
    /// `-L -t key`).
    pub fn real_servers(&self, key: ServiceKey) -> RealServerHandle {
        RealServerHandle::new(self.clone(), key)
    }

    /// The connection-sync daemons (`ipvsadm --start-daemon`,
    /// `--stop-daemon`, `-L --daemon`).
    pub fn daemons(&self) -> DaemonHandle {
        DaemonHandle::new(self.clone())
    }

    /// A desired-state sync of the table to `desired` (see
    /// [`SyncRequest`]).
    pub fn sync(&self, desired: Vec<TableEntry>) -> SyncRequest {
        SyncRequest::new(self.clone(), desired)
    }

    /// An empty pipelined batch (see [`IpvsHandle::execute`]).
    pub fn batch(&self) -> BatchRequest {
        BatchRequest::new(self.clone())
    }
}
