//! What this proxier owns among the IPVS virtual servers it finds: the
//! rule the reconciler adopts a dumped table by and `--cleanup` deletes
//! by ([`claimed_by_ipsets`]), and what is never deleted
//! ([`ExcludeCidrs`]).

use std::{collections::BTreeSet, net::IpAddr};

use ipset_netlink::Entry;
use ipvs_netlink::{Protocol, ServiceKey};

use crate::types::Cidr;

/// Whether kube-proxy's ipsets (as a previous run of this proxier or
/// kube-proxy itself left them; each set by name with its members) name
/// this service: its `ip,proto:port` is
/// in a `KUBE-*` hash:ip,port set (cluster IPs, external IPs, load
/// balancers, SCTP node ports), or its address is one of `node_addrs`
/// and its protocol and port are in a `KUBE-NODE-PORT-[LOCAL-]TCP|UDP`
/// bitmap (the bitmaps hold ports only: a service on another address with
/// the same port is not a NodePort). Firewall-mark services are never
/// claimed.
pub fn claimed_by_ipsets<'a>(
    key: &ServiceKey,
    ipsets: impl IntoIterator<Item = (&'a str, &'a BTreeSet<Entry>)>,
    node_addrs: &BTreeSet<IpAddr>,
) -> bool {
    let ServiceKey::Inet { protocol, addr } = *key else {
        return false;
    };
    let bitmap_suffix = match protocol {
        Protocol::Tcp => Some("-TCP"),
        Protocol::Udp => Some("-UDP"),
        Protocol::Sctp => None,
        // kube-proxy's sets hold TCP, UDP and SCTP services only.
        _ => return false,
    };
    let suffix = bitmap_suffix.filter(|_| node_addrs.contains(&addr.ip()));
    let exact = Entry::IpPort {
        ip: addr.ip(),
        proto: protocol,
        port: addr.port(),
    };
    ipsets.into_iter().any(|(name, entries)| {
        entries.contains(&exact)
            || (name.contains("NODE-PORT")
                && suffix.is_some_and(|s| name.ends_with(s))
                && entries.contains(&Entry::Port(addr.port())))
    })
}

/// `--ipvs-exclude-cidrs`: services whose address is inside one of these
/// networks are never deleted as stale.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExcludeCidrs(Vec<Cidr>);

impl ExcludeCidrs {
    /// The networks.
    pub fn new(cidrs: impl IntoIterator<Item = Cidr>) -> Self {
        ExcludeCidrs(cidrs.into_iter().collect())
    }

    /// Whether no network is excluded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is inside one of the networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|cidr| cidr.contains(ip))
    }

    /// Whether the service's address is excluded (firewall-mark services
    /// have none and are never excluded).
    pub fn protects(&self, key: &ServiceKey) -> bool {
        match key {
            ServiceKey::Inet { addr, .. } => self.contains(addr.ip()),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn set(entries: &[Entry]) -> BTreeSet<Entry> {
        entries.iter().copied().collect()
    }

    fn named(
        sets: &BTreeMap<String, BTreeSet<Entry>>,
    ) -> impl Iterator<Item = (&str, &BTreeSet<Entry>)> {
        sets.iter().map(|(name, entries)| (name.as_str(), entries))
    }

    #[test]
    fn ipsets_claim_kube_services_only() {
        let mut sets = BTreeMap::new();
        sets.insert(
            "KUBE-CLUSTER-IP".to_owned(),
            set(&["10.96.0.1,tcp:443".parse().unwrap()]),
        );
        sets.insert("KUBE-NODE-PORT-UDP".to_owned(), set(&[Entry::Port(30053)]));
        let node: BTreeSet<IpAddr> = ["192.168.1.5".parse().unwrap()].into();
        let claimed = |s: &str| claimed_by_ipsets(&s.parse_key(), named(&sets), &node);
        assert!(claimed("tcp 10.96.0.1:443"));
        assert!(!claimed("udp 10.96.0.1:443"));
        assert!(!claimed("tcp 10.96.0.1:80"));
        assert!(claimed("udp 192.168.1.5:30053"));
        assert!(!claimed("tcp 192.168.1.5:30053"));
        // The node port on an address that is not the node's: foreign.
        assert!(!claimed("udp 192.0.2.7:30053"));
        assert!(!claimed_by_ipsets(
            &"udp 192.168.1.5:30053".parse_key(),
            named(&sets),
            &BTreeSet::new()
        ));
    }

    trait ParseKey {
        fn parse_key(&self) -> ServiceKey;
    }
    impl ParseKey for str {
        fn parse_key(&self) -> ServiceKey {
            let (proto, addr) = self.split_once(' ').unwrap();
            let addr = addr.parse().unwrap();
            match proto {
                "tcp" => ServiceKey::tcp(addr),
                "udp" => ServiceKey::udp(addr),
                _ => ServiceKey::sctp(addr),
            }
        }
    }

    #[test]
    fn exclude_cidrs() {
        let ex = ExcludeCidrs::new([
            "10.200.0.0/16".parse().unwrap(),
            "fd00::/8".parse().unwrap(),
        ]);
        assert!(ex.contains("10.200.3.4".parse().unwrap()));
        assert!(!ex.contains("10.201.0.1".parse().unwrap()));
        assert!(ex.contains("fd12::1".parse().unwrap()));
        assert!(!ex.contains("10.0.0.1".parse().unwrap()));
        assert!(
            ExcludeCidrs::new(["0.0.0.0/0".parse().unwrap()]).contains("1.2.3.4".parse().unwrap())
        );
    }
}
