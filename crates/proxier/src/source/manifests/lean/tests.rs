use serde_json::Value;

use super::*;
use crate::source::manifests::{
    document::{self, split_documents},
    object::Object,
};

/// serde-saphyr as the manifests source runs it.
fn saphyr<T: DeserializeOwned>(text: &str) -> Result<T, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options(text, document::options())
}

/// Texts the lean reader must read (as serde-saphyr does), and texts it
/// must leave to serde-saphyr, as untyped values.
#[test]
fn the_lean_reader_reads_only_what_it_reads_as_serde_saphyr_does() {
    let read = [
        "a: 1\nb: -2\nc: 0\nd: true\ne: false\nf: ~\ng:\nh: null\n",
        "a: text\nb: 'quoted: yes'\nc: \"80\"\nd: fe80::1\ne: v1.2\n",
        "a: [1, {b: c}, [d]]\nb: {}\nc: []\n",
        "a: |\n  two\n  lines\nb: >-\n  folded\n  line\n",
        "\"quoted key\": 1\n'other': 2\n",
        "# only a comment before\na: 1 # and after\n",
        "a: 18446744073709551615\nb: -9223372036854775808\n",
    ];
    for text in read {
        let lean = from_str::<Value>(text);
        assert!(lean.is_some(), "gave up on {text:?}");
        assert_eq!(
            lean.ok_or(()),
            saphyr::<Value>(text).map_err(drop),
            "{text:?}"
        );
    }
    let left = [
        "a: 0x1f\n",
        "a: 010\n",
        "a: 1.5\n",
        "a: 1e999\n",
        "a: .inf\n",
        "a: -0\n",
        "a: yes\n",
        "a: True\n",
        "a: nan\n",
        "a: 18446744073709551616\n",
        "a: 2001:db8::1\n",
        "a: &x 1\nb: *x\n",
        "<<: {a: 1}\nb: 2\n",
        "a: 1\na: 2\n",
        "a: 1\n'a': 2\n",
        "a: !!str 80\n",
        "? [a]\n: 1\n",
        "1: a\n",
        "%YAML 1.1\n---\na: 1\n",
        "a: [1, 2\n",
        "",
        &format!("a: {}1{}\n", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH)),
    ];
    for text in left {
        assert_eq!(from_str::<Value>(text), None, "read {text:?}");
    }
}

/// Into the typed objects: a plain scalar is a string's text, a null is
/// no string, a quoted number no port.
#[test]
fn the_lean_reader_reads_typed_fields_as_serde_saphyr_does() {
    let service = |name: &str, port: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec: {{ports: [{{port: {port}}}]}}\n"
        )
    };
    for (name, port, reads) in [
        ("web", "80", true),
        ("80", "80", true),
        ("true", "80", true),
        ("'~'", "80", true),
        ("~", "80", true),
        ("null", "80", true),
        ("web", "\"80\"", false),
        ("web", "99999999999", false),
        ("web", "-1", true),
        ("[web]", "80", false),
    ] {
        let text = service(name, port);
        let lean = from_str::<Object>(&text);
        assert_eq!(lean.is_some(), reads, "{text}");
        if let Some(lean) = lean {
            assert_eq!(Ok(lean), saphyr::<Object>(&text).map_err(drop), "{text}");
        }
    }
}

/// The manifests of the examples and of the fuzz corpus: every document
/// serde-saphyr reads as a Kubernetes object, the lean reader reads too
/// (or the speed is lost), the same.
#[test]
fn the_lean_reader_reads_the_example_manifests() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut read = 0;
    for file in [
        "examples/manifests/demo.yaml",
        "examples/manifests/rich.yaml",
        "examples/kubeadm/daemonset.yaml",
        "examples/kubeadm/rbac.yaml",
        "crates/proxier/fuzz/corpus/parse_manifests/demo.yaml",
    ] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).expect(file);
        for doc in split_documents(&text) {
            let Ok(object) = saphyr::<Object>(doc.text) else {
                continue;
            };
            let at = doc.line + 1;
            assert_eq!(
                from_str::<Object>(doc.text),
                Some(object),
                "{file}, line {at}"
            );
            read += 1;
        }
    }
    assert!(read >= 10, "{read} documents");
}

/// A skipped field is still checked as serde-saphyr checks it: it refuses
/// infinite and NaN floats and duplicate keys even there.
#[test]
fn the_lean_reader_skips_unknown_fields_as_serde_saphyr_does() {
    let mut read = 0;
    for extra in [
        "1e999",
        ".inf",
        "-.inf",
        ".nan",
        "nan",
        "inf",
        "0x1f",
        "1.5",
        "yes",
        "{a: 1, a: 2}",
        "[.inf]",
        "99999999999999999999999",
        "10.0.0.1",
        "0a7c-11ef",
        "{a: [b, {c: d}]}",
    ] {
        let text =
            format!("apiVersion: v1\nkind: Service\nmetadata: {{name: x}}\nextra: {extra}\n");
        if let Some(lean) = from_str::<Object>(&text) {
            assert_eq!(Ok(lean), saphyr::<Object>(&text).map_err(drop), "{text}");
            read += 1;
        }
    }
    // All but the five serde-saphyr refuses, and `nan` and `inf`, which it
    // reads as text but Rust as floats (the lean reader leaves them).
    assert_eq!(read, 7);
}
