//! [`DaemonHandle`]: list, start and stop the connection-sync daemons.

use netlink_packet_core::ParseableParametrized;

use crate::{
    Command, DaemonState, IpvsError, IpvsHandle, SyncDaemon, command::requests, packet::IpvsMessage,
};

/// The connection-sync daemons of an [`IpvsHandle`] (`ipvsadm
/// --start-daemon`, `--stop-daemon`, `-L --daemon`): each method returns a
/// request, run with `execute()`.
///
/// ```no_run
/// use ipvs_netlink::{DaemonState, IpvsHandle, SyncDaemon};
///
/// # async fn run() -> Result<(), ipvs_netlink::IpvsError> {
/// let ipvs = IpvsHandle::connect().await?;
/// ipvs.daemons()
///     .add(SyncDaemon::new(DaemonState::Master, "eth0", 7))
///     .execute()
///     .await?;
/// for daemon in ipvs.daemons().list().execute().await? {
///     println!("{daemon}");
/// }
/// ipvs.daemons().del(DaemonState::Master).execute().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct DaemonHandle(IpvsHandle);

impl DaemonHandle {
    /// The sync daemons of `handle`.
    pub fn new(handle: IpvsHandle) -> Self {
        DaemonHandle(handle)
    }

    /// The running sync daemons (`GET_DAEMON` dump).
    pub fn list(&self) -> DaemonListRequest {
        DaemonListRequest {
            handle: self.0.clone(),
        }
    }

    /// Starts `daemon` (`NEW_DAEMON`).
    pub fn add(&self, daemon: SyncDaemon) -> DaemonAddRequest {
        DaemonAddRequest {
            handle: self.0.clone(),
            daemon,
        }
    }

    /// Stops the daemon of `state` (`DEL_DAEMON`).
    pub fn del(&self, state: DaemonState) -> DaemonDelRequest {
        DaemonDelRequest {
            handle: self.0.clone(),
            state,
        }
    }
}

/// A request for the running sync daemons ([`DaemonHandle::list`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct DaemonListRequest {
    handle: IpvsHandle,
}

impl DaemonListRequest {
    /// Dumps the daemons: none, the master, the backup, or both.
    pub async fn execute(self) -> Result<Vec<SyncDaemon>, IpvsError> {
        self.handle
            .dump(
                requests::dump_daemons(),
                "list sync daemons",
                |attrs, header| {
                    SyncDaemon::from_message(&IpvsMessage::parse_with_param(attrs, header)?)
                },
            )
            .await
    }
}

/// A request to start a sync daemon ([`DaemonHandle::add`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct DaemonAddRequest {
    handle: IpvsHandle,
    daemon: SyncDaemon,
}

impl DaemonAddRequest {
    /// Starts the daemon; [`IpvsError::DaemonRunning`] if one of its state
    /// runs already.
    pub async fn execute(self) -> Result<(), IpvsError> {
        self.handle.run(Command::StartDaemon(self.daemon)).await
    }
}

/// A request to stop a sync daemon ([`DaemonHandle::del`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct DaemonDelRequest {
    handle: IpvsHandle,
    state: DaemonState,
}

impl DaemonDelRequest {
    /// Stops the daemon; [`IpvsError::DaemonNotRunning`] if none of its
    /// state runs.
    pub async fn execute(self) -> Result<(), IpvsError> {
        self.handle.run(Command::StopDaemon(self.state)).await
    }
}
