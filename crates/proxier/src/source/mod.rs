//! Where Services, EndpointSlices and Nodes come from: one immutable
//! [`Snapshot`](crate::cluster::Snapshot) per read.
//!
//! * [`manifests`]: multi-document YAML files or directories (the
//!   standalone mode and the test fixture).
//! * [`kube`]: the API server (kube-rs watchers), as kube-proxy watches it.
//! * [`store`]: the objects delivered so far, with per-Service change
//!   tracking; every source feeds one [`store::ClusterStore`].
//!
//! The objects, [`Snapshot`](crate::cluster::Snapshot) and
//! [`Delta`](crate::cluster::Delta) are [`crate::cluster`]'s.

pub mod kube;
pub mod manifests;
pub mod store;

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
