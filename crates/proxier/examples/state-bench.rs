//! What the daemon holds for a cluster, in memory and time
//! (BENCHMARKS.md, "Manifests", bench/manifests.sh). No kernel: the
//! source, the [`ClusterStore`] and the [`IncrementalPlanner`] over it,
//! fed the way the daemon feeds them.
//!
//! * `state-bench manifests DIR [FILE]`: a [`ManifestsSource`] poll, its
//!   snapshot into the store (`replace_all`), every Service into the
//!   planner (the daemon's first sync), the reconciler's cache after that
//!   sync (every planned service and real server); then FILE of DIR (default
//!   `slice-0.yaml`) rewritten under a new inode with one endpoint changed,
//!   polled again and the changed Services replanned (`idle-poll` first:
//!   a poll that finds nothing changed): `change` as the
//!   daemon does it (a delta of the files read), `change-view` through
//!   the whole view (`replace_all`, before the deltas).
//! * `state-bench api N`: N Services and N EndpointSlices of 10 endpoints
//!   (bench/proxier-gen.py's shape) as an API server sends them (JSON with
//!   managed fields, annotations, owner references, status), each
//!   deserialized by serde_json as kube's watcher does, converted by the
//!   watcher's own function and applied to the store as a relist; then
//!   every Service into the planner.
//!
//! Prints `RESULT` lines: seconds per stage, the resident set after it
//! (`rss_kib`, VmRSS) and the process's peak so far (`hwm_kib`, VmHWM).

#[path = "support/shape.rs"]
mod shape;

use std::{path::Path, process::ExitCode, time::Instant};

use kube::runtime::watcher::Event;
use kube_ipvs_proxier::{
    config::ProxyConfig,
    model::NodeContext,
    plan::IncrementalPlanner,
    reconcile::synced_services,
    source::{
        kube as api,
        manifests::ManifestsSource,
        store::{ClusterStore, SourceEvent},
    },
};
use shape::{ENDPOINTS, endpoint_ip, vip};

const NODE: &str = "node-1";

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn report(stage: &str, start: Instant, extra: &str) {
    println!(
        "RESULT {stage} {:.6} rss_kib={} hwm_kib={}{extra}",
        start.elapsed().as_secs_f64(),
        status_kib("VmRSS:"),
        status_kib("VmHWM:")
    );
}

/// `report` of the store's stage, with its object counts.
fn report_store(store: &ClusterStore, start: Instant) {
    let counts = format!(
        " services={} slices={}",
        store.service_count(),
        store.slice_count()
    );
    report("store", start, &counts);
}

fn plan_all(store: &ClusterStore) -> IncrementalPlanner {
    let mut planner = IncrementalPlanner::new(NodeContext::new(NODE), ProxyConfig::default());
    for name in store.names() {
        planner.update_shared(
            &name,
            store.service_shared(&name),
            store.slices_shared(&name),
        );
    }
    planner
}

fn manifests(dir: &str, file: &str) -> Result<(), String> {
    let mut source = ManifestsSource::new(dir);
    let start = Instant::now();
    let poll = source.poll().map_err(|e| e.to_string())?.ok_or("no poll")?;
    report("poll", start, &format!(" warnings={}", poll.warnings.len()));
    let start = Instant::now();
    let mut store = ClusterStore::new();
    store
        .replace_all(poll.snapshot, NODE)
        .map_err(|e| e.to_string())?;
    store.take_changes();
    report_store(&store, start);
    let start = Instant::now();
    let mut planner = plan_all(&store);
    report(
        "planner",
        start,
        &format!(" virtual_servers={}", planner.plan().services.len()),
    );
    planner.take_changes();
    let start = Instant::now();
    let cache = synced_services(planner.plan());
    report("cache", start, &format!(" virtual_servers={}", cache.len()));
    let path = Path::new(dir).join(file);
    // A poll that finds nothing changed: the listing and its stamps.
    let start = Instant::now();
    let idle = source.poll_delta().map_err(|e| e.to_string())?;
    report("idle-poll", start, &format!(" changed={}", idle.is_some()));
    // The daemon's path: a delta of the files read, applied to the store.
    let mut stamp = 0;
    let mut rewrite = || {
        stamp += 1;
        one_endpoint_changed(&path, stamp)
    };
    rewrite()?;
    let start = Instant::now();
    let poll = source
        .poll_delta()
        .map_err(|e| e.to_string())?
        .ok_or("no poll")?;
    store
        .apply_delta(poll.delta, NODE)
        .map_err(|e| e.to_string())?;
    let changed = replan(&mut store, &mut planner);
    report("change", start, &format!(" services_changed={changed}"));
    // The same through the whole view (before deltas).
    rewrite()?;
    let start = Instant::now();
    let poll = source.poll().map_err(|e| e.to_string())?.ok_or("no poll")?;
    store
        .replace_all(poll.snapshot, NODE)
        .map_err(|e| e.to_string())?;
    let changed = replan(&mut store, &mut planner);
    report(
        "change-view",
        start,
        &format!(" services_changed={changed}"),
    );
    Ok(())
}

/// Replans the Services the store marked; how many.
fn replan(store: &mut ClusterStore, planner: &mut IncrementalPlanner) -> usize {
    let changes = store.take_changes();
    for name in &changes.services {
        planner.update_shared(name, store.service_shared(name), store.slices_shared(name));
    }
    planner.take_changes();
    changes.services.len()
}

/// Rewrites `path` under a new inode with its first endpoint address
/// `"10.244.` replaced by `"10.250.STAMP` (one endpoint changed).
fn one_endpoint_changed(path: &Path, stamp: u32) -> Result<(), String> {
    let shown = |e: std::io::Error| format!("{}: {e}", path.display());
    let text = std::fs::read_to_string(path).map_err(shown)?;
    let Some(at) = text.find("\"10.244.") else {
        return Err(format!("{}: no 10.244. address", path.display()));
    };
    let end = at + text[at + 1..].find('"').ok_or("unterminated address")? + 2;
    let changed = format!("{}\"10.250.{stamp}.1\"{}", &text[..at], &text[end..]);
    let tmp = path.with_extension("state-bench.tmp");
    std::fs::write(&tmp, changed).map_err(shown)?;
    std::fs::rename(&tmp, path).map_err(shown)
}

/// A Service as `kubectl get -o json` shows one created by `kubectl
/// apply` (managed fields and the last-applied annotation included).
fn service_json(i: usize) -> String {
    let applied = format!(
        r#"{{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{{\"annotations\":{{}},\"labels\":{{\"app\":\"svc-{i}\"}},\"name\":\"svc-{i}\",\"namespace\":\"bench\"}},\"spec\":{{\"ports\":[{{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":80}}],\"selector\":{{\"app\":\"svc-{i}\"}}}}}}\n"#
    );
    let vip = vip(i);
    format!(
        r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"annotations":{{"kubectl.kubernetes.io/last-applied-configuration":"{applied}"}},"creationTimestamp":"2026-11-30T10:00:00Z","labels":{{"app":"svc-{i}"}},"managedFields":[{{"apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{{"f:metadata":{{"f:annotations":{{".":{{}},"f:kubectl.kubernetes.io/last-applied-configuration":{{}}}},"f:labels":{{".":{{}},"f:app":{{}}}}}},"f:spec":{{"f:internalTrafficPolicy":{{}},"f:ports":{{".":{{}},"k:{{\"port\":80,\"protocol\":\"TCP\"}}":{{".":{{}},"f:name":{{}},"f:port":{{}},"f:protocol":{{}},"f:targetPort":{{}}}}}},"f:selector":{{}},"f:sessionAffinity":{{}},"f:type":{{}}}}}},"manager":"kubectl-client-side-apply","operation":"Update","time":"2026-11-30T10:00:00Z"}}],"name":"svc-{i}","namespace":"bench","resourceVersion":"{rv}","uid":"6f1c2a7e-0000-4000-8000-{i:012}"}},"spec":{{"clusterIP":"{vip}","clusterIPs":["{vip}"],"internalTrafficPolicy":"Cluster","ipFamilies":["IPv4"],"ipFamilyPolicy":"SingleStack","ports":[{{"name":"http","port":80,"protocol":"TCP","targetPort":80}}],"selector":{{"app":"svc-{i}"}},"sessionAffinity":"None","type":"ClusterIP"}},"status":{{"loadBalancer":{{}}}}}}"#,
        rv = 1000 + i
    )
}

/// An EndpointSlice as the EndpointSlice controller writes it.
fn slice_json(i: usize) -> String {
    let endpoints: Vec<String> = (0..ENDPOINTS)
        .map(|j| {
            format!(
                r#"{{"addresses":["{}"],"conditions":{{"ready":true,"serving":true,"terminating":false}},"nodeName":"node-2","targetRef":{{"kind":"Pod","name":"svc-{i}-{j:05}-abcde","namespace":"bench","uid":"0a1b2c3d-0000-4000-8000-{:012}"}},"zone":"zone-a"}}"#,
                endpoint_ip(i, j),
                i * ENDPOINTS + j
            )
        })
        .collect();
    format!(
        r#"{{"addressType":"IPv4","apiVersion":"discovery.k8s.io/v1","endpoints":[{}],"kind":"EndpointSlice","metadata":{{"annotations":{{"endpoints.kubernetes.io/last-change-trigger-time":"2026-11-30T10:00:01Z"}},"creationTimestamp":"2026-11-30T10:00:00Z","generateName":"svc-{i}-","generation":1,"labels":{{"endpointslice.kubernetes.io/managed-by":"endpointslice-controller.k8s.io","kubernetes.io/service-name":"svc-{i}"}},"managedFields":[{{"apiVersion":"discovery.k8s.io/v1","fieldsType":"FieldsV1","fieldsV1":{{"f:addressType":{{}},"f:endpoints":{{}},"f:metadata":{{"f:annotations":{{".":{{}},"f:endpoints.kubernetes.io/last-change-trigger-time":{{}}}},"f:generateName":{{}},"f:labels":{{".":{{}},"f:endpointslice.kubernetes.io/managed-by":{{}},"f:kubernetes.io/service-name":{{}}}},"f:ownerReferences":{{".":{{}}}}}},"f:ports":{{}}}},"manager":"kube-controller-manager","operation":"Update","time":"2026-11-30T10:00:01Z"}}],"name":"svc-{i}-1","namespace":"bench","ownerReferences":[{{"apiVersion":"v1","blockOwnerDeletion":true,"controller":true,"kind":"Service","name":"svc-{i}","uid":"6f1c2a7e-0000-4000-8000-{i:012}"}}],"resourceVersion":"{rv}","uid":"9e8d7c6b-0000-4000-8000-{i:012}"}},"ports":[{{"name":"http","port":80,"protocol":"TCP"}}]}}"#,
        endpoints.join(","),
        rv = 100_000 + i
    )
}

fn api(n: usize) -> Result<(), String> {
    let start = Instant::now();
    let mut store = ClusterStore::new();
    store
        .apply(SourceEvent::service(Event::Init))
        .map_err(|e| e.to_string())?;
    for i in 0..n {
        let service = serde_json::from_str(&service_json(i)).map_err(|e| e.to_string())?;
        store
            .apply(api::service_event(Event::InitApply(service)))
            .map_err(|e| e.to_string())?;
    }
    store
        .apply(SourceEvent::service(Event::InitDone))
        .map_err(|e| e.to_string())?;
    store
        .apply(SourceEvent::slice(Event::Init))
        .map_err(|e| e.to_string())?;
    for i in 0..n {
        let slice = serde_json::from_str(&slice_json(i)).map_err(|e| e.to_string())?;
        store
            .apply(api::slice_event(Event::InitApply(slice)))
            .map_err(|e| e.to_string())?;
    }
    store
        .apply(SourceEvent::slice(Event::InitDone))
        .map_err(|e| e.to_string())?;
    store.take_changes();
    report_store(&store, start);
    let start = Instant::now();
    let planner = plan_all(&store);
    report(
        "planner",
        start,
        &format!(" virtual_servers={}", planner.plan().services.len()),
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["manifests", dir] => manifests(dir, "slice-0.yaml"),
        ["manifests", dir, file] => manifests(dir, file),
        ["api", n] => n.parse().map_err(|e| format!("{n}: {e}")).and_then(api),
        _ => Err("usage: state-bench manifests DIR [FILE] | state-bench api N".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("state-bench: {err}");
            ExitCode::FAILURE
        }
    }
}
