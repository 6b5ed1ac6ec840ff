//! The fuzz targets' checks, shared by the libFuzzer targets
//! (`fuzz_targets/`) and the stable runner (`tests/fuzz.rs`).
//!
//! Each target uses one of them.
#![allow(dead_code)]

use kube_ipvs_proxier::{
    config::ProxyConfig,
    config::{
        file,
        resolve::{self, Origin, Overrides},
    },
    model::NodeContext,
    plan,
    source::manifests,
};

/// No control character in a line meant for the log (a forged line).
fn printable(line: &str) {
    assert!(!line.chars().any(char::is_control), "{line:?}");
}

/// Feeds text to the manifest parser (`manifests::parse`), then plans what
/// it read for a node (`plan::plan`, which builds the model); nothing may
/// panic, and no warning of either may print a control character.
pub fn parse_manifests(data: &[u8]) {
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
        printable(&warning.to_string());
    }
}

/// Feeds text to the KubeProxyConfiguration decoder
/// (`config::file::decode`) and what decodes to the defaults and
/// validation (`config::resolve::resolve`); no error or warning may print
/// a control character.
pub fn parse_config(data: &[u8]) {
    // Configuration files are read as UTF-8 only.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match file::decode(text, "fuzz.yaml") {
        Err(err) => printable(&err.to_string()),
        Ok((mut config, mut warnings)) => {
            let origin = Origin::File("fuzz.yaml".to_owned());
            // A node name given, so that nothing is read from the system.
            let overrides = Overrides {
                hostname_override: Some("node-1".to_owned()),
                ..Overrides::default()
            };
            if let Err(err) = resolve::resolve(&mut config, &origin, overrides, &mut warnings) {
                printable(&err.to_string());
            }
            for warning in &warnings {
                printable(warning);
            }
        }
    }
}
