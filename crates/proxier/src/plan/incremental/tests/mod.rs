//! The incremental planner against the full one: random histories
//! (seeded) in `history`, and the cases that matter one by one in `cases`.

use super::*;

mod cases;
pub(in crate::plan) mod history;
mod random;

/// Warnings in a comparable order.
fn sorted(mut warnings: Vec<Warning>) -> Vec<Warning> {
    warnings.sort();
    warnings
}
