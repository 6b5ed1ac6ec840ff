//! Feeds arbitrary datagrams to every reply parser of ipvs-netlink
//! (`checks::parse_reply`).
//!
//! Run with `tests/fuzz.sh --libfuzzer` (bounded, stable toolchain) or
//! `cargo fuzz run parse_reply` from `crates/ipvs-netlink`.

#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::parse_reply(data));
