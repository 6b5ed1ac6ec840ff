//! The IPVS step of the cleanup: which virtual servers are ours, and
//! deleting them.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::IpAddr,
};

use ipvs_netlink::{Command, IpvsError, ServiceKey};

use super::{CleanupError, CleanupOptions, CleanupReport};
use crate::{
    catalogue::owned::{ExcludeCidrs, claimed_by_ipsets},
    kernel::{IpvsWriter, IpvsWriterError, SetState},
};

/// The virtual servers of `services` the cleanup deletes: those the
/// `KUBE-*` ipsets claim ([`claimed_by_ipsets`], NodePorts only on
/// `node_addrs`, the host's addresses) or whose address is in `bound` (the
/// VIPs on `kube-ipvs0`), minus those `exclude` protects. Firewall-mark
/// services are never selected. In the order given.
pub fn owned_services(
    services: &[ServiceKey],
    ipsets: &BTreeMap<String, SetState>,
    node_addrs: &BTreeSet<IpAddr>,
    bound: &BTreeSet<IpAddr>,
    exclude: &ExcludeCidrs,
) -> Vec<ServiceKey> {
    services
        .iter()
        .filter(|key| {
            let on_vip = match key {
                ServiceKey::Inet { addr, .. } => bound.contains(&addr.ip()),
                _ => false,
            };
            let sets = ipsets.iter().map(|(n, s)| (n.as_str(), &s.entries));
            (on_vip || claimed_by_ipsets(key, sets, node_addrs)) && !exclude.protects(key)
        })
        .copied()
        .collect()
}

/// Deletes our virtual servers (one dump, one pipelined batch); skipped
/// when the kernel has no IPVS.
pub(super) async fn remove_services(
    options: &CleanupOptions,
    ipsets: &BTreeMap<String, SetState>,
    node_addrs: &BTreeSet<IpAddr>,
    bound: &BTreeSet<IpAddr>,
    report: &mut CleanupReport,
) {
    let mut ipvs = match IpvsWriter::connect().await {
        Ok(ipvs) => ipvs,
        Err(IpvsWriterError::Connect(err @ IpvsError::NotLoaded)) => {
            report.skipped.push(format!("IPVS: {err}"));
            return;
        }
        Err(err) => {
            report.errors.push(err.into());
            return;
        }
    };
    let keys: Vec<ServiceKey> = match ipvs.services().await {
        Ok(services) => services.into_iter().map(|s| s.key).collect(),
        Err(err) => {
            report.errors.push(err.into());
            return;
        }
    };
    let owned = owned_services(&keys, ipsets, node_addrs, bound, &options.exclude_cidrs);
    let commands: Vec<Command> = owned.iter().copied().map(Command::DeleteService).collect();
    let results = match ipvs.apply(&commands).await {
        Ok(results) => results,
        Err(err) => {
            report.errors.push(err.into());
            return;
        }
    };
    for (key, result) in owned.into_iter().zip(results) {
        match result {
            Ok(()) => report.ipvs_services_deleted.push(key),
            // Gone already: nothing to do.
            Err(IpvsError::ServiceNotFound(_)) => {}
            Err(source) => report
                .errors
                .push(CleanupError::DeleteService { key, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipset_netlink::Entry;

    fn sets() -> BTreeMap<String, SetState> {
        let mut sets = BTreeMap::new();
        let entries = |list: &[Entry]| SetState {
            entries: list.iter().copied().collect(),
            ..SetState::default()
        };
        sets.insert(
            "KUBE-CLUSTER-IP".to_owned(),
            entries(&["10.96.0.10,udp:53".parse().unwrap()]),
        );
        sets.insert(
            "KUBE-6-CLUSTER-IP".to_owned(),
            entries(&["fd00:96::20,tcp:8080".parse().unwrap()]),
        );
        sets.insert(
            "KUBE-NODE-PORT-TCP".to_owned(),
            entries(&[Entry::Port(30080)]),
        );
        sets
    }

    #[test]
    fn ours_by_sets_or_bound_vip_minus_excluded() {
        let key = |s: &str| {
            let (proto, addr) = s.split_once(' ').unwrap();
            let addr = addr.parse().unwrap();
            match proto {
                "tcp" => ServiceKey::tcp(addr),
                _ => ServiceKey::udp(addr),
            }
        };
        let all = [
            key("udp 10.96.0.10:53"),       // set
            key("tcp 10.96.0.10:53"),       // bound VIP, not in a set
            key("tcp [fd00:96::20]:8080"),  // IPv6 set
            key("tcp 192.168.10.11:30080"), // node port bitmap
            key("udp 192.168.10.11:30080"), // bitmap is TCP only
            key("tcp 192.0.2.7:30080"),     // node port, not a node address
            key("tcp 192.0.2.1:80"),        // foreign
            key("tcp 10.200.0.5:80"),       // bound but excluded
            ServiceKey::Fwmark {
                family: ipvs_netlink::Family::Inet,
                mark: 7,
            },
        ];
        let bound: BTreeSet<IpAddr> = ["10.96.0.10", "10.200.0.5"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let exclude = ExcludeCidrs::new(["10.200.0.0/16".parse().unwrap()]);
        let node: BTreeSet<IpAddr> = ["192.168.10.11".parse().unwrap()].into();
        let owned = owned_services(&all, &sets(), &node, &bound, &exclude);
        assert_eq!(owned, all[..4].to_vec());
        // Nothing bound and no sets: nothing is ours.
        let none = owned_services(&all, &BTreeMap::new(), &node, &BTreeSet::new(), &exclude);
        assert!(none.is_empty());
    }
}
