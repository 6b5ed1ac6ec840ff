//! Unit tests of the pure diff: two plans (or a cache and a plan) to the
//! exact command lists; the orchestration over in-memory writers
//! ([`fake`], [`orchestration`]).

pub(crate) mod fake;
mod orchestration;

use std::{
    collections::{BTreeMap, BTreeSet},
    net::{IpAddr, SocketAddr},
};

use ipset_netlink::{Entry, Family, SetType};
use ipvs_netlink::{
    Command, ForwardMethod, IpvsError, RealServer, Scheduler, ServiceKey, VirtualService,
};

use super::*;
use crate::{
    catalogue::owned::ExcludeCidrs,
    kernel::{Bindings, SetState},
    plan::{KernelPlan, PlannedService, PlannedSet},
    types::BindMode,
};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn rs(addr: &str, weight: u32) -> RealServer {
    RealServer::new(sa(addr), ForwardMethod::Masq, weight)
}

fn tcp(addr: &str) -> ServiceKey {
    ServiceKey::tcp(sa(addr))
}

fn vs(key: ServiceKey) -> VirtualService {
    VirtualService::new(key, Scheduler::RR)
}

fn planned(key: ServiceKey, servers: &[&str]) -> PlannedService {
    PlannedService {
        service: vs(key),
        real_servers: servers.iter().map(|a| rs(a, 1)).collect(),
        origin: "default/svc:http".into(),
    }
}

fn plan(services: &[(ServiceKey, &[&str])]) -> KernelPlan {
    KernelPlan {
        services: services
            .iter()
            .map(|(k, servers)| (*k, planned(*k, servers)))
            .collect(),
        ..KernelPlan::default()
    }
}

/// The cache after writing `plan` exactly.
fn known(plan: &KernelPlan) -> BTreeMap<ServiceKey, KnownService> {
    synced_services(plan)
}

/// A reconciler cache.
type Cache = BTreeMap<ServiceKey, KnownService>;
/// A graceful-removal queue.
type Queue = BTreeSet<(ServiceKey, SocketAddr)>;

/// One service with two real servers, the second draining at weight 0
/// and queued: (its key, the plan before, the cache, the queue).
fn draining() -> (ServiceKey, KernelPlan, Cache, Queue) {
    let a = tcp("10.96.0.1:443");
    let old = plan(&[(a, &["10.244.0.5:6443", "10.244.0.6:6443"])]);
    let mut cache = known(&old);
    cache.get_mut(&a).unwrap().real_servers.insert(
        sa("10.244.0.6:6443"),
        Cached::Known(RealServerSettings::of(&rs("10.244.0.6:6443", 0))),
    );
    let queued: BTreeSet<_> = [(a, sa("10.244.0.6:6443"))].into();
    (a, old, cache, queued)
}

fn none() -> BTreeSet<(ServiceKey, SocketAddr)> {
    BTreeSet::new()
}

#[test]
fn cold_plan_adds_services_then_real_servers() {
    let a = tcp("10.96.0.1:443");
    let b = tcp("10.96.0.10:53");
    let p = plan(&[
        (a, &["10.244.0.5:6443"]),
        (b, &["10.244.1.2:53", "10.244.1.3:53"]),
    ]);
    let diff = diff_ipvs(&BTreeMap::new(), &p, &none(), &ExcludeCidrs::default());
    assert_eq!(
        diff.commands,
        vec![
            Command::AddService(vs(a)),
            Command::AddService(vs(b)),
            Command::AddRealServer(a, rs("10.244.0.5:6443", 1)),
            Command::AddRealServer(b, rs("10.244.1.2:53", 1)),
            Command::AddRealServer(b, rs("10.244.1.3:53", 1)),
        ]
    );
    assert!(diff.removed.is_empty());
}

#[test]
fn same_plan_is_empty() {
    let a = tcp("10.96.0.1:443");
    let p = plan(&[(a, &["10.244.0.5:6443", "10.244.0.6:6443"])]);
    let diff = diff_ipvs(&known(&p), &p, &none(), &ExcludeCidrs::default());
    assert_eq!(diff, IpvsDiff::default());
}

#[test]
fn one_endpoint_change_is_one_add_and_one_removal() {
    let a = tcp("10.96.0.1:443");
    let old = plan(&[(a, &["10.244.0.5:6443", "10.244.0.6:6443"])]);
    let new = plan(&[(a, &["10.244.0.5:6443", "10.244.0.7:6443"])]);
    let diff = diff_ipvs(&known(&old), &new, &none(), &ExcludeCidrs::default());
    assert_eq!(
        diff.commands,
        vec![Command::AddRealServer(a, rs("10.244.0.7:6443", 1))]
    );
    assert_eq!(diff.removed, vec![(a, rs("10.244.0.6:6443", 1))]);
}

#[test]
fn changed_settings_are_updates() {
    let a = tcp("10.96.0.1:443");
    let old = plan(&[(a, &["10.244.0.5:6443"])]);
    let mut new = old.clone();
    let svc = new.services.get_mut(&a).unwrap();
    svc.service = vs(a).persistent(10800);
    svc.real_servers[0].weight = 2;
    let diff = diff_ipvs(&known(&old), &new, &none(), &ExcludeCidrs::default());
    assert_eq!(
        diff.commands,
        vec![
            Command::UpdateService(vs(a).persistent(10800)),
            Command::UpdateRealServer(a, rs("10.244.0.5:6443", 2)),
        ]
    );
}

#[test]
fn stale_services_are_deleted_unless_excluded() {
    let a = tcp("10.96.0.1:443");
    let b = tcp("10.96.0.2:80");
    let c = tcp("10.200.0.9:80");
    let old = plan(&[(a, &[]), (b, &["10.244.0.5:80"]), (c, &[])]);
    let new = plan(&[(a, &[])]);
    let exclude = ExcludeCidrs::new(["10.200.0.0/16".parse().unwrap()]);
    let diff = diff_ipvs(&known(&old), &new, &none(), &exclude);
    assert_eq!(diff.commands, vec![Command::DeleteService(b)]);
    assert!(
        diff.removed.is_empty(),
        "a deleted service takes its servers"
    );
}

#[test]
fn queued_real_servers_are_left_alone_and_restored() {
    let (a, old, cache, queued) = draining();
    // Still gone: nothing to do.
    let gone = plan(&[(a, &["10.244.0.5:6443"])]);
    let diff = diff_ipvs(&cache, &gone, &queued, &ExcludeCidrs::default());
    assert_eq!(diff, IpvsDiff::default());
    // Back: its weight is restored.
    let diff = diff_ipvs(&cache, &old, &queued, &ExcludeCidrs::default());
    assert_eq!(
        diff.commands,
        vec![Command::UpdateRealServer(a, rs("10.244.0.6:6443", 1))]
    );
    assert_eq!(diff.restored, vec![(a, sa("10.244.0.6:6443"))]);
}

#[test]
fn graceful_rules_follow_kube_proxy() {
    let t = tcp("10.96.0.1:80");
    let u = ServiceKey::udp(sa("10.96.0.10:53"));
    let mut busy = rs("10.244.0.5:80", 1);
    busy.inactive_conns = 2;
    let mut busy_quiet = busy.clone();
    busy_quiet.weight = 0;
    let idle = rs("10.244.0.6:80", 1);
    let mut udp_busy = rs("10.244.0.7:53", 1);
    udp_busy.active_conns = 5;
    let removed = vec![
        (t, busy.clone()),
        (t, idle),
        (u, udp_busy),
        (t, busy_quiet.clone()),
    ];
    let (commands, queue) = graceful_commands(&removed);
    assert_eq!(
        commands,
        vec![
            Command::UpdateRealServer(t, busy_quiet),
            Command::DeleteRealServer(t, sa("10.244.0.6:80")),
            Command::DeleteRealServer(u, sa("10.244.0.7:53")),
        ]
    );
    assert_eq!(queue, vec![(t, busy.addr), (t, busy.addr)]);
}

#[test]
fn bindings_diff_and_mode_switch() {
    let known = Bindings {
        addresses: [ip("10.96.0.1"), ip("10.96.0.2")].into(),
        routes: [ip("10.96.0.9")].into(),
    };
    let wanted: BTreeSet<IpAddr> = [ip("10.96.0.2"), ip("10.96.0.3")].into();
    let diff = diff_bindings(&known, &wanted, BindMode::Address);
    assert_eq!(diff.bind, vec![ip("10.96.0.3")]);
    assert_eq!(diff.unbind, vec![ip("10.96.0.1")]);
    assert_eq!(diff.unbind_other, vec![ip("10.96.0.9")]);
    let diff = diff_bindings(&known, &wanted, BindMode::Route);
    assert_eq!(diff.bind, vec![ip("10.96.0.2"), ip("10.96.0.3")]);
    assert_eq!(diff.unbind, vec![ip("10.96.0.9")]);
    assert_eq!(diff.unbind_other, vec![ip("10.96.0.1"), ip("10.96.0.2")]);
}

fn planned_set(set_type: SetType, entries: &[&str]) -> PlannedSet {
    PlannedSet {
        set_type,
        family: Family::Inet,
        comment: "test",
        entries: entries
            .iter()
            .map(|e| Entry::parse(set_type, e).unwrap())
            .collect(),
    }
}

#[test]
fn ipset_diff_is_minimal() {
    let mut p = KernelPlan::default();
    p.ipsets.insert(
        "KUBE-CLUSTER-IP".into(),
        planned_set(
            SetType::HashIpPort,
            &["10.96.0.1,tcp:443", "10.96.0.2,tcp:80"],
        ),
    );
    p.ipsets.insert(
        "KUBE-NODE-PORT-TCP".into(),
        planned_set(SetType::BitmapPort, &[]),
    );
    p.ipsets.insert(
        "KUBE-IPVS-IPS".into(),
        planned_set(SetType::HashIp, &["10.96.0.1"]),
    );
    let mut known = BTreeMap::new();
    known.insert(
        "KUBE-CLUSTER-IP".to_owned(),
        SetState {
            set_type: Some(SetType::HashIpPort),
            family: Some(Family::Inet),
            entries: ["10.96.0.1,tcp:443", "10.96.0.3,tcp:80"]
                .iter()
                .map(|e| Entry::parse(SetType::HashIpPort, e).unwrap())
                .collect(),
        },
    );
    known.insert(
        "KUBE-NODE-PORT-TCP".to_owned(),
        SetState {
            set_type: Some(SetType::BitmapPort),
            family: None,
            entries: BTreeSet::new(),
        },
    );
    known.insert(
        "KUBE-IPVS-IPS".to_owned(),
        SetState {
            set_type: Some(SetType::HashNet),
            family: Some(Family::Inet),
            entries: BTreeSet::new(),
        },
    );
    let diff = diff_ipsets(&known, &p);
    assert_eq!(diff.len(), 2, "{diff:?}");
    assert_eq!(diff[0].name, "KUBE-CLUSTER-IP");
    assert!(!diff[0].create && !diff[0].recreate);
    assert_eq!(diff[0].delete, vec!["10.96.0.3,tcp:80".parse().unwrap()]);
    assert_eq!(diff[0].add, vec!["10.96.0.2,tcp:80".parse().unwrap()]);
    assert_eq!(diff[1].name, "KUBE-IPVS-IPS");
    assert!(diff[1].recreate, "type changed");
    assert_eq!(diff[1].add, vec![Entry::Ip(ip("10.96.0.1"))]);
    // A missing set is created, even empty.
    let diff = diff_ipsets(&BTreeMap::new(), &p);
    assert_eq!(diff.len(), 3);
    assert!(diff.iter().all(|d| d.create));
}

#[test]
fn partial_ipvs_diff_is_the_full_diff_for_complete_changes() {
    let (a, b, c, d) = (
        tcp("10.96.0.1:443"),
        tcp("10.96.0.2:80"),
        tcp("10.96.0.3:80"),
        tcp("10.96.0.4:80"),
    );
    let old = plan(&[
        (a, &["10.244.0.5:6443", "10.244.0.6:6443"]),
        (b, &["10.244.0.7:80"]),
        (c, &["10.244.0.8:80"]),
    ]);
    let mut new = plan(&[
        (a, &["10.244.0.5:6443", "10.244.0.9:6443"]),
        (c, &["10.244.0.8:80"]),
        (d, &["10.244.1.1:80"]),
    ]);
    new.services.get_mut(&a).unwrap().service = vs(a).persistent(60);
    let cache = known(&old);
    let exclude = ExcludeCidrs::default();
    let full = diff_ipvs(&cache, &new, &none(), &exclude);
    // Exactly the changed keys, and with an unchanged key listed too.
    for keys in [BTreeSet::from([a, b, d]), BTreeSet::from([a, b, c, d])] {
        assert_eq!(diff_ipvs_keys(&cache, &new, &keys, &none(), &exclude), full);
    }
    assert_eq!(
        full.commands,
        vec![
            Command::UpdateService(vs(a).persistent(60)),
            Command::AddService(vs(d)),
            Command::AddRealServer(a, rs("10.244.0.9:6443", 1)),
            Command::AddRealServer(d, rs("10.244.1.1:80", 1)),
            Command::DeleteService(b),
        ]
    );
    assert_eq!(full.removed, vec![(a, rs("10.244.0.6:6443", 1))]);
    // Only the listed keys are looked at: an unlisted change is not sent.
    let partial = diff_ipvs_keys(&cache, &new, &BTreeSet::from([d]), &none(), &exclude);
    assert_eq!(
        partial.commands,
        vec![
            Command::AddService(vs(d)),
            Command::AddRealServer(d, rs("10.244.1.1:80", 1)),
        ]
    );
    // An excluded stale service is spared by both.
    let exclude = ExcludeCidrs::new(["10.96.0.2/32".parse().unwrap()]);
    let keys = BTreeSet::from([b]);
    assert!(
        diff_ipvs_keys(&cache, &new, &keys, &none(), &exclude)
            .commands
            .is_empty()
    );
}

#[test]
fn partial_ipvs_diff_keeps_the_graceful_queue_rules() {
    let (a, old, cache, queued) = draining();
    let keys = BTreeSet::from([a]);
    let exclude = ExcludeCidrs::default();
    for new in [old.clone(), plan(&[(a, &["10.244.0.5:6443"])])] {
        assert_eq!(
            diff_ipvs_keys(&cache, &new, &keys, &queued, &exclude),
            diff_ipvs(&cache, &new, &queued, &exclude)
        );
    }
}

#[test]
fn partial_bindings_diff() {
    let known = Bindings {
        addresses: [ip("10.96.0.1"), ip("10.96.0.2")].into(),
        routes: BTreeSet::new(),
    };
    let wanted: BTreeSet<IpAddr> = [ip("10.96.0.2"), ip("10.96.0.3")].into();
    let keys: BTreeSet<IpAddr> = [ip("10.96.0.1"), ip("10.96.0.3")].into();
    let full = diff_bindings(&known, &wanted, BindMode::Address);
    assert_eq!(
        diff_bindings_keys(&known, &wanted, &keys, BindMode::Address),
        full
    );
    assert_eq!(full.bind, vec![ip("10.96.0.3")]);
    assert_eq!(full.unbind, vec![ip("10.96.0.1")]);
    let only = BTreeSet::from([ip("10.96.0.3")]);
    let partial = diff_bindings_keys(&known, &wanted, &only, BindMode::Address);
    assert_eq!(partial.bind, vec![ip("10.96.0.3")]);
    assert!(partial.unbind.is_empty() && partial.unbind_other.is_empty());
}

#[test]
fn partial_ipset_diff_looks_at_listed_members_only() {
    let entry = |s: &str| Entry::parse(SetType::HashIpPort, s).unwrap();
    let mut old = KernelPlan::default();
    old.ipsets.insert(
        "KUBE-CLUSTER-IP".into(),
        planned_set(
            SetType::HashIpPort,
            &["10.96.0.1,tcp:443", "10.96.0.2,tcp:80"],
        ),
    );
    old.ipsets.insert(
        "KUBE-EXTERNAL-IP".into(),
        planned_set(SetType::HashIpPort, &["203.0.113.1,tcp:80"]),
    );
    let mut new = old.clone();
    let cluster = &mut new.ipsets.get_mut("KUBE-CLUSTER-IP").unwrap().entries;
    cluster.remove(&entry("10.96.0.2,tcp:80"));
    cluster.insert(entry("10.96.0.3,tcp:80"));
    let cache: BTreeMap<String, SetState> = old
        .ipsets
        .iter()
        .map(|(name, set)| {
            let state = SetState {
                set_type: Some(set.set_type),
                family: Some(Family::Inet),
                entries: set.entries.clone(),
            };
            (name.clone(), state)
        })
        .collect();
    let keys = BTreeMap::from([(
        "KUBE-CLUSTER-IP".to_owned(),
        BTreeSet::from([entry("10.96.0.2,tcp:80"), entry("10.96.0.3,tcp:80")]),
    )]);
    let full = diff_ipsets(&cache, &new);
    assert_eq!(diff_ipsets_keys(&cache, &new, &keys), full);
    assert_eq!(full.len(), 1);
    assert_eq!(full[0].delete, vec![entry("10.96.0.2,tcp:80")]);
    assert_eq!(full[0].add, vec![entry("10.96.0.3,tcp:80")]);
    // A set the kernel lacks is created whole, whatever members are
    // listed; a set absent from the plan is left alone.
    let mut partial_cache = cache.clone();
    partial_cache.remove("KUBE-CLUSTER-IP");
    let diff = diff_ipsets_keys(&partial_cache, &new, &keys);
    assert_eq!(diff.len(), 1);
    assert!(diff[0].create);
    assert_eq!(diff[0].add.len(), 2);
    let gone = BTreeMap::from([("KUBE-NOT-PLANNED".to_owned(), BTreeSet::new())]);
    assert!(diff_ipsets_keys(&cache, &new, &gone).is_empty());
}

/// An add that meets an existing object leaves it `Unknown` in the cache
/// (no made-up settings): the next diff sends exactly that object's
/// planned settings, once; a removed unknown real server is listed apart.
#[test]
fn a_failed_add_makes_the_next_diff_resend_exactly_that_object() {
    let a = tcp("10.96.0.1:443");
    let wanted = plan(&[(a, &["10.244.0.5:6443", "10.244.0.6:6443"])]);
    let planned = &wanted.services[&a];
    let (mut cache, mut queue) = (Cache::new(), GracefulQueue::default());
    let exclude = ExcludeCidrs::default();

    let add = Command::AddService(planned.service.clone());
    let failure = recover(&mut cache, &mut queue, &add, &IpvsError::ServiceExists(a));
    assert_eq!(failure, Failure::Retry);
    assert_eq!(cache[&a].service, Cached::Unknown);
    let diff = diff_ipvs(&cache, &wanted, &none(), &exclude);
    assert_eq!(
        diff.commands,
        vec![
            Command::UpdateService(planned.service.clone()),
            Command::AddRealServer(a, rs("10.244.0.5:6443", 1)),
            Command::AddRealServer(a, rs("10.244.0.6:6443", 1)),
        ]
    );

    // The update and the second add succeed; the first add meets an
    // existing real server.
    cache.get_mut(&a).unwrap().service = Cached::Known(planned.service.clone());
    let second = rs("10.244.0.6:6443", 1);
    let servers = &mut cache.get_mut(&a).unwrap().real_servers;
    servers.insert(second.addr, Cached::Known(RealServerSettings::of(&second)));
    let first = Command::AddRealServer(a, rs("10.244.0.5:6443", 1));
    let exists = IpvsError::RealServerExists {
        service: a,
        server: sa("10.244.0.5:6443"),
    };
    assert_eq!(
        recover(&mut cache, &mut queue, &first, &exists),
        Failure::Retry
    );
    let diff = diff_ipvs(&cache, &wanted, &none(), &exclude);
    assert_eq!(
        diff.commands,
        vec![Command::UpdateRealServer(a, rs("10.244.0.5:6443", 1))]
    );
    assert_eq!(
        diff_ipvs_keys(&cache, &wanted, &[a].into(), &none(), &exclude),
        diff
    );

    // Once sent, nothing more.
    let servers = &mut cache.get_mut(&a).unwrap().real_servers;
    servers.insert(
        sa("10.244.0.5:6443"),
        Cached::Known(RealServerSettings::of(&rs("10.244.0.5:6443", 1))),
    );
    assert!(
        diff_ipvs(&cache, &wanted, &none(), &exclude)
            .commands
            .is_empty()
    );

    // An unknown real server that leaves the plan needs the kernel's
    // settings before the graceful decision.
    let servers = &mut cache.get_mut(&a).unwrap().real_servers;
    servers.insert(sa("10.244.0.5:6443"), Cached::Unknown);
    let smaller = plan(&[(a, &["10.244.0.6:6443"])]);
    let diff = diff_ipvs(&cache, &smaller, &none(), &exclude);
    assert!(diff.commands.is_empty(), "{diff:?}");
    assert!(diff.removed.is_empty(), "{diff:?}");
    assert_eq!(diff.removed_unknown, vec![(a, sa("10.244.0.5:6443"))]);
}

#[test]
fn the_cache_keeps_the_settings_of_a_real_server_not_its_counters() {
    let mut dumped = rs("10.244.0.5:6443", 3).with_thresholds(10, 5);
    dumped.active_conns = 7;
    dumped.stats = Some(Box::default());
    let settings = RealServerSettings::of(&dumped);
    let back = settings.real_server(dumped.addr);
    assert!(
        back.same_config(&dumped),
        "the settings same_config compares"
    );
    assert_ne!(back, dumped, "equality compares the counters too");
    assert_eq!((back.active_conns, back.stats), (0, None));
    assert_eq!(
        (back.upper_threshold, back.lower_threshold, back.weight),
        (10, 5, 3)
    );
    assert!(Cached::Known(settings).is_like(&dumped));
    let mut quiet = dumped.clone();
    quiet.weight = 0;
    assert!(!Cached::Known(settings).is_like(&quiet));
    assert!(!Cached::<RealServerSettings>::Unknown.is_like(&dumped));

    // A dump adopted into the cache: the same settings, no counters.
    let known = KnownService::from(ipvs_netlink::TableEntry::new(
        vs(tcp("10.96.0.1:443")),
        vec![dumped.clone()],
    ));
    assert_eq!(
        known.real_servers.get(&dumped.addr),
        Some(&Cached::Known(settings))
    );
}
