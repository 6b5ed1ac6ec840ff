//! What the tests of the workspace's crates share (a dev-dependency only):
//! [`rng`], the one small deterministic generator of the randomized tests,
//! and [`harness`], the stable-toolchain runner of the fuzz targets' checks
//! (each crate's `tests/fuzz.rs`).

pub mod harness;
pub mod rng;
