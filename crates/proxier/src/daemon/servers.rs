//! The tasks beside the loop: the healthz and metrics servers
//! (`bindAddressHardFail` makes a bind failure end the daemon) and the
//! `--config` watch (a change ends it, as kube-proxy exits). Their ends
//! reach the loop as one stream of [`Input`]s, merged with the source's.

use futures::{
    FutureExt, StreamExt,
    stream::{self, BoxStream},
};
use tokio::task::AbortHandle;

use super::{Input, config_watch};
use crate::{
    config::Settings,
    serve::{Metrics, ProxyHealth, serve_healthz, serve_metrics},
};

/// Spawns the healthz and metrics servers `settings` asks for, serving
/// `health` and `metrics`. Returns their abort handles, for the caller
/// when the loop ends, and the stream of what ends the daemon: a server
/// that fails for good, or the `--config` file's change (`watch`, if a
/// file was given).
pub(super) fn spawn(
    settings: &Settings,
    watch: Option<config_watch::ConfigWatch>,
    health: &ProxyHealth,
    metrics: &Metrics,
) -> (Vec<AbortHandle>, BoxStream<'static, Input>) {
    let mut servers = Vec::new();
    let mut ends: Vec<BoxStream<'static, Input>> = Vec::new();
    if let Some(watch) = watch {
        ends.push(
            watch
                .changed(config_watch::PERIOD)
                .map(Input::ConfigChanged)
                .into_stream()
                .boxed(),
        );
    }
    let hard_fail = settings.bind_address_hard_fail;
    if let Some(addr) = settings.healthz_bind_address {
        let (health, metrics) = (health.clone(), metrics.clone());
        let task = tokio::spawn(serve_healthz(addr, health, metrics, hard_fail));
        servers.push(task.abort_handle());
        ends.push(failure(task));
    }
    if let Some(addr) = settings.metrics_bind_address {
        let (metrics, configz) = (metrics.clone(), settings.configz.clone());
        let task = tokio::spawn(serve_metrics(addr, metrics, configz, hard_fail));
        servers.push(task.abort_handle());
        ends.push(failure(task));
    }
    (servers, stream::select_all(ends).boxed())
}

/// A server's task as a stream: its error, if it ends with one.
fn failure(
    task: tokio::task::JoinHandle<Result<(), crate::serve::ServeError>>,
) -> BoxStream<'static, Input> {
    task.into_stream()
        .filter_map(|ended| async move {
            match ended {
                Ok(Err(err)) => Some(Input::Fatal(err)),
                _ => None,
            }
        })
        .boxed()
}
