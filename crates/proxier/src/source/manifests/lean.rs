//! A lean reader for the plain YAML manifests are written in: the events
//! of granit-parser (the parser serde-saphyr itself runs on, set up the
//! way serde-saphyr sets it up) straight into serde, without
//! serde-saphyr's deserializer layer (its event recording, key
//! fingerprints and budget accounting: half the time of a load).
//!
//! It reads a document only when it is sure to read it as serde-saphyr
//! does, and gives up (`None`) on anything else: anchors, aliases, tags,
//! directives, merge keys (`<<`), duplicate keys, a plain scalar whose type
//! it does not resolve the way serde-saphyr does (`0x1f`, `1.5`, `True`,
//! `yes`, … in an untyped place; a key that is not plainly a string), a
//! null where a string is asked for, more than [`MAX_DEPTH`] levels, more
//! nodes or events than a share of serde-saphyr's budget, and every error
//! of the parser or of the target type. The caller then parses the
//! document with serde-saphyr, whose answer stands, errors and their lines
//! included. So a manifest reads the same either way, only faster; the
//! fuzz checks (`fuzz/checks.rs`) hold the two to that.

use std::{borrow::Cow, fmt};

use granit_parser::{Event, Parser, ScalarStyle, StrInput};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};

/// The deepest nesting read (serde-saphyr's budget allows 64).
pub const MAX_DEPTH: usize = 32;
/// The most nodes read in a document (serde-saphyr's budget: 250,000).
const MAX_NODES: usize = 200_000;
/// The most events read in a document (serde-saphyr's budget: 1,000,000).
const MAX_EVENTS: usize = 800_000;
/// The longest text read (serde-saphyr's budget: 64 MiB of scalars).
const MAX_TEXT_BYTES: usize = 32 << 20;

/// Reads one YAML document (`text` holds no `---` between documents) into
/// a `T`, or `None` if it cannot be sure to read it as serde-saphyr would.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Option<T> {
    if text.len() > MAX_TEXT_BYTES {
        return None;
    }
    let mut reader = Reader::new(text);
    reader.start().ok()?;
    let value = T::deserialize(&mut reader).ok()?;
    reader.end().ok()?;
    Some(value)
}

/// Why the reader gave up; never shown (serde-saphyr reports instead).
#[derive(Debug)]
struct GiveUp;

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not read by the lean reader")
    }
}

impl std::error::Error for GiveUp {}

impl de::Error for GiveUp {
    fn custom<T: fmt::Display>(_: T) -> Self {
        GiveUp
    }
}

/// The events of one document, with the counts the limits need.
struct Reader<'a> {
    parser: Parser<'a, StrInput<'a>>,
    peeked: Option<Event<'a>>,
    depth: usize,
    nodes: usize,
    events: usize,
}

/// granit-parser's options as serde-saphyr sets them by default (its
/// budget's limits, comments emitted), so that both accept the same text.
fn parser_options() -> granit_parser::Options {
    let budget = serde_saphyr::Budget::default();
    granit_parser::options! {
        simple_key_max_lookahead: budget.simple_key_max_lookahead,
        flow_nesting_limit: budget.flow_nesting_limit,
        block_nesting_limit: granit_parser::Options::default()
            .block_nesting_limit
            .max(budget.max_depth + 1),
        emit_comments: true,
        max_buffered_comment_events: budget.max_buffered_comment_events,
    }
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        Reader {
            parser: Parser::new_from_str_with_options(text, parser_options()),
            peeked: None,
            depth: 0,
            nodes: 0,
            events: 0,
        }
    }

    /// The stream's start and its document's (without a `%YAML` directive).
    fn start(&mut self) -> Result<(), GiveUp> {
        self.expect(|e| matches!(e, Event::StreamStart))?;
        self.expect(|e| matches!(e, Event::DocumentStart(_, None)))
    }

    /// The end of the document, and of the stream: there is one document.
    fn end(&mut self) -> Result<(), GiveUp> {
        self.expect(|e| matches!(e, Event::DocumentEnd))?;
        self.expect(|e| matches!(e, Event::StreamEnd))
    }

    fn expect(&mut self, wanted: impl FnOnce(&Event<'a>) -> bool) -> Result<(), GiveUp> {
        let event = self.next()?;
        if wanted(&event) { Ok(()) } else { Err(GiveUp) }
    }

    /// The next event but comments.
    fn next(&mut self) -> Result<Event<'a>, GiveUp> {
        if let Some(event) = self.peeked.take() {
            return Ok(event);
        }
        loop {
            let (event, _) = self
                .parser
                .next_event()
                .ok_or(GiveUp)?
                .map_err(|_| GiveUp)?;
            self.events += 1;
            if self.events > MAX_EVENTS {
                return Err(GiveUp);
            }
            match event {
                Event::Comment(..) => continue,
                Event::Scalar(..) | Event::SequenceStart(..) | Event::MappingStart(..) => {
                    self.nodes += 1;
                    if self.nodes > MAX_NODES {
                        return Err(GiveUp);
                    }
                }
                _ => {}
            }
            return Ok(event);
        }
    }

    fn peek(&mut self) -> Result<&Event<'a>, GiveUp> {
        if self.peeked.is_none() {
            self.peeked = Some(self.next()?);
        }
        self.peeked.as_ref().ok_or(GiveUp)
    }

    /// The next node's scalar text and style, if it is a scalar without
    /// anchor or tag (consumed); a collection is left unread.
    fn scalar(&mut self) -> Result<Option<(Cow<'a, str>, ScalarStyle)>, GiveUp> {
        match self.next()? {
            Event::Scalar(text, style, 0, None) => Ok(Some((text, style))),
            Event::Scalar(..) => Err(GiveUp),
            other => {
                self.peeked = Some(other);
                Ok(None)
            }
        }
    }

    /// A collection's start (without anchor or tag), one level deeper.
    fn open(&mut self, mapping: bool) -> Result<(), GiveUp> {
        match self.next()? {
            Event::MappingStart(_, 0, None) if mapping => {}
            Event::SequenceStart(_, 0, None) if !mapping => {}
            _ => return Err(GiveUp),
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(GiveUp);
        }
        Ok(())
    }

    fn mapping<'de, V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, GiveUp> {
        self.open(true)?;
        let value = visitor.visit_map(Entries {
            reader: self,
            keys: Vec::new(),
        })?;
        self.expect(|e| matches!(e, Event::MappingEnd))?;
        self.depth -= 1;
        Ok(value)
    }

    fn sequence<'de, V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, GiveUp> {
        self.open(false)?;
        let value = visitor.visit_seq(Items { reader: self })?;
        self.expect(|e| matches!(e, Event::SequenceEnd))?;
        self.depth -= 1;
        Ok(value)
    }
}

/// A plain scalar that YAML 1.2's core schema reads as null.
fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// A plain scalar that is a string in every schema serde-saphyr may apply:
/// it does not start like a number and is no null, boolean or float word
/// (in any case, YAML 1.1's `yes`, `on`, … included).
fn is_plain_string(text: &str) -> bool {
    const WORDS: [&str; 12] = [
        "null", "true", "false", "yes", "no", "on", "off", "y", "n", "inf", "infinity", "nan",
    ];
    text.chars()
        .next()
        .is_some_and(|c| !(c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | '~')))
        && !WORDS.iter().any(|word| text.eq_ignore_ascii_case(word))
}

/// An integer written the one way every schema reads it: decimal digits,
/// no leading zero, an optional `-`.
fn canonical_integer(text: &str) -> Option<Result<u64, i64>> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    match (canonical, text.starts_with('-')) {
        (false, _) => None,
        (true, false) => text.parse().ok().map(Ok),
        (true, true) if digits == "0" => None,
        (true, true) => text.parse().ok().map(Err),
    }
}

/// A plain scalar serde-saphyr may read as an infinite or NaN float, which
/// its default options refuse even where the value is skipped.
fn may_be_non_finite(text: &str) -> bool {
    let bare = text.trim_start_matches(['-', '+']);
    bare.eq_ignore_ascii_case(".inf")
        || bare.eq_ignore_ascii_case(".nan")
        || text.parse::<f64>().is_ok_and(|v| !v.is_finite())
}

fn visit_text<'de, V: Visitor<'de>>(text: Cow<'_, str>, visitor: V) -> Result<V::Value, GiveUp> {
    match text {
        Cow::Borrowed(text) => visitor.visit_str(text),
        Cow::Owned(text) => visitor.visit_string(text),
    }
}

impl<'de> de::Deserializer<'de> for &mut Reader<'_> {
    type Error = GiveUp;

    /// A node as its YAML type: plain scalars resolved only where
    /// `is_null`, `canonical_integer`, `true`/`false` and
    /// `is_plain_string` are sure.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        let Some((text, style)) = self.scalar()? else {
            return match self.peek()? {
                Event::MappingStart(..) => self.mapping(visitor),
                Event::SequenceStart(..) => self.sequence(visitor),
                _ => Err(GiveUp),
            };
        };
        if style != ScalarStyle::Plain {
            return visit_text(text, visitor);
        }
        if is_null(&text) {
            return visitor.visit_unit();
        }
        match (&*text, canonical_integer(&text)) {
            ("true", _) => visitor.visit_bool(true),
            ("false", _) => visitor.visit_bool(false),
            (_, Some(Ok(n))) => visitor.visit_u64(n),
            (_, Some(Err(n))) => visitor.visit_i64(n),
            _ if is_plain_string(&text) => visit_text(text, visitor),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        match self.scalar()? {
            Some((text, ScalarStyle::Plain)) if text == "true" => visitor.visit_bool(true),
            Some((text, ScalarStyle::Plain)) if text == "false" => visitor.visit_bool(false),
            _ => Err(GiveUp),
        }
    }

    /// Any scalar's text (a plain `80` is `"80"`), but a plain null.
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        match self.scalar()? {
            Some((text, ScalarStyle::Plain)) if is_null(&text) => Err(GiveUp),
            Some((text, _)) => visit_text(text, visitor),
            None => Err(GiveUp),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        match self.peek()? {
            Event::Scalar(text, ScalarStyle::Plain, 0, None) if is_null(text) => {
                self.next()?;
                visitor.visit_none()
            }
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        match self.scalar()? {
            Some((text, ScalarStyle::Plain)) if is_null(&text) => visitor.visit_unit(),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, GiveUp> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, GiveUp> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        self.sequence(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, GiveUp> {
        self.sequence(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, GiveUp> {
        self.sequence(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        self.mapping(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, GiveUp> {
        self.mapping(visitor)
    }

    /// Enums are not read here (the manifest types have none).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, GiveUp> {
        Err(GiveUp)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, GiveUp> {
        Err(GiveUp)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, GiveUp> {
        Err(GiveUp)
    }

    /// A skipped node: any scalar without anchor or tag (but a possible
    /// non-finite float), collections read as `deserialize_any`
    /// reads them (duplicate keys still give up).
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        match self.scalar()? {
            Some((text, ScalarStyle::Plain)) if may_be_non_finite(&text) => Err(GiveUp),
            Some(_) => visitor.visit_unit(),
            None => self.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char identifier
    }
}

/// A mapping's entries; the keys seen so far, to give up on a duplicate.
struct Entries<'r, 'a> {
    reader: &'r mut Reader<'a>,
    keys: Vec<Cow<'a, str>>,
}

impl<'de> MapAccess<'de> for Entries<'_, '_> {
    type Error = GiveUp;

    /// A key is a scalar that is plainly a string and not seen before.
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, GiveUp> {
        if matches!(self.reader.peek()?, Event::MappingEnd) {
            return Ok(None);
        }
        let (key, style) = self.reader.scalar()?.ok_or(GiveUp)?;
        let plain_string = match style {
            ScalarStyle::Plain => is_plain_string(&key) && key != "<<",
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => true,
            _ => false,
        };
        if !plain_string || self.keys.contains(&key) {
            return Err(GiveUp);
        }
        let value =
            seed.deserialize(IntoDeserializer::<GiveUp>::into_deserializer(key.as_ref()))?;
        self.keys.push(key);
        Ok(Some(value))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, GiveUp> {
        seed.deserialize(&mut *self.reader)
    }
}

/// A sequence's items.
struct Items<'r, 'a> {
    reader: &'r mut Reader<'a>,
}

impl<'de> SeqAccess<'de> for Items<'_, '_> {
    type Error = GiveUp;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, GiveUp> {
        if matches!(self.reader.peek()?, Event::SequenceEnd) {
            return Ok(None);
        }
        seed.deserialize(&mut *self.reader).map(Some)
    }
}

#[cfg(test)]
mod tests;
