//! Feeds arbitrary text to the manifest parser (`manifests::parse`), then
//! plans what it read for a node (`plan::plan`, which builds the model),
//! and checks that nothing panics and that no warning of either prints a
//! control character (a forged log line).
//!
//! Run with `cargo +nightly fuzz run parse_manifests` from `crates/kube-ipvs-proxier`
//! (a bounded run: `crates/kube-ipvs-proxier/fuzz/run.sh`).

#![no_main]

use kube_ipvs_proxier::{config::ProxyConfig, model::NodeContext, plan, source::manifests};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Manifest files are read as UTF-8 only; anything else is refused
    // before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (snapshot, mut warnings) = manifests::parse(text, "fuzz.yaml");
    // A node whose address the corpus uses as an external IP (port 22).
    let mut node = NodeContext::new("node-1");
    node.node_ips = vec!["192.168.1.10".parse().unwrap()];
    node.primary_ips = node.node_ips.clone();
    let (_plan, planned) = plan::plan(&snapshot, &node, &ProxyConfig::default());
    warnings.extend(planned);
    for warning in &warnings {
        let line = warning.to_string();
        assert!(!line.chars().any(char::is_control), "{line:?}");
    }
});
