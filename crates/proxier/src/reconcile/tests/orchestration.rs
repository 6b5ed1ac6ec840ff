//! The reconciler's orchestration over the in-memory writers of [`fake`]:
//! partial failures, retries, lost replies, graceful draining, drift and
//! the start steps. The oracle is the fake kernel compared with the plan,
//! never the reconciler's own report.

use ipvs_netlink::Timeouts;

use super::{fake::Shared, *};
use crate::{
    kernel::sysctl,
    plan::{
        PlanChanges,
        rules::{IptablesRules, Rule},
    },
};

/// Three services of two real servers, their VIPs, `KUBE-CLUSTER-IP` and
/// a rule set.
fn three() -> KernelPlan {
    let mut plan = plan(&[
        (tcp("10.96.0.1:80"), &["10.244.0.1:8080", "10.244.0.2:8080"]),
        (tcp("10.96.0.2:80"), &["10.244.0.3:8080", "10.244.0.4:8080"]),
        (tcp("10.96.0.3:80"), &["10.244.0.5:8080", "10.244.0.6:8080"]),
    ]);
    plan.bind_addrs = ["10.96.0.1", "10.96.0.2", "10.96.0.3"]
        .iter()
        .map(|a| ip(a))
        .collect();
    plan.ipsets.insert(
        "KUBE-CLUSTER-IP".into(),
        planned_set(
            SetType::HashIpPort,
            &["10.96.0.1,tcp:80", "10.96.0.2,tcp:80", "10.96.0.3,tcp:80"],
        ),
    );
    let mut rules = IptablesRules::default();
    rules.nat.chains = vec!["KUBE-SERVICES"];
    rules.nat.rules = vec![Rule::new(
        "KUBE-SERVICES",
        vec![],
        crate::plan::rules::Target::Jump("RETURN"),
    )];
    plan.iptables.insert(Family::Inet, rules);
    plan
}

async fn start(kernel: &Shared) -> Reconciler<fake::Fake> {
    Reconciler::start_with(ReconcilerOptions::default(), kernel.writers())
        .await
        .expect("start")
}

/// The kernel holds exactly the plan.
fn converged(kernel: &Shared, plan: &KernelPlan) {
    let differences = kernel.lock().differences(plan);
    assert!(differences.is_empty(), "{differences:#?}");
}

/// A sync as the daemon retries one: nothing changed in the plan.
async fn retry(rec: &mut Reconciler<fake::Fake>, plan: &KernelPlan) -> SyncReport {
    rec.sync_changes(plan, &PlanChanges::None).await
}

/// Nothing left to send: a sync of the same plan sends no message, runs no
/// tool and reports nothing.
async fn settled(rec: &mut Reconciler<fake::Fake>, kernel: &Shared, plan: &KernelPlan) {
    kernel.lock().take_sent();
    let report = retry(rec, plan).await;
    assert!(report.is_ok(), "{:?}", report.errors);
    assert_eq!(report.mutating_messages(), 0, "{report:?}");
    assert_eq!(report.iptables_forks, 0, "{report:?}");
    assert_eq!(kernel.lock().take_sent(), vec![]);
}

#[tokio::test]
async fn a_partial_failure_mid_batch_is_resent_exactly() {
    let kernel = Shared::default();
    let plan = three();
    let (b, lost) = (tcp("10.96.0.2:80"), rs("10.244.0.4:8080", 1));
    {
        let mut k = kernel.lock();
        k.faults
            .refuse
            .push(Command::AddRealServer(b, lost.clone()));
        k.faults.bind_refuse.insert(ip("10.96.0.3"));
        k.faults.ipset_refuse.insert("KUBE-CLUSTER-IP".into());
        k.faults.iptables_refuse = 1;
    }
    let mut rec = start(&kernel).await;
    let first = rec.sync(&plan).await;
    let subsystems: Vec<&str> = first.errors.iter().map(SyncError::subsystem).collect();
    assert_eq!(
        subsystems,
        ["ipvs", "link", "ipset", "iptables"],
        "{first:?}"
    );
    assert!(matches!(first.errors[0], SyncError::IpvsCommand(_)));
    assert_eq!(first.iptables_failed, vec![Family::Inet]);
    {
        let k = kernel.lock();
        assert_eq!(k.sent.len(), 9, "3 services and 6 real servers sent");
        assert!(!k.services[&b].1.contains_key(&lost.addr));
        assert!(!k.bindings.addresses.contains(&ip("10.96.0.3")));
        assert!(k.sets["KUBE-CLUSTER-IP"].entries.is_empty());
        assert!(k.rules.is_empty());
    }
    kernel.lock().take_sent();

    // The next sync (the daemon's retry, nothing changed) sends what
    // failed and only that.
    let second = retry(&mut rec, &plan).await;
    assert!(second.is_ok(), "{:?}", second.errors);
    assert_eq!(
        kernel.lock().take_sent(),
        vec![Command::AddRealServer(b, lost)]
    );
    assert_eq!(second.vips_bound, 1, "{second:?}");
    assert_eq!(second.ipset_added, 3, "{second:?}");
    assert_eq!(second.iptables_written, 1, "{second:?}");
    converged(&kernel, &plan);
    settled(&mut rec, &kernel, &plan).await;
}

#[tokio::test]
async fn a_failed_retry_is_reported_and_the_next_sync_repairs_it() {
    let kernel = Shared::default();
    let plan = three();
    let a = tcp("10.96.0.1:80");
    let mut rec = start(&kernel).await;
    // After the start, someone else creates the first service with other
    // settings: the add fails with EEXIST, the reconciler retries with an
    // update, and that update fails too.
    {
        let mut k = kernel.lock();
        let mut theirs = vs(a);
        theirs.scheduler = Scheduler::new("wrr");
        k.services.insert(a, (theirs, BTreeMap::new()));
        k.faults
            .refuse
            .push(Command::UpdateService(plan.services[&a].service.clone()));
    }
    let first = rec.sync(&plan).await;
    assert_eq!(first.errors.len(), 1, "{:?}", first.errors);
    assert!(
        first.errors[0]
            .to_string()
            .starts_with("ipvs: refused failed"),
        "{}",
        first.errors[0]
    );
    let sent = kernel.lock().take_sent();
    let updates: Vec<_> = sent
        .iter()
        .filter(|c| matches!(c, Command::UpdateService(_)))
        .collect();
    assert_eq!(updates.len(), 1, "the retry pass sent the update: {sent:?}");
    assert_eq!(kernel.lock().services[&a].0.scheduler.name(), "wrr");

    let second = retry(&mut rec, &plan).await;
    assert!(second.is_ok(), "{:?}", second.errors);
    assert_eq!(
        kernel.lock().take_sent(),
        vec![Command::UpdateService(plan.services[&a].service.clone())]
    );
    converged(&kernel, &plan);
    settled(&mut rec, &kernel, &plan).await;
}

#[tokio::test]
async fn after_a_lost_reply_the_next_sync_converges_without_duplicates() {
    let kernel = Shared::default();
    let plan = three();
    {
        let mut k = kernel.lock();
        k.faults.lose_ipvs_replies = 1;
        k.faults.ipset_lose_reply.insert("KUBE-CLUSTER-IP".into());
    }
    let mut rec = start(&kernel).await;
    let first = rec.sync(&plan).await;
    let subsystems: Vec<&str> = first.errors.iter().map(SyncError::subsystem).collect();
    assert_eq!(subsystems, ["ipvs", "ipset"], "{first:?}");
    assert!(matches!(first.errors[0], SyncError::Ipvs(_)));
    // Everything was written; only the replies were lost.
    converged(&kernel, &plan);
    kernel.lock().take_sent();

    let second = retry(&mut rec, &plan).await;
    assert!(second.is_ok(), "{:?}", second.errors);
    assert_eq!(
        (second.services_added, second.real_servers_added),
        (0, 0),
        "nothing added twice: {second:?}"
    );
    // The adds met EEXIST, which made the settings unknown: the retry
    // pass rewrote them in place.
    let sent = kernel.lock().take_sent();
    assert!(
        sent.iter().all(|c| matches!(
            c,
            Command::AddService(_)
                | Command::AddRealServer(..)
                | Command::UpdateService(_)
                | Command::UpdateRealServer(..)
        )),
        "{sent:?}"
    );
    converged(&kernel, &plan);
    settled(&mut rec, &kernel, &plan).await;
}

#[tokio::test]
async fn a_draining_real_server_is_deleted_once_its_connections_end() {
    let kernel = Shared::default();
    let a = tcp("10.96.0.1:80");
    let before = plan(&[(a, &["10.244.0.1:8080", "10.244.0.2:8080"])]);
    let after = plan(&[(a, &["10.244.0.1:8080"])]);
    let leaving = sa("10.244.0.2:8080");
    let mut rec = start(&kernel).await;
    assert!(rec.sync(&before).await.is_ok());
    kernel
        .lock()
        .services
        .get_mut(&a)
        .unwrap()
        .1
        .get_mut(&leaving)
        .unwrap()
        .active_conns = 3;

    let report = rec.sync(&after).await;
    assert!(report.is_ok(), "{:?}", report.errors);
    assert_eq!(report.real_servers_queued, 1, "{report:?}");
    assert_eq!(kernel.lock().services[&a].1[&leaving].weight, 0);
    assert!(rec.graceful().contains(&a, &leaving));

    let report = rec.process_graceful().await;
    assert!(report.is_ok(), "{:?}", report.errors);
    assert!(
        kernel.lock().services[&a].1.contains_key(&leaving),
        "still busy"
    );

    kernel
        .lock()
        .services
        .get_mut(&a)
        .unwrap()
        .1
        .get_mut(&leaving)
        .unwrap()
        .active_conns = 0;
    let report = rec.process_graceful().await;
    assert!(report.is_ok(), "{:?}", report.errors);
    assert!(rec.graceful().is_empty());
    converged(&kernel, &after);
    settled(&mut rec, &kernel, &after).await;
}

#[tokio::test]
async fn a_resync_repairs_drift_made_by_someone_else() {
    let kernel = Shared::default();
    let plan = three();
    let mut rec = start(&kernel).await;
    assert!(rec.sync(&plan).await.is_ok());
    {
        let mut k = kernel.lock();
        k.services.get_mut(&tcp("10.96.0.2:80")).unwrap().1.clear();
        k.bindings.addresses.remove(&ip("10.96.0.1"));
        k.sets.get_mut("KUBE-CLUSTER-IP").unwrap().entries.clear();
        k.rules.clear();
    }
    // A sync trusts its cache; the resync reads the kernel again.
    let report = retry(&mut rec, &plan).await;
    assert_eq!(report.mutating_messages(), 0, "{report:?}");
    let report = rec.resync(&plan).await;
    assert!(report.is_ok(), "{:?}", report.errors);
    converged(&kernel, &plan);
    settled(&mut rec, &kernel, &plan).await;
}

#[tokio::test]
async fn a_restart_adopts_a_half_written_kernel_and_finishes_it() {
    let kernel = Shared::default();
    let plan = three();
    kernel.lock().faults.lose_ipvs_replies = 1;
    kernel.lock().faults.iptables_refuse = 1;
    let mut rec = start(&kernel).await;
    assert!(!rec.sync(&plan).await.is_ok());
    drop(rec);
    let mut rec = start(&kernel).await;
    let report = rec.sync(&plan).await;
    assert!(report.is_ok(), "{:?}", report.errors);
    assert_eq!(report.ipvs_messages, 0, "adopted, not resent: {report:?}");
    converged(&kernel, &plan);
    settled(&mut rec, &kernel, &plan).await;
}

#[tokio::test]
async fn the_start_sets_sysctls_probes_the_scheduler_and_sets_timeouts() {
    let kernel = Shared::default();
    let timeouts = Timeouts::new(900, 120, 300);
    let options = ReconcilerOptions {
        scheduler: Some("rr".into()),
        timeouts,
        sysctls: sysctl::kube_proxy(true, Some((6, 1))),
        ..ReconcilerOptions::default()
    };
    Reconciler::start_with(options.clone(), kernel.writers())
        .await
        .expect("start");
    assert_eq!(kernel.lock().timeouts, timeouts);
    assert_eq!(kernel.lock().sysctls, options.sysctls);

    let unknown = ReconcilerOptions {
        scheduler: Some("nosuch".into()),
        ..options
    };
    let err = Reconciler::start_with(unknown, kernel.writers())
        .await
        .unwrap_err();
    assert!(matches!(err, StartError::Scheduler(_)), "{err}");
    assert!(err.to_string().contains("ip_vs_nosuch"), "{err}");
}
