//! What a sync leaves behind: its report in the log, and the values its
//! metrics take.

use tracing::{info, warn};

use crate::reconcile::SyncReport;

/// A count as a gauge value.
pub(super) fn count<T: TryInto<i64>>(value: T) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
}

/// Seconds since an RFC 3339 time (an EndpointSlice trigger time).
pub(super) fn since(time: &str) -> Option<f64> {
    let then: k8s_openapi::jiff::Timestamp = time.parse().ok()?;
    let elapsed = k8s_openapi::jiff::Timestamp::now().duration_since(then);
    Some(elapsed.as_secs_f64().max(0.0))
}

/// Logs `report` of a `what` (`sync`, `resync`, `graceful`): its errors
/// as warnings, then its counts (always for a sync, else when it wrote).
pub(super) fn log_report(what: &str, report: &SyncReport) {
    for error in &report.errors {
        warn!("{what}: {error}");
    }
    if report.mutating_messages() > 0 || report.iptables_forks > 0 || what == "sync" {
        info!(
            mutating_messages = report.mutating_messages(),
            iptables_forks = report.iptables_forks,
            services_added = report.services_added,
            services_deleted = report.services_deleted,
            real_servers_added = report.real_servers_added,
            real_servers_deleted = report.real_servers_deleted,
            real_servers_queued = report.real_servers_queued,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "{what} done"
        );
    }
}
