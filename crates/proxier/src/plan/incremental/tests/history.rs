//! Seeded random histories of Services, EndpointSlices and node contexts:
//! after each step the incremental plan, its warnings and facts equal the
//! full planner's and the changes are complete (replayed on the previous
//! plan they give the new one). Each step's plans and changes also go to a
//! caller's check ([`history`]): the reconciler's tests check with them
//! that its partial diffs equal the full diffs.

use std::collections::{BTreeMap, BTreeSet};

use crate::cluster::objects::{EndpointSlice, Service};

use super::{random, random::Rng, sorted};
use crate::{
    cluster::{ServiceName, Snapshot},
    config::ProxyConfig,
    model::{self, NodeContext, Warning},
    plan::{self, IncrementalPlanner, KernelPlan, NoLocalEndpoints, PlanChanges},
};
use ipvs_netlink::Family;
use std::{net::IpAddr, sync::Arc};

/// Every Service and EndpointSlice of a random history.
#[derive(Debug, Default)]
struct World {
    services: BTreeMap<ServiceName, Service>,
    slices: BTreeMap<(ServiceName, usize), EndpointSlice>,
}

impl World {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            services: self.services.values().cloned().map(Arc::new).collect(),
            endpoint_slices: self.slices.values().cloned().map(Arc::new).collect(),
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
    BTreeMap<Family, NoLocalEndpoints>,
);

fn reference_facts(snapshot: &Snapshot, node: &NodeContext, config: &ProxyConfig) -> Facts {
    let (model, _) = model::build(snapshot, node);
    let mut health = BTreeMap::new();
    let mut local: BTreeMap<ServiceName, BTreeSet<IpAddr>> = BTreeMap::new();
    let mut marked: BTreeMap<(Family, bool), BTreeSet<ServiceName>> = BTreeMap::new();
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
        // A port whose ClusterIP is one of the node's own addresses is
        // refused; external and load-balancer IPs there are kept.
        if node.owns(port.cluster_ip) {
            continue;
        }
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
    let mut no_local: BTreeMap<Family, NoLocalEndpoints> = BTreeMap::new();
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

/// Whether a warning of the full planner is about `name`'s own objects.
fn about(warning: &Warning, name: &ServiceName, slices: &[String]) -> bool {
    match warning.kind.as_str() {
        "Service" => warning.object == name.to_string(),
        "EndpointSlice" => slices.contains(&warning.object),
        _ => false,
    }
}

/// How random histories went.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) steps: usize,
    pub(crate) partial: usize,
    pub(crate) all: usize,
    pub(crate) none: usize,
    pub(crate) conflicts: usize,
    pub(crate) warnings: usize,
    pub(crate) families_v6: usize,
}

/// A check of one step: the plan before it, the plan after it, the
/// changes the planner reported, and the step's name.
pub(crate) type StepCheck<'a> = dyn FnMut(&KernelPlan, &KernelPlan, &PlanChanges, &str) + 'a;

/// One random history of seed `seed`: `steps` operations, each checked
/// (against the full planner too when `reference`), then given to `check`.
pub(crate) fn history(
    seed: u64,
    steps: usize,
    tally: &mut Tally,
    reference: bool,
    check: &mut StepCheck<'_>,
) {
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
        let all_warnings = sorted(planner.warnings());
        if reference {
            let snapshot = world.snapshot();
            let (want, want_warnings) = plan::plan(&snapshot, &node, &config);
            assert_plan_eq(planner.plan(), &want, &what);
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
        }
        let changes = planner.take_changes();
        check(&before, planner.plan(), &changes, &what);
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
        tally.families_v6 += usize::from(planner.plan().iptables.contains_key(&Family::Inet6));
    }
}

#[test]
fn random_histories_equal_the_full_planner() {
    let mut tally = Tally::default();
    for seed in 0..400 {
        history(seed, 40, &mut tally, true, &mut |_, _, _, _| {});
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
