//! `kube-ipvs-proxier`: kube-proxy `--proxy-mode=ipvs` on raw netlink.
//!
//! The command line is kube-proxy's ([`ipvs_proxier::config::cli`]): with
//! no subcommand, or `run`, it programs the node's kernel and keeps it in
//! sync until SIGTERM ([`ipvs_proxier::daemon`]); `plan` prints what a
//! node's kernel would hold, with no root and no kernel access. Warnings go
//! to stderr; the exit status is 1 on an unusable configuration or
//! unreadable manifests.

use std::{io::IsTerminal, path::Path, process::ExitCode};

use clap::Parser;
use ipvs_proxier::{
    config::{
        Settings,
        cli::{Cli, Invocation},
    },
    daemon::{self, DaemonOptions},
    model::NodeContext,
    plan::{IpFamily, plan, print},
    source::manifests,
};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let result = Cli::parse()
        .resolve()
        .map_err(|e| e.to_string())
        .and_then(|invocation| match invocation {
            Invocation::Plan {
                settings,
                manifests,
            } => run_plan(&settings, &manifests),
            Invocation::Run(settings) => run_daemon(settings),
            Invocation::Cleanup(_) => {
                Err("--cleanup is not available in this build yet".to_owned())
            }
            Invocation::Exit => Ok(()),
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn run_plan(settings: &Settings, path: &Path) -> Result<(), String> {
    let (snapshot, mut warnings) = manifests::load(path).map_err(|e| e.to_string())?;
    let mut node = NodeContext::new(settings.node_name.clone());
    node.node_ips = settings.node_ips.clone();
    for family in IpFamily::ALL {
        if let Some(ip) = settings
            .node_ips
            .iter()
            .find(|ip| IpFamily::of(**ip) == family)
        {
            node.primary_ips.push(*ip);
        }
    }
    node.complete_from(&snapshot.nodes);
    let (kernel_plan, found) = plan(&snapshot, &node, &settings.proxy);
    warnings.extend(found);
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    print!("{}", print::render(&kernel_plan));
    Ok(())
}

fn run_daemon(settings: Settings) -> Result<(), String> {
    let manifests = settings.manifests.clone().ok_or_else(|| {
        "the API-server source is not available in this build yet: give --manifests PATH".to_owned()
    })?;
    let options = DaemonOptions {
        manifests,
        config: settings.proxy,
        node_name: settings.node_name,
        node_ips: settings.node_ips,
        sync_period: settings.sync_period,
        min_sync_period: settings.min_sync_period,
        graceful_period: settings.graceful_period,
        poll_period: settings.poll_period,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    runtime
        .block_on(daemon::run(options))
        .map_err(|e| e.to_string())
}
