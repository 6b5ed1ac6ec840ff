//! `kube-ipvs-proxier`: kube-proxy `--proxy-mode=ipvs` on raw netlink.
//!
//! `plan` prints what a node's kernel would hold, with no root and no
//! kernel access. Warnings about the input go to stderr; the exit status is
//! 0 even with warnings, 1 on unusable flags or unreadable manifests.
//!
//! `run` programs the node's kernel from the manifests and keeps it in
//! sync until SIGTERM ([`ipvs_proxier::daemon`]).

mod cli;

use std::{io::IsTerminal, process::ExitCode};

use clap::Parser;
use ipvs_proxier::{
    config::Settings,
    daemon,
    model::{AddressSources, NodeContext},
    plan::{plan, print},
    source::manifests,
};

use cli::{Cli, Command, PlanArgs, RunArgs};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Plan(args) => run_plan(&args),
        Command::Run(args) => run_daemon(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// The node name: `--hostname-override`, else the host name.
fn node_name(args: &PlanArgs) -> String {
    args.proxy
        .hostname_override
        .clone()
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_default()
        .to_lowercase()
}

fn run_plan(args: &PlanArgs) -> Result<(), String> {
    let config = args.proxy.config().map_err(|e| e.to_string())?;
    let (snapshot, mut warnings) = manifests::load(&args.manifests).map_err(|e| e.to_string())?;
    let name = node_name(args);
    let node_object = snapshot
        .nodes
        .iter()
        .find(|n| n.metadata.name.as_deref() == Some(name.as_str()));
    let node = NodeContext::resolve(
        &name,
        node_object,
        AddressSources {
            bind_address: None,
            node_ips: &args.node_ip,
            kernel: None,
        },
    );
    let (kernel_plan, found) = plan(&snapshot, &node, &config);
    warnings.extend(found);
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    print!("{}", print::render(&kernel_plan));
    Ok(())
}

fn run_daemon(args: &RunArgs) -> Result<(), String> {
    let settings = Settings {
        proxy: args.plan.proxy.config().map_err(|e| e.to_string())?,
        node_name: node_name(&args.plan),
        kubeconfig: None,
        master: None,
        qps: 5.0,
        burst: 10,
        bind_address: None,
        healthz_bind_address: None,
        metrics_bind_address: None,
        bind_address_hard_fail: false,
        sync_period: args.ipvs_sync_period,
        min_sync_period: args.ipvs_min_sync_period,
        config_sync_period: std::time::Duration::from_secs(900),
        oom_score_adj: None,
        manifests: Some(args.plan.manifests.clone()),
        node_ips: args.plan.node_ip.clone(),
        graceful_period: args.graceful_check_period,
        poll_period: args.manifests_poll_period,
        configz: serde_json::Value::Null,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    runtime
        .block_on(daemon::run(settings, shutdown()))
        .map_err(|e| e.to_string())
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        (Err(err), _) | (_, Err(err)) => {
            tracing::error!("cannot install signal handlers: {err}");
            std::future::pending::<()>().await
        }
    }
}
