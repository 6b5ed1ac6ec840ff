//! The fuzz target on stable: its committed corpus replayed, then random
//! mutants for `FUZZ_SECONDS` (test-support's harness; `tests/fuzz.sh`
//! runs it for longer).

#[path = "../fuzz/checks.rs"]
mod checks;

use test_support::harness::{self, Input, Target};

#[test]
fn parse_reply_survives_the_corpus_and_its_mutants() {
    harness::run(&Target {
        name: "ipvs-parse_reply",
        corpus: concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/parse_reply").into(),
        input: Input::Bytes,
        dictionary: &[],
        check: checks::parse_reply,
    });
}
