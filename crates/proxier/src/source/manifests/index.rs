//! Which files hold an object of a given name, so that a poll can say what
//! now wins each name it touched by looking at those files only
//! ([`super::ManifestsSource::poll_delta`]).

use std::{
    collections::HashMap,
    hash::{DefaultHasher, Hash, Hasher},
    path::Path,
    sync::Arc,
};

use smallvec::SmallVec;

use crate::{
    cluster::{ServiceName, Snapshot},
    source::store::key_names,
};

/// The kinds a view holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A Service.
    Service,
    /// An EndpointSlice.
    EndpointSlice,
    /// A Node.
    Node,
}

/// What the store keys an object by: its kind, its namespace (`default`
/// when unset; empty for a Node) and its name (empty when unset).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Id {
    /// The kind.
    pub kind: Kind,
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl Id {
    fn new(kind: Kind, namespace: &str, name: &str) -> Self {
        Id {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    /// The identities of every object of `objects`, in order (a name twice
    /// in the file is there twice).
    pub fn all(objects: &Snapshot) -> impl Iterator<Item = Id> + '_ {
        parts(objects).map(|(kind, namespace, name)| Id::new(kind, namespace, name))
    }

    /// Whether an object with this namespace and name has this identity
    /// (the kind is the caller's).
    pub fn is<S: std::ops::Deref<Target = str>>(
        &self,
        namespace: &Option<S>,
        name: &Option<S>,
    ) -> bool {
        let (namespace, name) = match self.kind {
            Kind::Node => ("", name.as_deref().unwrap_or("")),
            _ => key_names(namespace, name),
        };
        self.namespace == namespace && self.name == name
    }

    /// The Service name, for a Service.
    pub fn service_name(&self) -> ServiceName {
        ServiceName::new(self.namespace.clone(), self.name.clone())
    }

    fn key(&self) -> u64 {
        key(self.kind, &self.namespace, &self.name)
    }
}

/// The hash of an identity, from borrowed parts (no allocation).
fn key(kind: Kind, namespace: &str, name: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    (kind, namespace, name).hash(&mut hasher);
    hasher.finish()
}

/// The kind, namespace and name of every object of `objects`, borrowed.
fn parts(objects: &Snapshot) -> impl Iterator<Item = (Kind, &str, &str)> + '_ {
    let services = objects.services.iter().map(|s| {
        let (namespace, name) = key_names(&s.metadata.namespace, &s.metadata.name);
        (Kind::Service, namespace, name)
    });
    let slices = objects.endpoint_slices.iter().map(|s| {
        let (namespace, name) = key_names(&s.metadata.namespace, &s.metadata.name);
        (Kind::EndpointSlice, namespace, name)
    });
    let nodes = objects
        .nodes
        .iter()
        .map(|n| (Kind::Node, "", n.metadata.name.as_deref().unwrap_or("")));
    services.chain(slices).chain(nodes)
}

/// The identity hashes of every object of `objects`.
fn keys(objects: &Snapshot) -> impl Iterator<Item = u64> + '_ {
    parts(objects).map(|(kind, namespace, name)| key(kind, namespace, name))
}

/// The files holding each identity, by the identity's hash (two
/// identities with one hash only add a file to look at). About 32 bytes an
/// object, the file's path shared.
#[derive(Debug, Default)]
pub struct Index(HashMap<u64, SmallVec<[Arc<Path>; 1]>>);

impl Index {
    /// Records that `file` holds `objects`.
    pub fn add(&mut self, file: &Arc<Path>, objects: &Snapshot) {
        for key in keys(objects) {
            let files = self.0.entry(key).or_default();
            if !files.contains(file) {
                files.push(file.clone());
            }
        }
    }

    /// Forgets that `file` holds `objects` (what [`Index::add`] recorded).
    pub fn remove(&mut self, file: &Path, objects: &Snapshot) {
        for key in keys(objects) {
            if let Some(files) = self.0.get_mut(&key) {
                files.retain(|f| **f != *file);
                if files.is_empty() {
                    self.0.remove(&key);
                }
            }
        }
    }

    /// The files that may hold `id`, in name order (the view's order).
    pub fn files(&self, id: &Id) -> Vec<Arc<Path>> {
        let mut files: Vec<Arc<Path>> = self
            .0
            .get(&id.key())
            .map(|f| f.to_vec())
            .unwrap_or_default();
        files.sort();
        files
    }
}
