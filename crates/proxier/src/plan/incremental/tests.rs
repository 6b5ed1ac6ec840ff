//! The incremental planner against the full one: random histories
//! (seeded), and the cases that matter one by one.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::{core::v1::Service, discovery::v1::EndpointSlice};

use super::*;
use crate::{
    kernel::{Bindings, SetState, ipset::family_of},
    model::{self, NodeContext, ServiceName},
    plan::{self, KernelPlan, PlanChanges},
    reconcile::{
        ExcludeCidrs, KnownService, diff_bindings, diff_bindings_keys, diff_ipsets,
        diff_ipsets_keys, diff_ipvs, diff_ipvs_keys,
    },
    source::{Snapshot, manifests},
};

mod random;

use random::Rng;

/// Every Service and EndpointSlice of a random history.
#[derive(Debug, Default)]
struct World {
    services: BTreeMap<ServiceName, Service>,
    slices: BTreeMap<(ServiceName, usize), EndpointSlice>,
}

impl World {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            services: self.services.values().cloned().collect(),
            endpoint_slices: self.slices.values().cloned().collect(),
            nodes: Vec::new(),
        }
    }

    fn slices_of(&self, name: &ServiceName) -> Vec<&EndpointSlice> {
        self.slices
            .iter()
            .filter(|((n, _), _)| n == name)
            .map(|(_, s)| s)
            .collect()
    }

    /// Sends the current objects of `name` to the planner.
    fn push(
        &self,
        planner: &mut IncrementalPlanner,
        name: &ServiceName,
        shared: bool,
    ) -> Vec<Warning> {
        let service = self.services.get(name);
        let slices = self.slices_of(name);
        if shared {
            planner.update_shared(
                name,
                service.map(|s| Arc::new(s.clone())),
                slices.iter().map(|s| Arc::new((*s).clone())).collect(),
            )
        } else {
            planner.update(name, service, &slices)
        }
    }
}

/// The facts the full model gives, computed plainly from it.
type Facts = (
    BTreeMap<u16, ServiceName>,
    BTreeMap<ServiceName, usize>,
    BTreeMap<IpFamily, NoLocalEndpoints>,
);

fn reference_facts(snapshot: &Snapshot, node: &NodeContext, config: &ProxyConfig) -> Facts {
    let (model, _) = model::build(snapshot, node);
    let mut health = BTreeMap::new();
    let mut local: BTreeMap<ServiceName, BTreeSet<IpAddr>> = BTreeMap::new();
    let mut marked: BTreeMap<(IpFamily, bool), BTreeSet<ServiceName>> = BTreeMap::new();
    for port in &model.ports {
        let name = ServiceName::new(&port.namespace, &port.name);
        if let Some(hc) = port.health_check_node_port {
            health.entry(hc).or_insert_with(|| name.clone());
        }
        for e in port.endpoints.iter().filter(|e| e.local && e.ready) {
            local.entry(name.clone()).or_default().insert(e.addr.ip());
        }
        // kube-proxy's syncEndpoint, once per virtual server: a
        // node-local one without local endpoints (while some exist
        // elsewhere) marks the Service for each local policy it has.
        let c = port.categorize(node);
        let none_here = c.local.is_empty() && c.has_any;
        let mut only_local = vec![port.internal_policy_local];
        let node_ports = !plan::node_port_ips(node, config, port.family).is_empty();
        if !port.external_ips.is_empty()
            || !port.load_balancer_ips.is_empty()
            || (port.node_port.is_some() && node_ports)
        {
            only_local.push(port.external_policy_local);
        }
        for local_only in only_local {
            if local_only && none_here {
                for (policy, on) in [
                    (true, port.internal_policy_local),
                    (false, port.external_policy_local),
                ] {
                    if on {
                        marked
                            .entry((port.family, policy))
                            .or_default()
                            .insert(name.clone());
                    }
                }
            }
        }
    }
    let mut no_local: BTreeMap<IpFamily, NoLocalEndpoints> = BTreeMap::new();
    for ((family, internal), names) in marked {
        let counts = no_local.entry(family).or_default();
        if internal {
            counts.internal = names.len();
        } else {
            counts.external = names.len();
        }
    }
    let local = local.into_iter().map(|(n, ips)| (n, ips.len())).collect();
    (health, local, no_local)
}

/// The reconciler's cache after writing `plan` exactly.
fn cache_of(
    plan: &KernelPlan,
) -> (
    BTreeMap<ServiceKey, KnownService>,
    Bindings,
    BTreeMap<String, SetState>,
) {
    let services = plan
        .services
        .iter()
        .map(|(k, p)| {
            let known = KnownService {
                service: p.service.clone(),
                real_servers: p.real_servers.iter().map(|r| (r.addr, r.clone())).collect(),
            };
            (*k, known)
        })
        .collect();
    let bindings = Bindings {
        addresses: plan.bind_addrs.clone(),
        routes: BTreeSet::new(),
    };
    let sets = plan
        .ipsets
        .iter()
        .map(|(name, set)| {
            let state = SetState {
                set_type: Some(set.set_type),
                family: (!set.set_type.is_bitmap()).then(|| family_of(set.family)),
                entries: set.entries.clone(),
            };
            (name.clone(), state)
        })
        .collect();
    (services, bindings, sets)
}

/// With a cache equal to `before`, the diffs restricted to `changes` are
/// the full diffs to `after`.
fn check_partial_diffs(before: &KernelPlan, after: &KernelPlan, changes: &PlanChanges, what: &str) {
    let PlanChanges::Some(keys) = changes else {
        return;
    };
    let (services, bindings, sets) = cache_of(before);
    let (queued, exclude) = (BTreeSet::new(), ExcludeCidrs::default());
    assert_eq!(
        diff_ipvs_keys(&services, after, &keys.services, &queued, &exclude),
        diff_ipvs(&services, after, &queued, &exclude),
        "{what}: IPVS"
    );
    let mode = crate::kernel::BindMode::Address;
    assert_eq!(
        diff_bindings_keys(&bindings, &after.bind_addrs, &keys.bind_addrs, mode),
        diff_bindings(&bindings, &after.bind_addrs, mode),
        "{what}: bindings"
    );
    assert_eq!(
        diff_ipsets_keys(&sets, after, &keys.ipset_entries),
        diff_ipsets(&sets, after),
        "{what}: ipsets"
    );
}

fn assert_plan_eq(got: &KernelPlan, want: &KernelPlan, what: &str) {
    assert_eq!(got.services, want.services, "{what}: services");
    assert_eq!(got.bind_addrs, want.bind_addrs, "{what}: bind_addrs");
    assert_eq!(
        got.ipsets.keys().collect::<Vec<_>>(),
        want.ipsets.keys().collect::<Vec<_>>(),
        "{what}: set names"
    );
    for (name, set) in &want.ipsets {
        assert_eq!(got.ipsets.get(name), Some(set), "{what}: set {name}");
    }
    assert_eq!(got.iptables, want.iptables, "{what}: iptables");
    assert_eq!(got, want, "{what}");
}

fn sorted(mut warnings: Vec<Warning>) -> Vec<Warning> {
    warnings.sort();
    warnings
}

/// Whether a warning of the full planner is about `name`'s own objects.
fn about(warning: &Warning, name: &ServiceName, slices: &[String]) -> bool {
    match warning.kind.as_str() {
        "Service" => warning.object == name.to_string(),
        "EndpointSlice" => slices.contains(&warning.object),
        _ => false,
    }
}

/// How a random history went.
#[derive(Debug, Default)]
struct Tally {
    steps: usize,
    partial: usize,
    all: usize,
    none: usize,
    conflicts: usize,
    warnings: usize,
    families_v6: usize,
}

/// One random history: `steps` operations, each checked.
fn history(seed: u64, steps: usize, tally: &mut Tally) {
    let mut rng = Rng::new(seed);
    let config = random::config(&mut rng);
    let mut node = random::node(&mut rng);
    let mut planner = IncrementalPlanner::new(node.clone(), config.clone());
    let mut world = World::default();
    let mut before = planner.plan().clone();
    assert_eq!(
        planner.take_changes(),
        PlanChanges::All,
        "seed {seed}: first"
    );
    for step in 0..steps {
        let what = format!("seed {seed} step {step}");
        let mut name = ServiceName::new(*rng.pick(&random::NAMESPACES), *rng.pick(&random::NAMES));
        if rng.chance(70)
            && let Some(existing) = world
                .services
                .keys()
                .nth(rng.below(world.services.len().max(1)))
        {
            // Mostly Services that exist: fewer steps that change nothing.
            name = existing.clone();
        }
        let index = rng.below(3);
        let shared = rng.chance(50);
        let returned = match rng.below(100) {
            0..=34 => {
                world
                    .services
                    .insert(name.clone(), random::service(&mut rng, &name));
                Some(world.push(&mut planner, &name, shared))
            }
            35..=44 => {
                world.services.remove(&name);
                Some(world.push(&mut planner, &name, shared))
            }
            45..=81 => {
                let slice = random::slice(&mut rng, &name, index, world.services.get(&name));
                world.slices.insert((name.clone(), index), slice);
                Some(world.push(&mut planner, &name, shared))
            }
            82..=95 => {
                world.slices.remove(&(name.clone(), index));
                Some(world.push(&mut planner, &name, shared))
            }
            _ => {
                node = random::node(&mut rng);
                planner.set_node(node.clone());
                None
            }
        };
        let snapshot = world.snapshot();
        let (want, want_warnings) = plan::plan(&snapshot, &node, &config);
        assert_plan_eq(planner.plan(), &want, &what);
        let all_warnings = sorted(planner.warnings());
        assert_eq!(
            all_warnings,
            sorted(want_warnings.clone()),
            "{what}: warnings"
        );
        if let Some(returned) = returned {
            let slices: Vec<String> = (0..3).map(|i| format!("{name}-{i}")).collect();
            for warning in &returned {
                assert!(
                    want_warnings.contains(warning),
                    "{what}: returned {warning}"
                );
            }
            for warning in want_warnings.iter().filter(|w| about(w, &name, &slices)) {
                assert!(returned.contains(warning), "{what}: not returned {warning}");
            }
        }
        assert_eq!(
            (
                planner.health_check_ports(),
                planner.local_endpoints(),
                planner.no_local_endpoints()
            ),
            reference_facts(&snapshot, &node, &config),
            "{what}: facts"
        );
        let changes = planner.take_changes();
        check_partial_diffs(&before, planner.plan(), &changes, &what);
        if let PlanChanges::Some(keys) = &changes {
            for key in &keys.services {
                assert_ne!(
                    before.services.get(key),
                    planner.plan().services.get(key),
                    "{what}: {key:?} listed but unchanged"
                );
            }
        }
        changes.apply(&mut before, planner.plan());
        assert_plan_eq(&before, planner.plan(), &format!("{what}: changes applied"));
        tally.steps += 1;
        match changes {
            PlanChanges::None => tally.none += 1,
            PlanChanges::All => tally.all += 1,
            PlanChanges::Some(_) => tally.partial += 1,
        }
        tally.conflicts += usize::from(!planner.conflicts.is_empty());
        tally.warnings += usize::from(!all_warnings.is_empty());
        tally.families_v6 += usize::from(planner.plan().iptables.contains_key(&IpFamily::V6));
    }
}

#[test]
fn random_histories_equal_the_full_planner() {
    let mut tally = Tally::default();
    for seed in 0..400 {
        history(seed, 40, &mut tally);
    }
    println!("{tally:?}");
    // The histories exercise what they should: mostly partial changes,
    // conflicts, warnings and both families.
    assert_eq!(tally.steps, 16_000);
    assert!(tally.partial > tally.steps / 3, "{tally:?}");
    assert!(tally.none > tally.steps / 20, "{tally:?}");
    assert!(tally.all > tally.steps / 50, "{tally:?}");
    assert!(tally.conflicts > tally.steps / 10, "{tally:?}");
    assert!(tally.warnings > tally.steps / 10, "{tally:?}");
    assert!(tally.families_v6 > tally.steps / 10, "{tally:?}");
}

fn node() -> NodeContext {
    let mut node = NodeContext::new("node-1");
    node.node_ips = vec!["192.168.1.10".parse().unwrap()];
    node.primary_ips = node.node_ips.clone();
    node
}

/// Parses YAML into (Services by name, slices by Service name).
fn objects(yaml: &str) -> (Vec<Service>, Vec<EndpointSlice>) {
    let (snapshot, warnings) = manifests::parse(yaml, "t.yaml");
    assert!(warnings.is_empty(), "{warnings:?}");
    (snapshot.services, snapshot.endpoint_slices)
}

fn cluster_ip_service(i: usize, ip: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}, namespace: ns}}\n\
         spec: {{clusterIP: {ip}, ports: [{{name: http, port: 80}}]}}\n"
    )
}

fn slice_yaml(service: &str, endpoints: &[(&str, &str)]) -> String {
    let list: Vec<String> = endpoints
        .iter()
        .map(|(ip, node)| format!("{{addresses: [{ip}], nodeName: {node}}}"))
        .collect();
    format!(
        "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
         metadata: {{name: {service}-1, namespace: ns, labels: {{kubernetes.io/service-name: {service}}}}}\n\
         addressType: IPv4\nports: [{{name: http, port: 8080}}]\nendpoints: [{}]\n",
        list.join(", ")
    )
}

fn push_all(planner: &mut IncrementalPlanner, services: &[Service], slices: &[EndpointSlice]) {
    for service in services {
        let name = ServiceName::of(service);
        let mine: Vec<&EndpointSlice> = slices
            .iter()
            .filter(|s| ServiceName::of_slice(s).as_ref() == Some(&name))
            .collect();
        let warnings = planner.update(&name, Some(service), &mine);
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}

#[test]
fn one_endpoint_change_lists_one_virtual_server() {
    let mut yaml = String::new();
    for i in 0..50 {
        yaml += &cluster_ip_service(i, &format!("10.96.0.{}", i + 1));
        yaml += &slice_yaml(
            &format!("svc-{i}"),
            &[("10.244.1.1", "node-2"), ("10.244.1.2", "node-2")],
        );
    }
    let (services, slices) = objects(&yaml);
    let mut planner = IncrementalPlanner::new(node(), ProxyConfig::default());
    push_all(&mut planner, &services, &slices);
    assert_eq!(planner.take_changes(), PlanChanges::All);
    assert_eq!(planner.take_changes(), PlanChanges::None);

    let (_, changed) = objects(&slice_yaml(
        "svc-7",
        &[("10.244.1.1", "node-2"), ("10.244.1.3", "node-2")],
    ));
    let name = ServiceName::new("ns", "svc-7");
    let warnings = planner.update(&name, Some(&services[7]), &[&changed[0]]);
    assert!(warnings.is_empty());
    let key = ServiceKey::tcp("10.96.0.8:80".parse().unwrap());
    let PlanChanges::Some(keys) = planner.take_changes() else {
        panic!("expected a partial change");
    };
    assert_eq!(keys.services, BTreeSet::from([key]));
    assert!(
        keys.bind_addrs.is_empty() && keys.ipset_entries.is_empty() && keys.iptables.is_empty()
    );
    let servers: Vec<String> = planner.plan().services[&key]
        .real_servers
        .iter()
        .map(|r| r.addr.to_string())
        .collect();
    assert_eq!(servers, ["10.244.1.1:8080", "10.244.1.3:8080"]);
    // The same objects again change nothing.
    planner.update(&name, Some(&services[7]), &[&changed[0]]);
    assert_eq!(planner.take_changes(), PlanChanges::None);
}

#[test]
fn the_first_claimant_wins_and_the_next_takes_over() {
    // Three Services on one ClusterIP:port, one address bound.
    let yaml = [
        cluster_ip_service(1, "10.96.0.1"),
        cluster_ip_service(2, "10.96.0.1"),
        cluster_ip_service(3, "10.96.0.1"),
    ]
    .concat();
    let (services, _) = objects(&yaml);
    let mut planner = IncrementalPlanner::new(node(), ProxyConfig::default());
    // Added last to first: each newcomer takes over.
    assert!(
        planner
            .update(&ServiceName::of(&services[2]), Some(&services[2]), &[])
            .is_empty()
    );
    let warnings = planner.update(&ServiceName::of(&services[1]), Some(&services[1]), &[]);
    assert_eq!(
        warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "Service ns/svc-3: virtual server 10.96.0.1:80/tcp is already used by ns/svc-2:http; skipped"
        ]
    );
    planner.update(&ServiceName::of(&services[0]), Some(&services[0]), &[]);
    let key = ServiceKey::tcp("10.96.0.1:80".parse().unwrap());
    assert_eq!(planner.plan().services[&key].origin, "ns/svc-1:http");
    assert_eq!(
        sorted(planner.warnings())
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "Service ns/svc-2: virtual server 10.96.0.1:80/tcp is already used by ns/svc-1:http; skipped",
            "Service ns/svc-3: virtual server 10.96.0.1:80/tcp is already used by ns/svc-1:http; skipped",
        ]
    );
    let (want, _) = plan::plan(
        &Snapshot {
            services: services.clone(),
            ..Snapshot::default()
        },
        &node(),
        &ProxyConfig::default(),
    );
    assert_eq!(planner.plan(), &want);
    planner.take_changes();
    // The winner goes: the next one takes over, the address stays bound.
    planner.update(&ServiceName::of(&services[0]), None, &[]);
    assert_eq!(planner.plan().services[&key].origin, "ns/svc-2:http");
    let PlanChanges::Some(keys) = planner.take_changes() else {
        panic!("expected a partial change");
    };
    assert_eq!(keys.services, BTreeSet::from([key]));
    assert!(keys.bind_addrs.is_empty(), "{keys:?}");
    assert!(
        planner
            .plan()
            .bind_addrs
            .contains(&"10.96.0.1".parse().unwrap())
    );
    planner.update(&ServiceName::of(&services[1]), None, &[]);
    planner.update(&ServiceName::of(&services[2]), None, &[]);
    assert!(planner.plan().services.is_empty() && planner.plan().bind_addrs.is_empty());
    assert!(planner.warnings().is_empty());
}

#[test]
fn members_shared_by_services_stay_until_the_last_goes() {
    // A local pod backing two Services on the same target port: one
    // KUBE-LOOP-BACK member; an external IP of both, on different ports.
    let yaml = format!(
        "{}{}{}{}",
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: ns}\n\
         spec: {clusterIP: 10.96.0.1, externalIPs: [203.0.113.1], ports: [{name: http, port: 80}]}\n",
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: ns}\n\
         spec: {clusterIP: 10.96.0.2, externalIPs: [203.0.113.1], ports: [{name: http, port: 81}]}\n",
        slice_yaml("a", &[("10.244.0.5", "node-1")]),
        slice_yaml("b", &[("10.244.0.5", "node-1")]),
    );
    let (services, slices) = objects(&yaml);
    let mut planner = IncrementalPlanner::new(node(), ProxyConfig::default());
    push_all(&mut planner, &services, &slices);
    let loop_back: Entry = "10.244.0.5,tcp:8080,10.244.0.5".parse().unwrap();
    let external: IpAddr = "203.0.113.1".parse().unwrap();
    let has_member = |p: &IncrementalPlanner| {
        p.plan().ipsets["KUBE-LOOP-BACK"]
            .entries
            .contains(&loop_back)
    };
    assert!(has_member(&planner));
    assert!(planner.plan().bind_addrs.contains(&external));
    planner.take_changes();
    planner.update(&ServiceName::new("ns", "a"), None, &[&slices[0]]);
    assert!(has_member(&planner));
    assert!(planner.plan().bind_addrs.contains(&external));
    let PlanChanges::Some(keys) = planner.take_changes() else {
        panic!("expected a partial change");
    };
    assert!(!keys.bind_addrs.contains(&external), "{keys:?}");
    assert!(
        !keys
            .ipset_entries
            .get("KUBE-LOOP-BACK")
            .is_some_and(|e| e.contains(&loop_back))
    );
    planner.update(&ServiceName::new("ns", "b"), None, &[&slices[1]]);
    assert!(!has_member(&planner));
    assert!(planner.plan().bind_addrs.is_empty());
    let (want, _) = plan::plan(&Snapshot::default(), &node(), &ProxyConfig::default());
    assert_eq!(planner.plan(), &want);
}

#[test]
fn a_first_ipv6_service_changes_everything() {
    let yaml = "apiVersion: v1\nkind: Service\nmetadata: {name: v6, namespace: ns}\n\
                spec: {clusterIP: 'fd00:96::1', ports: [{port: 80}]}\n";
    let (services, _) = objects(yaml);
    let mut planner = IncrementalPlanner::new(node(), ProxyConfig::default());
    planner.take_changes();
    assert!(!planner.plan().ipsets.contains_key("KUBE-6-CLUSTER-IP"));
    planner.update(&ServiceName::new("ns", "v6"), Some(&services[0]), &[]);
    assert_eq!(planner.take_changes(), PlanChanges::All);
    assert_eq!(planner.plan().ipsets["KUBE-6-CLUSTER-IP"].entries.len(), 1);
    assert!(planner.plan().iptables.contains_key(&IpFamily::V6));
    planner.update(&ServiceName::new("ns", "v6"), None, &[]);
    assert_eq!(planner.take_changes(), PlanChanges::All);
    let (want, _) = plan::plan(&Snapshot::default(), &node(), &ProxyConfig::default());
    assert_eq!(planner.plan(), &want);
}

#[test]
fn a_new_node_context_replans_everything() {
    let yaml = "apiVersion: v1\nkind: Service\nmetadata: {name: np, namespace: ns}\n\
                spec: {type: NodePort, clusterIP: 10.96.0.1, ports: [{port: 80, nodePort: 30080}]}\n";
    let (services, _) = objects(yaml);
    let mut planner = IncrementalPlanner::new(node(), ProxyConfig::default());
    planner.update(&ServiceName::new("ns", "np"), Some(&services[0]), &[]);
    planner.take_changes();
    assert!(planner.set_node(node()).is_empty());
    assert_eq!(planner.take_changes(), PlanChanges::None, "same node");
    let mut moved = node();
    moved.node_ips.push("192.168.2.10".parse().unwrap());
    planner.set_node(moved.clone());
    assert_eq!(planner.take_changes(), PlanChanges::All);
    assert!(
        planner
            .plan()
            .services
            .contains_key(&ServiceKey::tcp("192.168.2.10:30080".parse().unwrap()))
    );
    let snapshot = Snapshot {
        services,
        ..Snapshot::default()
    };
    assert_eq!(
        planner.plan(),
        &plan::plan(&snapshot, &moved, &ProxyConfig::default()).0
    );
}

/// kube-proxy's TestNoEndpointsMetric (pkg/proxy/ipvs/proxier_test.go): a
/// NodePort Service with local policies, endpoints here or elsewhere.
#[test]
fn no_local_endpoints_like_kube_proxy() {
    /// internalTrafficPolicy, externalTrafficPolicy, endpoints (address,
    /// node), the expected internal and external counts.
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], usize, usize);
    let cases: [Case; 7] = [
        (
            "Local",
            "Cluster",
            &[("10.0.1.1", "node-1"), ("10.0.1.2", "node-2")],
            0,
            0,
        ),
        (
            "Cluster",
            "Local",
            &[("10.0.1.1", "node-1"), ("10.0.1.2", "node-2")],
            0,
            0,
        ),
        (
            "Local",
            "Local",
            &[("10.0.1.1", "node-1"), ("10.0.1.2", "node-2")],
            0,
            0,
        ),
        (
            "Local",
            "Cluster",
            &[("10.0.1.1", "node-2"), ("10.0.1.2", "node-2")],
            1,
            0,
        ),
        (
            "Cluster",
            "Local",
            &[("10.0.1.1", "node-2"), ("10.0.1.2", "node-2")],
            0,
            1,
        ),
        (
            "Local",
            "Local",
            &[("10.0.1.1", "node-2"), ("10.0.1.2", "node-2")],
            1,
            1,
        ),
        ("Local", "Local", &[], 0, 0),
    ];
    for (internal, external, endpoints, want_internal, want_external) in cases {
        let yaml = format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: svc, namespace: ns}}\n\
             spec: {{type: NodePort, clusterIP: 172.30.1.1, internalTrafficPolicy: {internal}, \
             externalTrafficPolicy: {external}, ports: [{{name: p80, port: 80, nodePort: 30000}}]}}\n\
             ---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
             metadata: {{name: svc-1, namespace: ns, labels: {{kubernetes.io/service-name: svc}}}}\n\
             addressType: IPv4\nports: [{{name: p80, port: 80}}]\nendpoints: [{}]\n",
            endpoints
                .iter()
                .map(|(ip, node)| format!("{{addresses: [{ip}], nodeName: {node}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let (services, slices) = objects(&yaml);
        let mut planner = IncrementalPlanner::new(node(), ProxyConfig::default());
        push_all(&mut planner, &services, &slices);
        let counts = planner
            .no_local_endpoints()
            .get(&IpFamily::V4)
            .copied()
            .unwrap_or_default();
        assert_eq!(
            (counts.internal, counts.external),
            (want_internal, want_external),
            "ITP {internal}, ETP {external}, {endpoints:?}"
        );
    }
}

#[test]
fn health_check_ports_and_local_ready_endpoints() {
    let yaml = "apiVersion: v1\nkind: Service\nmetadata: {name: lb, namespace: ns}\n\
                spec: {type: LoadBalancer, clusterIP: 10.96.0.9, externalTrafficPolicy: Local, \
                healthCheckNodePort: 32000, ports: [{name: http, port: 80, nodePort: 30080}, \
                {name: https, port: 443, nodePort: 30443}]}\n\
                ---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
                metadata: {name: lb-1, namespace: ns, labels: {kubernetes.io/service-name: lb}}\n\
                addressType: IPv4\nports: [{name: http, port: 8080}, {name: https, port: 8443}]\n\
                endpoints: [{addresses: [10.244.0.1], nodeName: node-1}, \
                {addresses: [10.244.0.2], nodeName: node-1, conditions: {ready: false}}, \
                {addresses: [10.244.0.3], nodeName: node-2}]\n";
    let (services, slices) = objects(yaml);
    let mut planner = IncrementalPlanner::new(node(), ProxyConfig::default());
    push_all(&mut planner, &services, &slices);
    let name = ServiceName::new("ns", "lb");
    assert_eq!(
        planner.health_check_ports(),
        BTreeMap::from([(32000, name.clone())])
    );
    // One local ready pod, counted once over both ports.
    assert_eq!(
        planner.local_endpoints(),
        BTreeMap::from([(name.clone(), 1)])
    );
    planner.update(&name, None, &[]);
    assert!(planner.health_check_ports().is_empty() && planner.local_endpoints().is_empty());
}
