//! What the reconciler believes the kernel holds, and which IPVS services
//! it owns.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::{IpAddr, SocketAddr},
};

use ipset_netlink::Entry;

use crate::config::Cidr;
use ipvs_netlink::{ForwardMethod, Protocol, RealServer, ServiceKey, TableEntry, VirtualService};

use crate::{
    kernel::{Bindings, SetState},
    plan::{KernelPlan, PlannedService},
};

/// What the cache holds for one kernel object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cached<T> {
    /// The object exists with these settings.
    Known(T),
    /// The object exists with settings the reconciler does not know (an
    /// add met an object already there): the next diff sends the planned
    /// settings.
    Unknown,
}

impl<T: PartialEq> Cached<T> {
    /// Whether the object is known to have exactly `settings`.
    pub fn is(&self, settings: &T) -> bool {
        matches!(self, Cached::Known(have) if have == settings)
    }

    /// The settings, if known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Cached::Known(settings) => Some(settings),
            Cached::Unknown => None,
        }
    }
}

/// What the cache keeps of a real server: the settings a diff compares
/// (what [`RealServer`]'s equality compares, but the address, which is
/// the cache's key). Not the read-only counters: the graceful removal
/// dumps live ones when it needs them. 20 bytes where a [`RealServer`]
/// takes 72: the cache holds one per planned real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealServerSettings {
    /// Forwarding method.
    pub forward: ForwardMethod,
    /// Weight (0 = quiesced).
    pub weight: u32,
    /// Upper connection threshold.
    pub upper_threshold: u32,
    /// Lower connection threshold.
    pub lower_threshold: u32,
}

impl RealServerSettings {
    /// The settings of `rs`.
    pub fn of(rs: &RealServer) -> Self {
        RealServerSettings {
            forward: rs.forward,
            weight: rs.weight,
            upper_threshold: rs.upper_threshold,
            lower_threshold: rs.lower_threshold,
        }
    }

    /// The real server at `addr` with these settings (no counters).
    pub fn real_server(&self, addr: SocketAddr) -> RealServer {
        RealServer::new(addr, self.forward, self.weight)
            .with_thresholds(self.upper_threshold, self.lower_threshold)
    }
}

impl Cached<RealServerSettings> {
    /// Whether the real server is known to have exactly the settings of
    /// `rs` (its address is the cache's key).
    pub fn is_like(&self, rs: &RealServer) -> bool {
        self.is(&RealServerSettings::of(rs))
    }
}

/// One IPVS service as written (or dumped), with its real servers by
/// address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownService {
    /// The service.
    pub service: Cached<VirtualService>,
    /// Its real servers.
    pub real_servers: BTreeMap<SocketAddr, Cached<RealServerSettings>>,
}

impl KnownService {
    /// A service with known settings and real servers.
    pub fn new<'a>(
        service: VirtualService,
        real_servers: impl IntoIterator<Item = &'a RealServer>,
    ) -> Self {
        KnownService {
            service: Cached::Known(service),
            real_servers: real_servers
                .into_iter()
                .map(|rs| (rs.addr, Cached::Known(RealServerSettings::of(rs))))
                .collect(),
        }
    }
}

impl From<&PlannedService> for KnownService {
    /// What the cache holds for a planned service once a sync wrote it.
    fn from(planned: &PlannedService) -> Self {
        KnownService::new(planned.service.clone(), &planned.real_servers)
    }
}

/// The services of the cache a clean full sync of `plan` leaves (every
/// planned service and real server known).
pub fn synced_services(plan: &KernelPlan) -> BTreeMap<ServiceKey, KnownService> {
    plan.services
        .iter()
        .map(|(key, planned)| (*key, KnownService::from(planned)))
        .collect()
}

impl From<TableEntry> for KnownService {
    /// A dumped service and its real servers, without their counters.
    fn from(entry: TableEntry) -> Self {
        let mut service = entry.service;
        service.stats = None;
        KnownService::new(service, &entry.real_servers)
    }
}

/// The cache: what the kernel holds as far as the reconciler knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownState {
    /// IPVS services this proxier owns (created, or adopted), with their
    /// real servers.
    pub services: BTreeMap<ServiceKey, KnownService>,
    /// IPVS services seen in the kernel that this proxier does not own;
    /// never touched unless a plan asks for the same key (then adopted).
    pub foreign: BTreeMap<ServiceKey, KnownService>,
    /// VIPs on the dummy interface.
    pub bindings: Bindings,
    /// The `KUBE-*` ipsets.
    pub ipsets: BTreeMap<String, SetState>,
    /// The node's local addresses (on other interfaces than the dummy):
    /// only services on these are claimed as NodePorts by the node-port
    /// bitmaps.
    pub node_addrs: BTreeSet<IpAddr>,
}

impl KnownState {
    /// Replaces the services with a kernel dump. A dumped service is
    /// owned when `owned` lists it (it was owned before a resync) or when
    /// the `KUBE-*` ipsets in the cache mark it as a kube-proxy service
    /// ([`claimed_by_ipsets`], with the cached node addresses); every other
    /// service is foreign. Load the ipsets and the node addresses first.
    pub fn adopt_table(&mut self, table: Vec<TableEntry>, owned: &BTreeSet<ServiceKey>) {
        self.services.clear();
        self.foreign.clear();
        for entry in table {
            let key = entry.service.key;
            let known = KnownService::from(entry);
            if owned.contains(&key) || claimed_by_ipsets(&key, &self.ipsets, &self.node_addrs) {
                self.services.insert(key, known);
            } else {
                self.foreign.insert(key, known);
            }
        }
    }
}

/// Whether kube-proxy's ipsets (as a previous run of this proxier or
/// kube-proxy itself left them) name this service: its `ip,proto:port` is
/// in a `KUBE-*` hash:ip,port set (cluster IPs, external IPs, load
/// balancers, SCTP node ports), or its address is one of `node_addrs`
/// and its protocol and port are in a `KUBE-NODE-PORT-[LOCAL-]TCP|UDP`
/// bitmap (the bitmaps hold ports only: a service on another address with
/// the same port is not a NodePort). Firewall-mark services are never
/// claimed.
pub fn claimed_by_ipsets(
    key: &ServiceKey,
    ipsets: &BTreeMap<String, SetState>,
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
    ipsets.iter().any(|(name, set)| {
        set.entries.contains(&exact)
            || (name.contains("NODE-PORT")
                && suffix.is_some_and(|s| name.ends_with(s))
                && set.entries.contains(&Entry::Port(addr.port())))
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
    use super::*;

    fn set(entries: &[Entry]) -> SetState {
        SetState {
            entries: entries.iter().copied().collect(),
            ..SetState::default()
        }
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
        let claimed = |s: &str| claimed_by_ipsets(&s.parse_key(), &sets, &node);
        assert!(claimed("tcp 10.96.0.1:443"));
        assert!(!claimed("udp 10.96.0.1:443"));
        assert!(!claimed("tcp 10.96.0.1:80"));
        assert!(claimed("udp 192.168.1.5:30053"));
        assert!(!claimed("tcp 192.168.1.5:30053"));
        // The node port on an address that is not the node's: foreign.
        assert!(!claimed("udp 192.0.2.7:30053"));
        assert!(!claimed_by_ipsets(
            &"udp 192.168.1.5:30053".parse_key(),
            &sets,
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
