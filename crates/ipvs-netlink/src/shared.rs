//! Stopgap until the shared netlink transport lands: a cloneable
//! [`IpvsHandle`] with `&self` methods over the single-socket engine in
//! `handle`, whose calls are serialised by a mutex. Clones share the
//! socket; each clone keeps its own batch limits and reply timeout.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::sync::{Mutex, MutexGuard};

use crate::{
    BatchLimits, Command, Info, IpvsError, RealServer, ServiceKey, Table, Timeouts, VirtualService,
    handle::IpvsHandle as Engine,
};

/// Default time to wait for each datagram of an answer.
const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// An async IPVS client over one `NETLINK_GENERIC` socket.
///
/// Cloning is cheap and clones share the socket; one request (or batch) is
/// in flight at a time, the others wait. Open several handles for
/// parallelism.
#[derive(Clone, Debug)]
pub struct IpvsHandle {
    /// The socket engine.
    engine: Arc<Mutex<Engine>>,
    /// Resolved id of the "IPVS" generic-netlink family.
    family_id: u16,
    /// Batch window of [`IpvsHandle::execute`].
    limits: BatchLimits,
    /// How long to wait for each datagram of an answer.
    reply_timeout: Duration,
}

impl IpvsHandle {
    /// Opens a socket, sets `NETLINK_CAP_ACK`, `NETLINK_EXT_ACK` and a larger
    /// receive buffer, and resolves the "IPVS" family.
    ///
    /// Fails with [`IpvsError::NotLoaded`] when the kernel has no IPVS.
    /// Must be called within a tokio runtime.
    pub async fn connect() -> Result<Self, IpvsError> {
        let engine = Engine::connect().await?;
        Ok(IpvsHandle {
            family_id: engine.family_id(),
            limits: engine.batch_limits(),
            engine: Arc::new(Mutex::new(engine)),
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
        })
    }

    /// The engine, with this handle's settings.
    async fn engine(&self) -> MutexGuard<'_, Engine> {
        let mut engine = self.engine.lock().await;
        engine.set_reply_timeout(self.reply_timeout);
        engine.set_batch_limits(self.limits);
        engine
    }

    /// The resolved generic-netlink id of the IPVS family.
    pub fn family_id(&self) -> u16 {
        self.family_id
    }

    /// Sets how long to wait for each datagram of an answer before failing
    /// with an [`std::io::ErrorKind::TimedOut`] error (default 10 s).
    pub fn set_reply_timeout(&mut self, timeout: Duration) {
        self.reply_timeout = timeout;
    }

    /// The batch window of [`IpvsHandle::execute`].
    pub fn batch_limits(&self) -> BatchLimits {
        self.limits
    }

    /// Sets the batch window of [`IpvsHandle::execute`].
    pub fn set_batch_limits(&mut self, limits: BatchLimits) {
        self.limits = BatchLimits::new(limits.max_messages, limits.max_bytes);
    }

    /// All virtual services, in kernel dump order.
    pub async fn list_services(&self) -> Result<Vec<VirtualService>, IpvsError> {
        self.engine().await.list_services().await
    }

    /// One virtual service, or `None` if it does not exist.
    pub async fn service(&self, key: &ServiceKey) -> Result<Option<VirtualService>, IpvsError> {
        self.engine().await.service(key).await
    }

    /// The real servers of a service, in kernel dump order. The kernel
    /// answers an empty list for a service that does not exist.
    pub async fn list_real_servers(&self, key: &ServiceKey) -> Result<Vec<RealServer>, IpvsError> {
        self.engine().await.list_real_servers(key).await
    }

    /// Every service with its real servers, and the `GET_INFO` header.
    pub async fn table(&self) -> Result<Table, IpvsError> {
        self.engine().await.table().await
    }

    /// The TCP, TCP-FIN and UDP timeouts (`ipvsadm -L --timeout`).
    pub async fn timeouts(&self) -> Result<Timeouts, IpvsError> {
        self.engine().await.timeouts().await
    }

    /// IPVS version and connection table size.
    pub async fn info(&self) -> Result<Info, IpvsError> {
        self.engine().await.info().await
    }

    /// Adds a virtual service.
    pub async fn add_service(&self, service: &VirtualService) -> Result<(), IpvsError> {
        self.engine().await.add_service(service).await
    }

    /// Replaces the settings of an existing virtual service.
    pub async fn update_service(&self, service: &VirtualService) -> Result<(), IpvsError> {
        self.engine().await.update_service(service).await
    }

    /// Deletes a virtual service and its real servers.
    pub async fn delete_service(&self, key: &ServiceKey) -> Result<(), IpvsError> {
        self.engine().await.delete_service(key).await
    }

    /// Adds a real server to a service.
    pub async fn add_real_server(
        &self,
        key: &ServiceKey,
        server: &RealServer,
    ) -> Result<(), IpvsError> {
        self.engine().await.add_real_server(key, server).await
    }

    /// Replaces the settings of a real server.
    pub async fn update_real_server(
        &self,
        key: &ServiceKey,
        server: &RealServer,
    ) -> Result<(), IpvsError> {
        self.engine().await.update_real_server(key, server).await
    }

    /// Removes a real server from a service.
    pub async fn delete_real_server(
        &self,
        key: &ServiceKey,
        server: SocketAddr,
    ) -> Result<(), IpvsError> {
        self.engine().await.delete_real_server(key, server).await
    }

    /// Sets the timeouts (0 leaves a timeout unchanged).
    pub async fn set_timeouts(&self, timeouts: &Timeouts) -> Result<(), IpvsError> {
        self.engine().await.set_timeouts(timeouts).await
    }

    /// Zeroes the counters of one service, or of all with `None`.
    pub async fn zero(&self, key: Option<&ServiceKey>) -> Result<(), IpvsError> {
        self.engine().await.zero(key).await
    }

    /// Deletes every virtual service.
    pub async fn flush(&self) -> Result<(), IpvsError> {
        self.engine().await.flush().await
    }

    /// Runs `commands` in order, pipelined: each window of [`BatchLimits`]
    /// is serialized into one buffer and written with one `send`. Returns
    /// one result per command, in the same order; a failing command does
    /// not stop or hide the others.
    ///
    /// The outer error is a socket or decode failure; the batch may then be
    /// partly applied.
    pub async fn execute(
        &self,
        commands: &[Command],
    ) -> Result<Vec<Result<(), IpvsError>>, IpvsError> {
        self.engine().await.execute(commands).await
    }
}
