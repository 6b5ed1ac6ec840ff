//! Timing one `manifests::load` (bench/manifests.sh).
//!
//! `manifests-bench PATH`: loads PATH once and prints
//! `RESULT load SECONDS services=N slices=N nodes=N warnings=N hwm_kib=N`,
//! where `hwm_kib` is the process's peak resident set (VmHWM) after the
//! load. Only the public `manifests::load` is used, so the same file
//! builds against older revisions for a side-by-side run.

use std::{path::Path, process::ExitCode, time::Instant};

use kube_ipvs_proxier::source::manifests;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: manifests-bench PATH");
        return ExitCode::from(2);
    };
    let start = Instant::now();
    let (snapshot, warnings) = match manifests::load(Path::new(&path)) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("manifests-bench: {err}");
            return ExitCode::FAILURE;
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    let hwm = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    println!(
        "RESULT load {seconds:.3} services={} slices={} nodes={} warnings={} hwm_kib={hwm}",
        snapshot.services.len(),
        snapshot.endpoint_slices.len(),
        snapshot.nodes.len(),
        warnings.len()
    );
    ExitCode::SUCCESS
}
