//! The node under the daemon: kube-proxy's privileged set-up
//! (`--init-only`, the reconciler's options: sysctls, scheduler, IPVS
//! timeouts), `oomScoreAdj`, and the node context each sync resolves.

use std::net::IpAddr;

use ipvs_netlink::Timeouts;
use k8s_openapi::api::core::v1::Node;
use tracing::{info, warn};

use super::DaemonError;
use crate::{
    catalogue::owned::ExcludeCidrs,
    config::{ProxyConfig, Settings},
    kernel::{NodeAddresses, sysctl},
    model::{AddressSources, NodeContext},
    reconcile::{Reconciler, ReconcilerOptions, StartError},
};

/// `--init-only`: kube-proxy's privileged initialization in IPVS mode
/// (`CanUseIPVSProxier`, then `NewProxier` up to its `initOnly` return):
/// IPVS and ipset usable, the scheduler probed, the sysctls set (each
/// failure fatal), the IPVS timeouts set; nothing else is touched.
pub async fn init_only(settings: &Settings) -> Result<(), DaemonError> {
    Reconciler::init_node(&reconciler_options(&settings.proxy))
        .await
        .map_err(|err| match err {
            StartError::Ipvs(err) => DaemonError::Ipvs(err),
            StartError::Ipset(err) => DaemonError::Ipset(err),
            err => err.into(),
        })?;
    info!("system initialized and --init-only given; exiting");
    Ok(())
}

/// What the reconciler is started with: kube-proxy's sysctls, the
/// scheduler to probe, the IPVS timeouts, the binding mode and the
/// excluded CIDRs.
pub(super) fn reconciler_options(config: &ProxyConfig) -> ReconcilerOptions {
    ReconcilerOptions {
        bind_mode: config.bind_mode,
        exclude_cidrs: ExcludeCidrs::new(config.exclude_cidrs.iter().copied()),
        scheduler: Some(config.scheduler.clone()),
        timeouts: Timeouts::new(
            config.tcp_timeout,
            config.tcp_fin_timeout,
            config.udp_timeout,
        ),
        sysctls: sysctl::kube_proxy(config.strict_arp, sysctl::kernel_version()),
        ..ReconcilerOptions::default()
    }
}

/// The node context of the Node `name` (`node`, its object if known)
/// from `sources`, with the local addresses of every interface but
/// `except` (`kube-ipvs0`) from `addresses` when there are (no
/// `--node-ip`); if they cannot be read, a warning, and the context goes
/// without them.
pub(super) async fn node_context(
    name: &str,
    node: Option<&Node>,
    sources: AddressSources<'_>,
    addresses: Option<&mut impl NodeAddresses>,
    except: u32,
) -> NodeContext {
    let kernel: Option<Vec<IpAddr>> = match addresses {
        Some(addresses) => match addresses.local_addresses(except).await {
            Ok(ips) => Some(ips.into_iter().collect()),
            Err(err) => {
                warn!("node addresses: {err}");
                None
            }
        },
        None => None,
    };
    let sources = AddressSources {
        kernel: kernel.as_deref(),
        ..sources
    };
    NodeContext::resolve(name, node, sources)
}

/// `oomScoreAdj`: written to `/proc/self/oom_score_adj`; failures logged.
pub(super) fn apply_oom_score_adj(value: Option<i32>) {
    if let Some(value) = value
        && let Err(err) = std::fs::write("/proc/self/oom_score_adj", value.to_string())
    {
        warn!("cannot set oom_score_adj to {value}: {err}");
    }
}
