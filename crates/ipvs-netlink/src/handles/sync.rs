//! [`SyncRequest`]: make the IPVS table hold a wanted set of services and
//! real servers with the fewest changes.

use crate::{
    IpvsError, IpvsHandle, TableEntry,
    sync::{SyncScope, SyncStats, sync_commands},
};

/// A desired-state sync ([`IpvsHandle::sync`]): dumps the table, diffs it
/// against the wanted services and real servers ([`sync_commands`]) and
/// sends only the changes, in one pipelined batch.
///
/// ```no_run
/// use ipvs_netlink::{ForwardMethod, IpvsHandle, RealServer, Scheduler, ServiceKey, TableEntry, VirtualService};
///
/// # async fn run() -> Result<(), ipvs_netlink::IpvsError> {
/// let ipvs = IpvsHandle::connect().await?;
/// let key = ServiceKey::tcp("10.96.0.1:443".parse().unwrap());
/// let wanted = vec![TableEntry::new(
///     VirtualService::new(key, Scheduler::RR),
///     vec![RealServer::new("10.244.0.5:6443".parse().unwrap(), ForwardMethod::Masq, 1)],
/// )];
/// // Other services are left alone; run it again and nothing is sent.
/// let changes = ipvs.sync(wanted).only_listed().execute().await?;
/// println!("{changes:?}");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct SyncRequest {
    handle: IpvsHandle,
    desired: Vec<TableEntry>,
    scope: SyncScope,
}

impl SyncRequest {
    /// A sync of the whole table to `desired` on `handle`.
    pub fn new(handle: IpvsHandle, desired: Vec<TableEntry>) -> Self {
        SyncRequest {
            handle,
            desired,
            scope: SyncScope::WholeTable,
        }
    }

    /// Leave the services that are not in the wanted list alone (by
    /// default they are deleted).
    pub fn only_listed(mut self) -> Self {
        self.scope = SyncScope::OnlyListed;
        self
    }

    /// Dumps the table (one service dump, one real-server dump per
    /// service), then sends the changes in one batch. Every change is
    /// tried; the error is the first that failed (the others still ran,
    /// so a second sync picks up what is left).
    pub async fn execute(self) -> Result<SyncStats, IpvsError> {
        let mut current = Vec::new();
        for service in self.handle.list_services().await? {
            let real_servers = self.handle.list_real_servers(&service.key).await?;
            current.push(TableEntry::new(service, real_servers));
        }
        let (commands, stats) = sync_commands(&current, &self.desired, self.scope);
        for result in self.handle.execute(&commands).await? {
            result?;
        }
        Ok(stats)
    }
}
