//! Feeds arbitrary datagrams to the reply parser (`checks::parse_reply`):
//! it must never panic.
//!
//! Run with `tests/fuzz.sh --libfuzzer` (bounded, stable toolchain) or
//! `cargo fuzz run parse_reply` from `crates/ipset`.

#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::parse_reply(data));
