//! Health-check node ports (pkg/proxy/healthcheck/service_health.go
//! `SyncServices`, `SyncEndpoints`, `hcHandler.ServeHTTP`).

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use tokio::net::{TcpListener, TcpStream};

use super::{ManualClock, get};
use ipvs_netlink::Family;

use crate::{
    cluster::ServiceName,
    serve::{ProxyHealth, ServeError, ServiceHealth},
};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The handler's template after `dedent.Dedent` and `strings.Trim(…,
/// "\n")`: tab indented, no final newline.
fn go_body(namespace: &str, name: &str, count: usize, healthy: bool) -> String {
    [
        "{".to_string(),
        "\t\"service\": {".to_string(),
        format!("\t\t\"namespace\": \"{namespace}\","),
        format!("\t\t\"name\": \"{name}\""),
        "\t},".to_string(),
        format!("\t\"localEndpoints\": {count},"),
        format!("\t\"serviceProxyHealthy\": {healthy}"),
        "}".to_string(),
    ]
    .join("\n")
}

/// A port that was free a moment ago.
async fn free_port(ip: IpAddr) -> u16 {
    let listener = TcpListener::bind(SocketAddr::new(ip, 0)).await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn refused(addr: SocketAddr) -> bool {
    TcpStream::connect(addr).await.is_err()
}

#[tokio::test]
async fn answers_by_local_endpoints_and_proxy_health() {
    let clock = ManualClock::at_t0(0);
    let health = ProxyHealth::with_clock(Duration::from_secs(60), clock.clone());
    let mut servers = ServiceHealth::new(vec![LOOPBACK], health.clone());
    let svc = ServiceName::new("ns", "svc");
    let errors = servers
        .sync_services(BTreeMap::from([(0, svc.clone())]))
        .await;
    assert!(errors.is_empty(), "{errors:?}");
    let addrs = servers.local_addrs(&svc);
    assert_eq!(addrs.len(), 1);
    let addr = addrs[0];

    // Opened with 0 endpoints: 503.
    let reply = get(addr, "/").await;
    assert_eq!(reply.status_line, "HTTP/1.1 503 Service Unavailable");
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    assert_eq!(reply.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(reply.header("X-Load-Balancing-Endpoint-Weight"), Some("0"));
    assert_eq!(reply.body, go_body("ns", "svc", 0, true));

    servers.sync_endpoints(BTreeMap::from([
        (svc.clone(), 3),
        (ServiceName::new("ns", "other"), 7),
    ]));
    // Any path: the handler is the whole server.
    let reply = get(addr, "/healthz").await;
    assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
    assert_eq!(reply.header("X-Load-Balancing-Endpoint-Weight"), Some("3"));
    assert_eq!(
        reply.body.as_bytes(),
        b"{\n\t\"service\": {\n\t\t\"namespace\": \"ns\",\n\t\t\"name\": \"svc\"\n\t},\n\t\"localEndpoints\": 3,\n\t\"serviceProxyHealthy\": true\n}"
    );

    // The proxy unhealthy: 503 whatever the endpoints.
    health.updated(Family::Inet);
    health.queued_update(Family::Inet);
    clock.advance(Duration::from_secs(60));
    let reply = get(addr, "/").await;
    assert_eq!(reply.code(), 503);
    assert_eq!(reply.header("X-Load-Balancing-Endpoint-Weight"), Some("3"));
    assert_eq!(reply.body, go_body("ns", "svc", 3, false));
    health.updated(Family::Inet);
    assert_eq!(get(addr, "/").await.code(), 200);

    // Absent from SyncEndpoints: back to 0.
    servers.sync_endpoints(BTreeMap::new());
    let reply = get(addr, "/").await;
    assert_eq!(reply.code(), 503);
    assert_eq!(reply.body, go_body("ns", "svc", 0, true));

    // The Service gone: its port is closed.
    let errors = servers.sync_services(BTreeMap::new()).await;
    assert!(errors.is_empty());
    assert!(servers.local_addrs(&svc).is_empty());
    assert!(refused(addr).await, "{addr} still open");
}

/// An unchanged Service keeps its listener; a changed port closes the old
/// one and opens the new; another Service can take a freed port in the
/// same sync.
#[tokio::test]
async fn keeps_moves_and_reuses_ports() {
    let health = ProxyHealth::new(Duration::from_secs(60));
    let mut servers = ServiceHealth::new(vec![LOOPBACK], health);
    let a = ServiceName::new("ns", "a");
    let b = ServiceName::new("ns", "b");
    let p1 = free_port(LOOPBACK).await;
    let p2 = free_port(LOOPBACK).await;
    assert!(
        servers
            .sync_services(BTreeMap::from([(p1, a.clone())]))
            .await
            .is_empty()
    );
    servers.sync_endpoints(BTreeMap::from([(a.clone(), 1)]));
    assert_eq!(get(SocketAddr::new(LOOPBACK, p1), "/").await.code(), 200);

    // Same set again: left alone, endpoint count kept.
    assert!(
        servers
            .sync_services(BTreeMap::from([(p1, a.clone())]))
            .await
            .is_empty()
    );
    assert_eq!(get(SocketAddr::new(LOOPBACK, p1), "/").await.code(), 200);

    // a moves to p2, b takes p1.
    let errors = servers
        .sync_services(BTreeMap::from([(p1, b.clone()), (p2, a.clone())]))
        .await;
    assert!(errors.is_empty(), "{errors:?}");
    let reply = get(SocketAddr::new(LOOPBACK, p1), "/").await;
    assert_eq!(reply.body, go_body("ns", "b", 0, true));
    let reply = get(SocketAddr::new(LOOPBACK, p2), "/").await;
    assert_eq!(
        reply.body,
        go_body("ns", "a", 0, true),
        "a re-opened starts at 0"
    );
}

/// `listenAndServeAll`: a failed address closes the ones already open and
/// the Service is left out (the error is returned, the next sync retries).
#[tokio::test]
async fn a_listen_failure_is_returned_and_retried() {
    let second = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let port = free_port(LOOPBACK).await;
    let taken = TcpListener::bind(SocketAddr::new(second, port))
        .await
        .unwrap();
    let mut servers = ServiceHealth::new(
        vec![LOOPBACK, second],
        ProxyHealth::new(Duration::from_secs(60)),
    );
    let svc = ServiceName::new("kube-system", "lb");

    let errors = servers
        .sync_services(BTreeMap::from([(port, svc.clone())]))
        .await;
    assert_eq!(errors.len(), 1);
    let ServeError::HealthCheckPort {
        service,
        port: failed,
        ..
    } = &errors[0]
    else {
        panic!("{errors:?}");
    };
    assert_eq!((service.as_str(), *failed), ("kube-system/lb", port));
    assert!(
        errors[0].to_string().starts_with(&format!(
            "failed to start healthcheck \"kube-system/lb\" on port {port}: "
        )),
        "{}",
        errors[0]
    );
    assert!(servers.local_addrs(&svc).is_empty());
    assert!(
        refused(SocketAddr::new(LOOPBACK, port)).await,
        "first address not closed"
    );

    drop(taken);
    let errors = servers
        .sync_services(BTreeMap::from([(port, svc.clone())]))
        .await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(servers.local_addrs(&svc).len(), 2);
    for ip in [LOOPBACK, second] {
        assert_eq!(get(SocketAddr::new(ip, port), "/").await.code(), 503);
    }
}

/// No addresses given: Go listens on `0.0.0.0`, which on Linux is one
/// dual-stack socket; reachable over IPv4 loopback (and IPv6 loopback
/// when the host has IPv6).
#[tokio::test]
async fn no_addresses_listens_everywhere() {
    let mut servers = ServiceHealth::new(Vec::new(), ProxyHealth::new(Duration::from_secs(60)));
    let svc = ServiceName::new("ns", "all");
    assert!(
        servers
            .sync_services(BTreeMap::from([(0, svc.clone())]))
            .await
            .is_empty()
    );
    let addrs = servers.local_addrs(&svc);
    assert_eq!(addrs.len(), 1);
    assert!(addrs[0].ip().is_unspecified(), "{addrs:?}");
    let port = addrs[0].port();
    assert_eq!(get(SocketAddr::new(LOOPBACK, port), "/").await.code(), 503);
    if addrs[0].is_ipv6() {
        let v6 = SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), port);
        assert_eq!(get(v6, "/").await.code(), 503);
    }
}

/// kube-proxy's `newServiceHealthServer`: `0.0.0.0` when
/// `nodePortAddresses` is unset, else the node addresses it matches.
#[test]
fn listen_addresses_follow_node_port_addresses() {
    use crate::{
        config::{NodePortAddresses, ProxyConfig, parse_cidrs},
        model::NodeContext,
        serve::service_health::listen_addresses,
    };
    let ips =
        |list: &[&str]| -> Vec<IpAddr> { list.iter().map(|ip| ip.parse().unwrap()).collect() };
    let mut node = NodeContext::new("n");
    node.node_ips = ips(&["10.0.0.5", "192.168.1.10", "127.0.0.1", "fd00::5"]);
    node.primary_ips = ips(&["192.168.1.10", "fd00::5"]);
    let with = |addresses| ProxyConfig {
        node_port_addresses: addresses,
        ..ProxyConfig::default()
    };
    assert!(listen_addresses(&node, &with(NodePortAddresses::All)).is_empty());
    let cidrs = NodePortAddresses::Cidrs(
        parse_cidrs("--nodeport-addresses", &["10.0.0.0/8", "fd00::/64"]).unwrap(),
    );
    assert_eq!(
        listen_addresses(&node, &with(cidrs)),
        ips(&["10.0.0.5", "fd00::5"])
    );
    assert_eq!(
        listen_addresses(&node, &with(NodePortAddresses::Primary)),
        ips(&["192.168.1.10", "fd00::5"])
    );
}
