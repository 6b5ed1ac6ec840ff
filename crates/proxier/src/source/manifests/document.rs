//! One YAML text into objects: split at document markers, each document
//! parsed once, straight into the type its `apiVersion` and `kind` name
//! ([`Object`]), by serde-saphyr. Only a document that fails is parsed
//! again, for its name (the warning names the object).
//!
//! `kind: List` (and `ServiceList`, …, what `kubectl get -o yaml` prints)
//! is read item by item: the items go through generic values, so one bad
//! item does not lose the others, with JSON's types (a plain `1` is a
//! number, not a string), as the API server reads them.

use std::sync::Arc;

use serde_json::Value;
use serde_saphyr::{Options, SnippetMode};

use super::object::{Head, Object};
use crate::{cluster::Snapshot, model::Warning};

/// What a text held.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The objects read.
    pub snapshot: Snapshot,
    /// The documents and objects skipped.
    pub warnings: Vec<Warning>,
    /// How many documents or objects could not be read at all (a YAML
    /// error, no `kind`, a field of the wrong type); kinds that are not
    /// used are skipped without counting.
    pub failed: usize,
}

/// Below this many documents a text is parsed on one thread.
const PARALLEL_MIN_DOCUMENTS: usize = 256;

/// Reads every document of `text`; `file` only names it in warnings. A
/// text that is one JSON object is read by serde_json ([`parse_json`]);
/// a large YAML text is parsed on every CPU, in contiguous runs of
/// documents, merged in order (the result is the same as on one thread).
pub fn parse(text: &str, file: &str) -> Parsed {
    if let Some(parsed) = parse_json(text, file) {
        return parsed;
    }
    let docs = split_documents(text);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads < 2 || docs.len() < PARALLEL_MIN_DOCUMENTS {
        return parse_run(&docs, 0, file);
    }
    let run = docs.len().div_ceil(threads);
    let parts: Vec<Parsed> = std::thread::scope(|scope| {
        let workers: Vec<_> = docs
            .chunks(run)
            .enumerate()
            .map(|(n, chunk)| scope.spawn(move || parse_run(chunk, n * run, file)))
            .collect();
        workers
            .into_iter()
            .map(|worker| match worker.join() {
                Ok(parsed) => parsed,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    let mut parsed = Parsed::default();
    for part in parts {
        parsed.snapshot.extend(part.snapshot);
        parsed.warnings.extend(part.warnings);
        parsed.failed += part.failed;
    }
    parsed
}

/// A text that is one JSON object (`kubectl get -o json`, a `.json`
/// manifest), read by serde_json: the same objects as the YAML parser
/// gives (JSON is YAML), many times faster. `None` when the text is not
/// JSON or does not read cleanly as one object: the YAML parser then reads
/// it, and its warnings name lines.
fn parse_json(text: &str, file: &str) -> Option<Parsed> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let object = serde_json::from_str::<Object>(text).ok()?;
    let at = Location {
        file,
        index: 0,
        item: None,
        line: first_content_line(text)?,
    };
    let mut parsed = Parsed::default();
    parsed.add(object, &at);
    Some(parsed)
}

/// Reads a run of documents, the first being document `first` of the file.
fn parse_run(docs: &[Document<'_>], first: usize, file: &str) -> Parsed {
    let mut parsed = Parsed::default();
    for (n, doc) in docs.iter().enumerate() {
        let Some(first_line) = first_content_line(doc.text) else {
            continue;
        };
        let at = Location {
            file,
            index: first + n,
            item: None,
            line: doc.line + first_line,
        };
        match serde_saphyr::from_str_with_options::<Object>(doc.text, options()) {
            Ok(object) => parsed.add(object, &at),
            Err(err) => {
                let message = err.render_with_options(serde_saphyr::render_options! {
                    snippets: SnippetMode::Off,
                    line_offset: doc.line as u64,
                });
                // Only now a second parse: the head, to name the object.
                let head = serde_saphyr::from_str_with_options::<Head>(doc.text, options())
                    .unwrap_or_default();
                parsed.fail(&head, &at, one_line(&message));
            }
        }
    }
    parsed
}

/// serde-saphyr's defaults (its budget against alias bombs and the like
/// included), without error snippets: a warning is one line.
pub(super) fn options() -> Options {
    serde_saphyr::options! { with_snippet: false }
}

/// Where a document (or a List item) is: `file#index`, the List item, and
/// the line of the file the document starts on.
#[derive(Clone, Copy)]
struct Location<'a> {
    file: &'a str,
    index: usize,
    item: Option<usize>,
    line: usize,
}

impl std::fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.file, self.index)?;
        if let Some(item) = self.item {
            write!(f, " items[{item}]")?;
        }
        write!(f, ", line {}", self.line)
    }
}

impl Parsed {
    fn add(&mut self, object: Object, at: &Location<'_>) {
        match object {
            Object::Service(mut service) => {
                service
                    .metadata
                    .namespace
                    .get_or_insert_with(|| "default".into());
                self.snapshot.services.push(Arc::from(service));
            }
            Object::EndpointSlice(mut slice) => {
                slice
                    .metadata
                    .namespace
                    .get_or_insert_with(|| "default".into());
                self.snapshot.endpoint_slices.push(Arc::from(slice));
            }
            Object::Node(node) => self.snapshot.nodes.push(Arc::from(node)),
            Object::List(items) => self.add_list(items, at),
            Object::Other(head) => match head.kind.as_deref() {
                None | Some("") => self.fail(&head, at, "no kind: not a Kubernetes object".into()),
                Some(kind) => {
                    let api_version = head.api_version.as_deref().unwrap_or_default();
                    let message = format!(
                        "skipped: {} {} is not used",
                        Warning::shorten(api_version),
                        Warning::shorten(kind)
                    );
                    self.warnings.push(warning(&head, at, message));
                }
            },
        }
    }

    /// The items of a List, each read on its own; a List inside a List is
    /// refused.
    fn add_list(&mut self, items: Option<Value>, at: &Location<'_>) {
        let items = match items {
            _ if at.item.is_some() => {
                let head = Head {
                    kind: Some("List".into()),
                    ..Head::default()
                };
                return self.fail(&head, at, "a List inside a List".into());
            }
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => {
                return self.fail(&Head::default(), at, "items is not a list".into());
            }
        };
        for (item, value) in items.into_iter().enumerate() {
            let at = Location {
                item: Some(item),
                ..*at
            };
            let head = Head::of(&value);
            match serde_path_to_error::deserialize::<_, Object>(value) {
                Ok(object) => self.add(object, &at),
                Err(err) => {
                    let path = err.path().to_string();
                    let message = one_line(&err.into_inner().to_string());
                    self.fail(&head, &at, format!("{path}: {message}"));
                }
            }
        }
    }

    fn fail(&mut self, head: &Head, at: &Location<'_>, message: String) {
        self.failed += 1;
        self.warnings.push(warning(head, at, message));
    }
}

/// A warning about the object `head` names, at `at`.
fn warning(head: &Head, at: &Location<'_>, message: String) -> Warning {
    let kind = head.kind.as_deref().unwrap_or_default();
    let meta = head.metadata.as_ref();
    let name = meta.and_then(|m| m.name.as_deref()).unwrap_or_default();
    let namespace = meta.and_then(|m| m.namespace.as_deref());
    let object = match (namespace, name.is_empty()) {
        (_, true) => at.to_string(),
        (Some(ns), false) => format!("{}/{} ({at})", Warning::shorten(ns), Warning::shorten(name)),
        (None, false) if kind == "Node" => format!("{} ({at})", Warning::shorten(name)),
        (None, false) => format!("default/{} ({at})", Warning::shorten(name)),
    };
    Warning::new(Warning::shorten(kind), object, "", message)
}

/// One document's text and the line of the file it begins on (0-based:
/// the number of lines before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Document<'a> {
    /// The text, from after its `---` marker to the next marker.
    pub text: &'a str,
    /// The lines of the file before the first line of `text`.
    pub line: usize,
}

/// Splits a YAML stream at its document markers (`---` and `...` at the
/// start of a line, which YAML reserves at column 0).
pub fn split_documents(text: &str) -> Vec<Document<'_>> {
    let mut docs = Vec::new();
    let (mut start, mut start_line) = (0, 0);
    let mut pos = 0;
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches(['\n', '\r']);
        let marker = |m: &str| {
            bare == m
                || bare
                    .strip_prefix(m)
                    .is_some_and(|rest| rest.starts_with([' ', '\t']))
        };
        if marker("---") || marker("...") {
            docs.push(Document {
                text: &text[start..pos],
                line: start_line,
            });
            // Content after `--- ` on the same line belongs to the new
            // document (`--- !tag` or `--- {a: 1}`); keep it.
            (start, start_line) = if marker("---") {
                (pos + 3, line_no)
            } else {
                (pos + line.len(), line_no + 1)
            };
        }
        pos += line.len();
    }
    docs.push(Document {
        text: &text[start..],
        line: start_line,
    });
    docs
}

/// The 1-based line of `doc` of its first content (not blank, a comment or
/// a directive), or `None` if it has none.
pub fn first_content_line(doc: &str) -> Option<usize> {
    doc.lines()
        .position(|line| {
            let line = line.trim();
            !(line.is_empty() || line.starts_with('#') || line.starts_with('%'))
        })
        .map(|at| at + 1)
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
