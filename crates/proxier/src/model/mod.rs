//! The cluster as kube-proxy sees it: Services, EndpointSlices and the
//! node, with kube-proxy's semantics (being written).

mod warning;

pub use warning::Warning;
