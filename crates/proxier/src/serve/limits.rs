//! What a hostile client can take from the HTTP servers, and the process's
//! open-file limit.
//!
//! Every server of the proxier (healthz, metrics, the health-check node
//! ports) listens on the node's network, where any pod can reach it. A
//! client that opens thousands of idle connections must not make the
//! process run out of file descriptors (the proxier needs them for its own
//! netlink sockets and API connections), nor keep a load balancer's probe
//! from being answered. So:
//!
//! * [`raise_nofile_limit`] raises the soft `RLIMIT_NOFILE` to the hard
//!   limit at start, as Go's runtime does for kube-proxy;
//! * each listener holds at most [`Limits::per_listener`] connections, and
//!   all listeners together at most the [`Budget`] (a share of the open-file
//!   limit, keeping [`RESERVED_FDS`] for the rest of the process) beyond
//!   [`Limits::guaranteed`] each; a new connection beyond either bound
//!   evicts the listener's oldest one, so
//!   the newest client (a probe that answers in milliseconds) is served
//!   while a flood of idle or trickling connections churns;
//! * a request's headers must arrive within [`Limits::header_read`] and fit
//!   in [`Limits::max_header_bytes`]; a connection lives at most
//!   [`Limits::lifetime`]. Bodies are never read (no handler takes one).

use std::{sync::Arc, sync::OnceLock, time::Duration};

use tokio::sync::Semaphore;
use tracing::{info, warn};

/// File descriptors kept out of the connection [`Budget`] for the rest of
/// the process: netlink sockets, API-server connections, manifests, logs.
pub const RESERVED_FDS: u64 = 512;

/// The most connections all listeners together ever hold, whatever the
/// open-file limit (each costs a descriptor and ~10 KiB of buffers).
pub const MAX_CONNECTIONS: u64 = 4096;

/// A connection budget shared by listeners: one permit a connection.
#[derive(Clone, Debug)]
pub struct Budget(Arc<Semaphore>);

impl Budget {
    /// A budget of `connections` permits.
    pub fn new(connections: usize) -> Self {
        Budget(Arc::new(Semaphore::new(connections)))
    }

    /// The process-wide budget: [`MAX_CONNECTIONS`], or less when the
    /// open-file limit (read at first use) leaves less after
    /// [`RESERVED_FDS`].
    pub fn process() -> Self {
        static PROCESS: OnceLock<Budget> = OnceLock::new();
        PROCESS
            .get_or_init(|| {
                let soft = rlimit::Resource::NOFILE
                    .get_soft()
                    .unwrap_or(1024)
                    .saturating_sub(RESERVED_FDS);
                Budget::new(soft.clamp(16, MAX_CONNECTIONS) as usize)
            })
            .clone()
    }

    /// Takes a permit if one is free.
    pub fn try_take(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.0.clone().try_acquire_owned().ok()
    }

    /// Permits free now.
    pub fn available(&self) -> usize {
        self.0.available_permits()
    }
}

/// The bounds of one listener's connections.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections this listener holds at most; the oldest is closed for a
    /// new one beyond it.
    pub per_listener: usize,
    /// The budget shared with the other listeners.
    pub budget: Budget,
    /// Connections this listener holds without a permit of the budget, so
    /// that a flood of another listener cannot leave it none.
    pub guaranteed: usize,
    /// How long a request's headers may take to arrive (slowloris).
    pub header_read: Duration,
    /// The largest request head accepted (larger: `431` and close).
    pub max_header_bytes: usize,
    /// How long one connection is kept at most, keep-alive included.
    pub lifetime: Duration,
}

impl Default for Limits {
    /// 1,024 connections a listener within the process budget (16 of them
    /// outside it), 5 s for the
    /// headers, 16 KiB of headers, 60 s a connection.
    fn default() -> Self {
        Limits {
            per_listener: 1024,
            budget: Budget::process(),
            guaranteed: 16,
            header_read: Duration::from_secs(5),
            max_header_bytes: 16 * 1024,
            lifetime: Duration::from_secs(60),
        }
    }
}

/// Raises the soft open-file limit to the hard limit, as Go's runtime does
/// at start (so kube-proxy runs with the hard limit); logs the result.
/// Returns the soft limit in force afterwards.
pub fn raise_nofile_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(soft) => {
            info!("open-file limit: {soft}");
            soft
        }
        Err(err) => {
            let soft = rlimit::Resource::NOFILE.get_soft().unwrap_or(0);
            warn!("cannot raise the open-file limit (staying at {soft}): {err}");
            soft
        }
    }
}
