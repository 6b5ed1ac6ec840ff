//! Side-by-side benchmark: this library against the `ipset` binary.
//! Run as root in a fresh network namespace: `bench/ipset.sh`.

use std::fmt::Write as _;
use std::{
    io::Write,
    net::Ipv4Addr,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use ipset_netlink::{CreateOptions, Entry, IpsetHandle, Protocol, SetType};

const FILL: usize = 100_000;
const DELTA: usize = 1_000;
const RUNS: usize = 3;

fn entries(start: usize, n: usize) -> Vec<Entry> {
    (start..start + n)
        .map(|i| Entry::IpPort {
            ip: Ipv4Addr::from(0x0a00_0000 + i as u32).into(),
            proto: if i % 2 == 0 {
                Protocol::Tcp
            } else {
                Protocol::Udp
            },
            port: 1024 + (i % 60_000) as u16,
        })
        .collect()
}

/// Runs `ipset` with `input` on stdin, discarding its output.
fn ipset(args: &[&str], input: &str) -> Duration {
    let start = Instant::now();
    let mut child = Command::new("ipset")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("run ipset");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    assert!(
        child.wait().expect("wait").success(),
        "ipset {args:?} failed"
    );
    start.elapsed()
}

fn restore_text(name: &str, create: bool, es: &[Entry]) -> String {
    let mut text = String::new();
    if create {
        text.push_str(&format!(
            "create {name} hash:ip,port family inet hashsize 1024 maxelem 1048576\n"
        ));
    }
    for e in es {
        text.push_str(&format!("add {name} {e}\n"));
    }
    text
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn machine() -> String {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|r| r.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("nproc {nproc}, {cpu}, kernel {}", kernel.trim())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let h = IpsetHandle::connect().await?;
    let fill = entries(0, FILL);
    let delta = entries(FILL, DELTA);
    let opts = CreateOptions::default().hashsize(1024).maxelem(1 << 20);
    let (mut lib_fill, mut lib_delta, mut lib_list) = (vec![], vec![], vec![]);
    let (mut tool_fill, mut tool_delta, mut tool_list) = (vec![], vec![], vec![]);
    let tool_fill_text = restore_text("bench-tool", true, &fill);
    let tool_delta_text = restore_text("bench-tool", false, &delta);
    for _ in 0..RUNS {
        let start = Instant::now();
        h.create("bench-lib", SetType::HashIpPort, &opts).await?;
        h.add_all("bench-lib", &fill, false).await?;
        lib_fill.push(start.elapsed());
        tool_fill.push(ipset(&["restore"], &tool_fill_text));

        let start = Instant::now();
        h.add_all("bench-lib", &delta, true).await?;
        lib_delta.push(start.elapsed());
        tool_delta.push(ipset(&["restore", "-exist"], &tool_delta_text));

        // Listed and printed in `ipset save` syntax, as the tool does.
        let start = Instant::now();
        let listed = h.list("bench-lib").await?;
        let mut saved = String::with_capacity(listed.members.len() * 40);
        for member in &listed.members {
            let _ = writeln!(saved, "add bench-lib {member}");
        }
        lib_list.push(start.elapsed());
        assert_eq!(listed.members.len(), FILL + DELTA);
        assert_eq!(saved.lines().count(), FILL + DELTA);
        tool_list.push(ipset(&["save", "bench-tool"], ""));

        h.destroy("bench-lib").await?;
        ipset(&["destroy", "bench-tool"], "");
    }
    println!("machine: {}", machine());
    println!("| operation | library | ipset tool | tool / library |");
    println!("|---|---|---|---|");
    for (what, lib, tool) in [
        ("create + fill 100k hash:ip,port", lib_fill, tool_fill),
        ("add 1k delta into the 100k set", lib_delta, tool_delta),
        ("list 101k members", lib_list, tool_list),
    ] {
        let (lib, tool) = (median(lib), median(tool));
        let ratio = tool.as_secs_f64() / lib.as_secs_f64();
        println!("| {what} | {} | {} | {ratio:.2}x |", ms(lib), ms(tool));
    }
    Ok(())
}
