//! The metrics text and the metrics server. The expected names, types,
//! help texts, labels and buckets are those of kube-proxy's
//! `pkg/proxy/metrics/metrics.go` (`RegisterMetrics`, the core set plus
//! the `ProxyModeIPVS` case), with component-base's `[ALPHA] ` help prefix
//! (`metrics/opts.go` `annotateStabilityLevel`), and client_golang's
//! `process_collector.go` descriptions.

use std::collections::{BTreeMap, BTreeSet};

use super::{get, loopback, unix_now};
use ipvs_netlink::Family;

use crate::serve::{Metrics, serve_metrics_on};

/// One sample line.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed OpenMetrics text: family types and helps by family name, and
/// the samples in order.
#[derive(Debug, Default)]
struct Exposition {
    types: BTreeMap<String, String>,
    helps: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

impl Exposition {
    fn parse(text: &str) -> Self {
        let mut out = Exposition::default();
        assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
        for line in text.lines() {
            if line == "# EOF" {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
                out.types.insert(name.into(), kind.into());
            } else if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').expect("HELP name text");
                out.helps.insert(name.into(), help.into());
            } else {
                assert!(!line.starts_with('#'), "unexpected comment {line}");
                let (series, value) = line.rsplit_once(' ').expect("series value");
                let (name, labels) = match series.split_once('{') {
                    Some((name, labels)) => (name, labels.trim_end_matches('}')),
                    None => (series, ""),
                };
                let labels = labels
                    .split("\",")
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (key, value) = pair.split_once("=\"").expect("label k=\"v\"");
                        (key.to_string(), value.trim_end_matches('"').to_string())
                    })
                    .collect();
                let value = match value {
                    "+Inf" => f64::INFINITY,
                    number => number.parse().expect("sample value"),
                };
                out.samples.push(Sample {
                    name: name.into(),
                    labels,
                    value,
                });
            }
        }
        out
    }

    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|sample| {
                sample.name == name
                    && sample.labels.len() == labels.len()
                    && labels.iter().all(|(key, value)| {
                        sample.labels.get(*key).map(String::as_str) == Some(*value)
                    })
            })
            .map(|sample| sample.value)
    }

    /// The `(le, cumulative count)` of a histogram's series with `labels`,
    /// in order.
    fn buckets(&self, name: &str, labels: &[(&str, &str)]) -> Vec<(f64, f64)> {
        let bucket = format!("{name}_bucket");
        self.samples
            .iter()
            .filter(|sample| {
                sample.name == bucket
                    && labels.iter().all(|(key, value)| {
                        sample.labels.get(*key).map(String::as_str) == Some(*value)
                    })
            })
            .map(|sample| {
                let le = match sample.labels["le"].as_str() {
                    "+Inf" => f64::INFINITY,
                    bound => bound.parse().expect("le bound"),
                };
                (le, sample.value)
            })
            .collect()
    }

    /// The `le` bounds only.
    fn bounds(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        self.buckets(name, labels)
            .into_iter()
            .map(|(le, _)| le)
            .collect()
    }

    /// The cumulative count of the bucket bounded by `le`.
    fn bucket(&self, name: &str, labels: &[(&str, &str)], le: f64) -> Option<f64> {
        self.buckets(name, labels)
            .into_iter()
            .find(|(bound, _)| *bound == le)
            .map(|(_, count)| count)
    }
}

/// kube-proxy's name (as Prometheus stores it), type, help and label names.
const KUBE_PROXY: &[(&str, &str, &str, &[&str])] = &[
    (
        "kubeproxy_sync_proxy_rules_duration_seconds",
        "histogram",
        "SyncProxyRules latency in seconds",
        &["ip_family"],
    ),
    (
        "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds",
        "gauge",
        "The last time a sync of proxy rules was queued",
        &["ip_family"],
    ),
    (
        "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
        "gauge",
        "The last time proxy rules were successfully synced",
        &["ip_family"],
    ),
    (
        "kubeproxy_sync_proxy_rules_endpoint_changes_pending",
        "gauge",
        "Pending proxy rules Endpoint changes",
        &[],
    ),
    (
        "kubeproxy_sync_proxy_rules_endpoint_changes_total",
        "counter",
        "Cumulative proxy rules Endpoint changes",
        &[],
    ),
    (
        "kubeproxy_sync_proxy_rules_service_changes_pending",
        "gauge",
        "Pending proxy rules Service changes",
        &[],
    ),
    (
        "kubeproxy_sync_proxy_rules_service_changes_total",
        "counter",
        "Cumulative proxy rules Service changes",
        &[],
    ),
    (
        "kubeproxy_proxy_healthz_total",
        "counter",
        "Cumulative proxy healthz HTTP status",
        &["code"],
    ),
    (
        "kubeproxy_proxy_livez_total",
        "counter",
        "Cumulative proxy livez HTTP status",
        &["code"],
    ),
    (
        "kubeproxy_network_programming_duration_seconds",
        "histogram",
        "In Cluster Network Programming Latency in seconds",
        &["ip_family"],
    ),
    (
        "kubeproxy_sync_proxy_rules_no_local_endpoints_total",
        "gauge",
        "Number of services with a Local traffic policy and no endpoints",
        &["ip_family", "traffic_policy"],
    ),
    (
        "kubeproxy_sync_proxy_rules_iptables_restore_failures_total",
        "counter",
        "Cumulative proxy iptables restore failures",
        &["ip_family"],
    ),
    (
        "kubeproxy_conntrack_reconciler_sync_duration_seconds",
        "histogram",
        "ReconcileConntrackFlowsLatency latency in seconds",
        &["ip_family"],
    ),
    (
        "kubeproxy_conntrack_reconciler_deleted_entries_total",
        "counter",
        "Cumulative conntrack flows deleted by conntrack reconciler",
        &["ip_family"],
    ),
];

/// `metrics.ExponentialBuckets(0.001, 2, 15)`.
const SYNC_BUCKETS: [f64; 15] = [
    0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096,
    8.192, 16.384,
];

/// `metrics.MergeBuckets(LinearBuckets(0.25, 0.25, 2), LinearBuckets(1, 1,
/// 59), LinearBuckets(60, 5, 12), LinearBuckets(120, 30, 7))`; MergeBuckets
/// starts from `make([]float64, 1)`, a leading 0.
fn network_programming_buckets() -> Vec<f64> {
    let mut buckets = vec![0.0, 0.25, 0.5];
    buckets.extend((1..=59).map(f64::from)); // 1s … 59s
    buckets.extend((60..=115).step_by(5).map(f64::from)); // 60s … 115s
    buckets.extend((120..=300).step_by(30).map(f64::from)); // 2min … 5min
    buckets
}

/// The OpenMetrics family name: a counter's without `_total`.
fn family_name<'a>(name: &'a str, kind: &str) -> &'a str {
    match kind {
        "counter" => name.strip_suffix("_total").expect("counters end in _total"),
        _ => name,
    }
}

fn exercise(metrics: &Metrics) {
    metrics.sync_duration(Family::Inet, 0.003);
    metrics.sync_duration(Family::Inet, 0.5);
    metrics.sync_queued(Family::Inet);
    metrics.sync_done(Family::Inet);
    metrics.endpoint_changes(5, 3);
    metrics.endpoint_changes(2, 4);
    metrics.service_changes(1, 1);
    metrics.iptables_restore_failed(Family::Inet);
    metrics.iptables_restore_failed(Family::Inet);
    metrics.network_programming(Family::Inet, 0.0);
    metrics.network_programming(Family::Inet, 61.0);
    metrics.no_local_endpoints(Family::Inet6, 1, 2);
    metrics.conntrack_reconciled(Family::Inet, 0.01, 5);
    metrics.proxy_healthz(200);
    metrics.proxy_livez(503);
}

#[test]
fn every_kube_proxy_metric_has_its_name_type_help_and_labels() {
    let metrics = Metrics::new();
    let before = unix_now();
    exercise(&metrics);
    let after = unix_now();
    let text = metrics.render();
    let exposition = Exposition::parse(&text);
    assert!(!text.contains("_total_total"), "{text}");

    let mut expected_families = BTreeSet::new();
    for &(name, kind, help, labels) in KUBE_PROXY {
        let family = family_name(name, kind);
        expected_families.insert(family.to_string());
        assert_eq!(
            exposition.types.get(family).map(String::as_str),
            Some(kind),
            "{name}"
        );
        assert_eq!(
            exposition.helps.get(family).cloned(),
            Some(format!("[ALPHA] {help}")),
            "{name}"
        );
        let sample_names: Vec<String> = match kind {
            "histogram" => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{name}{s}"))
                .collect(),
            _ => vec![name.to_string()],
        };
        for sample_name in sample_names {
            let series: Vec<&Sample> = exposition
                .samples
                .iter()
                .filter(|s| s.name == sample_name)
                .collect();
            assert!(!series.is_empty(), "no sample {sample_name}");
            for sample in series {
                let mut keys: Vec<&str> = sample
                    .labels
                    .keys()
                    .map(String::as_str)
                    .filter(|key| *key != "le")
                    .collect();
                keys.sort_unstable();
                assert_eq!(keys, labels, "labels of {sample_name}");
            }
        }
    }
    let kube_proxy_families: BTreeSet<String> = exposition
        .types
        .keys()
        .filter(|name| name.starts_with("kubeproxy_"))
        .cloned()
        .collect();
    assert_eq!(kube_proxy_families, expected_families);

    let v4 = [("ip_family", "IPv4")];
    let sync = "kubeproxy_sync_proxy_rules_duration_seconds";
    let mut expected = SYNC_BUCKETS.to_vec();
    expected.push(f64::INFINITY);
    assert_eq!(exposition.bounds(sync, &v4), expected);
    assert_eq!(exposition.value(&format!("{sync}_count"), &v4), Some(2.0));
    assert_eq!(exposition.value(&format!("{sync}_sum"), &v4), Some(0.503));
    assert_eq!(exposition.bucket(sync, &v4, 0.002), Some(0.0));
    assert_eq!(exposition.bucket(sync, &v4, 0.004), Some(1.0));
    assert_eq!(exposition.bucket(sync, &v4, 0.512), Some(2.0));
    assert_eq!(exposition.bucket(sync, &v4, f64::INFINITY), Some(2.0));
    let conntrack = "kubeproxy_conntrack_reconciler_sync_duration_seconds";
    assert_eq!(exposition.bounds(conntrack, &v4), expected);

    let programming = "kubeproxy_network_programming_duration_seconds";
    let mut expected = network_programming_buckets();
    assert_eq!(expected.len(), 1 + 2 + 59 + 12 + 7);
    expected.push(f64::INFINITY);
    assert_eq!(exposition.bounds(programming, &v4), expected);
    assert_eq!(exposition.bucket(programming, &v4, 0.0), Some(1.0)); // 0 <= 0
    assert_eq!(exposition.bucket(programming, &v4, 60.0), Some(1.0));
    assert_eq!(exposition.bucket(programming, &v4, 65.0), Some(2.0));

    let value = |name: &str, labels: &[(&str, &str)]| exposition.value(name, labels);
    assert_eq!(
        value("kubeproxy_sync_proxy_rules_endpoint_changes_pending", &[]),
        Some(2.0)
    );
    assert_eq!(
        value("kubeproxy_sync_proxy_rules_endpoint_changes_total", &[]),
        Some(7.0)
    );
    assert_eq!(
        value("kubeproxy_sync_proxy_rules_service_changes_pending", &[]),
        Some(1.0)
    );
    assert_eq!(
        value("kubeproxy_sync_proxy_rules_service_changes_total", &[]),
        Some(1.0)
    );
    assert_eq!(
        value(
            "kubeproxy_sync_proxy_rules_iptables_restore_failures_total",
            &v4
        ),
        Some(2.0)
    );
    assert_eq!(
        value("kubeproxy_conntrack_reconciler_deleted_entries_total", &v4),
        Some(5.0)
    );
    assert_eq!(
        value("kubeproxy_proxy_healthz_total", &[("code", "200")]),
        Some(1.0)
    );
    assert_eq!(
        value("kubeproxy_proxy_livez_total", &[("code", "503")]),
        Some(1.0)
    );
    let no_local = "kubeproxy_sync_proxy_rules_no_local_endpoints_total";
    let v6 = ("ip_family", "IPv6");
    assert_eq!(
        value(no_local, &[v6, ("traffic_policy", "internal")]),
        Some(1.0)
    );
    assert_eq!(
        value(no_local, &[v6, ("traffic_policy", "external")]),
        Some(2.0)
    );
    for stamp in [
        "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
        "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds",
    ] {
        let at = value(stamp, &v4).expect(stamp);
        assert!(
            (before..=after).contains(&at),
            "{stamp} {at} not in [{before}, {after}]"
        );
    }
}

/// client_golang leaves an empty `*Vec` out of the output; the plain
/// counters and gauges are there at 0.
#[test]
fn fresh_metrics_have_only_the_unlabelled_ones() {
    let text = Metrics::new().render();
    let exposition = Exposition::parse(&text);
    let kube_proxy: BTreeSet<&str> = exposition
        .types
        .keys()
        .map(String::as_str)
        .filter(|name| name.starts_with("kubeproxy_"))
        .collect();
    assert_eq!(
        kube_proxy,
        BTreeSet::from([
            "kubeproxy_sync_proxy_rules_endpoint_changes",
            "kubeproxy_sync_proxy_rules_endpoint_changes_pending",
            "kubeproxy_sync_proxy_rules_service_changes",
            "kubeproxy_sync_proxy_rules_service_changes_pending",
        ])
    );
    assert_eq!(
        exposition.value("kubeproxy_sync_proxy_rules_endpoint_changes_total", &[]),
        Some(0.0)
    );
    assert_eq!(
        exposition.value("kubeproxy_sync_proxy_rules_service_changes_pending", &[]),
        Some(0.0)
    );
}

/// process_collector.go: names, help texts and types (cpu a counter,
/// the rest gauges), values read from this test process.
#[test]
fn process_metrics_describe_this_process() {
    let exposition = Exposition::parse(&Metrics::new().render());
    let expected = [
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
        ),
        (
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
        ),
        (
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
        ),
        (
            "process_virtual_memory_max_bytes",
            "gauge",
            "Maximum amount of virtual memory available in bytes.",
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
        ),
    ];
    for (name, kind, help) in expected {
        let family = family_name(name, kind);
        assert_eq!(
            exposition.types.get(family).map(String::as_str),
            Some(kind),
            "{name}"
        );
        assert_eq!(
            exposition.helps.get(family).map(String::as_str),
            Some(help),
            "{name}"
        );
        assert!(exposition.value(name, &[]).is_some(), "no sample {name}");
    }
    let value = |name| exposition.value(name, &[]).unwrap();
    let open = value("process_open_fds");
    let max = value("process_max_fds");
    assert!(open >= 3.0 && open <= max, "open {open} max {max}");
    let rss = value("process_resident_memory_bytes");
    assert!(
        rss > 1e6 && rss < value("process_virtual_memory_bytes"),
        "rss {rss}"
    );
    let start = value("process_start_time_seconds");
    let now = unix_now();
    // Started before now, and this test binary is not a day old.
    assert!(
        start <= now + 1.0 && start > now - 86_400.0,
        "start {start} now {now}"
    );
    assert!(value("process_cpu_seconds_total") >= 0.0);
}

/// serve_metrics in cmd/kube-proxy/app/server.go: healthz.InstallHandler
/// ("ok", text/plain, nosniff; verbose lists the ping check), /proxyMode
/// (`fmt.Fprintf(w, "%s", proxyMode)`), configz (`json.Marshal` of the
/// configs by name), /metrics, and http.NotFound for the rest.
#[tokio::test]
async fn metrics_server_routes() {
    let metrics = Metrics::new();
    metrics.endpoint_changes(0, 9);
    let (listener, addr) = loopback().await;
    let configz = serde_json::json!({"kind": "KubeProxyConfiguration", "mode": "ipvs"});
    let _task = tokio::spawn(serve_metrics_on(listener, metrics.clone(), configz));

    let reply = get(addr, "/metrics").await;
    assert_eq!(reply.code(), 200);
    assert_eq!(
        reply.header("Content-Type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let exposition = Exposition::parse(&reply.body);
    assert_eq!(
        exposition.value("kubeproxy_sync_proxy_rules_endpoint_changes_total", &[]),
        Some(9.0)
    );

    let reply = get(addr, "/healthz").await;
    assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
    assert_eq!(
        reply.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(reply.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(reply.body, "ok");
    assert_eq!(
        get(addr, "/healthz?verbose").await.body,
        "[+]ping ok\nhealthz check passed\n"
    );
    assert_eq!(get(addr, "/healthz/ping").await.body, "ok");

    let reply = get(addr, "/proxyMode").await;
    assert_eq!(reply.code(), 200);
    assert_eq!(
        reply.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(reply.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(reply.body, "ipvs");

    let reply = get(addr, "/configz").await;
    assert_eq!(reply.code(), 200);
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    assert_eq!(reply.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(
        reply.body,
        r#"{"kubeproxy.config.k8s.io":{"kind":"KubeProxyConfiguration","mode":"ipvs"}}"#
    );

    let reply = get(addr, "/metricsz").await;
    assert_eq!(reply.status_line, "HTTP/1.1 404 Not Found");
    assert_eq!(
        reply.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(reply.body, "404 page not found\n");
}
