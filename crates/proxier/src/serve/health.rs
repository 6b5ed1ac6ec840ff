//! kube-proxy's proxy health (`pkg/proxy/healthcheck/proxy_health.go`,
//! `ProxyHealthServer`): per family, the time of the last successful
//! update and the oldest update queued since; the proxy is unhealthy when
//! a queued update waits `healthTimeout` (2 × `syncPeriod`) or longer.
//!
//! Matched from the Go source:
//!
//! * `QueuedUpdate` sets `oldestPendingQueuedMap[family]` only if unset;
//!   `Updated` deletes it and stamps `lastUpdatedMap[family]`.
//! * `Health()` walks `lastUpdatedMap` only: a family never `Updated` is
//!   never unhealthy (the proxier calls `Updated` at the start of its
//!   `SyncLoop`, so it is always there), and a family is unhealthy iff it
//!   has a pending update with `now - oldestPending >= healthTimeout`.
//!   `lastUpdated` is the newest of the families' times; `status` holds
//!   one entry per updated family.
//! * `NodeEligible()`: false for no Node, a Node with a
//!   `deletionTimestamp`, or one tainted `ToBeDeletedByClusterAutoscaler`.
//!   Before [`ProxyHealth::set_node`] is first called the node counts as
//!   eligible (kube-proxy learns the Node before it serves; the manifest
//!   mode may have none).

use std::{
    collections::BTreeMap,
    fmt,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use k8s_openapi::{api::core::v1::Node, jiff::Timestamp};

use ipvs_netlink::Family;

/// The taint the Cluster Autoscaler puts on a node it is about to delete
/// (proxy_health.go `ToBeDeletedTaint`).
pub const TO_BE_DELETED_TAINT: &str = "ToBeDeletedByClusterAutoscaler";

/// A point in time, read once: monotonic for durations, wall clock for
/// display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// For comparisons and durations.
    pub mono: Instant,
    /// For the JSON bodies.
    pub wall: SystemTime,
}

/// Where [`ProxyHealth`] reads the time (injectable for tests).
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Stamp;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Stamp {
        Stamp {
            mono: Instant::now(),
            wall: SystemTime::now(),
        }
    }
}

/// Shared health state (cheap `Clone`, one `Arc` inside).
#[derive(Clone)]
pub struct ProxyHealth {
    inner: Arc<Inner>,
}

struct Inner {
    timeout: Duration,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    last_updated: BTreeMap<Family, Stamp>,
    oldest_pending: BTreeMap<Family, Stamp>,
    /// `None` until the first [`ProxyHealth::set_node`].
    node_eligible: Option<bool>,
}

/// A snapshot of the health, kube-proxy's `ProxyHealth` struct.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// The newest update of any family (`None`: no update yet, Go's zero
    /// time).
    pub last_updated: Option<SystemTime>,
    /// When the snapshot was taken.
    pub current_time: SystemTime,
    /// True iff every family is healthy.
    pub healthy: bool,
    /// Per updated family.
    pub status: BTreeMap<Family, FamilyHealth>,
}

/// The health of one family's proxier (kube-proxy's `ProxierHealth`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FamilyHealth {
    /// Its last successful update.
    pub last_updated: SystemTime,
    /// False when a queued update waits too long.
    pub healthy: bool,
}

impl ProxyHealth {
    /// Health with kube-proxy's timeout (2 × `syncPeriod`) and the real
    /// clock.
    pub fn new(health_timeout: Duration) -> Self {
        Self::with_clock(health_timeout, Arc::new(SystemClock))
    }

    /// Health reading the time from `clock`.
    pub fn with_clock(health_timeout: Duration, clock: Arc<dyn Clock>) -> Self {
        ProxyHealth {
            inner: Arc::new(Inner {
                timeout: health_timeout,
                clock,
                state: Mutex::new(State::default()),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The current time of this health's clock.
    pub fn now(&self) -> Stamp {
        self.inner.clock.now()
    }

    /// A change for `family` was received and not yet synced: starts the
    /// timeout unless an older change is already pending.
    pub fn queued_update(&self, family: Family) {
        let now = self.now();
        self.state().oldest_pending.entry(family).or_insert(now);
    }

    /// `family` was synced successfully: clears its pending change and
    /// stamps its last update.
    pub fn updated(&self, family: Family) {
        let now = self.now();
        let mut state = self.state();
        state.oldest_pending.remove(&family);
        state.last_updated.insert(family, now);
    }

    /// Records this node's object (`None`: it does not exist) for
    /// [`ProxyHealth::node_eligible`].
    pub fn set_node(&self, node: Option<&Node>) {
        self.state().node_eligible = Some(node.is_some_and(eligible));
    }

    /// False when the node is gone, being deleted or about to be deleted
    /// by the Cluster Autoscaler; true before the node is first known.
    pub fn node_eligible(&self) -> bool {
        self.state().node_eligible.unwrap_or(true)
    }

    /// The proxy's health without the node (kube-proxy's `IsHealthy`, the
    /// `serviceProxyHealthy` of the health-check node ports).
    pub fn is_healthy(&self) -> bool {
        self.health().healthy
    }

    /// A snapshot (kube-proxy's `Health()`).
    pub fn health(&self) -> Health {
        let state = self.state();
        let now = self.now();
        let mut health = Health {
            last_updated: None,
            current_time: now.wall,
            healthy: true,
            status: BTreeMap::new(),
        };
        let mut newest: Option<Stamp> = None;
        for (&family, &updated) in &state.last_updated {
            if newest.is_none_or(|n| updated.mono > n.mono) {
                newest = Some(updated);
            }
            let late = state.oldest_pending.get(&family).is_some_and(|pending| {
                now.mono.saturating_duration_since(pending.mono) >= self.inner.timeout
            });
            if late {
                health.healthy = false;
            }
            health.status.insert(
                family,
                FamilyHealth {
                    last_updated: updated.wall,
                    healthy: !late,
                },
            );
        }
        health.last_updated = newest.map(|n| n.wall);
        health
    }
}

impl fmt::Debug for ProxyHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyHealth")
            .field("timeout", &self.inner.timeout)
            .field("health", &self.health())
            .field("node_eligible", &self.node_eligible())
            .finish()
    }
}

/// proxy_health.go `NodeEligible`: no `deletionTimestamp` and no
/// `ToBeDeletedByClusterAutoscaler` taint.
fn eligible(node: &Node) -> bool {
    if node.metadata.deletion_timestamp.is_some() {
        return false;
    }
    let taints = node.spec.as_ref().and_then(|spec| spec.taints.as_deref());
    !taints
        .unwrap_or_default()
        .iter()
        .any(|taint| taint.key == TO_BE_DELETED_TAINT)
}

/// A time as Go's `time.Time.MarshalJSON` prints a UTC time (RFC 3339 with
/// nanoseconds, trailing zeros of the fraction trimmed, `Z`); `None` is
/// Go's zero time.
pub fn rfc3339_nano(time: Option<SystemTime>) -> String {
    let Some(time) = time else {
        return "0001-01-01T00:00:00Z".to_string();
    };
    let nanos = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => -i128::try_from(before.duration().as_nanos()).unwrap_or(i128::MAX),
    };
    Timestamp::from_nanosecond(nanos)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_string()
}
