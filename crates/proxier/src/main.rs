//! `kube-ipvs-proxier`: kube-proxy `--proxy-mode=ipvs` on raw netlink.
//!
//! The command line is kube-proxy's ([`kube_ipvs_proxier::config::cli`]): with
//! no subcommand, or `run`, it programs the node's kernel from the API
//! server (or from `--manifests PATH`) and keeps it in sync until SIGTERM
//! ([`kube_ipvs_proxier::daemon`]); `--init-only` sets the node up (IPVS
//! checks, sysctls, IPVS timeouts) and exits; `--cleanup` removes what it owns
//! ([`kube_ipvs_proxier::cleanup`]); `plan` prints what a node's kernel would
//! hold, with no root and no kernel access. Warnings go to stderr; the exit
//! status is 1 on an unusable configuration, unreadable manifests, a failed
//! cleanup or initialization (a sysctl that cannot be set), or when the
//! daemon must restart (Node deleted or readdressed, config file changed).

use std::{io::IsTerminal, path::Path, process::ExitCode};

use clap::Parser;
use kube_ipvs_proxier::{
    catalogue::owned::ExcludeCidrs,
    cleanup::{CleanupOptions, CleanupReport, cleanup},
    config::{
        ConfigError, Settings,
        cli::{Cli, Invocation},
    },
    daemon::{self, DaemonError},
    model::{AddressSources, NodeContext},
    plan::{plan, print},
    source::{SourceError, manifests},
};

/// Why the binary exits with status 1.
#[derive(Debug, thiserror::Error)]
enum MainError {
    /// An unusable command line or configuration file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `plan`: unreadable manifests.
    #[error(transparent)]
    Manifests(#[from] SourceError),
    /// The daemon or `--init-only` stopped with an error.
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    /// `--cleanup` could not remove everything.
    #[error("encountered an error while tearing down rules: {0}")]
    Cleanup(Box<CleanupReport>),
    /// The tokio runtime could not be built.
    #[error("tokio runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

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
        .map_err(MainError::from)
        .and_then(|invocation| match invocation {
            Invocation::Plan {
                settings,
                manifests,
            } => run_plan(&settings, &manifests),
            Invocation::Run(settings) => block_on(async move {
                // Before any listener: the connection budget is a share of it.
                kube_ipvs_proxier::serve::limits::raise_nofile_limit();
                daemon::run(settings, shutdown()).await?;
                Ok(())
            }),
            Invocation::Cleanup(settings) => block_on(run_cleanup(settings)),
            Invocation::InitOnly(settings) => block_on(async move {
                daemon::init_only(&settings).await?;
                Ok(())
            }),
            Invocation::Exit => Ok(()),
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
    }
}

fn block_on(future: impl Future<Output = Result<(), MainError>>) -> Result<(), MainError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(MainError::Runtime)?;
    let result = runtime.block_on(future);
    // Dropping the runtime would wait for a manifests read in progress
    // (minutes for a large directory under emulation): exit without it.
    runtime.shutdown_background();
    result
}

fn run_plan(settings: &Settings, path: &Path) -> Result<(), MainError> {
    let (snapshot, mut warnings) = manifests::load(path)?;
    let node_object = snapshot
        .nodes
        .iter()
        .find(|n| n.metadata.name.as_deref() == Some(settings.node_name.as_str()))
        .map(AsRef::as_ref);
    let node = NodeContext::resolve(
        &settings.node_name,
        node_object,
        AddressSources {
            bind_address: settings.bind_address,
            node_ips: &settings.node_ips,
            kernel: None,
        },
    );
    let (kernel_plan, found) = plan(&snapshot, &node, &settings.proxy);
    warnings.extend(found);
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    print!("{}", print::render(&kernel_plan));
    Ok(())
}

async fn run_cleanup(settings: Settings) -> Result<(), MainError> {
    let report = cleanup(&CleanupOptions {
        exclude_cidrs: ExcludeCidrs::new(settings.proxy.exclude_cidrs.iter().copied()),
        ..CleanupOptions::default()
    })
    .await;
    if report.is_ok() {
        tracing::info!("{report}");
        Ok(())
    } else {
        Err(MainError::Cleanup(Box::new(report)))
    }
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
