//! The loop's sources: the manifests, polled (file names, sizes and
//! modification times), or the API server, watched
//! ([`crate::source::kube`]). Both send what they see to the loop as
//! [`Input`]s.

use std::{path::PathBuf, time::Duration};

use tokio::{sync::mpsc, task::JoinHandle};
use tracing::{info, warn};

use super::{DaemonError, Input};
use crate::{
    config::Settings,
    source::{manifests, store::NodeExit},
};

/// Spawns the source `settings` names (`--manifests`, else the API
/// server, with kube-proxy's start-up event for the Node), sending to
/// `tx`. Returns the tasks' handles; fails if the API client cannot be
/// built.
pub(super) async fn spawn(
    settings: &Settings,
    tx: mpsc::Sender<Input>,
) -> Result<Vec<JoinHandle<()>>, DaemonError> {
    match &settings.manifests {
        Some(path) => {
            info!(node = %settings.node_name, manifests = %path.display(), "started; kernel state adopted");
            Ok(vec![tokio::spawn(poll_manifests(
                path.clone(),
                settings.poll_period,
                tx,
            ))])
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
            let (events_tx, mut events_rx) = mpsc::channel(1024);
            let mut tasks = crate::source::kube::spawn(client, &settings.node_name, events_tx);
            tasks.push(tokio::spawn(async move {
                while let Some(event) = events_rx.recv().await {
                    if tx.send(Input::Event(Box::new(event))).await.is_err() {
                        return;
                    }
                }
            }));
            Ok(tasks)
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

/// Polls the manifests and sends the first readable view as a snapshot,
/// then what changed as deltas (O(the files that changed)). Only the files that changed are read again, off the
/// loop's thread; a path that cannot be read, or a first read where no
/// file can be, is logged and keeps the kernel as it is (see
/// [`manifests`] for what a file that got worse keeps).
async fn poll_manifests(path: PathBuf, period: Duration, tx: mpsc::Sender<Input>) {
    let shown = path.display().to_string();
    let mut source = manifests::ManifestsSource::new(path);
    let mut sent = false;
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let polled;
        (source, polled) = match tokio::task::spawn_blocking(move || {
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
                return;
            }
        };
        let input = match polled {
            Ok(None) => None,
            Ok(Some(Polled::View(poll))) if poll.nothing_readable() => {
                for warning in &poll.warnings {
                    warn!("{warning}");
                }
                warn!("manifests: no file of {shown} can be read; keeping the kernel as it is");
                None
            }
            Ok(Some(Polled::View(poll))) => {
                sent = true;
                Some(Input::Snapshot(poll.snapshot, poll.warnings))
            }
            Ok(Some(Polled::Delta(poll))) => Some(Input::Delta(poll.delta, poll.warnings)),
            Err(err) => {
                warn!("manifests: cannot read {shown}: {err}; keeping the kernel as it is");
                None
            }
        };
        if let Some(input) = input
            && tx.send(input).await.is_err()
        {
            return;
        }
    }
}

/// What one poll of the manifests gave.
enum Polled {
    /// The whole view (until one was sent).
    View(manifests::Poll),
    /// What changed since (after).
    Delta(manifests::DeltaPoll),
}
