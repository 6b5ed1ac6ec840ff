//! [`Warning`]: one object (or document) that was skipped, and why.

use std::fmt;

/// Something in the input that was skipped; the rest goes on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// `namespace/name` of the object, or `file#document` when the object
    /// could not be read.
    pub object: String,
    /// The object's kind (`Service`, `EndpointSlice`, …), or `""` if unknown.
    pub kind: String,
    /// The field at fault (`spec.clusterIP`), or `""` for the whole object.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Warning {
    /// A warning about `field` of the `kind` object `object`.
    pub fn new(
        kind: impl Into<String>,
        object: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Warning {
            object: object.into(),
            kind: kind.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.kind.is_empty() {
            "object"
        } else {
            &self.kind
        };
        write!(f, "{kind} {}", self.object)?;
        if !self.field.is_empty() {
            write!(f, " {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}
