//! [`ClusterStore`]: the objects a source has delivered, with per-Service
//! change tracking — kube-proxy's service and endpoint-slice change
//! trackers.
//!
//! Every source feeds the same store: the API-server source with watch
//! events ([`ClusterStore::apply`]), the manifests source with whole
//! snapshots ([`ClusterStore::replace_all`]). A change marks only the
//! Service it belongs to as dirty (a Service by its name, an EndpointSlice
//! by its `kubernetes.io/service-name` label), so the daemon re-plans that
//! Service alone. An object delivered again unchanged (same
//! `resourceVersion`, or equal when it has none) marks nothing.
//!
//! A relist (the watcher's `Init` … `InitApply` … `InitDone`) is buffered
//! and swapped in whole at `InitDone`, diffed against what the store held:
//! objects that vanished during an outage are deleted then, and an
//! incomplete view never replaces a complete one. The store is
//! [`ready`](ClusterStore::is_ready) once each kind had its first complete
//! list; no sync may happen before.

use std::{
    collections::{BTreeSet, HashMap},
    net::IpAddr,
    sync::Arc,
};

use k8s_openapi::api::core::v1::Node;
use kube::runtime::watcher::Event;

use crate::{
    cluster::{
        Delta, ServiceName, Snapshot,
        objects::{EndpointSlice, Service},
        selector,
    },
    model::node_host_ips,
};

/// One watch event of one of the three kinds, its objects already in the
/// kept form ([`crate::cluster::objects`]; the API source converts on arrival).
#[derive(Debug, Clone)]
pub enum SourceEvent {
    /// A Service event (boxed like the others).
    Service(Box<Event<Service>>),
    /// An EndpointSlice event (boxed like the others).
    EndpointSlice(Box<Event<EndpointSlice>>),
    /// An event of this node's Node (boxed: a Node is large).
    Node(Box<Event<Node>>),
}

impl SourceEvent {
    /// A Service event.
    pub fn service(event: Event<Service>) -> Self {
        SourceEvent::Service(Box::new(event))
    }

    /// An EndpointSlice event.
    pub fn slice(event: Event<EndpointSlice>) -> Self {
        SourceEvent::EndpointSlice(Box::new(event))
    }

    /// A Node event.
    pub fn node(event: Event<Node>) -> Self {
        SourceEvent::Node(Box::new(event))
    }
}

/// What the daemon must re-plan, taken with [`ClusterStore::take_changes`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreChanges {
    /// Services whose Service object or EndpointSlices changed.
    pub services: BTreeSet<ServiceName>,
    /// Whether this node's Node object changed.
    pub node: bool,
    /// Service object changes counted since the last take (kube-proxy's
    /// `service_changes_total`).
    pub service_changes: u64,
    /// EndpointSlice changes counted since the last take.
    pub endpoint_changes: u64,
    /// The oldest EndpointSlice trigger time among the changes, if any
    /// slice carried one (RFC 3339 text as the controller wrote it).
    pub oldest_trigger: Option<String>,
}

/// Why the proxier must stop (kube-proxy exits and the DaemonSet restarts
/// it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeExit {
    /// The Node object was deleted.
    #[error("node {0} was deleted")]
    Deleted(String),
    /// The Node's addresses changed.
    #[error("node {name} IPs changed from {old:?} to {new:?}")]
    IpsChanged {
        /// The node.
        name: String,
        /// Its addresses before.
        old: Vec<IpAddr>,
        /// Its addresses now.
        new: Vec<IpAddr>,
    },
}

/// Which of the three kinds had their first complete list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Listed {
    services: bool,
    slices: bool,
    node: bool,
}

/// The store. See the module docs.
#[derive(Debug, Default)]
pub struct ClusterStore {
    services: HashMap<ServiceName, Arc<Service>>,
    /// Slices by (namespace, slice name), with the Service they belong to.
    slices: HashMap<(String, String), (ServiceName, Arc<EndpointSlice>)>,
    /// Slice names per Service.
    by_service: HashMap<ServiceName, BTreeSet<String>>,
    node: Option<Arc<Node>>,
    node_ips: Option<Vec<IpAddr>>,
    listed: Listed,
    relist_services: Option<Vec<Service>>,
    relist_slices: Option<Vec<EndpointSlice>>,
    relist_node: Option<Vec<Node>>,
    changes: StoreChanges,
}

fn slice_key(slice: &EndpointSlice) -> (String, String) {
    let (namespace, name) = key_names(&slice.metadata.namespace, &slice.metadata.name);
    (namespace.to_owned(), name.to_owned())
}

/// The namespace and name the store keys a Service or an EndpointSlice
/// by: `default` when the namespace is unset, `""` when the name is.
pub(crate) fn key_names<'a, S: std::ops::Deref<Target = str>>(
    namespace: &'a Option<S>,
    name: &'a Option<S>,
) -> (&'a str, &'a str) {
    (
        namespace.as_deref().unwrap_or("default"),
        name.as_deref().unwrap_or(""),
    )
}

/// Whether kube-proxy watches this Service: [`selector::service_selected`], and
/// a ClusterIP that is not `None` (the field selector, applied here too in
/// case the API server ignored or rejected it).
pub fn wanted_service(service: &Service) -> bool {
    selector::service_selected(service.metadata.labels.as_ref())
        && service
            .spec
            .as_ref()
            .and_then(|s| s.cluster_ip.as_deref())
            .is_none_or(|ip| ip != "None")
}

/// Whether kube-proxy watches this EndpointSlice
/// ([`selector::slice_selected`]).
pub fn wanted_slice(slice: &EndpointSlice) -> bool {
    selector::slice_selected(slice.metadata.labels.as_ref())
}

/// Whether two versions of an object differ: by `resourceVersion` when
/// both have one, else by content.
fn differs<K: PartialEq>(old: &K, new: &K, version: fn(&K) -> Option<&String>) -> bool {
    match (version(old), version(new)) {
        (Some(a), Some(b)) => a != b,
        _ => old != new,
    }
}

fn service_version(service: &Service) -> Option<&String> {
    service.metadata.resource_version.as_ref()
}

fn slice_version(slice: &EndpointSlice) -> Option<&String> {
    slice.metadata.resource_version.as_ref()
}

fn node_version(node: &Node) -> Option<&String> {
    node.metadata.resource_version.as_ref()
}

impl ClusterStore {
    /// An empty store, not ready.
    pub fn new() -> Self {
        ClusterStore::default()
    }

    /// Whether every kind had its first complete list.
    pub fn is_ready(&self) -> bool {
        self.listed.services && self.listed.slices && self.listed.node
    }

    /// Whether a relist of some kind is in progress (its old view is kept
    /// meanwhile).
    pub fn relisting(&self) -> bool {
        self.relist_services.is_some() || self.relist_slices.is_some() || self.relist_node.is_some()
    }

    /// Whether changes are waiting to be taken.
    pub fn has_changes(&self) -> bool {
        !self.changes.services.is_empty() || self.changes.node
    }

    /// Changes waiting, without taking them (for pending-change metrics).
    pub fn pending(&self) -> &StoreChanges {
        &self.changes
    }

    /// Takes the changes since the last call.
    pub fn take_changes(&mut self) -> StoreChanges {
        std::mem::take(&mut self.changes)
    }

    /// The number of Services held.
    pub fn service_count(&self) -> usize {
        self.services.len()
    }

    /// The number of EndpointSlices held.
    pub fn slice_count(&self) -> usize {
        self.slices.len()
    }

    /// Every Service name the store knows (with a Service object or with
    /// slices only).
    pub fn names(&self) -> BTreeSet<ServiceName> {
        self.services
            .keys()
            .chain(self.by_service.keys())
            .cloned()
            .collect()
    }

    /// A Service object, shared (the planner keeps it without a copy).
    pub fn service_shared(&self, name: &ServiceName) -> Option<Arc<Service>> {
        self.services.get(name).cloned()
    }

    /// The EndpointSlices of a Service, shared, in slice-name order.
    pub fn slices_shared(&self, name: &ServiceName) -> Vec<Arc<EndpointSlice>> {
        let Some(names) = self.by_service.get(name) else {
            return Vec::new();
        };
        names
            .iter()
            .filter_map(|slice| {
                self.slices
                    .get(&(name.namespace.clone(), slice.clone()))
                    .map(|(_, s)| Arc::clone(s))
            })
            .collect()
    }

    /// This node's Node object, if it exists.
    pub fn node(&self) -> Option<&Node> {
        self.node.as_deref()
    }

    /// Applies one watch event. Returns why the proxier must exit, if the
    /// event deleted this node or changed its addresses.
    pub fn apply(&mut self, event: SourceEvent) -> Result<(), NodeExit> {
        match event {
            SourceEvent::Service(event) => {
                match *event {
                    Event::Init => self.relist_services = Some(Vec::new()),
                    Event::InitApply(s) => push(&mut self.relist_services, s),
                    Event::InitDone => {
                        let all = self.relist_services.take().unwrap_or_default();
                        self.replace_services(all.into_iter().map(Arc::new));
                        self.listed.services = true;
                    }
                    Event::Apply(s) => self.apply_service(Arc::new(s)),
                    Event::Delete(s) => self.delete_service(&ServiceName::of(&s)),
                }
                Ok(())
            }
            SourceEvent::EndpointSlice(event) => {
                match *event {
                    Event::Init => self.relist_slices = Some(Vec::new()),
                    Event::InitApply(s) => push(&mut self.relist_slices, s),
                    Event::InitDone => {
                        let all = self.relist_slices.take().unwrap_or_default();
                        self.replace_slices(all.into_iter().map(Arc::new));
                        self.listed.slices = true;
                    }
                    Event::Apply(s) => self.apply_slice(Arc::new(s)),
                    Event::Delete(s) => self.delete_slice(&slice_key(&s)),
                }
                Ok(())
            }
            SourceEvent::Node(event) => match *event {
                Event::Init => {
                    self.relist_node = Some(Vec::new());
                    Ok(())
                }
                Event::InitApply(n) => {
                    push(&mut self.relist_node, n);
                    Ok(())
                }
                Event::InitDone => {
                    let mut all = self.relist_node.take().unwrap_or_default();
                    self.listed.node = true;
                    self.set_node(all.pop().map(Arc::new))
                }
                Event::Apply(n) => self.set_node(Some(Arc::new(n))),
                Event::Delete(_) => self.set_node(None),
            },
        }
    }

    /// Replaces everything with a snapshot (the manifests source): each
    /// kind is then listed. Only what differs is marked changed.
    pub fn replace_all(&mut self, snapshot: Snapshot, node_name: &str) -> Result<(), NodeExit> {
        self.replace_services(snapshot.services);
        self.replace_slices(snapshot.endpoint_slices);
        self.listed.services = true;
        self.listed.slices = true;
        self.listed.node = true;
        let node = snapshot
            .nodes
            .into_iter()
            .find(|n| n.metadata.name.as_deref() == Some(node_name));
        self.set_node(node)
    }

    /// Applies what changed in the view since the last [`replace_all`]
    /// or delta (the manifests source's later polls): each name is set to
    /// its winner or deleted, exactly as a [`replace_all`] of the whole
    /// view would, in O(the names touched).
    ///
    /// [`replace_all`]: ClusterStore::replace_all
    pub fn apply_delta(&mut self, delta: Delta, node_name: &str) -> Result<(), NodeExit> {
        for (name, service) in delta.services {
            match service {
                Some(service) => self.apply_service(service),
                None => self.delete_service(&name),
            }
        }
        for (key, slice) in delta.endpoint_slices {
            match slice {
                Some(slice) => self.apply_slice(slice),
                None => self.delete_slice(&key),
            }
        }
        match delta.nodes.into_iter().find(|(name, _)| name == node_name) {
            Some((_, node)) => self.set_node(node),
            None => Ok(()),
        }
    }

    fn apply_service(&mut self, service: Arc<Service>) {
        let name = ServiceName::of(&service);
        if !wanted_service(&service) {
            self.delete_service(&name);
            return;
        }
        if let Some(old) = self.services.get(&name)
            && !differs(old.as_ref(), &service, service_version)
        {
            return;
        }
        self.services.insert(name.clone(), service);
        self.changes.service_changes += 1;
        self.changes.services.insert(name);
    }

    fn delete_service(&mut self, name: &ServiceName) {
        if self.services.remove(name).is_some() {
            self.changes.service_changes += 1;
            self.changes.services.insert(name.clone());
        }
    }

    fn replace_services(&mut self, all: impl IntoIterator<Item = Arc<Service>>) {
        let mut seen = BTreeSet::new();
        for service in all {
            let name = ServiceName::of(&service);
            if wanted_service(&service) && seen.insert(name) {
                self.apply_service(service);
            }
        }
        let gone: Vec<ServiceName> = self
            .services
            .keys()
            .filter(|n| !seen.contains(*n))
            .cloned()
            .collect();
        for name in gone {
            self.delete_service(&name);
        }
    }

    fn note_slice_change(&mut self, owner: &ServiceName, slice: Option<&EndpointSlice>) {
        self.changes.endpoint_changes += 1;
        self.changes.services.insert(owner.clone());
        let trigger = slice.and_then(|s| s.metadata.trigger_time.as_ref());
        if let Some(time) = trigger
            && self
                .changes
                .oldest_trigger
                .as_ref()
                .is_none_or(|oldest| time < oldest)
        {
            self.changes.oldest_trigger = Some(time.clone());
        }
    }

    fn apply_slice(&mut self, slice: Arc<EndpointSlice>) {
        let key = slice_key(&slice);
        let owner = match ServiceName::of_slice(&slice) {
            Some(owner) if wanted_slice(&slice) => owner,
            // Unlabelled or headless: not ours to proxy.
            _ => return self.delete_slice(&key),
        };
        if let Some((old_owner, old)) = self.slices.get(&key) {
            if *old_owner == owner && !differs(old.as_ref(), &slice, slice_version) {
                return;
            }
            if *old_owner != owner {
                let old_owner = old_owner.clone();
                self.delete_slice(&key);
                self.note_slice_change(&old_owner, None);
            }
        }
        self.note_slice_change(&owner, Some(&slice));
        self.by_service
            .entry(owner.clone())
            .or_default()
            .insert(key.1.clone());
        self.slices.insert(key, (owner, slice));
    }

    fn delete_slice(&mut self, key: &(String, String)) {
        let Some((owner, _)) = self.slices.remove(key) else {
            return;
        };
        if let Some(names) = self.by_service.get_mut(&owner) {
            names.remove(&key.1);
            if names.is_empty() {
                self.by_service.remove(&owner);
            }
        }
        self.note_slice_change(&owner, None);
    }

    fn replace_slices(&mut self, all: impl IntoIterator<Item = Arc<EndpointSlice>>) {
        let mut seen = BTreeSet::new();
        for slice in all {
            let key = slice_key(&slice);
            if seen.insert(key) {
                self.apply_slice(slice);
            }
        }
        let gone: Vec<(String, String)> = self
            .slices
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            self.delete_slice(&key);
        }
    }

    fn set_node(&mut self, node: Option<Arc<Node>>) -> Result<(), NodeExit> {
        match (self.node.take(), node) {
            (Some(old), None) => {
                let name = old.metadata.name.clone().unwrap_or_default();
                self.changes.node = true;
                Err(NodeExit::Deleted(name))
            }
            (None, None) => Ok(()),
            (old, Some(new)) => {
                // kube-proxy's NodeManager compares GetNodeHostIPs (the
                // first address of each family) and, when the Node has
                // none, logs and goes on.
                let ips = node_host_ips(&new);
                let changed = old
                    .as_deref()
                    .is_none_or(|o| differs(o, &new, node_version));
                self.node = Some(new);
                if changed {
                    self.changes.node = true;
                }
                match &self.node_ips {
                    // kube-proxy exits when the addresses it started
                    // with change (the DaemonSet restarts it).
                    Some(first) if !first.is_empty() && !ips.is_empty() && *first != ips => {
                        Err(NodeExit::IpsChanged {
                            name: self
                                .node
                                .as_ref()
                                .and_then(|n| n.metadata.name.clone())
                                .unwrap_or_default(),
                            old: first.clone(),
                            new: ips,
                        })
                    }
                    Some(first) if !first.is_empty() => Ok(()),
                    _ => {
                        self.node_ips = Some(ips);
                        Ok(())
                    }
                }
            }
        }
    }
}

fn push<K>(buffer: &mut Option<Vec<K>>, object: K) {
    buffer.get_or_insert_with(Vec::new).push(object);
}

#[cfg(test)]
mod tests;
