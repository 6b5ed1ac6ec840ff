//! [`BatchRequest`]: many mutations, pipelined.

use std::net::SocketAddr;

use crate::{
    Command, DaemonState, IpvsError, IpvsHandle, RealServer, ServiceKey, SyncDaemon, Timeouts,
    VirtualService,
};

/// A pipelined batch of mutations ([`IpvsHandle::batch`]), run by
/// [`IpvsHandle::execute`]: one `send` per window of
/// [`BatchLimits`](crate::BatchLimits), one result per command.
///
/// ```no_run
/// use ipvs_netlink::{ForwardMethod, IpvsHandle, RealServer, Scheduler, ServiceKey, VirtualService};
///
/// # async fn run() -> Result<(), ipvs_netlink::IpvsError> {
/// let ipvs = IpvsHandle::connect().await?;
/// let key = ServiceKey::tcp("10.96.0.1:443".parse().unwrap());
/// let mut batch = ipvs.batch().add_service(VirtualService::new(key, Scheduler::RR));
/// for addr in ["10.244.0.5:6443", "10.244.1.7:6443"] {
///     let server = RealServer::new(addr.parse().unwrap(), ForwardMethod::Masq, 1);
///     batch = batch.add_real_server(key, server);
/// }
/// for result in batch.execute().await? {
///     if let Err(err) = result {
///         eprintln!("{err}");
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct BatchRequest {
    handle: IpvsHandle,
    commands: Vec<Command>,
}

impl BatchRequest {
    /// An empty batch on `handle`.
    pub fn new(handle: IpvsHandle) -> Self {
        BatchRequest {
            handle,
            commands: Vec::new(),
        }
    }

    /// Appends one command.
    pub fn command(mut self, command: Command) -> Self {
        self.commands.push(command);
        self
    }

    /// Appends commands, in order.
    pub fn commands(mut self, commands: impl IntoIterator<Item = Command>) -> Self {
        self.commands.extend(commands);
        self
    }

    /// Appends [`Command::AddService`].
    pub fn add_service(self, service: VirtualService) -> Self {
        self.command(Command::AddService(service))
    }

    /// Appends [`Command::UpdateService`].
    pub fn update_service(self, service: VirtualService) -> Self {
        self.command(Command::UpdateService(service))
    }

    /// Appends [`Command::DeleteService`].
    pub fn delete_service(self, key: ServiceKey) -> Self {
        self.command(Command::DeleteService(key))
    }

    /// Appends [`Command::AddRealServer`].
    pub fn add_real_server(self, key: ServiceKey, server: RealServer) -> Self {
        self.command(Command::AddRealServer(key, server))
    }

    /// Appends [`Command::UpdateRealServer`].
    pub fn update_real_server(self, key: ServiceKey, server: RealServer) -> Self {
        self.command(Command::UpdateRealServer(key, server))
    }

    /// Appends [`Command::DeleteRealServer`].
    pub fn delete_real_server(self, key: ServiceKey, addr: SocketAddr) -> Self {
        self.command(Command::DeleteRealServer(key, addr))
    }

    /// Appends [`Command::SetTimeouts`].
    pub fn set_timeouts(self, timeouts: Timeouts) -> Self {
        self.command(Command::SetTimeouts(timeouts))
    }

    /// Appends [`Command::StartDaemon`].
    pub fn start_daemon(self, daemon: SyncDaemon) -> Self {
        self.command(Command::StartDaemon(daemon))
    }

    /// Appends [`Command::StopDaemon`].
    pub fn stop_daemon(self, state: DaemonState) -> Self {
        self.command(Command::StopDaemon(state))
    }

    /// The commands so far, in order.
    pub fn as_commands(&self) -> &[Command] {
        &self.commands
    }

    /// Runs the batch: one result per command, in order; a failing
    /// command does not stop the others. The outer error is a socket or
    /// decode failure (the batch may then be partly applied).
    pub async fn execute(self) -> Result<Vec<Result<(), IpvsError>>, IpvsError> {
        self.handle.execute(&self.commands).await
    }
}
