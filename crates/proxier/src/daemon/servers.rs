//! The tasks beside the loop: the healthz and metrics servers
//! (`bindAddressHardFail` makes a bind failure end the daemon) and the
//! `--config` watch (a change ends it, as kube-proxy exits). Each tells
//! the loop through its [`Input`] channel.

use tokio::{sync::mpsc, task::JoinHandle};

use super::{Input, config_watch};
use crate::{
    config::Settings,
    serve::{Metrics, ProxyHealth, serve_healthz, serve_metrics},
};

/// Spawns the `--config` watch (`watch`, if a file was given) and the
/// healthz and metrics servers `settings` asks for, serving `health` and
/// `metrics`; a server that fails for good, or the file's change, is sent
/// to `tx`. Returns their handles, for the caller to abort when the loop
/// ends.
pub(super) fn spawn(
    settings: &Settings,
    watch: Option<config_watch::ConfigWatch>,
    health: &ProxyHealth,
    metrics: &Metrics,
    tx: &mpsc::Sender<Input>,
) -> Vec<JoinHandle<()>> {
    let mut servers = Vec::new();
    if let Some(watch) = watch {
        let tx = tx.clone();
        servers.push(tokio::spawn(async move {
            let changed = watch.changed(config_watch::PERIOD).await;
            let _ = tx.send(Input::ConfigChanged(changed)).await;
        }));
    }
    if let Some(addr) = settings.healthz_bind_address {
        let (tx, health, metrics) = (tx.clone(), health.clone(), metrics.clone());
        let hard_fail = settings.bind_address_hard_fail;
        servers.push(tokio::spawn(async move {
            if let Err(err) = serve_healthz(addr, health, metrics, hard_fail).await {
                let _ = tx.send(Input::Fatal(err)).await;
            }
        }));
    }
    if let Some(addr) = settings.metrics_bind_address {
        let (tx, metrics) = (tx.clone(), metrics.clone());
        let (configz, hard_fail) = (settings.configz.clone(), settings.bind_address_hard_fail);
        servers.push(tokio::spawn(async move {
            if let Err(err) = serve_metrics(addr, metrics, configz, hard_fail).await {
                let _ = tx.send(Input::Fatal(err)).await;
            }
        }));
    }
    servers
}
