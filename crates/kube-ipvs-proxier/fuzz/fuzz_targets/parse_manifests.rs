//! Feeds arbitrary text to the manifest parser (`manifests::parse`) and
//! checks that no warning it returns prints a control character (a forged
//! log line).
//!
//! Run with `cargo +nightly fuzz run parse_manifests` from `crates/kube-ipvs-proxier`
//! (a bounded run: `crates/kube-ipvs-proxier/fuzz/run.sh`).

#![no_main]

use kube_ipvs_proxier::source::manifests;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Manifest files are read as UTF-8 only; anything else is refused
    // before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (_snapshot, warnings) = manifests::parse(text, "fuzz.yaml");
    for warning in &warnings {
        let line = warning.to_string();
        assert!(!line.chars().any(char::is_control), "{line:?}");
    }
});
