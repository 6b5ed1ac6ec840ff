//! Where Services, EndpointSlices and Nodes come from: one immutable
//! [`Snapshot`] per read.
//!
//! * [`manifests`]: multi-document YAML files or directories (the
//!   standalone mode and the test fixture).
//! * [`kube`]: the API server (kube-rs watchers), as kube-proxy watches it.
//! * [`store`]: the objects delivered so far, with per-Service change
//!   tracking; every source feeds one [`store::ClusterStore`].
//! * [`objects`]: the Services and EndpointSlices as they are kept: only
//!   what the model reads.

pub mod kube;
pub mod manifests;
pub mod objects;
pub mod store;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use objects::{EndpointSlice, Service};

use crate::model;

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
/// ([`manifests::ManifestsSource::poll_delta`];
/// [`store::ClusterStore::apply_delta`] applies it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    /// Services, by namespace and name.
    pub services: Vec<(model::ServiceName, Option<Arc<Service>>)>,
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

/// A source that could not be read at all (a file or directory error);
/// errors inside documents are warnings instead.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}
