//! Tests of the configuration file, the command line and their
//! resolution, against kube-proxy's behaviour and kubeadm's file.

mod decode;
mod flags;
mod proxy_config;
mod validate;

use std::path::PathBuf;

use clap::Parser;

use super::{
    ConfigError, Settings,
    cli::{Cli, Invocation},
};

/// kubeadm's config.conf (examples/kubeadm/config.conf).
const KUBEADM: &str = include_str!("../../../../../examples/kubeadm/config.conf");

/// The path of the kubeadm example.
fn kubeadm_path() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/kubeadm/config.conf"
    )
    .to_owned()
}

/// Parses a command line (without the program name).
fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("kube-ipvs-proxier").chain(args.iter().copied()))
}

/// Parses and resolves a command line.
fn invoke(args: &[&str]) -> Result<(Invocation, Vec<String>), ConfigError> {
    parse(args)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
        .resolve_with_warnings()
}

/// Resolves a command line that must mean `run`.
fn run(args: &[&str]) -> Result<(Settings, Vec<String>), ConfigError> {
    match invoke(args)? {
        (Invocation::Run(settings), warnings) => Ok((settings, warnings)),
        (other, _) => panic!("{args:?}: not a run: {other:?}"),
    }
}

/// A file in a directory of its own for the calling test.
fn temp_file(test: &str, name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kube-ipvs-config-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `apiVersion` and `kind`, then `body`.
fn config_text(body: &str) -> String {
    format!(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\n{body}"
    )
}

/// Runs `--config FILE --hostname-override node-1 ARGS` on a file holding
/// `config_text(body)`.
fn run_file(test: &str, body: &str, args: &[&str]) -> Result<(Settings, Vec<String>), ConfigError> {
    let path = temp_file(test, "config.conf", &config_text(body));
    let config = format!("--config={}", path.display());
    let mut all = vec![config.as_str(), "--hostname-override=node-1"];
    all.extend_from_slice(args);
    run(&all)
}
