//! IPVS writer: a thin adapter over [`IpvsHandle`] that dumps the table,
//! applies lists of [`Command`]s in pipelined batches and counts the
//! mutating messages it sends.
//!
//! # The scheduler probe
//!
//! Like kube-proxy's `CanUseIPVSProxier`, [`IpvsWriter::probe_scheduler`]
//! checks at start that the kernel has the configured scheduler: unless a
//! service already uses it, it adds the throwaway virtual server
//! [`PROBE_ADDR`] (TCP, TEST-NET-2) with that scheduler and deletes it at
//! once. A service someone else made with that key is never touched: the
//! probe is skipped with a warning.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use ipvs_netlink::{
    Command, IpvsError, IpvsHandle, RealServer, Scheduler, ServiceKey, TableEntry, Timeouts,
    VirtualService,
};

/// kube-proxy's probe virtual server, `198.51.100.0:20000` (TCP).
pub const PROBE_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 0), 20000));

/// Errors of the IPVS writer. Per-command failures are plain
/// [`IpvsError`]s in the results of [`IpvsWriter::apply`]; these are the
/// failures of a whole operation.
#[derive(Debug, thiserror::Error)]
pub enum IpvsWriterError {
    /// IPVS could not be opened (`IpvsError::NotLoaded` says to
    /// `modprobe ip_vs`).
    #[error("cannot open IPVS: {0}")]
    Connect(#[source] IpvsError),
    /// A dump failed.
    #[error("cannot dump IPVS: {0}")]
    Dump(#[source] IpvsError),
    /// The socket failed in the middle of a batch (the batch may be partly
    /// applied).
    #[error("IPVS batch failed: {0}")]
    Batch(#[source] IpvsError),
    /// The scheduler probe could not create its virtual server: the
    /// scheduler is unknown to the kernel (`IpvsError::UnknownScheduler`
    /// names the module) or IPVS refused.
    #[error("IPVS scheduler {scheduler:?} cannot be used: {source}")]
    Scheduler {
        /// The scheduler.
        scheduler: String,
        /// Why.
        #[source]
        source: IpvsError,
    },
    /// The probe virtual server was created but could not be deleted.
    #[error("cannot delete the scheduler probe service {PROBE_ADDR} (TCP): {0}")]
    ProbeLeftover(#[source] IpvsError),
}

/// Writer of IPVS services and real servers.
#[derive(Debug)]
pub struct IpvsWriter {
    handle: IpvsHandle,
    messages: u64,
}

impl IpvsWriter {
    /// Opens the IPVS generic netlink family.
    pub async fn connect() -> Result<Self, IpvsWriterError> {
        let handle = IpvsHandle::connect()
            .await
            .map_err(IpvsWriterError::Connect)?;
        Ok(IpvsWriter {
            handle,
            messages: 0,
        })
    }

    /// Mutating messages sent so far.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Every service with its real servers (one service dump, then one
    /// destination dump per service, as [`IpvsHandle::table`]), without
    /// their counters, dropped as each service's real servers arrive: a
    /// warm start at 10k × 10 does not hold 110,000 boxed counters at
    /// once. A service deleted between the two dumps is left out.
    pub async fn dump(&mut self) -> Result<Vec<TableEntry>, IpvsWriterError> {
        let services = self
            .handle
            .services()
            .list()
            .execute()
            .await
            .map_err(IpvsWriterError::Dump)?;
        let mut entries = Vec::with_capacity(services.len());
        for mut service in services {
            let Some(mut real_servers) = self.real_servers(&service.key).await? else {
                continue;
            };
            service.stats = None;
            for rs in &mut real_servers {
                rs.stats = None;
            }
            entries.push(TableEntry::new(service, real_servers));
        }
        Ok(entries)
    }

    /// Every service, without real servers (one dump).
    pub async fn services(&mut self) -> Result<Vec<VirtualService>, IpvsWriterError> {
        self.handle
            .services()
            .list()
            .execute()
            .await
            .map_err(IpvsWriterError::Dump)
    }

    /// kube-proxy's scheduler check (see the module docs): `Ok` at once if
    /// a service already uses `scheduler`, or if a service with the probe
    /// key exists (a warning; it is left alone); otherwise adds and deletes
    /// the probe service (two messages). On failure nothing is left behind,
    /// except if the delete itself fails ([`IpvsWriterError::ProbeLeftover`]).
    pub async fn probe_scheduler(&mut self, scheduler: &str) -> Result<(), IpvsWriterError> {
        let key = ServiceKey::tcp(PROBE_ADDR);
        let services = self.services().await?;
        if services.iter().any(|s| s.scheduler.name() == scheduler) {
            return Ok(());
        }
        if services.iter().any(|s| s.key == key) {
            tracing::warn!(
                "IPVS service {key} exists and is not ours: not probing scheduler {scheduler:?}"
            );
            return Ok(());
        }
        let probe = VirtualService::new(key, Scheduler::new(scheduler));
        self.messages += 1;
        match self.handle.services().add(probe).execute().await {
            Ok(()) => {}
            Err(IpvsError::ServiceExists(_)) => {
                tracing::warn!(
                    "IPVS service {key} appeared during the probe and is not ours: \
                     not probing scheduler {scheduler:?}"
                );
                return Ok(());
            }
            Err(source) => {
                return Err(IpvsWriterError::Scheduler {
                    scheduler: scheduler.to_owned(),
                    source,
                });
            }
        }
        self.messages += 1;
        match self.handle.services().del(key).execute().await {
            Ok(()) | Err(IpvsError::ServiceNotFound(_)) => Ok(()),
            Err(err) => Err(IpvsWriterError::ProbeLeftover(err)),
        }
    }

    /// The real servers of one service with their connection counters;
    /// `None` if the service does not exist.
    pub async fn real_servers(
        &mut self,
        key: &ServiceKey,
    ) -> Result<Option<Vec<RealServer>>, IpvsWriterError> {
        match self.handle.real_servers(*key).list().execute().await {
            Ok(list) => Ok(Some(list)),
            Err(IpvsError::ServiceNotFound(_)) => Ok(None),
            Err(err) => Err(IpvsWriterError::Dump(err)),
        }
    }

    /// Sends the commands in pipelined batches; one result per command,
    /// in order. A failing command does not stop the others.
    pub async fn apply(
        &mut self,
        commands: &[Command],
    ) -> Result<Vec<Result<(), IpvsError>>, IpvsWriterError> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        self.messages += commands.len() as u64;
        self.handle
            .execute(commands)
            .await
            .map_err(IpvsWriterError::Batch)
    }

    /// Sets the TCP, TCP FIN and UDP timeouts (`ipvsadm --set`) when any
    /// is above zero (zero keeps the kernel's value); returns whether a
    /// message was sent.
    pub async fn set_timeouts(&mut self, timeouts: Timeouts) -> Result<bool, IpvsWriterError> {
        if timeouts.tcp == 0 && timeouts.tcp_fin == 0 && timeouts.udp == 0 {
            return Ok(false);
        }
        let current = self
            .handle
            .timeouts()
            .await
            .map_err(IpvsWriterError::Dump)?;
        let wanted = Timeouts::new(
            pick(timeouts.tcp, current.tcp),
            pick(timeouts.tcp_fin, current.tcp_fin),
            pick(timeouts.udp, current.udp),
        );
        if wanted == current {
            return Ok(false);
        }
        self.messages += 1;
        self.handle
            .set_timeouts(&timeouts)
            .await
            .map_err(IpvsWriterError::Batch)?;
        Ok(true)
    }
}

fn pick(wanted: u32, current: u32) -> u32 {
    if wanted == 0 { current } else { wanted }
}
