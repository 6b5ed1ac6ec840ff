//! The loop's sources as one stream of [`Input`]s: the manifests, polled
//! (file names, sizes and modification times), or the API server's three
//! watchers ([`crate::source::kube::events`]), merged with the servers'
//! ends ([`super::servers`]) and driven by one task ([`pump`]) into the
//! loop's channel.
//!
//! The pump is a task of its own so that the watchers go on reading and
//! decoding while a sync runs (a watcher the API server finds too slow is
//! closed and must relist); the loop takes what queued when the sync ends.

use std::{path::PathBuf, time::Duration};

use futures::{
    StreamExt, future,
    stream::{self, BoxStream},
};
use tokio::{sync::mpsc, time::Interval};
use tracing::{info, warn};

use super::{DaemonError, Input};
use crate::{
    config::Settings,
    source::{manifests, store::NodeExit},
};

/// The source `settings` names as a stream: `--manifests`, else the API
/// server (with kube-proxy's start-up event for the Node, sent on a task
/// of its own). Fails if the API client cannot be built.
pub(super) async fn open(settings: &Settings) -> Result<BoxStream<'static, Input>, DaemonError> {
    match &settings.manifests {
        Some(path) => {
            info!(node = %settings.node_name, manifests = %path.display(), "started; kernel state adopted");
            Ok(manifests_inputs(path.clone(), settings.poll_period))
        }
        None => {
            let client = crate::source::kube::client(
                settings.kubeconfig.as_deref(),
                settings.master.as_deref(),
                settings.qps,
                settings.burst,
            )
            .await?;
            info!(node = %settings.node_name, "started; kernel state adopted; watching the API server");
            tokio::spawn(crate::source::kube::birth_cry(
                client.clone(),
                settings.node_name.clone(),
            ));
            Ok(crate::source::kube::events(client, &settings.node_name)
                .map(|event| Input::Event(Box::new(event)))
                .boxed())
        }
    }
}

/// Sends every input of `inputs` (the source and the servers' ends,
/// merged) to `tx` until the loop drops its receiver or every stream ends.
pub(super) async fn pump(inputs: Vec<BoxStream<'static, Input>>, tx: mpsc::Sender<Input>) {
    let mut inputs = stream::select_all(inputs);
    while let Some(input) = inputs.next().await {
        if tx.send(input).await.is_err() {
            return;
        }
    }
}

/// Manifests name no API object whose deletion must restart the proxier:
/// a Node that left them is a warning, and the proxier goes on.
pub(super) fn manifests_node(result: Result<(), NodeExit>) -> Result<(), NodeExit> {
    match result {
        Err(NodeExit::Deleted(name)) => {
            warn!(node = %name, "the Node left the manifests");
            Ok(())
        }
        other => other,
    }
}

/// The manifests polled every `period`: the first readable view as a
/// snapshot, then what changed as deltas (O(the files that changed)).
/// Only the files that changed are read again, off the loop's thread; a
/// path that cannot be read, or a first read where no file can be, is
/// logged and keeps the kernel as it is (see [`manifests`] for what a
/// file that got worse keeps). Ends only if the reader fails for good.
fn manifests_inputs(path: PathBuf, period: Duration) -> BoxStream<'static, Input> {
    let poller = Poller {
        shown: path.display().to_string(),
        source: Some(manifests::ManifestsSource::new(path)),
        sent: false,
        tick: tokio::time::interval(period),
    };
    stream::unfold(poller, |mut poller| async move {
        let input = poller.next().await?;
        Some((input, poller))
    })
    .filter_map(future::ready)
    .boxed()
}

/// The manifests' reader between polls.
struct Poller {
    /// The path, for messages.
    shown: String,
    /// The reader (`None` only while a poll runs, or after it failed).
    source: Option<manifests::ManifestsSource>,
    /// Whether a view was sent (then deltas follow).
    sent: bool,
    tick: Interval,
}

impl Poller {
    /// Waits for the next tick and polls: the input to send, if any, or
    /// `None` when the reader failed for good.
    async fn next(&mut self) -> Option<Option<Input>> {
        self.tick.tick().await;
        let mut source = self.source.take()?;
        let sent = self.sent;
        let (source, polled) = match tokio::task::spawn_blocking(move || {
            let polled = if sent {
                source.poll_delta().map(|p| p.map(Polled::Delta))
            } else {
                source.poll().map(|p| p.map(Polled::View))
            };
            (source, polled)
        })
        .await
        {
            Ok(done) => done,
            Err(err) => {
                warn!("manifests: the reader failed: {err}");
                return None;
            }
        };
        self.source = Some(source);
        let shown = &self.shown;
        Some(match polled {
            Ok(None) => None,
            Ok(Some(Polled::View(poll))) if poll.nothing_readable() => {
                for warning in &poll.warnings {
                    warn!("{warning}");
                }
                warn!("manifests: no file of {shown} can be read; keeping the kernel as it is");
                None
            }
            Ok(Some(Polled::View(poll))) => {
                self.sent = true;
                Some(Input::Snapshot(poll.snapshot, poll.warnings))
            }
            Ok(Some(Polled::Delta(poll))) => Some(Input::Delta(poll.delta, poll.warnings)),
            Err(err) => {
                warn!("manifests: cannot read {shown}: {err}; keeping the kernel as it is");
                None
            }
        })
    }
}

/// What one poll of the manifests gave.
enum Polled {
    /// The whole view (until one was sent).
    View(manifests::Poll),
    /// What changed since (after).
    Delta(manifests::DeltaPoll),
}
