//! The API-server source: kube-rs watchers for the three kinds kube-proxy
//! watches, feeding [`SourceEvent`]s into a channel.
//!
//! * Services: label `!service.kubernetes.io/service-proxy-name`
//!   ([`SERVICE_SELECTOR`]), field `spec.clusterIP!=None`. An API server
//!   that rejects the field selector (400) is watched without it; the
//!   store filters the same way.
//! * EndpointSlices: label `!service.kubernetes.io/headless`
//!   ([`SLICE_SELECTOR`]), as kube-proxy 1.35 (through 1.34 it used both
//!   labels for both kinds).
//! * Nodes: `metadata.name=<node>`.
//!
//! Each watcher relists on a 410 in the stream, resumes dropped streams
//! from the last resourceVersion and backs off exponentially on errors
//! (kube-runtime's default backoff, modelled on client-go's reflector).
//! Services and EndpointSlices are converted on arrival to the compact
//! [`crate::cluster::objects`] types (only what the model reads: no managed fields,
//! annotations but the trigger time, owner or target references, status
//! but load-balancer ingress); the Node is stripped of its images,
//! conditions and the like. Memory stays proportional to the model.
//!
//! An object that does not decode as its kind (a wrong kind in the stream,
//! a field of the wrong type) is skipped with a warning naming it and the
//! field, and the watch goes on ([`decoded`]).
//!
//! [`client`] builds the client the way kube-proxy does: a kubeconfig file,
//! `--master` overriding its server, or the in-cluster service account. A
//! token file is read by [`token`] (client-go's rules: re-read after a 401
//! and every 50 s, and here also as soon as the file changes), so a token
//! the kubelet rotates is used from the next request on.
//!
//! A refused list or watch (401, 403) is logged with the kind, the status
//! and the server's message, and retried with the watcher's backoff; the
//! kernel keeps what it has (nothing is removed for lack of an answer), and
//! the first event after the failures is logged as access being back.

use std::{
    fmt::Debug,
    path::Path,
    time::{Duration, Instant},
};

use futures::{
    StreamExt, future,
    stream::{self, BoxStream},
};
use k8s_openapi::api::{core::v1::Node, core::v1::Service, discovery::v1::EndpointSlice};
use kube::{
    Api, Client, Config, Resource,
    config::{KubeConfigOptions, Kubeconfig},
    runtime::{
        WatchStreamExt,
        events::{Event as KubeEvent, EventType, Recorder, Reporter},
        watcher::{self, Event},
    },
};
use serde::de::DeserializeOwned;
use tracing::{info, warn};

use super::store::SourceEvent;
use crate::cluster::{SERVICE_SELECTOR, SLICE_SELECTOR};

pub mod decoded;

use decoded::Decoded;

/// Why the API client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum KubeSourceError {
    /// The kubeconfig file could not be read or used.
    #[error("kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file.
        path: String,
        /// What failed.
        source: kube::config::KubeconfigError,
    },
    /// `--master` is not a URL.
    #[error("--master {url:?}: {message}")]
    Master {
        /// The value.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// No kubeconfig and no in-cluster service account.
    #[error(
        "no kubeconfig given and not in a cluster ({0}); set clientConnection.kubeconfig, --kubeconfig or --master"
    )]
    InCluster(#[source] kube::config::InClusterError),
    /// The client could not be built from the configuration.
    #[error("API client: {0}")]
    Client(#[source] kube::Error),
    /// The token file could not be read at the start.
    #[error("token file {path}: {source}")]
    TokenFile {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
}

/// Builds the API client: `kubeconfig` if given (its server replaced by
/// `master` if given), else `master` alone (no credentials), else the
/// in-cluster service account (`KUBERNETES_SERVICE_HOST`, token and CA
/// under `/var/run/secrets/kubernetes.io/serviceaccount`). Requests are
/// limited to `qps` per second with bursts of `burst`
/// (`clientConnection.qps` and `burst`; `qps <= 0` means no limit).
pub async fn client(
    kubeconfig: Option<&Path>,
    master: Option<&str>,
    qps: f32,
    burst: i32,
) -> Result<Client, KubeSourceError> {
    let master_uri = match master.filter(|m| !m.is_empty()) {
        Some(url) => Some(
            url.parse::<http::Uri>()
                .map_err(|e| KubeSourceError::Master {
                    url: url.to_owned(),
                    message: e.to_string(),
                })?,
        ),
        None => None,
    };
    let mut config = match (kubeconfig, &master_uri) {
        (Some(path), _) => {
            let kubeconfig_err = |source| KubeSourceError::Kubeconfig {
                path: path.display().to_string(),
                source,
            };
            let file = Kubeconfig::read_from(path).map_err(kubeconfig_err)?;
            Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .map_err(kubeconfig_err)?
        }
        (None, Some(uri)) => Config::new(uri.clone()),
        (None, None) => Config::incluster().map_err(KubeSourceError::InCluster)?,
    };
    if let Some(uri) = master_uri {
        config.cluster_url = uri;
    }
    // A token file (not an inline token, which wins over it) is ours to
    // read: see `token`.
    let token_file =
        match (&config.auth_info.token, config.auth_info.token_file.take()) {
            (None, Some(path)) => Some(token::TokenFile::open(&path).map_err(|source| {
                KubeSourceError::TokenFile {
                    path: path.clone(),
                    source,
                }
            })?),
            _ => None,
        };
    let builder = kube::client::ClientBuilder::try_from(config).map_err(KubeSourceError::Client)?;
    let builder = builder.with_layer(&tower::util::option_layer(
        token_file.map(token::TokenFileLayer),
    ));
    let burst = u64::try_from(burst.max(1)).unwrap_or(1);
    let per = Duration::try_from_secs_f64(burst as f64 / f64::from(qps))
        .ok()
        .filter(|per| qps > 0.0 && !per.is_zero());
    let Some(per) = per else {
        return Ok(builder.build());
    };
    Ok(builder
        .with_layer(&tower::limit::RateLimitLayer::new(burst, per))
        .build())
}

/// The Services watch: [`SERVICE_SELECTOR`], and the field selector
/// `spec.clusterIP!=None` unless the server rejected it.
fn service_config(field_selector: bool) -> watcher::Config {
    let config = watcher::Config::default().labels(SERVICE_SELECTOR);
    if field_selector {
        config.fields("spec.clusterIP!=None")
    } else {
        config
    }
}

/// The three watchers (Services, EndpointSlices, the Node) merged into one
/// stream of events. Each retries by itself with backoff, so the stream
/// never ends; objects that do not decode are skipped with a warning.
pub fn events(client: Client, node_name: &str) -> BoxStream<'static, SourceEvent> {
    let slices = watcher::Config::default().labels(SLICE_SELECTOR);
    let node = watcher::Config::default().fields(&format!("metadata.name={node_name}"));
    stream::select_all([
        service_events(Api::all(client.clone())),
        decoded_events(
            watched(Api::all(client.clone()), slices),
            "EndpointSlices",
            slice_event,
        ),
        decoded_events(watched(Api::all(client), node), "Node", node_event),
    ])
    .boxed()
}

/// A watcher's items: events of objects that may not decode, or errors.
type Items<K> = BoxStream<'static, Result<Event<Decoded<K>>, watcher::Error>>;

/// The items of one watcher of `api`, retrying with kube's default backoff.
fn watched<K>(api: Api<Decoded<K>>, config: watcher::Config) -> Items<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
{
    watcher::watcher(api, config).default_backoff().boxed()
}

/// Services, with the fallback for servers that reject the field selector:
/// once the first list is refused with 400, the same watch without it.
fn service_events(api: Api<Decoded<Service>>) -> BoxStream<'static, SourceEvent> {
    let with_selector = watched(api.clone(), service_config(true))
        .take_while(|item| future::ready(!field_selector_rejected(item)));
    let without = stream::once(async move { watched(api, service_config(false)) }).flatten();
    decoded_events(
        with_selector.chain(without).boxed(),
        "Services",
        service_event,
    )
}

/// Whether ITEM is the 400 of a server that rejects the field selector
/// `spec.clusterIP!=None` (logged).
fn field_selector_rejected<K>(item: &Result<Event<K>, watcher::Error>) -> bool {
    match item {
        Err(watcher::Error::InitialListFailed(kube::Error::Api(status))) if status.code == 400 => {
            warn!(
                "Services: the API server rejected the field selector spec.clusterIP!=None \
                 ({}); watching without it and filtering here",
                status.message
            );
            true
        }
        _ => false,
    }
}

/// A watcher's items as the store's events: errors logged (the watcher
/// recovers by itself, with backoff), objects that do not decode skipped
/// with a warning.
fn decoded_events<K>(
    items: Items<K>,
    kind: &'static str,
    wrap: fn(Event<K>) -> SourceEvent,
) -> BoxStream<'static, SourceEvent>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let mut failures = Failures::default();
    items
        .filter_map(move |item| {
            future::ready(match item {
                Ok(event) => {
                    failures.answered(kind);
                    decoded_only(event).map(wrap)
                }
                Err(err) => {
                    failures.failed(kind, &err);
                    None
                }
            })
        })
        .boxed()
}

/// A watcher's failures since it last got an event: logged one by one,
/// refusals (401, 403) with what they mean, and the first event after them
/// with how long it took.
#[derive(Default)]
struct Failures {
    /// How many since the last event, and when the first was.
    since: Option<(u32, Instant)>,
}

impl Failures {
    fn failed(&mut self, kind: &str, err: &watcher::Error) {
        self.since.get_or_insert_with(|| (0, Instant::now())).0 += 1;
        match refusal(err) {
            Some(status) => warn!(
                "{kind}: the API server refused the request: {} {}: {}; {}. \
                 The kernel keeps its state; retrying with backoff",
                status.code,
                status.reason,
                status.message,
                if status.code == 401 {
                    "the credentials are not accepted (the token file is read again at the next attempt)"
                } else {
                    "the proxier's RBAC is missing (kube-proxy's ClusterRole system:node-proxier bound to its service account)"
                },
            ),
            None => warn!("{kind}: {err}"),
        }
    }

    fn answered(&mut self, kind: &str) {
        if let Some((failures, first)) = self.since.take() {
            info!(
                "{kind}: the API server answers again after {failures} failed attempts ({:.1} s)",
                first.elapsed().as_secs_f64()
            );
        }
    }
}

/// The Status of a 401 or 403 answer, if that is what ERR is.
fn refusal(err: &watcher::Error) -> Option<&kube::core::Status> {
    let status = match err {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => s.as_ref(),
        watcher::Error::WatchError(s) => s.as_ref(),
        _ => return None,
    };
    matches!(status.code, 401 | 403).then_some(status)
}

/// `event` with its object decoded, or `None` (and a warning naming the
/// object) when the object did not decode as `K`: the event is skipped, as
/// client-go's reflector skips an object of an unexpected type. A relist's
/// `Init` and `InitDone` always pass.
pub fn decoded_only<K: Resource<DynamicType = ()>>(event: Event<Decoded<K>>) -> Option<Event<K>> {
    let object = |decoded: Decoded<K>| match decoded {
        Decoded::Object(object) => Some(object),
        Decoded::Bad(bad) => {
            // Without a resourceVersion it was named when read.
            if bad.metadata.resource_version.is_some() {
                warn!("{}", bad.warning(&K::kind(&())));
            }
            None
        }
    };
    Some(match event {
        Event::Apply(decoded) => Event::Apply(object(decoded)?),
        Event::Delete(decoded) => Event::Delete(object(decoded)?),
        Event::InitApply(decoded) => Event::InitApply(object(decoded)?),
        Event::Init => Event::Init,
        Event::InitDone => Event::InitDone,
    })
}

/// A Service watch event as the store takes it: its objects converted
/// on arrival.
pub fn service_event(event: Event<Service>) -> SourceEvent {
    SourceEvent::service(convert(event))
}

/// An EndpointSlice watch event as the store takes it: its objects
/// converted on arrival.
pub fn slice_event(event: Event<EndpointSlice>) -> SourceEvent {
    SourceEvent::slice(convert(event))
}

/// A Node watch event as the store takes it: stripped on arrival.
pub fn node_event(event: Event<Node>) -> SourceEvent {
    SourceEvent::node(event.modify(strip_node))
}

/// An event with its objects in the kept form.
fn convert<K, T: From<K>>(event: Event<K>) -> Event<T> {
    match event {
        Event::Apply(object) => Event::Apply(object.into()),
        Event::Delete(object) => Event::Delete(object.into()),
        Event::Init => Event::Init,
        Event::InitApply(object) => Event::InitApply(object.into()),
        Event::InitDone => Event::InitDone,
    }
}

/// Drops what the planner never reads from a Node (keeps labels,
/// addresses, taints and the deletion timestamp).
pub fn strip_node(node: &mut Node) {
    node.metadata.managed_fields = None;
    node.metadata.annotations = None;
    if let Some(status) = node.status.as_mut() {
        status.images = None;
        status.conditions = None;
        status.volumes_attached = None;
        status.volumes_in_use = None;
        status.node_info = None;
        status.capacity = None;
        status.allocatable = None;
    }
}

/// kube-proxy's "birth cry": a Normal `Starting` event on this Node (with
/// events.k8s.io/v1), plus a note that this proxier replaces the deprecated
/// IPVS mode. Failures are logged, never fatal.
pub async fn birth_cry(client: Client, node_name: String) {
    let node_name = node_name.as_str();
    let reporter = Reporter {
        controller: "kube-proxy".into(),
        instance: Some(node_name.to_owned()),
    };
    let recorder = Recorder::new(client, reporter);
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        kind: Some("Node".into()),
        name: Some(node_name.to_owned()),
        uid: Some(node_name.to_owned()),
        ..Default::default()
    };
    let events = [
        KubeEvent {
            type_: EventType::Normal,
            reason: "Starting".into(),
            note: None,
            action: "StartKubeProxy".into(),
            secondary: None,
        },
        KubeEvent {
            type_: EventType::Normal,
            reason: "IPVSSuccessor".into(),
            note: Some(format!(
                "kube-ipvs-proxier {} serves IPVS mode (deprecated in kube-proxy since 1.35) with the same ipsets, chains and metrics",
                env!("CARGO_PKG_VERSION")
            )),
            action: "StartKubeProxy".into(),
            secondary: None,
        },
    ];
    for event in &events {
        if let Err(err) = recorder.publish(event, &reference).await {
            warn!("cannot post the {} event: {err}", event.reason);
            return;
        }
    }
    info!(node = node_name, "posted the Starting event");
}

#[cfg(test)]
mod tests;
pub mod token;
