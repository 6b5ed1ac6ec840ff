//! [`Runner`]: when to sync, kube-proxy's `BoundedFrequencyRunner` as pure
//! logic (no clock of its own: every call takes `now`).
//!
//! * A change requests a sync. Syncs are spaced by `min_sync_period`, with
//!   a burst of `burst` syncs allowed at once (a token bucket refilled at
//!   one token per `min_sync_period`; kube-proxy's IPVS proxier uses a
//!   burst of 2).
//! * Every `sync_period` a full resync runs, whatever else happened (it
//!   re-reads the kernel and repairs drift).

use std::time::{Duration, Instant};

/// What is due now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Nothing.
    Nothing,
    /// A sync of the pending changes.
    Sync,
    /// A full resync (includes the pending changes).
    Resync,
}

/// The timing state. See the module docs.
#[derive(Debug, Clone)]
pub struct Runner {
    min_sync_period: Duration,
    sync_period: Duration,
    burst: u32,
    tokens: f64,
    refilled: Instant,
    last_resync: Instant,
    pending: bool,
}

impl Runner {
    /// A runner starting at `now`, with a full bucket and the first
    /// resync one `sync_period` away.
    pub fn new(min_sync_period: Duration, sync_period: Duration, burst: u32, now: Instant) -> Self {
        let burst = burst.max(1);
        Runner {
            min_sync_period,
            sync_period,
            burst,
            tokens: f64::from(burst),
            refilled: now,
            last_resync: now,
            pending: false,
        }
    }

    /// Records that a change is waiting.
    pub fn request(&mut self) {
        self.pending = true;
    }

    /// Whether a change is waiting.
    pub fn is_pending(&self) -> bool {
        self.pending
    }

    fn refill(&mut self, now: Instant) {
        if self.min_sync_period.is_zero() {
            self.tokens = f64::from(self.burst);
        } else {
            let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
            self.tokens = (self.tokens + elapsed / self.min_sync_period.as_secs_f64())
                .min(f64::from(self.burst));
        }
        self.refilled = now;
    }

    /// What to run now; taking a `Sync` or `Resync` uses a token and
    /// clears the pending change.
    pub fn poll(&mut self, now: Instant) -> Due {
        self.refill(now);
        if now.saturating_duration_since(self.last_resync) >= self.sync_period {
            self.last_resync = now;
            self.pending = false;
            self.tokens = (self.tokens - 1.0).max(0.0);
            return Due::Resync;
        }
        if self.pending && self.tokens >= 1.0 {
            self.pending = false;
            self.tokens -= 1.0;
            return Due::Sync;
        }
        Due::Nothing
    }

    /// When to poll next: the resync time, or sooner when a pending change
    /// waits for a token.
    pub fn next_deadline(&self, now: Instant) -> Instant {
        let resync = self.last_resync + self.sync_period;
        if !self.pending {
            return resync;
        }
        let missing = (1.0 - self.tokens).max(0.0);
        let wait = self.min_sync_period.mul_f64(missing);
        resync.min(now + wait)
    }

    /// Records that a sync failed: it is retried after `min_sync_period`
    /// (at least one second), like kube-proxy's retry.
    pub fn retry(&mut self) {
        self.pending = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn without_min_period_every_change_syncs_at_once() {
        let t0 = Instant::now();
        let mut r = Runner::new(Duration::ZERO, 30 * S, 2, t0);
        assert_eq!(r.poll(t0), Due::Nothing);
        for _ in 0..5 {
            r.request();
            assert_eq!(r.next_deadline(t0), t0);
            assert_eq!(r.poll(t0), Due::Sync);
        }
    }

    #[test]
    fn min_period_allows_a_burst_then_spaces_syncs() {
        let t0 = Instant::now();
        let mut r = Runner::new(S, 30 * S, 2, t0);
        r.request();
        assert_eq!(r.poll(t0), Due::Sync);
        r.request();
        assert_eq!(r.poll(t0), Due::Sync);
        r.request();
        assert_eq!(r.poll(t0), Due::Nothing, "the burst is used up");
        assert_eq!(r.next_deadline(t0), t0 + S);
        assert_eq!(r.poll(t0 + S / 2), Due::Nothing);
        assert_eq!(r.poll(t0 + S), Due::Sync);
        assert!(!r.is_pending());
    }

    #[test]
    fn resync_every_period_whatever_else_happens() {
        let t0 = Instant::now();
        let mut r = Runner::new(Duration::ZERO, 30 * S, 2, t0);
        assert_eq!(r.next_deadline(t0), t0 + 30 * S);
        r.request();
        assert_eq!(r.poll(t0 + 10 * S), Due::Sync);
        assert_eq!(r.poll(t0 + 29 * S), Due::Nothing);
        r.request();
        assert_eq!(
            r.poll(t0 + 30 * S),
            Due::Resync,
            "takes the pending change too"
        );
        assert!(!r.is_pending());
        assert_eq!(r.next_deadline(t0 + 30 * S), t0 + 60 * S);
    }
}
