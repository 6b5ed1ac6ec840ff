//! Feeds arbitrary text to `checks::parse_config` (see there).
//!
//! Run with `tests/fuzz.sh --libfuzzer` (bounded, stable toolchain) or
//! `cargo fuzz run parse_config` from `crates/proxier`.

#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::parse_config(data));
