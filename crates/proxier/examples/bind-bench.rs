//! Binding many VIPs with [`LinkWriter`], in either mode (bench/proxier.sh).
//!
//! `bind-bench MODE COUNT [INTERFACE]`: creates the dummy interface
//! (default `kube-ipvs0`), binds COUNT VIPs `10.96.x.y` in MODE (`address`
//! or `route`) with one `LinkWriter::bind` call and prints
//! `RESULT bind MODE COUNT SECONDS errors=N`, then checks with one dump
//! that every VIP is bound (`CHECK bind MODE bound=N`). Needs root and a
//! kernel with dummy links (the test VM).

use std::{net::IpAddr, process::ExitCode, time::Instant};

use kube_ipvs_proxier::{kernel::LinkWriter, types::BindMode};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, count) = match (args.first().map(String::as_str), args.get(1)) {
        (Some("address"), Some(n)) => (BindMode::Address, n),
        (Some("route"), Some(n)) => (BindMode::Route, n),
        _ => {
            eprintln!("usage: bind-bench address|route COUNT [INTERFACE]");
            return ExitCode::from(2);
        }
    };
    let Ok(count) = count.parse::<u32>() else {
        eprintln!("bind-bench: COUNT must be a number");
        return ExitCode::from(2);
    };
    if count > 65_000 {
        eprintln!("bind-bench: at most 65000 VIPs (10.96.0.0/16)");
        return ExitCode::from(2);
    }
    let interface = args.get(2).map_or("kube-ipvs0", String::as_str);
    let mut writer = match LinkWriter::connect(interface).await {
        Ok(writer) => writer,
        Err(err) => {
            eprintln!("bind-bench: {err}");
            return ExitCode::FAILURE;
        }
    };
    let vips: Vec<IpAddr> = (0..count)
        .map(|i| {
            let k = i + 10;
            IpAddr::from([10, 96, (k >> 8) as u8, (k & 255) as u8])
        })
        .collect();
    let mode_name = match mode {
        BindMode::Address => "address",
        BindMode::Route => "route",
    };

    let started = Instant::now();
    let results = writer.bind(mode, &vips).await;
    let elapsed = started.elapsed();
    let errors = results.iter().filter(|r| r.is_err()).count();
    if let Some(Err(err)) = results.iter().find(|r| r.is_err()) {
        eprintln!("bind-bench: first error: {err}");
    }
    println!(
        "RESULT bind {mode_name} {count} {:.3} errors={errors}",
        elapsed.as_secs_f64()
    );

    let bound = match writer.bindings().await {
        Ok(bindings) => bindings.in_mode(mode).len(),
        Err(err) => {
            eprintln!("bind-bench: dump: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("CHECK bind {mode_name} bound={bound}");
    if errors == 0 && bound == vips.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
