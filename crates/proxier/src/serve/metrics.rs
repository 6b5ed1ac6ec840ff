//! kube-proxy's metrics in IPVS mode (`pkg/proxy/metrics/metrics.go`,
//! `RegisterMetrics(ProxyModeIPVS)`), in one prometheus-client registry
//! with the `process_*` metrics of [`super::process`].
//!
//! Names, help texts, types, labels and buckets are those of metrics.go;
//! component-base prefixes every help text with the stability level
//! (`opts.go` `annotateStabilityLevel`: `fmt.Sprintf("[%v] %v", …)`), so
//! the help is `[ALPHA] …`. The output is OpenMetrics text (what
//! prometheus-client writes; Prometheus asks for it first): a counter's
//! `# TYPE` line names it without `_total` and its sample carries
//! `_total`, so the samples are exactly kube-proxy's
//! (`kubeproxy_sync_proxy_rules_endpoint_changes_total 3`).
//!
//! The metrics are written through one [`Collector`] rather than
//! `Registry::register`, which would append a `.` to every help text.
//! Like client_golang, a labelled metric appears only once one of its
//! series exists, and the families are sorted by (sample) name.
//!
//! Buckets (metrics.go):
//! * `sync_proxy_rules_duration_seconds`,
//!   `conntrack_reconciler_sync_duration_seconds`:
//!   `metrics.ExponentialBuckets(0.001, 2, 15)`.
//! * `network_programming_duration_seconds`: `metrics.MergeBuckets(
//!   LinearBuckets(0.25, 0.25, 2), LinearBuckets(1, 1, 59),
//!   LinearBuckets(60, 5, 12), LinearBuckets(120, 30, 7))`; component-base
//!   `MergeBuckets` starts from `make([]float64, 1)`, so the first bucket
//!   is `0`.

use std::{
    fmt,
    sync::{Arc, atomic::AtomicU64},
    time::{SystemTime, UNIX_EPOCH},
};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, text::encode},
    metrics::MetricType,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets, linear_buckets},
    },
    registry::{Metric, Registry},
};

use super::{family_label, process::ProcessCollector};
// `Family` here is prometheus-client's metric family.
use ipvs_netlink::Family as IpFamily;

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type FamilyLabels = [(&'static str, &'static str); 1];
type PolicyLabels = [(&'static str, &'static str); 2];
type CodeLabels = [(&'static str, String); 1];
type Histograms = Family<FamilyLabels, Histogram, fn() -> Histogram>;
type Timestamps = Family<FamilyLabels, Gauge<f64, AtomicU64>>;

/// kube-proxy's metrics (cheap `Clone`, one `Arc` inside).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    sync_duration: Histograms,
    last_timestamp: Timestamps,
    last_queued_timestamp: Timestamps,
    endpoint_changes_pending: Gauge,
    endpoint_changes_total: Counter,
    service_changes_pending: Gauge,
    service_changes_total: Counter,
    iptables_restore_failures: Family<FamilyLabels, Counter>,
    network_programming: Histograms,
    no_local_endpoints: Family<PolicyLabels, Gauge>,
    healthz_total: Family<CodeLabels, Counter>,
    livez_total: Family<CodeLabels, Counter>,
    conntrack_sync_duration: Histograms,
    conntrack_deleted: Family<FamilyLabels, Counter>,
}

/// metrics.go `ExponentialBuckets(0.001, 2, 15)`.
fn sync_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// metrics.go's `NetworkProgrammingLatency` buckets (see the module docs).
fn network_programming_histogram() -> Histogram {
    let buckets = std::iter::once(0.0)
        .chain(linear_buckets(0.25, 0.25, 2))
        .chain(linear_buckets(1.0, 1.0, 59))
        .chain(linear_buckets(60.0, 5.0, 12))
        .chain(linear_buckets(120.0, 30.0, 7));
    Histogram::new(buckets)
}

fn family(family: IpFamily) -> FamilyLabels {
    [("ip_family", family_label(family))]
}

fn code(code: u16) -> CodeLabels {
    [("code", code.to_string())]
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// All metrics at zero, registered with the process collector.
    pub fn new() -> Self {
        let sync_duration: Histograms = Family::new_with_constructor(sync_histogram);
        let network_programming: Histograms =
            Family::new_with_constructor(network_programming_histogram);
        let conntrack_sync_duration: Histograms = Family::new_with_constructor(sync_histogram);
        let last_timestamp = Timestamps::default();
        let last_queued_timestamp = Timestamps::default();
        let endpoint_changes_pending = Gauge::default();
        let endpoint_changes_total = Counter::default();
        let service_changes_pending = Gauge::default();
        let service_changes_total = Counter::default();
        let iptables_restore_failures = Family::default();
        let no_local_endpoints = Family::default();
        let healthz_total = Family::default();
        let livez_total = Family::default();
        let conntrack_deleted = Family::default();

        let mut collector = KubeProxyCollector::default();
        collector.add(
            "kubeproxy_sync_proxy_rules_duration_seconds",
            "SyncProxyRules latency in seconds",
            sync_duration.clone(),
        );
        collector.add(
            "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
            "The last time proxy rules were successfully synced",
            last_timestamp.clone(),
        );
        collector.add(
            "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds",
            "The last time a sync of proxy rules was queued",
            last_queued_timestamp.clone(),
        );
        collector.add(
            "kubeproxy_sync_proxy_rules_endpoint_changes_pending",
            "Pending proxy rules Endpoint changes",
            endpoint_changes_pending.clone(),
        );
        collector.add(
            "kubeproxy_sync_proxy_rules_endpoint_changes",
            "Cumulative proxy rules Endpoint changes",
            endpoint_changes_total.clone(),
        );
        collector.add(
            "kubeproxy_sync_proxy_rules_service_changes_pending",
            "Pending proxy rules Service changes",
            service_changes_pending.clone(),
        );
        collector.add(
            "kubeproxy_sync_proxy_rules_service_changes",
            "Cumulative proxy rules Service changes",
            service_changes_total.clone(),
        );
        collector.add(
            "kubeproxy_sync_proxy_rules_iptables_restore_failures",
            "Cumulative proxy iptables restore failures",
            iptables_restore_failures.clone(),
        );
        collector.add(
            "kubeproxy_network_programming_duration_seconds",
            "In Cluster Network Programming Latency in seconds",
            network_programming.clone(),
        );
        collector.add(
            "kubeproxy_sync_proxy_rules_no_local_endpoints_total",
            "Number of services with a Local traffic policy and no endpoints",
            no_local_endpoints.clone(),
        );
        collector.add(
            "kubeproxy_proxy_healthz",
            "Cumulative proxy healthz HTTP status",
            healthz_total.clone(),
        );
        collector.add(
            "kubeproxy_proxy_livez",
            "Cumulative proxy livez HTTP status",
            livez_total.clone(),
        );
        collector.add(
            "kubeproxy_conntrack_reconciler_sync_duration_seconds",
            "ReconcileConntrackFlowsLatency latency in seconds",
            conntrack_sync_duration.clone(),
        );
        collector.add(
            "kubeproxy_conntrack_reconciler_deleted_entries",
            "Cumulative conntrack flows deleted by conntrack reconciler",
            conntrack_deleted.clone(),
        );
        collector.entries.sort_by(|a, b| a.exposed.cmp(&b.exposed));

        let mut registry = Registry::default();
        registry.register_collector(Box::new(collector));
        registry.register_collector(Box::new(ProcessCollector));
        Metrics {
            inner: Arc::new(Inner {
                registry,
                sync_duration,
                last_timestamp,
                last_queued_timestamp,
                endpoint_changes_pending,
                endpoint_changes_total,
                service_changes_pending,
                service_changes_total,
                iptables_restore_failures,
                network_programming,
                no_local_endpoints,
                healthz_total,
                livez_total,
                conntrack_sync_duration,
                conntrack_deleted,
            }),
        }
    }

    /// One sync of `family` took `seconds`
    /// (`kubeproxy_sync_proxy_rules_duration_seconds`).
    pub fn sync_duration(&self, family: IpFamily, seconds: f64) {
        self.inner
            .sync_duration
            .get_or_create(&self::family(family))
            .observe(seconds);
    }

    /// A sync of `family` succeeded now
    /// (`kubeproxy_sync_proxy_rules_last_timestamp_seconds`).
    pub fn sync_done(&self, family: IpFamily) {
        self.inner
            .last_timestamp
            .get_or_create(&self::family(family))
            .set(unix_now());
    }

    /// A sync of `family` was queued now
    /// (`kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds`).
    pub fn sync_queued(&self, family: IpFamily) {
        self.inner
            .last_queued_timestamp
            .get_or_create(&self::family(family))
            .set(unix_now());
    }

    /// EndpointSlice changes: `pending` not yet synced, `new_changes` more
    /// seen (`kubeproxy_sync_proxy_rules_endpoint_changes_{pending,total}`).
    pub fn endpoint_changes(&self, pending: i64, new_changes: u64) {
        self.inner.endpoint_changes_pending.set(pending);
        self.inner.endpoint_changes_total.inc_by(new_changes);
    }

    /// Service changes: `pending` not yet synced, `new_changes` more seen
    /// (`kubeproxy_sync_proxy_rules_service_changes_{pending,total}`).
    pub fn service_changes(&self, pending: i64, new_changes: u64) {
        self.inner.service_changes_pending.set(pending);
        self.inner.service_changes_total.inc_by(new_changes);
    }

    /// `iptables-restore` failed for `family`
    /// (`kubeproxy_sync_proxy_rules_iptables_restore_failures_total`).
    pub fn iptables_restore_failed(&self, family: IpFamily) {
        self.inner
            .iptables_restore_failures
            .get_or_create(&self::family(family))
            .inc();
    }

    /// A change took `seconds` from its EndpointSlice trigger time to the
    /// kernel (`kubeproxy_network_programming_duration_seconds`).
    pub fn network_programming(&self, family: IpFamily, seconds: f64) {
        self.inner
            .network_programming
            .get_or_create(&self::family(family))
            .observe(seconds);
    }

    /// Services of `family` with a Local traffic policy and no local
    /// endpoints, internal and external
    /// (`kubeproxy_sync_proxy_rules_no_local_endpoints_total`).
    pub fn no_local_endpoints(&self, family: IpFamily, internal: i64, external: i64) {
        let ip_family = family_label(family);
        for (policy, count) in [("internal", internal), ("external", external)] {
            self.inner
                .no_local_endpoints
                .get_or_create(&[("ip_family", ip_family), ("traffic_policy", policy)])
                .set(count);
        }
    }

    /// A conntrack reconciliation of `family` took `seconds` and deleted
    /// `deleted` entries (`kubeproxy_conntrack_reconciler_*`).
    pub fn conntrack_reconciled(&self, family: IpFamily, seconds: f64, deleted: u64) {
        let labels = self::family(family);
        self.inner
            .conntrack_sync_duration
            .get_or_create(&labels)
            .observe(seconds);
        self.inner
            .conntrack_deleted
            .get_or_create(&labels)
            .inc_by(deleted);
    }

    /// `/healthz` answered `code` (`kubeproxy_proxy_healthz_total`).
    pub fn proxy_healthz(&self, code: u16) {
        self.inner
            .healthz_total
            .get_or_create(&self::code(code))
            .inc();
    }

    /// `/livez` answered `code` (`kubeproxy_proxy_livez_total`).
    pub fn proxy_livez(&self, code: u16) {
        self.inner
            .livez_total
            .get_or_create(&self::code(code))
            .inc();
    }

    /// Every metric as OpenMetrics text (served as [`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(err) = encode(&mut text, &self.inner.registry) {
            tracing::warn!("metrics encoding: {err}");
        }
        text
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// One metric family of the collector.
struct Entry {
    name: &'static str,
    /// The name of the samples (a counter's with `_total`), the sort key.
    exposed: String,
    help: String,
    metric: Box<dyn Metric>,
}

/// Writes kube-proxy's metrics with their exact help texts.
#[derive(Default)]
struct KubeProxyCollector {
    entries: Vec<Entry>,
}

impl KubeProxyCollector {
    fn add(&mut self, name: &'static str, help: &str, metric: impl Metric) {
        let exposed = match metric.metric_type() {
            MetricType::Counter => format!("{name}_total"),
            _ => name.to_string(),
        };
        self.entries.push(Entry {
            name,
            exposed,
            help: format!("[ALPHA] {help}"),
            metric: Box::new(metric),
        });
    }
}

impl fmt::Debug for KubeProxyCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.entries.iter().map(|entry| entry.name).collect();
        f.debug_struct("KubeProxyCollector")
            .field("metrics", &names)
            .finish()
    }
}

impl Collector for KubeProxyCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        for entry in &self.entries {
            // A labelled family without series is left out, as
            // client_golang leaves out an empty `*Vec`.
            if entry.metric.is_empty() {
                continue;
            }
            let metric_encoder = encoder.encode_descriptor(
                entry.name,
                &entry.help,
                None,
                entry.metric.metric_type(),
            )?;
            entry.metric.encode(metric_encoder)?;
        }
        Ok(())
    }
}
