//! The `process_*` metrics of client_golang's process collector
//! (`prometheus/process_collector.go`, Linux procfs flavour), read from
//! `/proc` at each scrape.
//!
//! As in procfs: CPU time is `(utime + stime) / USER_HZ` and the start time
//! `btime + starttime / USER_HZ` with `USER_HZ = 100` (procfs' constant;
//! Linux fixes it at 100 for user space), from `/proc/self/stat` and
//! `/proc/stat`; the virtual size is `vsize` of `/proc/self/stat`, the
//! resident size `VmRSS` of `/proc/self/status` (the same page counters as
//! `stat`'s `rss`, already in kB); open fds are the entries of
//! `/proc/self/fd`; the limits are the soft limits of `/proc/self/limits`
//! (`unlimited` is 2^64 - 1, as procfs reads it). A value that cannot be
//! read is left out, as client_golang does without `ReportErrors`.

use std::{fmt, fs, io, path::Path};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{counter::ConstCounter, gauge::ConstGauge},
};
use tracing::debug;

/// procfs `userHZ`.
const USER_HZ: f64 = 100.0;

/// Why a process value could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The error.
        source: io::Error,
    },
    /// A field is missing or not a number.
    #[error("{path}: field {field} missing or not a number")]
    Field {
        /// The file.
        path: String,
        /// The field.
        field: &'static str,
    },
}

/// The values of one scrape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessStats {
    /// User and system CPU time, seconds.
    pub cpu_seconds: f64,
    /// Virtual memory size, bytes.
    pub virtual_memory_bytes: f64,
    /// Resident memory size, bytes.
    pub resident_memory_bytes: f64,
    /// Start time since the epoch, seconds.
    pub start_time_seconds: f64,
}

/// The `process_*` collector.
#[derive(Debug, Default)]
pub struct ProcessCollector;

fn read(path: &str) -> Result<String, ProcessError> {
    fs::read_to_string(path).map_err(|source| ProcessError::Read {
        path: path.to_string(),
        source,
    })
}

fn field_error(path: &str, field: &'static str) -> ProcessError {
    ProcessError::Field {
        path: path.to_string(),
        field,
    }
}

/// Parses `/proc/<pid>/stat`, `/proc/stat` and `/proc/<pid>/status`
/// contents.
pub fn parse_stats(
    stat: &str,
    system_stat: &str,
    status: &str,
) -> Result<ProcessStats, ProcessError> {
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so
    // the fields start after the last ')'; field N (1-based, proc(5)) is
    // at index N - 3.
    let after_comm = stat
        .rfind(')')
        .map(|at| &stat[at + 1..])
        .ok_or_else(|| field_error("/proc/self/stat", "comm"))?;
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let stat_field = |n: usize, name: &'static str| -> Result<f64, ProcessError> {
        fields
            .get(n - 3)
            .and_then(|value| value.parse::<u64>().ok())
            .map(|value| value as f64)
            .ok_or_else(|| field_error("/proc/self/stat", name))
    };
    let utime = stat_field(14, "utime")?;
    let stime = stat_field(15, "stime")?;
    let starttime = stat_field(22, "starttime")?;
    let vsize = stat_field(23, "vsize")?;
    let btime = system_stat
        .lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|value| value.trim().parse::<u64>().ok())
        .ok_or_else(|| field_error("/proc/stat", "btime"))?;
    let rss_kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .ok_or_else(|| field_error("/proc/self/status", "VmRSS"))?;
    Ok(ProcessStats {
        cpu_seconds: (utime + stime) / USER_HZ,
        virtual_memory_bytes: vsize,
        resident_memory_bytes: (rss_kb * 1024) as f64,
        start_time_seconds: btime as f64 + starttime / USER_HZ,
    })
}

/// The soft limit of the `/proc/<pid>/limits` line starting with `name`
/// (`Max open files`, `Max address space`).
pub fn soft_limit(limits: &str, name: &'static str) -> Result<f64, ProcessError> {
    limits
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|soft| match soft {
            "unlimited" => Some(u64::MAX as f64),
            number => number.parse::<u64>().ok().map(|value| value as f64),
        })
        .ok_or_else(|| field_error("/proc/self/limits", name))
}

fn open_fds() -> Result<f64, ProcessError> {
    let path = "/proc/self/fd";
    let entries = fs::read_dir(Path::new(path)).map_err(|source| ProcessError::Read {
        path: path.to_string(),
        source,
    })?;
    Ok(entries.count() as f64)
}

fn stats() -> Result<ProcessStats, ProcessError> {
    parse_stats(
        &read("/proc/self/stat")?,
        &read("/proc/stat")?,
        &read("/proc/self/status")?,
    )
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: f64,
) -> Result<(), fmt::Error> {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn skipped(err: &ProcessError) {
    debug!("process metrics: {err}");
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        // Sorted by name, as client_golang's registry writes them.
        let stats = stats().inspect_err(skipped).ok();
        let limits = read("/proc/self/limits").inspect_err(skipped).ok();
        let limit = |name| {
            limits
                .as_deref()
                .map(|text| soft_limit(text, name))
                .and_then(|value| value.inspect_err(skipped).ok())
        };
        if let Some(stats) = stats {
            // client_golang: "process_cpu_seconds_total", a counter.
            let metric = ConstCounter::new(stats.cpu_seconds);
            metric.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds.",
                None,
                metric.metric_type(),
            )?)?;
        }
        if let Some(max) = limit("Max open files") {
            gauge(
                &mut encoder,
                "process_max_fds",
                "Maximum number of open file descriptors.",
                max,
            )?;
        }
        if let Ok(open) = open_fds().inspect_err(skipped) {
            gauge(
                &mut encoder,
                "process_open_fds",
                "Number of open file descriptors.",
                open,
            )?;
        }
        if let Some(stats) = stats {
            gauge(
                &mut encoder,
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                stats.resident_memory_bytes,
            )?;
            gauge(
                &mut encoder,
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                stats.start_time_seconds,
            )?;
            gauge(
                &mut encoder,
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                stats.virtual_memory_bytes,
            )?;
        }
        if let Some(max) = limit("Max address space") {
            gauge(
                &mut encoder,
                "process_virtual_memory_max_bytes",
                "Maximum amount of virtual memory available in bytes.",
                max,
            )?;
        }
        Ok(())
    }
}
