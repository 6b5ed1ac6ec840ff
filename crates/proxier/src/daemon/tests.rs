//! The daemon's node context over the address seam, with an in-memory
//! fake of the kernel's addresses; the daemon's loop over the in-memory
//! writers of [`crate::reconcile::tests::fake`].

use std::{collections::BTreeSet, net::IpAddr};

use k8s_openapi::api::core::v1::Node;

use super::*;
use crate::{
    kernel::{AddressCacheError, LinkError},
    reconcile::tests::fake::Shared,
    source::manifests,
};

/// The kernel's addresses as a test sets them; records the interfaces
/// it was asked to leave out.
struct FakeAddresses {
    addresses: Option<BTreeSet<IpAddr>>,
    asked: Vec<u32>,
}

impl FakeAddresses {
    fn new(addresses: &[&str]) -> Self {
        FakeAddresses {
            addresses: Some(addresses.iter().map(|a| ip(a)).collect()),
            asked: Vec::new(),
        }
    }

    /// Every read fails.
    fn failing() -> Self {
        FakeAddresses {
            addresses: None,
            asked: Vec::new(),
        }
    }
}

impl NodeAddresses for FakeAddresses {
    async fn local_addresses(
        &mut self,
        except: u32,
    ) -> Result<BTreeSet<IpAddr>, AddressCacheError> {
        self.asked.push(except);
        self.addresses
            .clone()
            .ok_or(AddressCacheError::Dump(LinkError::DumpInterrupted {
                operation: "dump addresses".to_owned(),
                attempts: 5,
            }))
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ips(addrs: &[&str]) -> Vec<IpAddr> {
    addrs.iter().map(|a| ip(a)).collect()
}

fn sources(node_ips: &[IpAddr]) -> AddressSources<'_> {
    AddressSources {
        bind_address: None,
        node_ips,
        kernel: None,
    }
}

#[tokio::test]
async fn without_node_ips_the_node_addresses_are_the_kernels() {
    let mut fake = FakeAddresses::new(&["127.0.0.1", "192.168.1.10", "fd00::10"]);
    let context = node_context("node-1", None, sources(&[]), Some(&mut fake), 7).await;
    assert_eq!(
        context.node_ips,
        ips(&["127.0.0.1", "192.168.1.10", "fd00::10"])
    );
    assert_eq!(context.primary_ips, ips(&["192.168.1.10", "fd00::10"]));
    assert_eq!(fake.asked, vec![7], "kube-ipvs0's index is left out");
}

#[tokio::test]
async fn node_ips_are_used_without_asking_the_kernel() {
    let node_ips = ips(&["10.0.0.1"]);
    let context = node_context(
        "node-1",
        None,
        sources(&node_ips),
        None::<&mut FakeAddresses>,
        7,
    )
    .await;
    assert_eq!(context.node_ips, node_ips);
    assert_eq!(context.primary_ips, node_ips);
}

#[tokio::test]
async fn unreadable_kernel_addresses_leave_the_nodes_own() {
    let node: Node = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "node-1"},
        "status": {"addresses": [{"type": "InternalIP", "address": "192.168.1.10"}]},
    }))
    .unwrap();
    let mut fake = FakeAddresses::failing();
    let context = node_context("node-1", Some(&node), sources(&[]), Some(&mut fake), 7).await;
    assert_eq!(context.node_ips, ips(&["192.168.1.10"]));
    assert_eq!(fake.asked.len(), 1);
}

/// The settings of `run --manifests` on `node-1` with `--node-ip`.
fn manifests_settings(path: &str) -> Settings {
    use clap::Parser;
    let args = [
        "kube-ipvs-proxier",
        "run",
        "--manifests",
        path,
        "--hostname-override",
        "node-1",
        "--node-ip",
        "192.168.1.10",
    ];
    match crate::config::cli::Cli::try_parse_from(args)
        .unwrap()
        .resolve()
        .unwrap()
    {
        crate::config::cli::Invocation::Run(settings) => settings,
        other => panic!("{other:?}"),
    }
}

/// A daemon over the fake kernel, fed `snapshot`, run until `shutdown`.
async fn run_daemon(
    settings: &Settings,
    kernel: &Shared,
    snapshot: &Snapshot,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    let reconciler = Reconciler::start_with(reconciler_options(&settings.proxy), kernel.writers())
        .await
        .expect("start");
    let (tx, rx) = mpsc::channel(16);
    tx.send(Input::Snapshot(snapshot.clone(), Vec::new()))
        .await
        .unwrap();
    let health = ProxyHealth::new(2 * settings.sync_period);
    let mut daemon = Daemon::new(
        settings.clone(),
        reconciler,
        None::<FakeAddresses>,
        health,
        Metrics::new(),
    );
    let result = tokio::time::timeout(Duration::from_secs(10), daemon.run(rx, shutdown))
        .await
        .expect("the daemon stopped");
    drop(tx);
    result
}

#[tokio::test]
async fn a_shutdown_mid_sync_stops_the_daemon_and_a_restart_finishes_the_work() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/manifests/demo.yaml"
    );
    let settings = manifests_settings(path);
    let (snapshot, _) = manifests::load(std::path::Path::new(path)).unwrap();
    let node = NodeContext::resolve(
        &settings.node_name,
        None,
        AddressSources {
            bind_address: settings.bind_address,
            node_ips: &settings.node_ips,
            kernel: None,
        },
    );
    let (plan, _) = crate::plan::plan(&snapshot, &node, &settings.proxy);
    assert_eq!(plan.services.len(), 1);

    // SIGTERM while the first sync's IPVS batch is in flight (one command
    // applied): the daemon stops at once, with what was written left.
    let kernel = Shared::default();
    kernel.lock().faults.stall_after = Some(1);
    let stalled = kernel.lock().stalled.clone();
    let result = run_daemon(&settings, &kernel, &snapshot, async move {
        stalled.notified().await
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
    {
        let mut k = kernel.lock();
        assert_eq!(k.take_sent().len(), 1);
        assert_eq!(k.services.len(), 1, "the service, without real servers");
        assert!(!k.differences(&plan).is_empty());
        assert!(!k.sysctls.is_empty(), "the start set kube-proxy's sysctls");
    }

    // The restart adopts the half-written kernel and finishes it.
    let watched = kernel.clone();
    let converged = async move {
        loop {
            let left = watched.lock().differences(&plan);
            if left.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let result = run_daemon(&settings, &kernel, &snapshot, converged).await;
    assert!(result.is_ok(), "{result:?}");
    let sent = kernel.lock().take_sent();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(
        sent.iter()
            .all(|c| matches!(c, ipvs_netlink::Command::AddRealServer(..))),
        "only the missing real servers: {sent:?}"
    );
}

/// The loop's inputs as `run` merges them: the manifests' first view and
/// a server that fails for good (`bindAddressHardFail`, its port taken)
/// both arrive through the one pump.
#[tokio::test]
async fn the_pump_merges_the_source_and_the_servers_ends() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/manifests/demo.yaml"
    );
    let mut settings = manifests_settings(path);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    settings.healthz_bind_address = Some(taken.local_addr().unwrap());
    settings.metrics_bind_address = None;
    settings.bind_address_hard_fail = true;
    let health = ProxyHealth::new(Duration::from_secs(60));
    let (servers, ends) = servers::spawn(&settings, None, &health, &Metrics::new());
    let source = sources::open(&settings)
        .await
        .expect("the manifests source");
    let (tx, mut rx) = mpsc::channel(16);
    let pump = tokio::spawn(sources::pump(vec![source, ends], tx));
    let (mut snapshot, mut fatal) = (false, false);
    while !(snapshot && fatal) {
        let input = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an input in time")
            .expect("the pump runs");
        match input {
            Input::Snapshot(view, _) => {
                assert_eq!(view.services.len(), 1, "demo.yaml's Service");
                snapshot = true;
            }
            Input::Fatal(err) => {
                assert!(err.to_string().contains("healthz"), "{err}");
                fatal = true;
            }
            other => panic!("{other:?}"),
        }
    }
    pump.abort();
    for server in servers {
        server.abort();
    }
}
