//! Parsing of `/proc` for the `process_*` metrics (procfs as used by
//! client_golang's process collector; formats from proc(5)).

use crate::serve::process::{parse_stats, soft_limit};

/// A command name with spaces and parentheses: fields are counted after
/// the last ')'. utime 250 + stime 50 ticks = 3 s; start = btime + 1000 /
/// 100 s; VmRSS 2048 kB.
#[test]
fn stat_status_and_btime() {
    let stat = "1234 (kube (ipvs) proxier) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 1000 123456789 512 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
    let system = "cpu  1 2 3 4\nintr 5\nbtime 1700000000\nprocesses 99\n";
    let status = "Name:\tkube-ipvs\nVmSize:\t  120563 kB\nVmRSS:\t    2048 kB\nThreads:\t8\n";
    let stats = parse_stats(stat, system, status).unwrap();
    assert_eq!(stats.cpu_seconds, 3.0);
    assert_eq!(stats.start_time_seconds, 1_700_000_010.0);
    assert_eq!(stats.virtual_memory_bytes, 123_456_789.0);
    assert_eq!(stats.resident_memory_bytes, 2_097_152.0);
}

#[test]
fn malformed_proc_files_name_the_field() {
    let system = "btime 1700000000\n";
    let status = "VmRSS:\t2048 kB\n";
    let err = parse_stats("1234 (x) S 1 2", system, status).unwrap_err();
    assert_eq!(
        err.to_string(),
        "/proc/self/stat: field utime missing or not a number"
    );
    let stat = "1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 10 1 1\n";
    let err = parse_stats(stat, "cpu 1\n", status).unwrap_err();
    assert_eq!(
        err.to_string(),
        "/proc/stat: field btime missing or not a number"
    );
    let err = parse_stats(stat, system, "VmRSS: lots\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "/proc/self/status: field VmRSS missing or not a number"
    );
}

#[test]
fn soft_limits_and_unlimited() {
    let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                  Max open files            1024                 1048576              files     \n\
                  Max address space         unlimited            unlimited            bytes     \n";
    assert_eq!(soft_limit(limits, "Max open files").unwrap(), 1024.0);
    // procfs reads "unlimited" as the largest uint64.
    assert_eq!(
        soft_limit(limits, "Max address space").unwrap(),
        u64::MAX as f64
    );
    assert!(soft_limit(limits, "Max locked memory").is_err());
}
