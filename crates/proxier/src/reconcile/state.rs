//! What the reconciler believes the kernel holds, and which IPVS services
//! it owns.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::{IpAddr, SocketAddr},
};

use ipvs_netlink::{ForwardMethod, RealServer, ServiceKey, TableEntry, VirtualService};

use crate::{
    catalogue::owned::claimed_by_ipsets,
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
/// (what [`RealServer::same_config`] compares, but the address, which is
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

impl Cached<VirtualService> {
    /// Whether the service is known to have the configuration of
    /// `service` ([`VirtualService::same_config`]: counters and the
    /// kernel's `HASHED` flag ignored, as a dumped service has them).
    pub fn is_like(&self, service: &VirtualService) -> bool {
        matches!(self, Cached::Known(have) if have.same_config(service))
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
            let ipsets = self.ipsets.iter().map(|(n, s)| (n.as_str(), &s.entries));
            if owned.contains(&key) || claimed_by_ipsets(&key, ipsets, &self.node_addrs) {
                self.services.insert(key, known);
            } else {
                self.foreign.insert(key, known);
            }
        }
    }
}
