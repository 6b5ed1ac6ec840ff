//! Multi-document YAML manifests (`kubectl apply -f` style) into a
//! [`Snapshot`].
//!
//! Each document is read on its own: its `apiVersion`, `kind` and
//! `metadata` first, then the whole object as the matching k8s-openapi type
//! (with serde-saphyr). A document that fails, or has a kind the planner
//! does not use, becomes a [`Warning`] naming the file, the document index
//! and the object if known; the other documents are still read. Objects
//! without a namespace get `default`, like `kubectl apply`.

use std::path::{Path, PathBuf};

use k8s_openapi::api::{core::v1::Node, core::v1::Service, discovery::v1::EndpointSlice};
use serde::Deserialize;

use super::{Snapshot, SourceError};
use crate::model::Warning;

/// Reads a file, or every `*.yaml` / `*.yml` file of a directory (not
/// recursive, in name order).
pub fn load(path: &Path) -> Result<(Snapshot, Vec<Warning>), SourceError> {
    let read_err = |source| SourceError::Read {
        path: path.display().to_string(),
        source,
    };
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).map_err(read_err)? {
            let file = entry.map_err(read_err)?.path();
            let yaml = file
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e == "yaml" || e == "yml");
            if yaml && file.is_file() {
                files.push(file);
            }
        }
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut snapshot = Snapshot::default();
    let mut warnings = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| SourceError::Read {
            path: file.display().to_string(),
            source,
        })?;
        let (objects, mut found) = parse(&text, &file.display().to_string());
        snapshot.extend(objects);
        warnings.append(&mut found);
    }
    Ok((snapshot, warnings))
}

/// Parses the documents of one YAML text; `file` only names it in
/// warnings. Never panics and never fails: bad documents are warnings.
pub fn parse(text: &str, file: &str) -> (Snapshot, Vec<Warning>) {
    let mut snapshot = Snapshot::default();
    let mut warnings = Vec::new();
    for (index, doc) in split_documents(text).into_iter().enumerate() {
        if is_blank(doc) {
            continue;
        }
        read_document(doc, file, index, &mut snapshot, &mut warnings);
    }
    (snapshot, warnings)
}

/// The head of any object: enough to pick its type and name it.
#[derive(Debug, Default, Deserialize)]
struct Head {
    #[serde(rename = "apiVersion", default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: Option<HeadMeta>,
}

#[derive(Debug, Default, Deserialize)]
struct HeadMeta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

fn read_document(
    doc: &str,
    file: &str,
    index: usize,
    snapshot: &mut Snapshot,
    warnings: &mut Vec<Warning>,
) {
    let location = format!("{file}#{index}");
    let head: Head = match serde_saphyr::from_str(doc) {
        Ok(head) => head,
        Err(err) => {
            warnings.push(Warning::new("", location, "", one_line(&err.to_string())));
            return;
        }
    };
    let kind = head.kind.clone().unwrap_or_default();
    let meta = head.metadata.unwrap_or_default();
    let name = meta.name.unwrap_or_default();
    let object = match (&meta.namespace, name.is_empty()) {
        (_, true) => location.clone(),
        (Some(ns), false) => format!("{ns}/{name} ({location})"),
        (None, false) if kind == "Node" => format!("{name} ({location})"),
        (None, false) => format!("default/{name} ({location})"),
    };
    let warn = |message: String| Warning::new(kind.clone(), object.clone(), "", message);
    let api_version = head.api_version.unwrap_or_default();
    match (api_version.as_str(), kind.as_str()) {
        ("v1", "Service") => match serde_saphyr::from_str::<Service>(doc) {
            Ok(mut service) => {
                service
                    .metadata
                    .namespace
                    .get_or_insert_with(|| "default".into());
                snapshot.services.push(service);
            }
            Err(err) => warnings.push(warn(one_line(&err.to_string()))),
        },
        ("discovery.k8s.io/v1", "EndpointSlice") => {
            match serde_saphyr::from_str::<EndpointSlice>(doc) {
                Ok(mut slice) => {
                    slice
                        .metadata
                        .namespace
                        .get_or_insert_with(|| "default".into());
                    snapshot.endpoint_slices.push(slice);
                }
                Err(err) => warnings.push(warn(one_line(&err.to_string()))),
            }
        }
        ("v1", "Node") => match serde_saphyr::from_str::<Node>(doc) {
            Ok(node) => snapshot.nodes.push(node),
            Err(err) => warnings.push(warn(one_line(&err.to_string()))),
        },
        (_, "") => warnings.push(warn("no kind: not a Kubernetes object".into())),
        (api_version, kind) => {
            warnings.push(warn(format!("skipped: {api_version} {kind} is not used")))
        }
    }
}

/// Splits a YAML stream at its document markers (`---` and `...` at the
/// start of a line, which YAML reserves at column 0).
fn split_documents(text: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        let marker = |m: &str| {
            bare == m
                || bare
                    .strip_prefix(m)
                    .is_some_and(|rest| rest.starts_with([' ', '\t']))
        };
        if marker("---") || marker("...") {
            docs.push(&text[start..pos]);
            // Content after `--- ` on the same line belongs to the new
            // document (`--- !tag` or `--- {a: 1}`); keep it.
            start = if marker("---") {
                pos + 3
            } else {
                pos + line.len()
            };
        }
        pos += line.len();
    }
    docs.push(&text[start..]);
    docs
}

fn is_blank(doc: &str) -> bool {
    doc.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line.starts_with('%')
    })
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
