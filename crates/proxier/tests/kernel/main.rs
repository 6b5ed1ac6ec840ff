//! Kernel tests of the reconciler: root, IPVS, ipset, dummy and iptables,
//! in the test VM (`tests/run`, or `vm/run.sh -- <this binary> --ignored
//! --test-threads=1`). Each test starts from a clean kernel state and
//! cross-checks with the real tools (`ipvsadm`, `ipset`, `ip`,
//! `iptables-save`).

use std::{
    collections::BTreeSet,
    net::{IpAddr, SocketAddr},
    process::Command as Process,
    sync::Arc,
    time::{Duration, Instant},
};

use ipset_netlink::{Entry, SetType};
use ipvs_netlink::{Family, ForwardMethod, RealServer, Scheduler, ServiceKey, VirtualService};
use kube_ipvs_proxier::{
    catalogue::owned::ExcludeCidrs,
    plan::{IptablesPlan, KernelPlan, PlannedService, PlannedSet},
    reconcile::{Reconciler, ReconcilerOptions, SyncReport},
    types::BindMode,
};

mod addresses;
mod manifests;

/// Runs a shell command, returns its stdout; panics on failure.
fn sh(command: &str) -> String {
    let out = Process::new("sh")
        .args(["-c", command])
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A clean kernel: no IPVS services, no KUBE chains or sets, no dummy.
fn reset() {
    assert!(
        std::env::var_os("KPVS_IN_VM").is_some(),
        "kernel tests change the node's network: run them in the test VM"
    );
    sh(
        "ipvsadm -C; for t in nat filter; do iptables -t $t -F; iptables -t $t -X; done; \
        ipset destroy 2>/dev/null; ip link del kube-ipvs0 2>/dev/null; true",
    );
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn rs(addr: &str) -> RealServer {
    RealServer::new(sa(addr), ForwardMethod::Masq, 1)
}

fn service(key: ServiceKey, servers: &[&str]) -> PlannedService {
    PlannedService {
        service: VirtualService::new(key, Scheduler::RR),
        real_servers: servers.iter().map(|s| rs(s)).collect(),
        origin: "default/test:http".into(),
    }
}

/// A small rule set: a few of kube-proxy's chains and rules, and all its
/// jumps.
fn small_rules() -> IptablesPlan {
    use kube_ipvs_proxier::{
        catalogue::iptables::JUMP_RULES,
        plan::rules::{Match, Rule, Table, Target},
    };
    let mut rules = IptablesPlan::default();
    for jump in JUMP_RULES {
        let table = if jump.table == "nat" {
            Table::Nat
        } else {
            Table::Filter
        };
        rules.table_mut(table).jumps.push(Rule::from(&jump));
    }
    rules.nat.chains = vec!["KUBE-SERVICES", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"];
    rules.nat.rules = vec![
        Rule::new(
            "KUBE-SERVICES",
            vec![Match::Set {
                name: "KUBE-CLUSTER-IP".into(),
                flags: "dst,dst",
            }],
            Target::Jump("ACCEPT"),
        ),
        Rule::new("KUBE-MARK-MASQ", vec![], Target::OrMark(0x4000)),
    ];
    rules.filter.chains = vec![
        "KUBE-FORWARD",
        "KUBE-NODE-PORT",
        "KUBE-PROXY-FIREWALL",
        "KUBE-IPVS-FILTER",
        "KUBE-IPVS-OUT-FILTER",
    ];
    rules.filter.rules = vec![Rule::new(
        "KUBE-FORWARD",
        vec![Match::Mark {
            mark: 0x4000,
            negated: false,
        }],
        Target::Jump("ACCEPT"),
    )];
    rules
}

/// A plan of `n` ClusterIP services 10.96.x.y:80, each with `reals` real
/// servers, their VIPs bound, the KUBE-CLUSTER-IP set and a small rule set.
fn cluster_plan(n: usize, reals: usize) -> KernelPlan {
    let mut plan = KernelPlan::default();
    let mut cluster = PlannedSet {
        set_type: SetType::HashIpPort,
        family: Family::Inet,
        comment: "Kubernetes service cluster ip + port for masquerade purpose",
        entries: BTreeSet::new(),
    };
    for i in 0..n {
        let vip = format!("10.96.{}.{}", i / 250, i % 250 + 1);
        let key = ServiceKey::tcp(sa(&format!("{vip}:80")));
        let servers: Vec<String> = (0..reals)
            .map(|r| format!("10.244.{}.{}:8080", r, i % 250 + 1))
            .collect();
        let servers: Vec<&str> = servers.iter().map(String::as_str).collect();
        plan.services.insert(key, service(key, &servers));
        plan.bind_addrs.insert(ip(&vip));
        cluster
            .entries
            .insert(format!("{vip},tcp:80").parse().unwrap());
    }
    let ips = PlannedSet {
        set_type: SetType::HashIp,
        family: Family::Inet,
        comment: "Addresses on the ipvs interface",
        entries: plan.bind_addrs.iter().map(|a| Entry::Ip(*a)).collect(),
    };
    plan.ipsets.insert("KUBE-CLUSTER-IP".into(), cluster);
    plan.ipsets.insert("KUBE-IPVS-IPS".into(), ips);
    plan.iptables.insert(Family::Inet, small_rules());
    plan
}

async fn start(options: ReconcilerOptions) -> Reconciler {
    Reconciler::start(options).await.expect("start")
}

fn ok(report: &SyncReport) {
    assert!(report.is_ok(), "errors: {:?}", report.errors);
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn cold_sync_then_no_op_then_warm_restart_then_one_change() {
    reset();
    let plan = cluster_plan(3, 2);
    let mut rec = start(ReconcilerOptions::default()).await;
    let cold = rec.sync(&plan).await;
    ok(&cold);
    println!("cold sync of 3 services: {cold:?}");
    assert_eq!(cold.services_added, 3);
    assert_eq!(cold.real_servers_added, 6);
    assert_eq!(cold.vips_bound, 3);

    let ipvs = sh("ipvsadm -Sn");
    assert!(ipvs.contains("-A -t 10.96.0.1:80 -s rr"), "{ipvs}");
    assert!(
        ipvs.contains("-a -t 10.96.0.3:80 -r 10.244.1.3:8080 -m -w 1"),
        "{ipvs}"
    );
    let sets = sh("ipset save");
    assert!(
        sets.contains(
            "create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536"
        ),
        "{sets}"
    );
    assert!(
        sets.contains("add KUBE-CLUSTER-IP 10.96.0.2,tcp:80"),
        "{sets}"
    );
    assert!(sets.contains("add KUBE-IPVS-IPS 10.96.0.3"), "{sets}");
    let link = sh("ip addr show kube-ipvs0");
    assert!(link.contains("state DOWN"), "{link}");
    assert!(link.contains("inet 10.96.0.1/32"), "{link}");
    let rules = sh("iptables-save");
    assert!(
        rules.contains(
            "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
        ),
        "{rules}"
    );
    assert!(rules.contains("-A OUTPUT -m comment --comment \"kubernetes ipvs access filter\" -j KUBE-IPVS-OUT-FILTER"), "{rules}");
    assert!(
        rules.contains("--match-set KUBE-CLUSTER-IP dst,dst"),
        "{rules}"
    );

    // The same plan again: nothing sent, nothing forked.
    let again = rec.sync(&plan).await;
    ok(&again);
    assert_eq!(again.mutating_messages(), 0, "{again:?}");
    assert_eq!(again.iptables_forks, 0);
    drop(rec);

    // Warm restart on the same kernel: zero netlink messages, and the
    // iptables jumps are not duplicated.
    let mut rec = start(ReconcilerOptions::default()).await;
    let warm = rec.sync(&plan).await;
    ok(&warm);
    println!("warm restart sync: {warm:?}");
    assert_eq!(warm.mutating_messages(), 0, "{warm:?}");
    let rules = sh("iptables-save");
    assert_eq!(rules.matches("-j KUBE-SERVICES").count(), 2, "{rules}");

    // One endpoint changes: one add and one delete (no connections).
    let mut changed = plan.clone();
    let key = ServiceKey::tcp(sa("10.96.0.2:80"));
    changed.services.get_mut(&key).unwrap().real_servers[0] = rs("10.244.9.9:8080");
    let one = rec.sync(&changed).await;
    ok(&one);
    assert_eq!(one.ipvs_messages, 2, "{one:?}");
    assert_eq!(one.mutating_messages(), 2, "{one:?}");
    assert_eq!((one.real_servers_added, one.real_servers_deleted), (1, 1));
    let ipvs = sh("ipvsadm -Sn");
    assert!(ipvs.contains("-r 10.244.9.9:8080"), "{ipvs}");
    assert!(!ipvs.contains("-r 10.244.0.2:8080"), "{ipvs}");
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn cold_sync_timing() {
    reset();
    let n = 500;
    let plan = cluster_plan(n, 2);
    let mut rec = start(ReconcilerOptions::default()).await;
    let started = Instant::now();
    let cold = rec.sync(&plan).await;
    ok(&cold);
    println!(
        "cold sync of {n} services x 2 real servers: {:?}, {} ipvs + {} ipset + {} link messages, {} forks",
        started.elapsed(),
        cold.ipvs_messages,
        cold.ipset_messages,
        cold.link_messages,
        cold.iptables_forks
    );
    let started = Instant::now();
    let noop = rec.sync(&plan).await;
    println!("no-op sync of {n} services: {:?}", started.elapsed());
    assert_eq!(noop.mutating_messages(), 0);
    drop(rec);
    let started = Instant::now();
    let mut rec = start(ReconcilerOptions::default()).await;
    let warm = rec.sync(&plan).await;
    println!(
        "warm restart (dump + sync) of {n} services: {:?}, {} messages",
        started.elapsed(),
        warm.mutating_messages()
    );
    assert_eq!(warm.mutating_messages(), 0);
    let started = Instant::now();
    let resync = rec.resync(&plan).await;
    ok(&resync);
    println!(
        "resync of {n} services: {:?}, {} messages, {} forks",
        started.elapsed(),
        resync.mutating_messages(),
        resync.iptables_forks
    );
    assert_eq!(resync.mutating_messages(), 0);
}

/// The `ipvsadm -Sn` lines of a plan of [`cluster_plan`]'s shape and of
/// `others`, sorted.
fn saved_lines(plan: &KernelPlan, others: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = others.iter().map(|l| l.to_string()).collect();
    for (key, planned) in &plan.services {
        let ServiceKey::Inet { addr, .. } = key else {
            unreachable!("cluster_plan has TCP services only")
        };
        lines.push(format!("-A -t {addr} -s rr"));
        for rs in &planned.real_servers {
            lines.push(format!("-a -t {addr} -r {} -m -w 1", rs.addr));
        }
    }
    lines.sort();
    lines
}

/// `ipvsadm -Sn`, sorted.
fn kernel_lines() -> Vec<String> {
    let mut lines: Vec<String> = sh("ipvsadm -Sn").lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn a_full_sync_of_several_passes_sends_one_diff() {
    reset();
    // A foreign service sorts between the planned ones: never touched.
    const FOREIGN: &str = "-A -t 10.96.4.0:80 -s wlc";
    sh(&format!("ipvsadm {FOREIGN}"));
    let plan = cluster_plan(2_500, 2);
    let mut rec = start(ReconcilerOptions::default()).await;
    let cold = rec.sync(&plan).await;
    ok(&cold);
    assert_eq!(
        (cold.services_added, cold.real_servers_added),
        (2_500, 5_000)
    );
    assert_eq!(cold.ipvs_messages, 7_500, "{cold:?}");
    assert_eq!(kernel_lines(), saved_lines(&plan, &[FOREIGN]));

    // 1,200 services leave (across pass boundaries), one real server of
    // the last one changes: one message each.
    let mut smaller = plan.clone();
    let gone: Vec<ServiceKey> = smaller.services.keys().take(1_200).copied().collect();
    for key in &gone {
        smaller.services.remove(key);
    }
    let last = *smaller.services.keys().last().unwrap();
    smaller.services.get_mut(&last).unwrap().real_servers[1] = rs("10.244.9.9:8080");
    let report = rec.sync(&smaller).await;
    ok(&report);
    assert_eq!(report.services_deleted, 1_200, "{report:?}");
    assert_eq!(
        (report.real_servers_added, report.real_servers_deleted),
        (1, 1)
    );
    assert_eq!(report.ipvs_messages, 1_202, "{report:?}");
    assert_eq!(kernel_lines(), saved_lines(&smaller, &[FOREIGN]));
}

/// The VIP, the port and the weight of the one real server, from ipvsadm.
fn weight_of(vip: &str, real: &str) -> Option<u32> {
    let out = sh(&format!("ipvsadm -Ln -t {vip}"));
    out.lines()
        .find(|l| l.contains(real))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|w| w.parse().ok())
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn graceful_removal_with_an_open_tcp_connection() {
    reset();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let vip = format!("10.96.5.1:{port}");
    let real = format!("127.0.0.1:{port}");
    let key = ServiceKey::tcp(sa(&vip));
    let mut with = KernelPlan::default();
    with.services.insert(key, service(key, &[&real]));
    with.bind_addrs.insert(ip("10.96.5.1"));
    let mut without = with.clone();
    without.services.get_mut(&key).unwrap().real_servers.clear();

    let mut rec = start(ReconcilerOptions::default()).await;
    ok(&rec.sync(&with).await);
    let (client, server) =
        tokio::join!(tokio::net::TcpStream::connect(sa(&vip)), listener.accept());
    let client = client.expect("connect through IPVS");
    let (server, _) = server.unwrap();
    println!("{}", sh(&format!("ipvsadm -Ln -t {vip}")));

    // Removed with a connection: weight 0, queued.
    let removed = rec.sync(&without).await;
    ok(&removed);
    assert_eq!(removed.real_servers_queued, 1, "{removed:?}");
    assert_eq!(removed.ipvs_messages, 1);
    assert_eq!(weight_of(&vip, &real), Some(0));
    assert_eq!(rec.process_graceful().await.real_servers_deleted, 0);
    assert_eq!(weight_of(&vip, &real), Some(0));

    // Back while queued: weight restored, not queued.
    let back = rec.sync(&with).await;
    ok(&back);
    assert_eq!(
        (back.ipvs_messages, back.graceful_pending),
        (1, 0),
        "{back:?}"
    );
    assert_eq!(weight_of(&vip, &real), Some(1));

    // Removed again, then the connection is reset: deleted once the
    // kernel's connection entry expires (CLOSE: 10 s).
    let again = rec.sync(&without).await;
    assert_eq!(again.real_servers_queued, 1);
    client.set_zero_linger().unwrap();
    drop(client);
    drop(server);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let check = rec.process_graceful().await;
        ok(&check);
        if check.real_servers_deleted == 1 {
            assert_eq!(check.graceful_pending, 0);
            break;
        }
        assert!(Instant::now() < deadline, "never deleted: {check:?}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(weight_of(&vip, &real), None);
    assert_eq!(rec.sync(&without).await.mutating_messages(), 0);
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn udp_real_servers_are_deleted_at_once() {
    reset();
    let key = ServiceKey::udp(sa("10.96.6.1:53"));
    let mut plan = KernelPlan::default();
    plan.services
        .insert(key, service(key, &["10.244.0.1:53", "10.244.0.2:53"]));
    let mut rec = start(ReconcilerOptions::default()).await;
    ok(&rec.sync(&plan).await);
    plan.services.get_mut(&key).unwrap().real_servers.pop();
    let report = rec.sync(&plan).await;
    assert_eq!(
        (report.real_servers_deleted, report.real_servers_queued),
        (1, 0)
    );
    assert!(!sh("ipvsadm -Sn").contains("10.244.0.2:53"));
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn resync_repairs_drift() {
    reset();
    let plan = cluster_plan(2, 2);
    let mut rec = start(ReconcilerOptions::default()).await;
    ok(&rec.sync(&plan).await);
    sh("ipvsadm -d -t 10.96.0.1:80 -r 10.244.0.1:8080");
    sh("ipvsadm -e -t 10.96.0.2:80 -r 10.244.1.2:8080 -m -w 7");
    sh("ip addr del 10.96.0.2/32 dev kube-ipvs0");
    sh("ipset del KUBE-CLUSTER-IP 10.96.0.1,tcp:80");
    sh(
        "iptables -t nat -D PREROUTING -m comment --comment 'kubernetes service portals' -j KUBE-SERVICES",
    );

    // A plain sync trusts its cache.
    assert_eq!(rec.sync(&plan).await.mutating_messages(), 0);
    let repaired = rec.resync(&plan).await;
    ok(&repaired);
    println!("resync after drift: {repaired:?}");
    assert_eq!(repaired.ipvs_messages, 2, "{repaired:?}");
    assert_eq!(
        (repaired.real_servers_added, repaired.real_servers_updated),
        (1, 1)
    );
    assert_eq!(repaired.vips_bound, 1);
    assert_eq!(repaired.ipset_added, 1);
    assert_eq!(repaired.iptables_written, 1);
    let ipvs = sh("ipvsadm -Sn");
    assert!(
        ipvs.contains("-a -t 10.96.0.1:80 -r 10.244.0.1:8080 -m -w 1"),
        "{ipvs}"
    );
    assert!(
        ipvs.contains("-a -t 10.96.0.2:80 -r 10.244.1.2:8080 -m -w 1"),
        "{ipvs}"
    );
    assert!(sh("ip addr show kube-ipvs0").contains("10.96.0.2/32"));
    assert!(sh("ipset save KUBE-CLUSTER-IP").contains("10.96.0.1,tcp:80"));
    assert!(sh("iptables-save -t nat").contains("-A PREROUTING -m comment"));
    let clean = rec.resync(&plan).await;
    assert_eq!(clean.mutating_messages(), 0, "{clean:?}");

    // The dummy deleted behind our back comes back with its VIPs.
    sh("ip link del kube-ipvs0");
    let relinked = rec.resync(&plan).await;
    ok(&relinked);
    assert_eq!(relinked.vips_bound, 2, "{relinked:?}");
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn stale_cleanup_spares_foreign_and_excluded_services() {
    reset();
    sh("ipvsadm -A -t 192.0.2.50:80 -s rr && ipvsadm -a -t 192.0.2.50:80 -r 192.0.2.51:80 -m");
    sh("ipvsadm -A -f 7 -s rr");
    let options = ReconcilerOptions {
        exclude_cidrs: ExcludeCidrs::new(["10.200.0.0/16".parse().unwrap()]),
        ..ReconcilerOptions::default()
    };
    let mut plan = cluster_plan(2, 1);
    let excluded = ServiceKey::tcp(sa("10.200.0.1:80"));
    plan.services
        .insert(excluded, service(excluded, &["10.244.0.9:80"]));
    let mut rec = start(options.clone()).await;
    assert_eq!(rec.known().foreign.len(), 2);
    ok(&rec.sync(&plan).await);

    // 10.96.0.2 leaves the plan: deleted; the excluded one stays.
    let mut smaller = cluster_plan(1, 1);
    smaller.services.remove(&excluded);
    let report = rec.sync(&smaller).await;
    ok(&report);
    assert_eq!(report.services_deleted, 1, "{report:?}");
    let ipvs = sh("ipvsadm -Sn");
    assert!(!ipvs.contains("10.96.0.2:80"), "{ipvs}");
    assert!(ipvs.contains("-A -t 10.200.0.1:80"), "{ipvs}");
    assert!(ipvs.contains("-A -t 192.0.2.50:80"), "{ipvs}");
    assert!(ipvs.contains("-A -f 7"), "{ipvs}");
    drop(rec);

    // A restart with an empty plan still cleans what kube-proxy's sets
    // name (10.96.0.1 is in KUBE-CLUSTER-IP), never the foreign ones.
    let mut rec = start(options).await;
    assert!(
        rec.known()
            .services
            .contains_key(&ServiceKey::tcp(sa("10.96.0.1:80")))
    );
    let mut empty = cluster_plan(0, 0);
    empty.services.clear();
    let report = rec.sync(&empty).await;
    ok(&report);
    assert_eq!(report.services_deleted, 1, "{report:?}");
    let ipvs = sh("ipvsadm -Sn");
    assert!(!ipvs.contains("10.96.0.1:80"), "{ipvs}");
    assert!(ipvs.contains("-A -t 192.0.2.50:80"), "{ipvs}");
    assert!(
        ipvs.contains("-a -t 192.0.2.50:80 -r 192.0.2.51:80"),
        "{ipvs}"
    );
    assert!(ipvs.contains("-A -f 7"), "{ipvs}");
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn route_binding_mode_binds_unbinds_and_switches() {
    reset();
    let route = ReconcilerOptions {
        bind_mode: BindMode::Route,
        ..ReconcilerOptions::default()
    };
    let mut plan = cluster_plan(2, 1);
    let mut rec = start(route.clone()).await;
    let report = rec.sync(&plan).await;
    ok(&report);
    assert_eq!(report.vips_bound, 2);
    let routes = sh("ip route show table local dev kube-ipvs0");
    assert!(routes.contains("local 10.96.0.1"), "{routes}");
    assert!(routes.contains("local 10.96.0.2"), "{routes}");
    assert!(!sh("ip addr show kube-ipvs0").contains("inet "));
    assert_eq!(
        sh("ip route get 10.96.0.1").split_whitespace().next(),
        Some("local")
    );

    plan.bind_addrs.remove(&ip("10.96.0.2"));
    let report = rec.sync(&plan).await;
    assert_eq!((report.vips_unbound, report.link_messages), (1, 1));
    assert!(!sh("ip route show table local dev kube-ipvs0").contains("10.96.0.2"));
    drop(rec);

    // Warm restart in route mode sends nothing.
    let mut rec = start(route).await;
    assert_eq!(rec.sync(&plan).await.mutating_messages(), 0);
    drop(rec);

    // Switch to address mode: routes go, addresses come.
    let mut rec = start(ReconcilerOptions::default()).await;
    let report = rec.sync(&plan).await;
    ok(&report);
    assert_eq!(
        (report.vips_unbound, report.vips_bound),
        (1, 1),
        "{report:?}"
    );
    assert!(sh("ip addr show kube-ipvs0").contains("inet 10.96.0.1/32"));
    let routes = sh("ip route show table local dev kube-ipvs0");
    assert!(!routes.contains("proto static"), "{routes}");
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn failures_are_readable_and_do_not_stop_the_others() {
    reset();
    let mut plan = cluster_plan(2, 1);
    let bad = ServiceKey::tcp(sa("10.96.7.1:80"));
    let mut broken = service(bad, &["10.244.0.1:80"]);
    broken.service.scheduler = Scheduler::new("nosuch");
    plan.services.insert(bad, broken);
    let mut rec = start(ReconcilerOptions::default()).await.with_iptables(
        kube_ipvs_proxier::kernel::IptablesWriter::new().with_tools(
            Family::Inet,
            kube_ipvs_proxier::kernel::iptables::Tools {
                save: "/nonexistent/iptables-save".into(),
                restore: "/nonexistent/iptables-restore".into(),
            },
        ),
    );
    let report = rec.sync(&plan).await;
    let errors: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
    println!("{errors:#?}");
    assert_eq!(report.services_added, 2, "{report:?}");
    assert_eq!(report.real_servers_added, 2);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("scheduler \"nosuch\""), "{errors:?}");
    assert!(errors[1].contains("install iptables"), "{errors:?}");
    // The local addresses of other interfaces (for NodePorts).
    let local = rec.link().local_addresses().await.unwrap();
    assert!(local.contains(&ip("127.0.0.1")), "{local:?}");
    assert!(!local.contains(&ip("10.96.0.1")), "{local:?}");
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn sysctls_and_ipvs_timeouts_are_written_only_when_different() {
    use kube_ipvs_proxier::kernel::{IpvsWriter, SysctlWriter, sysctl};
    reset();
    let wanted = sysctl::kube_proxy(true, sysctl::kernel_version());
    let mut writer = SysctlWriter::default();
    for result in writer.apply(&wanted) {
        result.expect("sysctl");
    }
    assert!(
        writer
            .apply(&wanted)
            .into_iter()
            .all(|r| matches!(r, Ok(false)))
    );
    assert_eq!(
        sh("cat /proc/sys/net/ipv4/vs/expire_nodest_conn").trim(),
        "1"
    );
    assert_eq!(
        sh("cat /proc/sys/net/ipv4/conf/all/arp_announce").trim(),
        "2"
    );

    let mut ipvs = IpvsWriter::connect().await.unwrap();
    let none = ipvs_netlink::Timeouts::new(0, 0, 0);
    assert!(!ipvs.set_timeouts(none).await.unwrap());
    let timeouts = ipvs_netlink::Timeouts::new(901, 121, 301);
    ipvs.set_timeouts(timeouts).await.unwrap();
    assert!(!ipvs.set_timeouts(timeouts).await.unwrap());
    assert_eq!(ipvs.messages(), 1);
    let shown = sh("ipvsadm -L --timeout");
    assert!(
        shown.contains("Timeout (tcp tcpfin udp): 901 121 301"),
        "{shown}"
    );
}

// --- `--cleanup` and the scheduler probe ---

/// A small cluster: a NodePort (TCP, bitmap entry), a UDP ClusterIP, an
/// IPv6 ClusterIP (so the `KUBE-6-` sets and ip6tables rules exist) and a
/// ClusterIP inside 10.96.20.0/24 (the excluded range of the tests).
const CLEANUP_CLUSTER: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  clusterIP: 10.96.10.10
  ports:
  - {name: http, port: 80, targetPort: 8080, nodePort: 30080}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
- {addresses: [10.244.1.10], nodeName: node-1}
ports:
- {name: http, port: 8080, protocol: TCP}
---
apiVersion: v1
kind: Service
metadata: {name: dns, namespace: kube-system}
spec:
  clusterIP: 10.96.0.10
  ports:
  - {name: dns, port: 53, protocol: UDP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: dns-1, namespace: kube-system, labels: {kubernetes.io/service-name: dns}}
addressType: IPv4
endpoints:
- {addresses: [10.244.1.5], nodeName: node-1}
ports:
- {name: dns, port: 53, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata: {name: api6, namespace: shop}
spec:
  clusterIP: "fd00:96::20"
  clusterIPs: ["fd00:96::20"]
  ipFamilies: [IPv6]
  ports:
  - {port: 8080}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api6-1, namespace: shop, labels: {kubernetes.io/service-name: api6}}
addressType: IPv6
endpoints:
- {addresses: ["fd00:244::1:30"], nodeName: node-1}
ports:
- {port: 8080}
---
apiVersion: v1
kind: Service
metadata: {name: kept, namespace: shop}
spec:
  clusterIP: 10.96.20.20
  ports:
  - {port: 443}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: kept-1, namespace: shop, labels: {kubernetes.io/service-name: kept}}
addressType: IPv4
endpoints:
- {addresses: [10.244.1.20], nodeName: node-1}
ports:
- {port: 443}
"#;

/// [`reset`], and ip6tables too (first: its rules may hold sets).
fn reset_both_families() {
    assert!(
        std::env::var_os("KPVS_IN_VM").is_some(),
        "run in the test VM"
    );
    sh("for t in nat filter; do ip6tables -t $t -F; ip6tables -t $t -X; done");
    reset();
}

/// Plans [`CLEANUP_CLUSTER`] with the planner and programs it with the
/// reconciler; returns the plan. The node's IPv4 address is put on `lo`,
/// so it is one of the host's addresses (NodePorts are claimed only
/// there).
async fn program_cluster() -> KernelPlan {
    sh("ip addr replace 192.168.10.11/32 dev lo");
    use kube_ipvs_proxier::{
        config::ProxyConfig, model::NodeContext, plan::plan, source::manifests,
    };
    let (snapshot, warnings) = manifests::parse(CLEANUP_CLUSTER, "cleanup.yaml");
    assert!(warnings.is_empty(), "{warnings:?}");
    let mut node = NodeContext::new("node-1");
    node.node_ips = vec![ip("192.168.10.11"), ip("fd00:10::11")];
    node.primary_ips = node.node_ips.clone();
    let (plan, warnings) = plan(&snapshot, &node, &ProxyConfig::default());
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(plan.iptables.contains_key(&Family::Inet6));
    assert!(plan.ipsets.contains_key("KUBE-6-CLUSTER-IP"));
    let mut rec = start(ReconcilerOptions::default()).await;
    ok(&rec.sync(&plan).await);
    plan
}

fn cleanup_options() -> kube_ipvs_proxier::cleanup::CleanupOptions {
    kube_ipvs_proxier::cleanup::CleanupOptions {
        exclude_cidrs: ExcludeCidrs::new(["10.96.20.0/24".parse().unwrap()]),
        ..Default::default()
    }
}

/// The `-A` (service) lines of `ipvsadm -Sn`, sorted.
fn ipvs_services() -> Vec<String> {
    let mut lines = kernel_lines();
    lines.retain(|l| l.starts_with("-A "));
    lines
}

/// `ipset list -n`, sorted.
fn ipset_names() -> Vec<String> {
    let mut names: Vec<String> = sh("ipset list -n").lines().map(str::to_owned).collect();
    names.sort();
    names
}

fn link_exists(name: &str) -> bool {
    Process::new("ip")
        .args(["link", "show", name])
        .output()
        .expect("run ip")
        .status
        .success()
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn cleanup_removes_ours_and_spares_foreign_objects() {
    use kube_ipvs_proxier::cleanup::cleanup;
    reset_both_families();
    let plan = program_cluster().await;
    // A port added by hand on a Service VIP: not in the sets, but the VIP
    // is bound on kube-ipvs0.
    sh("ipvsadm -A -t 10.96.10.10:9999 -s rr");
    // Foreign objects.
    sh("ipvsadm -A -t 192.0.2.1:80 -s rr && ipvsadm -a -t 192.0.2.1:80 -r 192.0.2.2:80 -m");
    sh("ipvsadm -A -f 7 -s rr");
    sh("ipset create FOREIGN-SET hash:ip && ipset create KUBE-FOREIGN hash:ip family inet6");
    sh(
        "iptables -N FOREIGN-CHAIN && iptables -A FOREIGN-CHAIN -m set --match-set FOREIGN-SET src -j RETURN \
        && iptables -A INPUT -m comment --comment 'foreign rule' -j FOREIGN-CHAIN \
        && iptables -t nat -A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE",
    );
    sh(
        "ip6tables -N FOREIGN6 && ip6tables -A FOREIGN6 -m set --match-set KUBE-FOREIGN src -j RETURN \
        && ip6tables -A FORWARD -j FOREIGN6",
    );
    assert!(sh("iptables-save").contains(":KUBE-SERVICES"));
    assert!(sh("ip6tables-save").contains(":KUBE-SERVICES"));
    assert!(link_exists("kube-ipvs0"));

    let started = Instant::now();
    let report = cleanup(&cleanup_options()).await;
    println!("cleanup in {:?}: {report}", started.elapsed());
    assert!(report.is_ok(), "{report}");
    assert!(report.skipped.is_empty(), "{report}");

    // IPVS: every planned service but the excluded one, and the hand-added
    // port on the VIP.
    let excluded = ServiceKey::tcp(sa("10.96.20.20:443"));
    let mut expected: Vec<ServiceKey> = plan
        .services
        .keys()
        .copied()
        .filter(|k| *k != excluded)
        .collect();
    expected.push(ServiceKey::tcp(sa("10.96.10.10:9999")));
    expected.sort();
    let mut deleted = report.ipvs_services_deleted.clone();
    deleted.sort();
    assert_eq!(deleted, expected);
    assert!(
        expected.contains(&ServiceKey::tcp(sa("192.168.10.11:30080"))),
        "{expected:?}"
    );
    assert_eq!(
        ipvs_services(),
        [
            "-A -f 7 -s rr",
            "-A -t 10.96.20.20:443 -s rr",
            "-A -t 192.0.2.1:80 -s rr"
        ]
    );
    assert!(sh("ipvsadm -Sn").contains("-a -t 192.0.2.1:80 -r 192.0.2.2:80 -m"));

    // ipsets: every planned set (both families), not the foreign ones.
    let mut destroyed = report.ipsets_destroyed.clone();
    destroyed.sort();
    let planned: Vec<String> = plan.ipsets.keys().cloned().collect();
    assert_eq!(destroyed, planned);
    assert_eq!(ipset_names(), ["FOREIGN-SET", "KUBE-FOREIGN"]);

    // iptables: kube-proxy's 9 jumps and 11 chains in each family.
    assert_eq!(report.jumps_deleted.len(), 18, "{:?}", report.jumps_deleted);
    assert_eq!(
        report.chains_deleted.len(),
        22,
        "{:?}",
        report.chains_deleted
    );
    for save in ["iptables-save", "ip6tables-save"] {
        let rules = sh(save);
        assert!(!rules.contains(":KUBE-"), "{save}:\n{rules}");
        assert!(!rules.contains("kubernetes"), "{save}:\n{rules}");
        assert!(!rules.contains("kube-proxy"), "{save}:\n{rules}");
    }
    let rules = sh("iptables-save");
    assert!(
        rules.contains("-A INPUT -m comment --comment \"foreign rule\" -j FOREIGN-CHAIN"),
        "{rules}"
    );
    assert!(
        rules.contains("-A FOREIGN-CHAIN -m set --match-set FOREIGN-SET src -j RETURN"),
        "{rules}"
    );
    assert!(
        rules.contains("-A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE"),
        "{rules}"
    );
    let rules = sh("ip6tables-save");
    assert!(rules.contains("-A FORWARD -j FOREIGN6"), "{rules}");
    assert!(
        rules.contains("-A FOREIGN6 -m set --match-set KUBE-FOREIGN src -j RETURN"),
        "{rules}"
    );

    // The interface.
    assert!(report.link_deleted);
    assert!(!link_exists("kube-ipvs0"));

    // A second run removes nothing and succeeds.
    let started = Instant::now();
    let again = cleanup(&cleanup_options()).await;
    println!("second run in {:?}: {again}", started.elapsed());
    assert!(again.is_ok(), "{again}");
    assert!(again.removed_nothing(), "{again}");
    assert_eq!(ipvs_services().len(), 3);
    assert_eq!(ipset_names(), ["FOREIGN-SET", "KUBE-FOREIGN"]);
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn cleanup_keeps_a_chain_a_foreign_rule_still_uses() {
    use kube_ipvs_proxier::cleanup::cleanup;
    reset_both_families();
    program_cluster().await;
    sh("iptables -t nat -N FOREIGN-NAT && iptables -t nat -A FOREIGN-NAT -j KUBE-MARK-MASQ");

    let report = cleanup(&cleanup_options()).await;
    println!("{report}");
    let errors: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("IPv4 nat: delete chain KUBE-MARK-MASQ"),
        "{errors:?}"
    );
    // Everything else went: the other 21 chains, the 18 jumps, the sets.
    assert_eq!(report.chains_deleted.len(), 21, "{report}");
    assert_eq!(report.jumps_deleted.len(), 18, "{report}");
    assert!(report.link_deleted);
    assert_eq!(ipset_names(), Vec::<String>::new());
    let nat = sh("iptables-save -t nat");
    let kube_chains: Vec<&str> = nat.lines().filter(|l| l.starts_with(":KUBE-")).collect();
    assert_eq!(kube_chains, [":KUBE-MARK-MASQ - [0:0]"], "{nat}");
    assert!(!nat.contains("-A KUBE-MARK-MASQ"), "flushed:\n{nat}");
    assert!(nat.contains("-A FOREIGN-NAT -j KUBE-MARK-MASQ"), "{nat}");
    assert!(!sh("ip6tables-save").contains(":KUBE-"));

    // Once the foreign rule is gone, the next run finishes the job.
    sh("iptables -t nat -F FOREIGN-NAT");
    let again = cleanup(&cleanup_options()).await;
    assert!(again.is_ok(), "{again}");
    assert_eq!(again.chains_deleted.len(), 1, "{again}");
    assert!(!sh("iptables-save -t nat").contains(":KUBE-"));
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn cleanup_owns_services_on_route_bound_vips() {
    use kube_ipvs_proxier::cleanup::{CleanupOptions, cleanup};
    reset_both_families();
    let route = ReconcilerOptions {
        bind_mode: BindMode::Route,
        ..ReconcilerOptions::default()
    };
    let mut rec = start(route).await;
    ok(&rec.sync(&cluster_plan(1, 1)).await);
    drop(rec);
    sh("ipvsadm -A -t 10.96.0.1:8443 -s rr && ipvsadm -A -t 192.0.2.1:80 -s rr");
    assert!(sh("ip route show table local dev kube-ipvs0").contains("local 10.96.0.1"));

    let report = cleanup(&CleanupOptions::default()).await;
    assert!(report.is_ok(), "{report}");
    let mut deleted = report.ipvs_services_deleted.clone();
    deleted.sort();
    assert_eq!(
        deleted,
        [
            ServiceKey::tcp(sa("10.96.0.1:80")),
            ServiceKey::tcp(sa("10.96.0.1:8443"))
        ]
    );
    assert_eq!(ipvs_services(), ["-A -t 192.0.2.1:80 -s rr"]);
    assert!(!sh("ip route show table local").contains("10.96.0.1"));
}

/// The IPVS modules the VM loads, dependents first.
const IPVS_MODULES: &str = "xt_ipvs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc \
    ip_vs_lblcr ip_vs_dh ip_vs_sh ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs";

/// Reloads the IPVS modules when dropped (also when the test fails).
struct ReloadIpvs;

impl Drop for ReloadIpvs {
    fn drop(&mut self) {
        let _ = Process::new("sh")
            .args([
                "-c",
                &format!("modprobe -d \"$KPVS_VM_KROOT\" -a {IPVS_MODULES}"),
            ])
            .status();
    }
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn cleanup_without_the_ipvs_module_still_cleans_the_rest() {
    use kube_ipvs_proxier::cleanup::cleanup;
    reset_both_families();
    program_cluster().await;
    sh("ipvsadm -C");
    let _reload = ReloadIpvs;
    sh(&format!("rmmod {IPVS_MODULES}"));
    assert!(!sh("cat /proc/modules").contains("ip_vs"));

    let report = cleanup(&cleanup_options()).await;
    println!("{report}");
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.skipped.len(), 1, "{report}");
    assert!(report.skipped[0].contains("modprobe ip_vs"), "{report}");
    assert!(report.ipvs_services_deleted.is_empty());
    assert!(report.link_deleted);
    assert_eq!(report.chains_deleted.len(), 22, "{report}");
    assert_eq!(ipset_names(), Vec::<String>::new());
    assert!(!link_exists("kube-ipvs0"));
    assert!(
        !sh("cat /proc/modules").contains("ip_vs"),
        "not loaded by us"
    );
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn scheduler_probe_leaves_no_trace() {
    use kube_ipvs_proxier::kernel::{IpvsWriter, IpvsWriterError};
    reset();
    let empty = |what: &str| {
        let list = sh("ipvsadm -Ln");
        assert_eq!(list.lines().count(), 3, "{what}:\n{list}");
        assert_eq!(sh("ipvsadm -Sn"), "", "{what}");
    };
    let mut ipvs = IpvsWriter::connect().await.unwrap();

    ipvs.probe_scheduler("rr").await.expect("rr");
    assert_eq!(ipvs.messages(), 2, "add and delete");
    empty("after rr");

    let err = ipvs.probe_scheduler("nosuch").await.unwrap_err();
    println!("{err}");
    assert!(
        matches!(
            &err,
            IpvsWriterError::Scheduler {
                source: ipvs_netlink::IpvsError::UnknownScheduler { .. },
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("\"nosuch\""), "{message}");
    assert!(message.contains("ip_vs_nosuch"), "{message}");
    assert_eq!(ipvs.messages(), 3, "the failed add only");
    empty("after nosuch");

    // A foreign service on the probe key (another scheduler) is left
    // alone and the probe skipped.
    sh(
        "ipvsadm -A -t 198.51.100.0:20000 -s wlc && ipvsadm -a -t 198.51.100.0:20000 -r 192.0.2.9:80 -m -w 3",
    );
    let before = sh("ipvsadm -Sn");
    ipvs.probe_scheduler("rr").await.expect("skipped");
    assert_eq!(ipvs.messages(), 3, "nothing sent");
    assert_eq!(sh("ipvsadm -Sn"), before);
    assert!(
        before.contains("-A -t 198.51.100.0:20000 -s wlc"),
        "{before}"
    );

    // kube-proxy's shortcut: a service already uses the scheduler.
    sh("ipvsadm -D -t 198.51.100.0:20000 && ipvsadm -A -t 192.0.2.50:80 -s sh");
    ipvs.probe_scheduler("sh").await.expect("in use");
    assert_eq!(ipvs.messages(), 3, "nothing sent");
    ipvs.probe_scheduler("lc").await.expect("lc");
    assert_eq!(ipvs.messages(), 5, "add and delete");
    assert_eq!(ipvs_services(), ["-A -t 192.0.2.50:80 -s sh"]);
}

/// `n` ClusterIP Services `bench/svc-i` (10.96.x.y:80) with one slice of
/// 10 ready endpoints on another node each.
fn incremental_objects(n: usize) -> kube_ipvs_proxier::cluster::Snapshot {
    use kube_ipvs_proxier::cluster::objects::{
        Endpoint, EndpointConditions, EndpointPort, EndpointSlice, Meta, Service, ServicePort,
        ServiceSpec,
    };
    let meta = |name: String, service: Option<String>| Meta {
        name: Some(name.into()),
        namespace: Some("bench".into()),
        labels: service.map(|s| {
            [("kubernetes.io/service-name".to_owned(), s)]
                .into_iter()
                .collect()
        }),
        ..Meta::default()
    };
    let mut snapshot = kube_ipvs_proxier::cluster::Snapshot::default();
    for i in 0..n {
        let k = i + 10;
        snapshot.services.push(Arc::new(Service {
            metadata: meta(format!("svc-{i}"), None),
            spec: Some(ServiceSpec {
                cluster_ip: Some(format!("10.96.{}.{}", k >> 8, k & 255).into()),
                ports: Some(vec![ServicePort {
                    name: Some("http".into()),
                    port: 80,
                    ..ServicePort::default()
                }]),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        }));
        let endpoints = (0..10)
            .map(|j| {
                let e = i * 10 + j + 1;
                Endpoint {
                    addresses: vec![format!("10.244.{}.{}", e >> 8, e & 255).into()].into(),
                    conditions: Some(EndpointConditions {
                        ready: Some(true),
                        ..EndpointConditions::default()
                    }),
                    node_name: Some("node-2".into()),
                    ..Endpoint::default()
                }
            })
            .collect();
        snapshot.endpoint_slices.push(Arc::new(EndpointSlice {
            metadata: meta(format!("svc-{i}-1"), Some(format!("svc-{i}"))),
            address_type: "IPv4".into(),
            ports: Some(vec![EndpointPort {
                name: Some("http".into()),
                port: Some(80),
                protocol: Some("TCP".into()),
            }]),
            endpoints,
        }));
    }
    snapshot
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn sync_changes_of_one_endpoint_sends_two_ipvs_messages() {
    use kube_ipvs_proxier::{
        cluster::ServiceName,
        config::ProxyConfig,
        model::NodeContext,
        plan::{IncrementalPlanner, PlanChanges, plan, print::render_ipvs},
    };
    reset();
    let n = 1000;
    let mut node = NodeContext::new("node-1");
    node.node_ips = vec![ip("192.168.100.1")];
    node.primary_ips = node.node_ips.clone();
    let config = ProxyConfig::default();
    let mut planner = IncrementalPlanner::new(node.clone(), config.clone());
    let load = |planner: &mut IncrementalPlanner,
                snapshot: &kube_ipvs_proxier::cluster::Snapshot| {
        for (service, slice) in snapshot.services.iter().zip(&snapshot.endpoint_slices) {
            let warnings = planner.update(&ServiceName::of(service), Some(service), &[slice]);
            assert!(warnings.is_empty(), "{warnings:?}");
        }
    };
    let started = Instant::now();
    let before = incremental_objects(n);
    load(&mut planner, &before);
    println!("{n} Services planned: {:?}", started.elapsed());
    let started = Instant::now();
    let mut rec = start(ReconcilerOptions::default()).await;
    let changes = planner.take_changes();
    assert_eq!(changes, PlanChanges::All);
    let cold = rec.sync_changes(planner.plan(), &changes).await;
    ok(&cold);
    assert_eq!(cold.services_added, n);
    println!("cold sync: {:?}", started.elapsed());
    assert_eq!(sh("ipvsadm -Ln"), render_ipvs(planner.plan()));

    // One endpoint of svc-500 replaced: one virtual server changes.
    let mut after = before.clone();
    Arc::make_mut(&mut after.endpoint_slices[500]).endpoints[0].addresses =
        vec!["10.250.0.1".into()].into();
    let name = ServiceName::new("bench", "svc-500");
    planner.update(
        &name,
        Some(&after.services[500]),
        &[&after.endpoint_slices[500]],
    );
    let changes = planner.take_changes();
    let PlanChanges::Some(keys) = &changes else {
        panic!("expected a partial change: {changes:?}");
    };
    assert_eq!(keys.services.len(), 1, "{keys:?}");
    let started = Instant::now();
    let one = rec.sync_changes(planner.plan(), &changes).await;
    let partial = started.elapsed();
    ok(&one);
    println!("sync_changes of one endpoint at {n} services: {partial:?}, {one:?}");
    assert_eq!(one.ipvs_messages, 2, "{one:?}");
    assert_eq!((one.real_servers_added, one.real_servers_deleted), (1, 1));
    assert_eq!(
        (one.ipset_messages, one.link_messages, one.iptables_forks),
        (0, 0, 0)
    );
    // The kernel holds exactly the full planner's table.
    let (full, _) = plan(&after, &node, &config);
    assert_eq!(planner.plan(), &full);
    let table = sh("ipvsadm -Ln");
    assert_eq!(table, render_ipvs(&full));
    assert!(table.contains("-> 10.250.0.1:80"), "{table}");

    // Nothing more to do: nothing sent; a full sync agrees.
    let nothing = planner.take_changes();
    assert_eq!(nothing, PlanChanges::None);
    let none = rec.sync_changes(planner.plan(), &nothing).await;
    ok(&none);
    assert_eq!((none.mutating_messages(), none.iptables_forks), (0, 0));
    let started = Instant::now();
    let again = rec.sync(&full).await;
    println!("full no-op sync at {n} services: {:?}", started.elapsed());
    ok(&again);
    assert_eq!((again.mutating_messages(), again.iptables_forks), (0, 0));
}

// --- iptables: the rendering against the real iptables, drift, faults ---

/// The tool of a family (`iptables`, `ip6tables`).
fn tool(family: Family) -> &'static str {
    match family {
        Family::Inet => "iptables",
        Family::Inet6 => "ip6tables",
    }
}

/// Runs a shell command; its stdout, or `None` if it failed.
fn try_sh(command: &str) -> Option<String> {
    let out = Process::new("sh")
        .args(["-c", command])
        .output()
        .expect("run sh");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The rule lines of one chain as iptables prints them (`-S`; none if
/// it cannot be read, e.g. during another process's restore).
fn chain_rules(tool: &str, table: &str, chain: &str) -> Vec<String> {
    try_sh(&format!("{tool} -t {table} -S {chain}"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("-A "))
        .map(str::to_owned)
        .collect()
}

/// The rule lines of both families (`iptables-save`, `ip6tables-save`;
/// counters and comments left out; a tool that fails gives none).
fn saved_rules() -> Vec<String> {
    ["iptables-save", "ip6tables-save"]
        .iter()
        .flat_map(|t| {
            try_sh(t)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.starts_with("-A ") || l.starts_with('*'))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Checks, with iptables itself deciding what equals what, that every
/// declared chain holds exactly the rendered rules in their order: each
/// rendered rule is deleted by its specification (`-D CHAIN <matches>
/// -j <target>`), and the rule deleted must be the chain's first one.
/// Leaves the chains empty. Each jump must exist (`-C`).
fn assert_kernel_holds(family: Family, rules: &IptablesPlan) {
    use kube_ipvs_proxier::plan::rules::Op;
    let tool = tool(family);
    for part in [&rules.nat, &rules.filter] {
        let table = part.table.name();
        for chain in &part.chains {
            let mine: Vec<String> = part
                .rules
                .iter()
                .filter(|r| r.chain == *chain)
                .map(|r| r.line(Op::Append))
                .collect();
            let mut held = chain_rules(tool, table, chain);
            assert_eq!(held.len(), mine.len(), "{tool} {table} {chain}: {held:#?}");
            for line in &mine {
                let spec = line.strip_prefix("-A ").unwrap();
                sh(&format!("{tool} -t {table} -D {spec}"));
                let after = chain_rules(tool, table, chain);
                assert_eq!(
                    after,
                    held[1..],
                    "{tool} {table}: `{line}` is not the first of {held:#?}"
                );
                held = after;
            }
        }
        for jump in &part.jumps {
            let line = jump.line(Op::Append);
            sh(&format!(
                "{tool} -t {table} -C {}",
                line.strip_prefix("-A ").unwrap()
            ));
        }
    }
}

/// The planner's plan of examples/manifests/rich.yaml for node-1 (every
/// kind of rule: node ports, load balancer with source ranges and the
/// `-m ipvs` filter, external IPs, both families).
fn rich_plan() -> KernelPlan {
    use kube_ipvs_proxier::{
        config::ProxyConfig, model::NodeContext, plan::plan, source::manifests,
    };
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/manifests/rich.yaml"
    );
    let (snapshot, _) = manifests::load(std::path::Path::new(path)).expect("rich.yaml");
    let mut node = NodeContext::new("node-1");
    node.node_ips = vec![ip("192.168.10.11"), ip("fd00:10::11")];
    node.primary_ips = node.node_ips.clone();
    let (plan, _) = plan(&snapshot, &node, &ProxyConfig::default());
    assert_eq!(plan.iptables.len(), 2);
    plan
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn rendered_rules_are_what_iptables_holds_and_the_resync_restores_them() {
    reset_both_families();
    let plan = rich_plan();
    let mut rec = start(ReconcilerOptions::default()).await;
    let first = rec.sync(&plan).await;
    ok(&first);
    assert_eq!(first.iptables_written, 2);
    assert_eq!(first.iptables_forks, 6, "save, restore, save per family");
    let before = saved_rules();
    for (family, rules) in &plan.iptables {
        assert_kernel_holds(*family, rules);
    }
    println!("rendered rules match iptables rule by rule, in order");

    // Our chains are empty now. A sync trusts its cache; the resync
    // compares with the kernel and restores them.
    assert_eq!(rec.sync(&plan).await.iptables_forks, 0);
    let repaired = rec.resync(&plan).await;
    ok(&repaired);
    assert_eq!(repaired.iptables_written, 2, "{repaired:?}");
    assert_eq!(saved_rules(), before);

    // One rule deleted, a chain flushed, a rule edited, a foreign rule
    // appended to one of our chains: all repaired by one resync.
    sh("iptables -t nat -D KUBE-SERVICES -s 127.0.0.0/8 -j RETURN");
    sh("iptables -F KUBE-NODE-PORT");
    sh("iptables -t nat -R KUBE-MARK-MASQ 1 -j MARK --or-mark 0x8000");
    sh("ip6tables -A KUBE-FORWARD -j ACCEPT");
    let repaired = rec.resync(&plan).await;
    ok(&repaired);
    assert_eq!(repaired.iptables_written, 2, "{repaired:?}");
    assert_eq!(saved_rules(), before);
    let clean = rec.resync(&plan).await;
    ok(&clean);
    assert_eq!(clean.iptables_written, 0, "{clean:?}");
    assert_eq!(clean.iptables_forks, 2, "one save per family");
}

/// A foreign virtual server on an address that is not the node's, on the
/// port of one of our NodePorts: neither the reconciler (after a restart
/// with an empty plan) nor the cleanup touches it; our NodePort on the
/// node's address goes.
#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn a_foreign_service_on_a_node_port_number_is_not_ours() {
    reset_both_families();
    sh(
        "ipvsadm -A -t 192.0.2.7:30080 -s wrr && ipvsadm -a -t 192.0.2.7:30080 -r 192.0.2.8:80 -m -w 3",
    );
    let plan = program_cluster().await;
    assert!(
        plan.services
            .contains_key(&ServiceKey::tcp(sa("192.168.10.11:30080")))
    );
    assert!(sh("ipset list KUBE-NODE-PORT-TCP").contains("30080"));
    let foreign = || {
        sh("ipvsadm -Sn")
            .lines()
            .filter(|l| l.contains("192.0.2.7:30080"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let before = foreign();
    assert_eq!(before.len(), 2, "{before:?}");

    // A restart adopts by the sets: the node's NodePort is ours, the
    // foreign one is not.
    let mut rec = start(ReconcilerOptions::default()).await;
    let node_port = ServiceKey::tcp(sa("192.168.10.11:30080"));
    let stranger = ServiceKey::tcp(sa("192.0.2.7:30080"));
    assert!(rec.known().services.contains_key(&node_port));
    assert!(rec.known().foreign.contains_key(&stranger));
    let mut empty = plan.clone();
    empty.services.clear();
    let report = rec.sync(&empty).await;
    ok(&report);
    let ipvs = sh("ipvsadm -Sn");
    assert!(!ipvs.contains("192.168.10.11:30080"), "{ipvs}");
    assert_eq!(foreign(), before, "{ipvs}");
    let resync = rec.resync(&empty).await;
    ok(&resync);
    assert_eq!(resync.mutating_messages(), 0, "{resync:?}");
    drop(rec);

    // The cleanup spares it too.
    let _ = program_cluster().await;
    let report = kube_ipvs_proxier::cleanup::cleanup(&cleanup_options()).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.ipvs_services_deleted.contains(&node_port));
    assert!(!report.ipvs_services_deleted.contains(&stranger));
    assert_eq!(foreign(), before);
    sh("ipvsadm -D -t 192.0.2.7:30080");
}

/// The legacy binaries (they take the xtables lock; the nft ones do not).
fn legacy() -> kube_ipvs_proxier::kernel::IptablesWriter {
    kube_ipvs_proxier::kernel::IptablesWriter::new().with_tools(
        Family::Inet,
        kube_ipvs_proxier::kernel::iptables::Tools {
            save: "iptables-legacy-save".into(),
            restore: "iptables-legacy-restore".into(),
        },
    )
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn a_held_xtables_lock_bounds_the_sync_and_ipvs_is_still_programmed() {
    reset();
    let plan = cluster_plan(20, 2);
    // --no-fork: the process killed below is the one holding the lock.
    let mut holder = Process::new("flock")
        .args(["--no-fork", "/run/xtables.lock", "sleep", "30"])
        .spawn()
        .expect("flock");
    // Held once a non-blocking attempt fails.
    let held = || {
        !Process::new("flock")
            .args(["--nonblock", "/run/xtables.lock", "true"])
            .status()
            .expect("flock --nonblock")
            .success()
    };
    wait(
        "flock holds the xtables lock",
        &held,
        Duration::from_secs(10),
    )
    .await;
    let mut rec = start(ReconcilerOptions::default())
        .await
        .with_iptables(legacy());
    let started = Instant::now();
    let report = rec.sync(&plan).await;
    let took = started.elapsed();
    let errors: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
    println!(
        "lock held: sync took {took:?}, ipvs {:?}, errors {errors:#?}",
        report.elapsed
    );
    assert_eq!(report.services_added, 20, "{report:?}");
    assert_eq!(report.real_servers_added, 40);
    assert_eq!(report.iptables_failed, vec![Family::Inet]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("iptables-legacy-restore"), "{errors:?}");
    assert!(took < Duration::from_secs(12), "{took:?}");
    assert!(took >= Duration::from_secs(4), "-w 5 waited: {took:?}");
    assert_eq!(ipvs_services().len(), 20);
    assert!(sh("ipset list KUBE-CLUSTER-IP").contains("10.96.0.20,tcp:80"));
    // The lock released, the next sync writes the rules.
    holder.kill().expect("kill flock");
    let _ = holder.wait();
    let retry = rec.sync(&plan).await;
    ok(&retry);
    assert_eq!(retry.iptables_written, 1, "{retry:?}");
    assert_eq!(retry.mutating_messages(), 0, "{retry:?}");
    assert!(sh("iptables-legacy-save -t nat").contains("-A KUBE-MARK-MASQ"));
    sh("for t in nat filter; do iptables-legacy -t $t -F; iptables-legacy -t $t -X; done");
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn a_hung_iptables_is_killed_and_does_not_stop_ipvs_syncs() {
    use std::os::unix::fs::PermissionsExt;
    reset();
    let dir = std::env::temp_dir().join("kpvs-hung-iptables");
    std::fs::create_dir_all(&dir).unwrap();
    let hung = dir.join("iptables-hung");
    std::fs::write(&hung, "#!/bin/sh\nexec sleep 600\n").unwrap();
    std::fs::set_permissions(&hung, std::fs::Permissions::from_mode(0o755)).unwrap();
    let hung = hung.display().to_string();
    let writer = kube_ipvs_proxier::kernel::IptablesWriter::new()
        .with_timeout(Duration::from_secs(2))
        .with_tools(
            Family::Inet,
            kube_ipvs_proxier::kernel::iptables::Tools {
                save: hung.clone(),
                restore: hung.clone(),
            },
        );
    let mut rec = start(ReconcilerOptions::default())
        .await
        .with_iptables(writer);
    let plan = cluster_plan(5, 1);
    let started = Instant::now();
    let report = rec.sync(&plan).await;
    let took = started.elapsed();
    println!("hung iptables: sync took {took:?}: {:?}", report.errors);
    assert_eq!(report.services_added, 5, "{report:?}");
    assert_eq!(report.iptables_failed, vec![Family::Inet]);
    assert!(
        report.errors[0].to_string().contains("was killed"),
        "{report:?}"
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert!(
        !sh("ps -eo args").contains("sleep 600"),
        "the hung tool was killed"
    );
    // IPVS changes go on while iptables hangs.
    let mut more = cluster_plan(6, 1);
    more.iptables = plan.iptables.clone();
    let report = rec.sync(&more).await;
    assert_eq!(report.services_added, 1, "{report:?}");
    assert_eq!(ipvs_services().len(), 6);
    // A working iptables again: the next sync writes the rules.
    let mut rec = rec.with_iptables(kube_ipvs_proxier::kernel::IptablesWriter::new());
    let fixed = rec.sync(&more).await;
    ok(&fixed);
    assert_eq!(fixed.iptables_written, 1, "{fixed:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Polls `done` every 200 ms until it holds; panics after `limit`.
/// Returns how long it took.
async fn wait(what: &str, done: &dyn Fn() -> bool, limit: Duration) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    started.elapsed()
}

/// The daemon's periodic resync (a short `--ipvs-sync-period`, nothing
/// changing in the manifests) repairs rules deleted from our chains and
/// picks up a new node address (a NodePort appears on it).
#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn the_daemon_resync_repairs_rules_and_rereads_node_addresses() {
    use clap::Parser;
    use kube_ipvs_proxier::config::cli::{Cli, Invocation};
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    reset_both_families();
    // The Node's address is local (NodePorts go on local addresses).
    sh(
        "ip link del kpvs-node1 2>/dev/null; ip link add kpvs-node1 type dummy \
        && ip addr add 192.168.10.11/32 dev kpvs-node1",
    );
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/manifests/rich.yaml"
    );
    let args = [
        "kube-ipvs-proxier",
        "--manifests",
        path,
        "--hostname-override",
        "node-1",
        "--ipvs-sync-period",
        "4s",
        "--ipvs-min-sync-period",
        "0s",
        "--healthz-bind-address",
        "127.0.0.1:20256",
        "--metrics-bind-address",
        "127.0.0.1:20249",
    ];
    let Invocation::Run(settings) = Cli::parse_from(args).resolve().expect("flags") else {
        panic!("not a run");
    };
    // The daemon on its own thread and runtime: the checks below block.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(kube_ipvs_proxier::daemon::run(settings, async {
                let _ = stopped.await;
            }))
    });
    let test = async move {
        let programmed = || {
            !chain_rules("iptables", "filter", "KUBE-NODE-PORT").is_empty()
                && try_sh("ipvsadm -Sn").is_some_and(|s| s.contains(":30080"))
        };
        wait("first sync", &programmed, Duration::from_secs(60)).await;
        // Both families written, nothing moving.
        let settled = || {
            let first = saved_rules();
            std::thread::sleep(Duration::from_millis(500));
            first.iter().any(|l| l.contains("KUBE-6-")) && saved_rules() == first
        };
        wait("rules settled", &settled, Duration::from_secs(30)).await;
        let before = saved_rules();
        sh("iptables -t nat -D KUBE-SERVICES -s 127.0.0.0/8 -j RETURN");
        sh("iptables -t filter -F KUBE-NODE-PORT");
        sh("ip addr add 198.51.100.77/32 dev kpvs-node1");
        let repaired = || saved_rules() == before;
        let limit = Duration::from_secs(20);
        let started = Instant::now();
        while !repaired() && started.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let now = saved_rules();
        let missing: Vec<_> = before.iter().filter(|l| !now.contains(l)).collect();
        let extra: Vec<_> = now.iter().filter(|l| !before.contains(l)).collect();
        assert!(
            repaired(),
            "not repaired within {limit:?}: missing {missing:#?}, extra {extra:#?}, \
             iptables-save: {:?}",
            try_sh("iptables-save 2>&1 >/dev/null")
        );
        let took = started.elapsed();
        println!("rules repaired by the resync after {took:?}");
        let addressed = || try_sh("ipvsadm -Sn").is_some_and(|s| s.contains("198.51.100.77:30080"));
        let took = wait(
            "NodePort on the new address",
            &addressed,
            Duration::from_secs(20),
        )
        .await;
        println!("NodePort on the new node address after {took:?}");
        let _ = stop.send(());
    };
    test.await;
    daemon.join().expect("daemon thread").expect("daemon");
    sh("ip link del kpvs-node1");
}
