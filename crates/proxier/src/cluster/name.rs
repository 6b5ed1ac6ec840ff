//! [`ServiceName`]: the identity of a Service (kube-proxy's
//! `NamespacedName`), and how Services and EndpointSlices name it.

use std::fmt;

use super::objects::{EndpointSlice, Service};

/// The label naming the Service of an EndpointSlice.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The namespace and name of a Service. Orders like the planner orders
/// Services (namespace, then name), which decides virtual-server conflicts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceName {
    /// The namespace (`default` when unset).
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl ServiceName {
    /// A name from its parts.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ServiceName {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The name of a Service object (`default` namespace when unset, `""`
    /// name when unset).
    pub fn of(service: &Service) -> Self {
        ServiceName::new(
            service.metadata.namespace.as_deref().unwrap_or("default"),
            service.metadata.name.as_deref().unwrap_or(""),
        )
    }

    /// The Service an EndpointSlice belongs to (its
    /// `kubernetes.io/service-name` label, in the slice's namespace), if
    /// it names one.
    pub fn of_slice(slice: &EndpointSlice) -> Option<Self> {
        let service = slice
            .metadata
            .labels
            .as_ref()?
            .get(SERVICE_NAME_LABEL)
            .filter(|s| !s.is_empty())?;
        Some(ServiceName::new(
            slice.metadata.namespace.as_deref().unwrap_or("default"),
            service.as_str(),
        ))
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}
