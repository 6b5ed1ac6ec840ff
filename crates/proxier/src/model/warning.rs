//! [`Warning`]: one object (or document) that was skipped, and why.
//!
//! Its `Display` is a log line: every field is shown with control and
//! other invisible characters escaped (`\n`, `\u{1b}`, …) and cut at
//! [`Warning::MAX_FIELD_CHARS`] characters, so an object's name cannot
//! forge or flood log lines.

use std::{borrow::Cow, fmt};

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

    /// The most characters of one value (a name, a namespace) that a
    /// warning should quote; [`Warning::shorten`] cuts there.
    pub const MAX_VALUE_CHARS: usize = 256;

    /// The most characters of one field that `Display` shows.
    pub const MAX_FIELD_CHARS: usize = 4 * Self::MAX_VALUE_CHARS;

    /// `text` for a log line or an error message: control and other
    /// invisible characters escaped, cut at [`Warning::MAX_FIELD_CHARS`]
    /// (as a warning's fields are shown).
    pub fn clean(text: &str) -> String {
        Clean(text).to_string()
    }

    /// `value` cut to [`Warning::MAX_VALUE_CHARS`] characters and `…`, for
    /// quoting input in a warning.
    pub fn shorten(value: &str) -> Cow<'_, str> {
        cut(value, Self::MAX_VALUE_CHARS)
    }
}

fn cut(value: &str, max: usize) -> Cow<'_, str> {
    match value.char_indices().nth(max) {
        Some((end, _)) => Cow::Owned(format!("{}…", &value[..end])),
        None => Cow::Borrowed(value),
    }
}

/// Shows a field escaped and cut (see the module docs).
struct Clean<'a>(&'a str);

impl fmt::Display for Clean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for c in cut(self.0, Warning::MAX_FIELD_CHARS).chars() {
            let escaped = c.escape_debug();
            if escaped.len() > 1 && !matches!(c, '"' | '\'' | '\\') {
                write!(f, "{escaped}")?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.kind.is_empty() {
            "object"
        } else {
            &self.kind
        };
        write!(f, "{} {}", Clean(kind), Clean(&self.object))?;
        if !self.field.is_empty() {
            write!(f, " {}", Clean(&self.field))?;
        }
        write!(f, ": {}", Clean(&self.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_escapes_control_characters() {
        let warning = Warning::new(
            "Service",
            "default/a\nWARN forged\r\u{1b}[31mred\u{202e}",
            "",
            "bad\tvalue \"q\" é",
        );
        let line = warning.to_string();
        assert_eq!(
            line,
            "Service default/a\\nWARN forged\\r\\u{1b}[31mred\\u{202e}: bad\\tvalue \"q\" é"
        );
        assert!(!line.contains(['\n', '\r', '\u{1b}']));
    }

    #[test]
    fn long_values_are_cut() {
        let name = "x".repeat(10_000);
        assert_eq!(
            Warning::shorten(&name),
            format!("{}…", "x".repeat(Warning::MAX_VALUE_CHARS))
        );
        assert_eq!(Warning::shorten("short"), "short");
        let line = Warning::new("Service", name, "", "m").to_string();
        assert_eq!(
            line,
            format!("Service {}…: m", "x".repeat(Warning::MAX_FIELD_CHARS))
        );
    }
}
