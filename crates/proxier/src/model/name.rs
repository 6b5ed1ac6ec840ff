//! [`ServiceName`]: the identity of a Service, `namespace/name`.

use std::fmt;

/// A Service's namespace and name: the unit of change tracking.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceName {
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl ServiceName {
    /// A name.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ServiceName {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}
