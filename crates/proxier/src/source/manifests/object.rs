//! One Kubernetes object in a single pass: [`Object`]'s `Deserialize`
//! reads the keys of the mapping until it has `apiVersion` and `kind`
//! (keys before them are kept as generic values), then hands the rest of
//! the same mapping to the k8s-openapi type they name, the kept keys
//! replayed first. Services and EndpointSlices are read into the compact
//! [`crate::cluster::objects`] types (what is not kept is skipped while
//! parsing), Nodes into k8s-openapi's. Manifests put `apiVersion` and
//! `kind` first, so the common case parses straight into the typed object; `kubectl get -o
//! json` puts `kind` last, which works too, through the kept values.

use std::fmt;

use k8s_openapi::api::core::v1::Node;
use serde::{
    Deserialize, Deserializer,
    de::{
        DeserializeSeed, Error, IntoDeserializer, MapAccess, Visitor, value::MapAccessDeserializer,
    },
};
use serde_json::Value;

use crate::cluster::objects::{EndpointSlice, Service};

/// What one document (or List item) is.
#[derive(Debug)]
pub enum Object {
    /// A v1 Service.
    Service(Box<Service>),
    /// A discovery.k8s.io/v1 EndpointSlice.
    EndpointSlice(Box<EndpointSlice>),
    /// A v1 Node.
    Node(Box<Node>),
    /// A `kind: List` (or `ServiceList`, …): its items, read one by one.
    List(Option<Value>),
    /// Another kind (or none): skipped.
    Other(Head),
}

/// Enough of an object to name it in a warning.
#[derive(Debug, Default, Deserialize)]
pub struct Head {
    /// `apiVersion`.
    #[serde(rename = "apiVersion", default)]
    pub api_version: Option<String>,
    /// `kind`.
    #[serde(default)]
    pub kind: Option<String>,
    /// `metadata`.
    #[serde(default)]
    pub metadata: Option<HeadMeta>,
}

/// `metadata.name` and `metadata.namespace`.
#[derive(Debug, Default, Deserialize)]
pub struct HeadMeta {
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `namespace`.
    #[serde(default)]
    pub namespace: Option<String>,
}

impl Head {
    /// The head of a generic value (fields of other types are ignored).
    pub fn of(value: &Value) -> Self {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let meta = value.get("metadata");
        Head {
            api_version: text(value.get("apiVersion")),
            kind: text(value.get("kind")),
            metadata: meta.map(|m| HeadMeta {
                name: text(m.get("name")),
                namespace: text(m.get("namespace")),
            }),
        }
    }
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // As a struct, not a map: serde-saphyr checks a map's keys for
        // duplicates by buffering it, which parses each document twice.
        deserializer.deserialize_struct("Object", &["apiVersion", "kind"], ObjectVisitor)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Object;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes object (a mapping with apiVersion and kind)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
        let (mut api_version, mut kind) = (None::<String>, None::<String>);
        let mut kept: Vec<(String, Value)> = Vec::new();
        while api_version.is_none() || kind.is_none() {
            let Some(key) = map.next_key::<String>()? else {
                break;
            };
            match key.as_str() {
                "apiVersion" => api_version = Some(map.next_value()?),
                "kind" => kind = Some(map.next_value()?),
                _ => {
                    let value = map.next_value()?;
                    kept.push((key, value));
                }
            }
        }
        let rest = Replay { kept, map };
        let typed = |rest| MapAccessDeserializer::new(rest);
        Ok(
            match (
                api_version.as_deref().unwrap_or(""),
                kind.as_deref().unwrap_or(""),
            ) {
                ("v1", "Service") => Object::Service(Box::new(Service::deserialize(typed(rest))?)),
                ("discovery.k8s.io/v1", "EndpointSlice") => {
                    Object::EndpointSlice(Box::new(EndpointSlice::deserialize(typed(rest))?))
                }
                ("v1", "Node") => Object::Node(Box::new(Node::deserialize(typed(rest))?)),
                (_, k) if k.ends_with("List") => {
                    Object::List(ListItems::deserialize(typed(rest))?.items)
                }
                _ => {
                    let head = HeadRest::deserialize(typed(rest))?;
                    Object::Other(Head {
                        api_version,
                        kind,
                        metadata: head.metadata,
                    })
                }
            },
        )
    }
}

/// The rest of a skipped object: its metadata, everything else ignored.
#[derive(Deserialize)]
struct HeadRest {
    #[serde(default)]
    metadata: Option<HeadMeta>,
}

/// The items of a List, as generic values (each is read on its own, so
/// that one bad item does not lose the others).
#[derive(Deserialize)]
struct ListItems {
    #[serde(default)]
    items: Option<Value>,
}

/// A mapping's entries read before the type was known, then the rest.
struct Replay<A> {
    kept: Vec<(String, Value)>,
    map: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.kept.first() {
            Some((key, _)) => seed.deserialize(key.as_str().into_deserializer()).map(Some),
            None => self.map.next_key_seed(seed),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        if self.kept.is_empty() {
            return self.map.next_value_seed(seed);
        }
        let (_, value) = self.kept.remove(0);
        seed.deserialize(value).map_err(A::Error::custom)
    }
}
