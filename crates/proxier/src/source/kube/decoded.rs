//! [`Decoded`]: a watched object that may not decode as its kind.
//!
//! kube-rs decodes a watch event's object straight into the watched type;
//! an object of the wrong kind (a ConfigMap in the Services stream) or with
//! a field of the wrong type fails the whole event with a serde error that
//! names neither the object nor the field, and a list with one such item
//! fails the whole list, which kube-rs retries forever: one bad object
//! would stop every sync. client-go's reflector, under kube-proxy, skips
//! a watch event of an unexpected type with an error naming both types
//! (`expected type *v1.Service, but watch event object had type
//! *v1.ConfigMap`) and goes on.
//!
//! So the watchers watch `Decoded<K>`: the object is read as JSON first,
//! then as `K`; what does not read as `K` becomes an [`Undecodable`] that
//! keeps the object's kind, namespace, name and resourceVersion as sent and
//! the path of the field that failed. The watcher still advances its
//! resourceVersion past it, and the source skips it with one
//! [`Warning`] naming the object, the field and the
//! value's problem ([`Undecodable::warning`]). An object without a
//! resourceVersion is named when it is read, since kube-rs drops its event
//! and relists.

use std::{borrow::Cow, fmt::Debug};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use serde_json::Value;
use tracing::warn;

use crate::model::Warning;

/// An object of a watch or list: decoded as `K`, or not.
#[derive(Debug, Clone)]
pub enum Decoded<K> {
    /// The object, decoded.
    Object(K),
    /// What could not be decoded as `K`, and why.
    Bad(Box<Undecodable>),
}

/// An object that did not decode as the watched kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Undecodable {
    /// `metadata.name`, `metadata.namespace` and
    /// `metadata.resourceVersion` as sent, where they are strings (the
    /// watcher resumes after this resourceVersion).
    pub metadata: ObjectMeta,
    /// `kind` as sent (`""` when absent or not a string).
    pub kind: String,
    /// `apiVersion` as sent (`""` when absent or not a string).
    pub api_version: String,
    /// Where decoding failed (`spec.ports[0].port`; `kind` for a wrong
    /// kind; `""` for the object itself).
    pub field: String,
    /// The decoder's message.
    pub message: String,
}

impl Undecodable {
    /// What the decoder said about `value`: `field` is the failing path
    /// (`.` or `""` for the root), `message` the error.
    pub fn new(value: &Value, field: &str, message: String) -> Self {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let meta = value.get("metadata");
        let metadata = ObjectMeta {
            name: text(meta.and_then(|m| m.get("name"))),
            namespace: text(meta.and_then(|m| m.get("namespace"))),
            resource_version: text(meta.and_then(|m| m.get("resourceVersion"))),
            ..ObjectMeta::default()
        };
        Undecodable {
            metadata,
            kind: text(value.get("kind")).unwrap_or_default(),
            api_version: text(value.get("apiVersion")).unwrap_or_default(),
            field: if field == "." { "" } else { field }.to_owned(),
            message,
        }
    }

    /// `namespace/name` (`name` alone without a namespace, `?` without a
    /// name).
    pub fn object(&self) -> String {
        let name = self.metadata.name.as_deref().unwrap_or("?");
        match &self.metadata.namespace {
            Some(namespace) => format!("{namespace}/{name}"),
            None => name.to_owned(),
        }
    }

    /// The warning of a watch of `expected` (`Service`) that skips this
    /// object: its kind as sent when that is not `expected`, else the
    /// failing field and the decoder's message.
    pub fn warning(&self, expected: &str) -> Warning {
        let (kind, field, message) = if !self.kind.is_empty() && self.kind != expected {
            (
                self.kind.as_str(),
                "kind",
                format!(
                    "the {expected} watch sent a {} ({}); skipped",
                    Warning::shorten(&self.kind),
                    Warning::shorten(&self.api_version)
                ),
            )
        } else {
            (
                expected,
                self.field.as_str(),
                format!("cannot be read as a {expected} ({}); skipped", self.message),
            )
        };
        Warning::new(kind, self.object(), field, message)
    }
}

impl<K: DeserializeOwned> Decoded<K> {
    /// `value` decoded as `K`, or why not.
    pub fn from_value(value: Value) -> Self {
        match serde_path_to_error::deserialize::<_, K>(&value) {
            Ok(object) => Decoded::Object(object),
            Err(err) => {
                let field = err.path().to_string();
                Decoded::Bad(Box::new(Undecodable::new(
                    &value,
                    &field,
                    err.into_inner().to_string(),
                )))
            }
        }
    }
}

/// Reads any JSON value. An object that does not decode and has no
/// resourceVersion is named here: the watcher drops such an event unseen
/// (and starts over with a list), so [`super::decoded_only`] never gets it.
impl<'de, K: DeserializeOwned + Resource<DynamicType = ()>> Deserialize<'de> for Decoded<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let decoded = Decoded::from_value(Value::deserialize(deserializer)?);
        if let Decoded::Bad(bad) = &decoded
            && bad.metadata.resource_version.is_none()
        {
            warn!("{}", bad.warning(&K::kind(&())));
        }
        Ok(decoded)
    }
}

/// The API paths and metadata of `K` (the watcher needs both).
impl<K> Resource for Decoded<K>
where
    K: Resource<DynamicType = ()>,
{
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        K::kind(dt)
    }

    fn group(dt: &()) -> Cow<'_, str> {
        K::group(dt)
    }

    fn version(dt: &()) -> Cow<'_, str> {
        K::version(dt)
    }

    fn plural(dt: &()) -> Cow<'_, str> {
        K::plural(dt)
    }

    fn meta(&self) -> &ObjectMeta {
        match self {
            Decoded::Object(object) => object.meta(),
            Decoded::Bad(bad) => &bad.metadata,
        }
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Decoded::Object(object) => object.meta_mut(),
            Decoded::Bad(bad) => &mut bad.metadata,
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::{core::v1::Service, discovery::v1::EndpointSlice};
    use kube::core::{ObjectList, WatchEvent};
    use serde_json::json;

    use super::*;

    fn bad<K: Debug>(decoded: Decoded<K>) -> Undecodable {
        match decoded {
            Decoded::Bad(bad) => *bad,
            Decoded::Object(object) => panic!("decoded: {object:?}"),
        }
    }

    #[test]
    fn a_good_object_decodes() {
        let decoded: Decoded<Service> = Decoded::from_value(json!({
            "kind": "Service", "apiVersion": "v1",
            "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"ports": [{"port": 80}]}}));
        assert!(matches!(decoded, Decoded::Object(s) if s.metadata.name.as_deref() == Some("web")));
    }

    #[test]
    fn a_wrong_kind_is_named_with_its_object() {
        let bad = bad(Decoded::<Service>::from_value(json!({
            "kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": "intruder", "namespace": "ns", "resourceVersion": "42"},
            "data": {"k": "v"}})));
        assert_eq!(bad.metadata.resource_version.as_deref(), Some("42"));
        assert_eq!(
            bad.warning("Service").to_string(),
            "ConfigMap ns/intruder kind: the Service watch sent a ConfigMap (v1); skipped"
        );
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named_by_its_path() {
        let bad = bad(Decoded::<EndpointSlice>::from_value(json!({
            "metadata": {"name": "web-1", "namespace": "ns"},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": "10.0.0.2"}]})));
        let line = bad.warning("EndpointSlice").to_string();
        assert!(
            line.starts_with("EndpointSlice ns/web-1 endpoints[1].addresses: cannot be read as a EndpointSlice (invalid type: string"),
            "{line}"
        );
    }

    #[test]
    fn anything_decodes_to_something_and_never_panics() {
        for value in [
            json!(null),
            json!("text"),
            json!([1, 2]),
            json!({"metadata": 7}),
            json!({"metadata": {"name": 7, "namespace": ["x"]}, "kind": 3}),
            json!({"kind": "Service", "spec": {"ports": "many"}}),
        ] {
            let bad = bad(Decoded::<Service>::from_value(value));
            let line = bad.warning("Service").to_string();
            assert!(line.starts_with("Service ?"), "{line}");
        }
    }

    #[test]
    fn a_long_name_is_cut_in_the_warning() {
        let name = "n".repeat(65_536);
        let bad = bad(Decoded::<Service>::from_value(
            json!({"kind": "Pod", "metadata": {"name": name}}),
        ));
        let line = bad.warning("Service").to_string();
        assert!(line.len() < 2_000, "{}", line.len());
        assert_eq!(bad.metadata.name.as_deref().map(str::len), Some(65_536));
    }

    #[test]
    fn one_bad_item_does_not_fail_a_list_or_a_watch_event() {
        let list: ObjectList<Decoded<Service>> = serde_json::from_value(json!({
        "kind": "ServiceList", "apiVersion": "v1", "metadata": {"resourceVersion": "9"},
        "items": [
            {"metadata": {"name": "a", "namespace": "ns"}, "spec": {"ports": [{"port": 80}]}},
            {"metadata": {"name": "b", "namespace": "ns"}, "spec": {"ports": [{"port": "x"}]}},
        ]}))
        .unwrap();
        assert!(matches!(list.items[0], Decoded::Object(_)));
        assert_eq!(bad(list.items[1].clone()).field, "spec.ports[0].port");
        let event: WatchEvent<Decoded<Service>> = serde_json::from_str(
            r#"{"type":"MODIFIED","object":{"kind":"Endpoints","apiVersion":"v1","metadata":{"name":"a","namespace":"ns","resourceVersion":"10"}}}"#,
        )
        .unwrap();
        let WatchEvent::Modified(object) = event else {
            panic!("{event:?}")
        };
        assert_eq!(object.meta().resource_version.as_deref(), Some("10"));
        assert_eq!(Decoded::<Service>::url_path(&(), None), "/api/v1/services");
    }
}
