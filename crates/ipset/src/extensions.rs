//! [`Extensions`]: the per-element extensions of a set created with
//! `timeout`, `counters` or `comment` (`ipset add ... timeout 60 packets 1
//! bytes 2 comment "x"`, and what `ipset list` shows of each member).

use std::fmt;

use crate::packet::ElementAttribute;

/// The extensions of one element. On an add, a `None` leaves the set's
/// default (its `timeout`; zero counters; no comment); in a dump, the
/// kernel reports every extension the set has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Extensions {
    /// Seconds the element lives (0 = forever), or seconds left in a dump.
    pub timeout: Option<u32>,
    /// The packet counter.
    pub packets: Option<u64>,
    /// The byte counter.
    pub bytes: Option<u64>,
    /// The comment (at most 255 bytes; the kernel cuts longer ones).
    pub comment: Option<String>,
}

impl Extensions {
    /// No extension given.
    pub fn new() -> Self {
        Extensions::default()
    }

    /// With a timeout, in seconds (0 = forever).
    pub fn timeout(mut self, seconds: u32) -> Self {
        self.timeout = Some(seconds);
        self
    }

    /// With counters starting at `packets` and `bytes`.
    pub fn counters(mut self, packets: u64, bytes: u64) -> Self {
        self.packets = Some(packets);
        self.bytes = Some(bytes);
        self
    }

    /// With a comment.
    pub fn comment(mut self, text: impl Into<String>) -> Self {
        self.comment = Some(text.into());
        self
    }

    /// Whether no extension is given.
    pub fn is_empty(&self) -> bool {
        *self == Extensions::default()
    }

    /// The element attributes, in the ipset tool's order: TIMEOUT,
    /// PACKETS, BYTES, COMMENT.
    pub fn to_attributes(&self) -> Vec<ElementAttribute> {
        let mut attrs = Vec::new();
        attrs.extend(self.timeout.map(ElementAttribute::Timeout));
        attrs.extend(self.packets.map(ElementAttribute::Packets));
        attrs.extend(self.bytes.map(ElementAttribute::Bytes));
        attrs.extend(self.comment.clone().map(ElementAttribute::Comment));
        attrs
    }

    /// The extensions among an element's attributes (the others ignored).
    pub fn from_attributes(attrs: &[ElementAttribute]) -> Self {
        let mut ext = Extensions::default();
        for attr in attrs {
            match attr {
                ElementAttribute::Timeout(v) => ext.timeout = Some(*v),
                ElementAttribute::Packets(v) => ext.packets = Some(*v),
                ElementAttribute::Bytes(v) => ext.bytes = Some(*v),
                ElementAttribute::Comment(v) => ext.comment = Some(v.clone()),
                _ => {}
            }
        }
        ext
    }
}

/// Like `ipset save` after a member: ` timeout 60 packets 0 bytes 0
/// comment "x"`, each part only when set.
impl fmt::Display for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(timeout) = self.timeout {
            write!(f, " timeout {timeout}")?;
        }
        if let Some(packets) = self.packets {
            write!(f, " packets {packets}")?;
        }
        if let Some(bytes) = self.bytes {
            write!(f, " bytes {bytes}")?;
        }
        if let Some(comment) = &self.comment {
            write!(f, " comment \"{comment}\"")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_and_text() {
        let ext = Extensions::new()
            .timeout(60)
            .counters(3, 180)
            .comment("web");
        assert_eq!(Extensions::from_attributes(&ext.to_attributes()), ext);
        assert_eq!(
            ext.to_string(),
            " timeout 60 packets 3 bytes 180 comment \"web\""
        );
        assert!(Extensions::new().is_empty());
        assert_eq!(Extensions::new().to_string(), "");
    }
}
