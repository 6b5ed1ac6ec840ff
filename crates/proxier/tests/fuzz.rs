//! The fuzz targets on stable: their committed corpora replayed, then
//! random mutants for `FUZZ_SECONDS` each (test-support's harness;
//! `tests/fuzz.sh` runs them for longer).

#[path = "../fuzz/checks.rs"]
mod checks;

use test_support::harness::{self, Input, Target};

/// YAML and JSON syntax worth inserting.
const YAML: &[&[u8]] = &[
    b"\n---\n",
    b": ",
    b"- ",
    b"\n  ",
    b"{",
    b"}",
    b"[",
    b"]",
    b", ",
    b"&a ",
    b"*a",
    b"<<: *a",
    b"!!str ",
    b"!!binary ",
    b"? ",
    b"|\n",
    b">-\n",
    b"\"",
    b"'",
    b"#",
    b"~",
    b"null",
    b"true",
    b"0x1f",
    b"1e309",
    b"-0",
    b"9223372036854775808",
    b"\\u0000",
    b"\\x1b",
    b"\xc2\x85",
    b"kind: Service\n",
    b"kind: EndpointSlice\n",
    b"kind: List\nitems:\n",
    b"apiVersion: v1\n",
];

#[test]
fn parse_manifests_survives_the_corpus_and_its_mutants() {
    harness::run(&Target {
        name: "parse_manifests",
        corpus: concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/parse_manifests").into(),
        input: Input::Text,
        dictionary: YAML,
        check: checks::parse_manifests,
    });
}

#[test]
fn parse_config_survives_the_corpus_and_its_mutants() {
    harness::run(&Target {
        name: "parse_config",
        corpus: concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/parse_config").into(),
        input: Input::Text,
        dictionary: YAML,
        check: checks::parse_config,
    });
}
