//! Test objects from YAML, for the tests of the layers below the
//! manifests source (the model's): each document a Service, an
//! EndpointSlice or a Node, by its `kind`, read by serde-saphyr into the
//! kept types as the manifests source reads a clean document. A document
//! that does not read panics (the manifests source would warn); other
//! kinds are skipped.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;

use super::{
    Snapshot,
    objects::{EndpointSlice, Service},
};

/// The objects of a multi-document YAML text.
pub fn snapshot(yaml: &str) -> Snapshot {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(default)]
        kind: String,
    }
    let mut snapshot = Snapshot::default();
    let mut docs = vec![String::new()];
    for line in yaml.lines() {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else {
            let doc = docs.last_mut().expect("one document at least");
            doc.push_str(line);
            doc.push('\n');
        }
    }
    let blank = |doc: &str| {
        doc.lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    };
    for doc in docs.iter().filter(|doc| !blank(doc)) {
        match read::<Head>(doc).kind.as_str() {
            "Service" => snapshot.services.push(Arc::new(read::<Service>(doc))),
            "EndpointSlice" => snapshot
                .endpoint_slices
                .push(Arc::new(read::<EndpointSlice>(doc))),
            "Node" => snapshot.nodes.push(Arc::new(read::<Node>(doc))),
            _ => {}
        }
    }
    snapshot
}

/// One document as a `T`; panics, showing the document, if it does not read.
fn read<T: serde::de::DeserializeOwned>(doc: &str) -> T {
    serde_saphyr::from_str(doc).unwrap_or_else(|e| {
        panic!(
            "{}: {e}
{doc}",
            std::any::type_name::<T>()
        )
    })
}
