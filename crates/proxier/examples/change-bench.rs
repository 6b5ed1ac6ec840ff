//! The cost of one EndpointSlice change, incremental versus full
//! (BENCHMARKS.md, "Per-Service change tracking"). Pure CPU: no kernel.
//!
//! `change-bench SERVICES [CHANGES [FULL_CHANGES]]` (defaults 1000 and 5):
//! builds SERVICES ClusterIP Services × 10 ready endpoints on another node
//! (bench/proxier-gen.py's shape: `bench/svc-i`, ClusterIP 10.96.x.y port
//! 80, one slice `svc-i-1`), loads them into an [`IncrementalPlanner`],
//! makes a reconciler cache equal to the plan, then times CHANGES
//! single-slice changes (one endpoint replaced, Services spread over the
//! cluster) through `update_shared` + `take_changes` + the partial diffs
//! (`diff_ipvs_keys`, `diff_bindings_keys`, `diff_ipsets_keys`), and
//! FULL_CHANGES through the full path (`plan::plan` over the snapshot +
//! `diff_ipvs`, `diff_bindings`, `diff_ipsets`). After each change the
//! cache is brought to the new plan (not timed), like a sync would. Prints
//! one `RESULT` line; exits non-zero if a change did not give exactly one
//! real server added and one removed, or if the incremental plan differs
//! from the full one.

#[path = "support/shape.rs"]
mod shape;

use std::{
    collections::{BTreeMap, BTreeSet},
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use ipvs_netlink::ServiceKey;
use k8s_openapi::{
    api::{
        core::v1::{Service, ServicePort, ServiceSpec},
        discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice},
    },
    apimachinery::pkg::{apis::meta::v1::ObjectMeta, util::intstr::IntOrString},
};
use kube_ipvs_proxier::{
    catalogue::owned::ExcludeCidrs,
    cluster::{SERVICE_NAME_LABEL, ServiceName, Snapshot, objects},
    config::ProxyConfig,
    kernel::{Bindings, SetState},
    model::NodeContext,
    plan::{self, IncrementalPlanner, KernelPlan, PlanChanges},
    reconcile::{
        KnownService, diff_bindings, diff_bindings_keys, diff_ipsets, diff_ipsets_keys, diff_ipvs,
        diff_ipvs_keys,
    },
    types::BindMode,
};
use shape::{ENDPOINTS, endpoint_ip, vip};

const NAMESPACE: &str = "bench";

fn meta(name: String, labels: Option<BTreeMap<String, String>>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(NAMESPACE.into()),
        labels,
        ..ObjectMeta::default()
    }
}

fn service(i: usize) -> Service {
    Service {
        metadata: meta(format!("svc-{i}"), None),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            cluster_ip: Some(vip(i)),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                protocol: Some("TCP".into()),
                target_port: Some(IntOrString::Int(80)),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

fn slice(i: usize, addresses: &[String]) -> EndpointSlice {
    let labels = BTreeMap::from([(SERVICE_NAME_LABEL.to_owned(), format!("svc-{i}"))]);
    EndpointSlice {
        metadata: meta(format!("svc-{i}-1"), Some(labels)),
        address_type: "IPv4".into(),
        ports: Some(vec![EndpointPort {
            name: Some("http".into()),
            port: Some(80),
            protocol: Some("TCP".into()),
            ..EndpointPort::default()
        }]),
        endpoints: addresses
            .iter()
            .map(|address| Endpoint {
                addresses: vec![address.clone()],
                conditions: Some(EndpointConditions {
                    ready: Some(true),
                    ..EndpointConditions::default()
                }),
                node_name: Some("node-2".into()),
                ..Endpoint::default()
            })
            .collect(),
    }
}

/// The reconciler's cache after writing `plan` exactly.
struct Cache {
    services: BTreeMap<ServiceKey, KnownService>,
    bindings: Bindings,
    ipsets: BTreeMap<String, SetState>,
}

impl Cache {
    fn of(plan: &KernelPlan) -> Self {
        let mut cache = Cache {
            services: BTreeMap::new(),
            bindings: Bindings::default(),
            ipsets: BTreeMap::new(),
        };
        cache.copy(plan, &PlanChanges::All);
        cache
    }

    /// Brings the listed keys to `plan` (what a sync records).
    fn copy(&mut self, plan: &KernelPlan, changes: &PlanChanges) {
        let known = |key: &ServiceKey| plan.services.get(key).map(KnownService::from);
        let set = |name: &String| {
            plan.ipsets.get(name).map(|s| SetState {
                set_type: Some(s.set_type),
                family: (!s.set_type.is_bitmap()).then_some(s.family),
                entries: s.entries.clone(),
            })
        };
        let (services, names): (Vec<ServiceKey>, Vec<String>) = match changes {
            PlanChanges::None => return,
            PlanChanges::All => {
                self.services.clear();
                self.bindings.addresses = plan.bind_addrs.clone();
                (
                    plan.services.keys().copied().collect(),
                    plan.ipsets.keys().cloned().collect(),
                )
            }
            PlanChanges::Some(keys) => {
                for addr in &keys.bind_addrs {
                    if plan.bind_addrs.contains(addr) {
                        self.bindings.addresses.insert(*addr);
                    } else {
                        self.bindings.addresses.remove(addr);
                    }
                }
                (
                    keys.services.iter().copied().collect(),
                    keys.ipset_entries.keys().cloned().collect(),
                )
            }
        };
        for key in services {
            match known(&key) {
                Some(service) => self.services.insert(key, service),
                None => self.services.remove(&key),
            };
        }
        for name in names {
            match set(&name) {
                Some(state) => self.ipsets.insert(name, state),
                None => self.ipsets.remove(&name),
            };
        }
    }
}

fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Resets the peak RSS (VmHWM) to the current RSS (Linux ≥ 4.0).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn percentile(sorted: &[Duration], p: usize) -> f64 {
    sorted
        .get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1)))
        .map_or(0.0, |d| micros(*d))
}

fn main() -> ExitCode {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap_or(0))
        .collect();
    let n = args.first().copied().unwrap_or(0);
    let changes = args.get(1).copied().unwrap_or(1000);
    let full_changes = args.get(2).copied().unwrap_or(5);
    if n == 0 || n > 65_000 || changes == 0 {
        eprintln!("usage: change-bench SERVICES (1-65000) [CHANGES [FULL_CHANGES]]");
        return ExitCode::from(2);
    }
    let mut node = NodeContext::new("node-1");
    node.node_ips = vec!["192.168.100.1".parse().expect("node ip")];
    node.primary_ips = node.node_ips.clone();
    let config = ProxyConfig::default();

    // Built as k8s-openapi objects, kept as the store keeps them.
    let services: Vec<Arc<objects::Service>> =
        (0..n).map(|i| Arc::new(service(i).into())).collect();
    let mut addresses: Vec<Vec<String>> = (0..n)
        .map(|i| (0..ENDPOINTS).map(|j| endpoint_ip(i, j)).collect())
        .collect();
    let mut slices: Vec<Arc<objects::EndpointSlice>> = (0..n)
        .map(|i| Arc::new(slice(i, &addresses[i]).into()))
        .collect();
    let names: Vec<ServiceName> = services.iter().map(|s| ServiceName::of(s)).collect();
    let rss_objects = status_mib("VmRSS:");

    let started = Instant::now();
    let mut planner = IncrementalPlanner::new(node.clone(), config.clone());
    for i in 0..n {
        let warnings = planner.update_shared(
            &names[i],
            Some(Arc::clone(&services[i])),
            vec![Arc::clone(&slices[i])],
        );
        if !warnings.is_empty() {
            eprintln!("change-bench: unexpected warnings: {warnings:?}");
            return ExitCode::FAILURE;
        }
    }
    let load = started.elapsed();
    let rss_loaded = status_mib("VmRSS:");
    let first = planner.take_changes();
    let mut cache = Cache::of(planner.plan());
    let (queued, exclude) = (BTreeSet::new(), ExcludeCidrs::default());

    let rss_cached = status_mib("VmRSS:");
    reset_peak();
    let mut times = Vec::with_capacity(changes);
    let (mut update_times, mut diff_times) = (Vec::new(), Vec::new());
    let mut bad = 0;
    for c in 0..changes {
        let i = (c * 7919) % n;
        addresses[i][c % ENDPOINTS] = format!("10.250.{}.{}", (c >> 8) & 255, c & 255);
        slices[i] = Arc::new(slice(i, &addresses[i]).into());
        let started = Instant::now();
        planner.update_shared(
            &names[i],
            Some(Arc::clone(&services[i])),
            vec![Arc::clone(&slices[i])],
        );
        let changed = planner.take_changes();
        let updated = started.elapsed();
        let PlanChanges::Some(keys) = &changed else {
            bad += 1;
            continue;
        };
        let plan = planner.plan();
        let ipvs = diff_ipvs_keys(&cache.services, plan, &keys.services, &queued, &exclude);
        let bind = diff_bindings_keys(
            &cache.bindings,
            &plan.bind_addrs,
            &keys.bind_addrs,
            BindMode::Address,
        );
        let sets = diff_ipsets_keys(&cache.ipsets, plan, &keys.ipset_entries);
        let elapsed = started.elapsed();
        times.push(elapsed);
        update_times.push(updated);
        diff_times.push(elapsed - updated);
        if ipvs.commands.len() != 1
            || ipvs.removed.len() != 1
            || !bind.bind.is_empty()
            || !sets.is_empty()
        {
            bad += 1;
        }
        cache.copy(plan, &changed);
    }
    let change_growth = status_mib("VmHWM:") - rss_cached;
    reset_peak();
    let rss_before_snapshot = status_mib("VmRSS:");
    let mut sorted = times.clone();
    sorted.sort();
    update_times.sort();
    diff_times.sort();
    let snapshot = Snapshot {
        services: services.clone(),
        endpoint_slices: slices.clone(),
        nodes: Vec::new(),
    };
    let (reference, _) = plan::plan(&snapshot, &node, &config);
    let same = reference == *planner.plan();
    drop(reference);

    // The full path: replan everything, diff everything.
    let mut snapshot = snapshot;
    let snapshot_mib = status_mib("VmRSS:") - rss_before_snapshot;
    let mut full_times = Vec::new();
    for c in changes..changes + full_changes {
        let i = (c * 7919) % n;
        addresses[i][c % ENDPOINTS] = format!("10.251.{}.{}", (c >> 8) & 255, c & 255);
        snapshot.endpoint_slices[i] = Arc::new(slice(i, &addresses[i]).into());
        let started = Instant::now();
        let (plan, _) = plan::plan(&snapshot, &node, &config);
        let ipvs = diff_ipvs(&cache.services, &plan, &queued, &exclude);
        let bind = diff_bindings(&cache.bindings, &plan.bind_addrs, BindMode::Address);
        let sets = diff_ipsets(&cache.ipsets, &plan);
        full_times.push(started.elapsed());
        if ipvs.commands.len() != 1
            || ipvs.removed.len() != 1
            || !bind.bind.is_empty()
            || !sets.is_empty()
        {
            bad += 1;
        }
        cache = Cache::of(&plan);
    }
    full_times.sort();
    let full_median = full_times
        .get(full_times.len() / 2)
        .map_or(0.0, |d| micros(*d));
    let median = percentile(&sorted, 50);
    let all = if first == PlanChanges::All {
        "All"
    } else {
        "not-All"
    };
    let ratio = if median > 0.0 {
        full_median / median
    } else {
        0.0
    };
    let peak_full = status_mib("VmHWM:");
    println!(
        "RESULT services={n} endpoints={ENDPOINTS} changes={changes} first={all} load_ms={:.0} \
         incremental_median_us={median:.1} incremental_p99_us={:.1} incremental_max_us={:.1} \
         update_median_us={:.1} diff_median_us={:.1} full_changes={} full_median_ms={:.1} \
         ratio={ratio:.0} objects_mib={rss_objects:.1} planner_mib={:.1} cache_mib={:.1} \
         rss_mib={rss_cached:.1} changes_growth_mib={change_growth:.1} \
         snapshot_mib={snapshot_mib:.1} full_plan_peak_mib={:.1} peak_mib={peak_full:.1} \
         equal_to_full_plan={same} bad={bad}",
        load.as_secs_f64() * 1e3,
        percentile(&sorted, 99),
        sorted.last().map_or(0.0, |d| micros(*d)),
        percentile(&update_times, 50),
        percentile(&diff_times, 50),
        full_times.len(),
        full_median / 1e3,
        rss_loaded - rss_objects,
        rss_cached - rss_loaded,
        peak_full - rss_before_snapshot - snapshot_mib,
    );
    if bad == 0 && same && first == PlanChanges::All {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
