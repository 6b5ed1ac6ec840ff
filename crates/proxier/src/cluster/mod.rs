//! The cluster's objects as the proxier keeps them, and what names and
//! selects them: the bottom of the proxier, below the model and the
//! sources (which both read these types).
//!
//! * [`objects`]: the Services and EndpointSlices as they are kept: only
//!   what the model reads.
//! * [`Snapshot`] and [`Delta`]: what a source delivers (every object, or
//!   what changed by name).
//! * [`ServiceName`]: the identity of a Service, and how Services and
//!   EndpointSlices name it ([`SERVICE_NAME_LABEL`]).
//! * [`selector`]: kube-proxy's label selectors (which Services and
//!   EndpointSlices are this proxy's).

#[cfg(test)]
pub(crate) mod fixtures;
mod name;
pub mod objects;
pub mod selector;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use objects::{EndpointSlice, Service};

pub use name::{SERVICE_NAME_LABEL, ServiceName};
pub use selector::{HEADLESS_LABEL, SERVICE_PROXY_NAME_LABEL, SERVICE_SELECTOR, SLICE_SELECTOR};

/// The objects the planner reads, shared: the manifests source, the store
/// and the planner hold the same objects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// v1 Services.
    pub services: Vec<Arc<Service>>,
    /// discovery.k8s.io/v1 EndpointSlices.
    pub endpoint_slices: Vec<Arc<EndpointSlice>>,
    /// v1 Nodes (the planner only looks at its own).
    pub nodes: Vec<Arc<Node>>,
}

/// An EndpointSlice's namespace and name.
pub type SliceName = (String, String);

/// What changed in a view since the previous one, by name: for each name
/// an object was added, changed or removed under, the object that now
/// wins that name in the view, or `None` when none is left
/// ([`crate::source::manifests::ManifestsSource::poll_delta`];
/// [`crate::source::store::ClusterStore::apply_delta`] applies it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    /// Services, by namespace and name.
    pub services: Vec<(ServiceName, Option<Arc<Service>>)>,
    /// EndpointSlices, by namespace and name.
    pub endpoint_slices: Vec<(SliceName, Option<Arc<EndpointSlice>>)>,
    /// Nodes, by name.
    pub nodes: Vec<(String, Option<Arc<Node>>)>,
}

impl Delta {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && self.endpoint_slices.is_empty() && self.nodes.is_empty()
    }
}

impl Snapshot {
    /// Appends the objects of `other`.
    pub fn extend(&mut self, other: Snapshot) {
        self.services.extend(other.services);
        self.endpoint_slices.extend(other.endpoint_slices);
        self.nodes.extend(other.nodes);
    }

    /// Whether there is no object at all.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && self.endpoint_slices.is_empty() && self.nodes.is_empty()
    }
}
