//! The address cache ([`AddressCache`]) against the kernel: addresses
//! added and removed on a dummy link and on `kube-ipvs0` are followed
//! without a dump, and an overrun of the notification socket is recovered
//! with one; the oracle is `ip -o addr`.

use std::{collections::BTreeSet, net::IpAddr};

use kube_ipvs_proxier::kernel::{AddressCache, NodeAddresses};

use super::{reset, sh};

const DUMMY: &str = "kpvs-addr0";

/// The addresses `ip -o addr` lists on every interface but `kube-ipvs0`.
fn ip_addresses() -> BTreeSet<IpAddr> {
    sh("ip -o addr show")
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let name = fields.get(1)?.trim_end_matches(':');
            let addr = fields.get(3)?.split('/').next()?;
            (name != "kube-ipvs0").then(|| addr.parse().expect("an address"))
        })
        .collect()
}

fn index(name: &str) -> u32 {
    sh(&format!("cat /sys/class/net/{name}/ifindex"))
        .trim()
        .parse()
        .unwrap()
}

fn setup() {
    reset();
    sh(&format!(
        "ip link del {DUMMY} 2>/dev/null; ip link add {DUMMY} type dummy; ip link set {DUMMY} up; \
         ip link add kube-ipvs0 type dummy"
    ));
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn the_cache_follows_addresses_without_dumping() {
    setup();
    let except = index("kube-ipvs0");
    let mut cache = AddressCache::open().unwrap();
    let first = cache.local_addresses(except).await.unwrap();
    assert_eq!(first, ip_addresses());
    assert_eq!(cache.dumps(), 1);

    sh(&format!(
        "ip addr add 10.200.0.1/24 dev {DUMMY}; ip addr add 10.200.0.1/32 dev {DUMMY}; \
         ip addr add fd00:200::1/64 dev {DUMMY} nodad; \
         ip addr add 10.96.0.1/32 dev kube-ipvs0; ip addr add fd00:96::1/128 dev kube-ipvs0 nodad"
    ));
    let added = cache.local_addresses(except).await.unwrap();
    assert_eq!(added, ip_addresses());
    assert!(added.contains(&ip("10.200.0.1")) && added.contains(&ip("fd00:200::1")));
    assert!(!added.contains(&ip("10.96.0.1")) && !added.contains(&ip("fd00:96::1")));

    // One prefix length of two goes: the address stays.
    sh(&format!("ip addr del 10.200.0.1/32 dev {DUMMY}"));
    let half = cache.local_addresses(except).await.unwrap();
    assert!(half.contains(&ip("10.200.0.1")), "{half:?}");
    assert_eq!(half, ip_addresses());

    sh(&format!(
        "ip addr del 10.200.0.1/24 dev {DUMMY}; ip addr del fd00:200::1/64 dev {DUMMY}; \
         ip addr del 10.96.0.1/32 dev kube-ipvs0"
    ));
    let removed = cache.local_addresses(except).await.unwrap();
    assert_eq!(removed, ip_addresses());
    assert_eq!(removed, first);

    // The link goes with its addresses.
    sh(&format!("ip addr add 10.201.0.1/24 dev {DUMMY}"));
    assert!(
        cache
            .local_addresses(except)
            .await
            .unwrap()
            .contains(&ip("10.201.0.1"))
    );
    sh(&format!("ip link del {DUMMY}"));
    assert_eq!(cache.local_addresses(except).await.unwrap(), ip_addresses());

    assert_eq!(cache.dumps(), 1, "notifications only after the first dump");
    assert_eq!(cache.overruns(), 0);
    assert!(cache.notifications() >= 10, "{}", cache.notifications());
    // Every address of kube-ipvs0 is left out, whatever it holds.
    let all = cache.local_addresses(0).await.unwrap();
    assert!(all.contains(&ip("fd00:96::1")), "{all:?}");
    reset();
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn an_overrun_is_recovered_with_a_dump() {
    setup();
    let except = index("kube-ipvs0");
    // The smallest receive buffer the kernel gives: a few notifications.
    let mut cache = AddressCache::with_receive_buffer(0).unwrap();
    cache.local_addresses(except).await.unwrap();
    assert_eq!(cache.dumps(), 1);
    let batch = std::env::temp_dir().join("kpvs-addresses.batch");
    let mut lines = String::new();
    for i in 0..1000 {
        lines += &format!(
            "addr add 10.202.{}.{}/32 dev {DUMMY}\n",
            i / 200,
            1 + i % 200
        );
        lines += &format!(
            "addr add 10.97.{}.{}/32 dev kube-ipvs0\n",
            i / 200,
            1 + i % 200
        );
    }
    std::fs::write(&batch, lines).unwrap();
    sh(&format!("ip -batch {}", batch.display()));
    let got = cache.local_addresses(except).await.unwrap();
    assert!(cache.overruns() >= 1, "the socket overran");
    assert!(cache.dumps() >= 2, "and the cache dumped again");
    assert_eq!(got, ip_addresses());
    assert_eq!(
        got.iter()
            .filter(|a| a.to_string().starts_with("10.202."))
            .count(),
        1000
    );

    // After the recovery, notifications again.
    let dumps = cache.dumps();
    sh(&format!("ip addr del 10.202.0.1/32 dev {DUMMY}"));
    let got = cache.local_addresses(except).await.unwrap();
    assert!(!got.contains(&ip("10.202.0.1")));
    assert_eq!(got, ip_addresses());
    assert_eq!(cache.dumps(), dumps);
    sh(&format!("ip link del {DUMMY}"));
    reset();
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn an_excluded_interface_is_filtered_in_the_kernel() {
    setup();
    let except = index("kube-ipvs0");
    sh("ip addr add 10.98.255.1/32 dev kube-ipvs0");
    // The smallest receive buffer: without the filter, 1,000 notifications
    // overrun it (an_overrun_is_recovered_with_a_dump).
    let mut cache = AddressCache::with_receive_buffer(0).unwrap();
    cache.exclude(except).unwrap();
    assert_eq!(cache.local_addresses(except).await.unwrap(), ip_addresses());
    assert_eq!(cache.dumps(), 1);
    let applied = cache.notifications();
    let batch = std::env::temp_dir().join("kpvs-excluded.batch");
    let lines: String = (0..1000)
        .map(|i| {
            format!(
                "addr add 10.98.{}.{}/32 dev kube-ipvs0\n",
                i / 200,
                1 + i % 200
            )
        })
        .collect();
    std::fs::write(&batch, lines).unwrap();
    sh(&format!("ip -batch {}", batch.display()));
    sh(&format!("ip addr add 10.203.0.1/24 dev {DUMMY}"));
    let got = cache.local_addresses(except).await.unwrap();
    assert_eq!(got, ip_addresses());
    assert!(
        got.contains(&ip("10.203.0.1")),
        "the other link is still followed"
    );
    assert_eq!(
        cache.overruns(),
        0,
        "kube-ipvs0's 1,000 notifications never queued"
    );
    assert_eq!(cache.dumps(), 1);
    assert_eq!(cache.notifications() - applied, 1, "only the dummy link's");
    // Not in the table at all: asked without the exception, still absent.
    assert!(
        !cache
            .local_addresses(0)
            .await
            .unwrap()
            .contains(&ip("10.98.0.1"))
    );
    assert_eq!(
        sh("ip -o addr show dev kube-ipvs0").lines().count(),
        1001,
        "the addresses are in the kernel"
    );
    sh(&format!("ip link del {DUMMY}"));
    reset();
}
