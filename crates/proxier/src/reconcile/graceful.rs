//! The graceful-termination queue: real servers at weight 0 waiting for
//! their connections to end (kube-proxy's `GracefulTerminationManager`).

use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
    time::Instant,
};

use ipvs_netlink::ServiceKey;

/// Real servers being removed gracefully, with the time they were queued.
#[derive(Debug, Clone, Default)]
pub struct GracefulQueue {
    entries: BTreeMap<(ServiceKey, SocketAddr), Instant>,
}

impl GracefulQueue {
    /// Queues a real server (keeps the first queue time).
    pub fn push(&mut self, key: ServiceKey, addr: SocketAddr) {
        self.entries.entry((key, addr)).or_insert_with(Instant::now);
    }

    /// Drops a real server (deleted, restored, or gone).
    pub fn remove(&mut self, key: &ServiceKey, addr: &SocketAddr) {
        self.entries.remove(&(*key, *addr));
    }

    /// Drops every real server of a service.
    pub fn remove_service(&mut self, key: &ServiceKey) {
        self.entries.retain(|(k, _), _| k != key);
    }

    /// Whether a real server is queued.
    pub fn contains(&self, key: &ServiceKey, addr: &SocketAddr) -> bool {
        self.entries.contains_key(&(*key, *addr))
    }

    /// The queued real servers.
    pub fn keys(&self) -> BTreeSet<(ServiceKey, SocketAddr)> {
        self.entries.keys().copied().collect()
    }

    /// The services with queued real servers.
    pub fn services(&self) -> BTreeSet<ServiceKey> {
        self.entries.keys().map(|(k, _)| *k).collect()
    }

    /// When a real server was queued.
    pub fn since(&self, key: &ServiceKey, addr: &SocketAddr) -> Option<Instant> {
        self.entries.get(&(*key, *addr)).copied()
    }

    /// How many real servers are queued.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
