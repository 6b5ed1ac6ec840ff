use std::path::Path;

use super::document::{first_content_line, split_documents};
use super::*;

const GOOD: &str = r#"
# a comment before the first document
apiVersion: v1
kind: Service
metadata:
  name: demo
spec:
  clusterIP: 10.96.197.40
  ports:
  - port: 8000
    targetPort: 80
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: demo-abc
  namespace: default
  labels:
    kubernetes.io/service-name: demo
addressType: IPv4
endpoints:
- addresses: ["10.244.1.2"]
  conditions: {ready: true}
  nodeName: node-1
ports:
- port: 80
  protocol: TCP
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
---
apiVersion: v1
kind: Node
metadata:
  name: node-1
  labels:
    topology.kubernetes.io/zone: zone-a
"#;

#[test]
fn reads_every_document() {
    let (snapshot, warnings) = parse(GOOD, "good.yaml");
    assert_eq!(snapshot.services.len(), 1);
    assert_eq!(snapshot.endpoint_slices.len(), 1);
    assert_eq!(snapshot.nodes.len(), 1);
    let service = &snapshot.services[0];
    assert_eq!(service.metadata.namespace.as_deref(), Some("default"));
    let spec = service.spec.as_ref().unwrap();
    assert_eq!(spec.cluster_ip.as_deref(), Some("10.96.197.40"));
    assert_eq!(spec.ports.as_ref().unwrap()[0].port, 8000);
    // The Deployment is skipped with a warning.
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].kind, "Deployment");
    // Named by file, document index and the line the document starts on.
    assert_eq!(warnings[0].object, "shop/web (good.yaml#2, line 29)");
}

#[test]
fn a_bad_document_is_a_warning_and_the_rest_go_on() {
    let text = r#"
apiVersion: v1
kind: Service
metadata: {name: broken, namespace: prod}
spec:
  ports:
  - port: not-a-number
---
apiVersion: v1
kind: Service
metadata: {name: fine}
spec: {clusterIP: 10.96.0.10, ports: [{port: 53, protocol: UDP}]}
---
key: [unclosed
---
just a scalar
"#;
    let (snapshot, warnings) = parse(text, "mixed.yaml");
    assert_eq!(snapshot.services.len(), 1);
    assert_eq!(snapshot.services[0].metadata.name.as_deref(), Some("fine"));
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert_eq!(warnings[0].kind, "Service");
    assert_eq!(warnings[0].object, "prod/broken (mixed.yaml#0, line 2)");
    // The error names its line in the file.
    assert!(warnings[0].message.contains("line 7"), "{:?}", warnings[0]);
    assert_eq!(warnings[1].object, "mixed.yaml#2, line 14");
    // A YAML error names its line in the file, not in the document.
    assert!(
        warnings[1].message.contains("line 14") || warnings[1].message.contains("line 15"),
        "{:?}",
        warnings[1]
    );
    assert_eq!(warnings[2].object, "mixed.yaml#3, line 16");
}

#[test]
fn splits_only_at_markers_at_column_zero() {
    let docs = split_documents("a: 1\n---\nb: '---'\n  ---\n--- \nc: 3\n...\n");
    assert_eq!(docs.len(), 4, "{docs:?}");
    assert_eq!(docs[0].text, "a: 1\n");
    assert_eq!(docs[1].text, "\nb: '---'\n  ---\n");
    assert_eq!(docs[2].text, " \nc: 3\n");
    assert_eq!(first_content_line(docs[3].text), None);
    // The lines before each document's text, and its first content line.
    let lines: Vec<usize> = docs.iter().map(|d| d.line).collect();
    assert_eq!(lines, [0, 1, 4, 7]);
    assert_eq!(first_content_line(docs[1].text), Some(2));
    assert_eq!(first_content_line(docs[2].text), Some(2));
}

#[test]
fn loads_a_directory_of_yaml_files() {
    let dir = std::env::temp_dir().join(format!("kube-ipvs-manifests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.yaml"), GOOD).unwrap();
    std::fs::write(
        dir.join("b.yml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n",
    )
    .unwrap();
    std::fs::write(dir.join("c.txt"), "not yaml at all: [").unwrap();
    let (snapshot, warnings) = load(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(snapshot.services.len(), 2);
    assert_eq!(warnings.len(), 1);
    assert!(load(Path::new("/nonexistent/kube-ipvs")).is_err());
}

#[test]
fn a_large_text_gives_the_same_result_on_every_cpu() {
    // Over PARALLEL_MIN_DOCUMENTS: parsed in runs on several threads.
    let mut text = String::new();
    for i in 0..600 {
        if i == 555 {
            text.push_str("---\napiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {ports: [{port: x}]}\n");
            continue;
        }
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i}}}\n\
             spec: {{clusterIP: 10.96.{}.{}, ports: [{{port: 80}}]}}\n",
            i / 256,
            i % 256
        ));
    }
    let (snapshot, warnings) = parse(&text, "big.yaml");
    let names: Vec<String> = snapshot
        .services
        .iter()
        .map(|s| s.metadata.name.as_deref().unwrap_or_default().to_owned())
        .collect();
    let expected: Vec<String> = (0..600)
        .filter(|&i| i != 555)
        .map(|i| format!("s{i}"))
        .collect();
    assert_eq!(names, expected, "in file order");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    // Document 556 (the text starts with a marker: document 0 is empty),
    // on line 5 * 555 + 2; the bad one has 5 lines too.
    assert_eq!(warnings[0].object, "default/bad (big.yaml#556, line 2777)");
}

#[test]
fn a_json_text_reads_as_the_same_yaml_does() {
    let json = r#"{"kind": "List", "apiVersion": "v1", "items": [
      {"apiVersion": "v1", "kind": "Service",
       "metadata": {"name": "web", "labels": {"app": "web"}},
       "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80, "name": "http"}]}},
      {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
       "metadata": {"name": "web-1", "namespace": "default",
                    "labels": {"kubernetes.io/service-name": "web"}},
       "addressType": "IPv4", "ports": [{"name": "http", "port": 8080}],
       "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": true}}]},
      {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bad"},
       "spec": {"ports": [{"port": "eighty"}]}},
      {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}
    ]}"#;
    // The same text with a YAML comment after it goes the YAML way.
    let (from_json, json_warnings) = parse(json, "l.json");
    let (from_yaml, yaml_warnings) = parse(&format!("{json} # YAML"), "l.json");
    assert_eq!(from_json.services.len(), 1);
    assert_eq!(from_json.endpoint_slices.len(), 1);
    assert_eq!(from_json, from_yaml);
    let texts = |w: &[Warning]| w.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    assert_eq!(json_warnings.len(), 2, "{json_warnings:?}");
    assert_eq!(texts(&json_warnings), texts(&yaml_warnings));
    // Not one clean JSON object (two of them): read as YAML, with its
    // error naming a line.
    let (_, warnings) = parse("{\"kind\": \"Service\"}\n{}", "two.json");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].message.contains("line"), "{warnings:?}");
}

use test_support::rng::Rng;

#[test]
fn random_and_mutated_yaml_never_panics() {
    const PIECES: &[&str] = &[
        "---\n",
        "...\n",
        ":",
        " ",
        "\n",
        "- ",
        "[",
        "]",
        "{",
        "}",
        "'",
        "\"",
        "&a ",
        "*a",
        "!!str ",
        "? ",
        "|\n",
        ">-\n",
        "#",
        "\t",
        "kind: Service\n",
        "apiVersion: v1\n",
        "ports:",
        "-1",
        "99999999999999999999",
        "null",
        "~",
        "\u{feff}",
        "é",
        "<<: *a\n",
        "%YAML 1.2\n",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..1000 {
        let mut text: Vec<u8> = GOOD.as_bytes().to_vec();
        for _ in 0..=rng.below(8) {
            let at = rng.below(text.len() + 1);
            match rng.below(4) {
                0 if !text.is_empty() => {
                    let end = (at + rng.below(20)).min(text.len());
                    text.drain(at.min(end)..end);
                }
                1 => {
                    let piece = PIECES[rng.below(PIECES.len())];
                    text.splice(at..at, piece.bytes());
                }
                2 if at < text.len() => text[at] = rng.next_u64() as u8,
                _ => {
                    let from = rng.below(text.len());
                    let to = (from + rng.below(40)).min(text.len());
                    let copy = text[from..to].to_vec();
                    text.splice(at..at, copy);
                }
            }
        }
        let text = String::from_utf8_lossy(&text);
        let (snapshot, warnings) = parse(&text, "fuzz.yaml");
        // Every document is either an object or a warning, never lost.
        let _ = (round, snapshot.is_empty(), warnings.len());
    }
    // Pure noise too.
    for _ in 0..300 {
        let text: String = (0..rng.below(200))
            .map(|_| PIECES[rng.below(PIECES.len())])
            .collect();
        let _ = parse(&text, "noise.yaml");
    }
}

/// Manifests are read with serde-saphyr's defaults: a duplicate key is an error (the document keeps nothing), a
/// merge key merges, and its budget stops an alias bomb.
#[test]
fn serde_saphyr_reads_with_its_defaults() {
    let service = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n";
    let duplicate = format!("{service}spec: {{clusterIP: 10.96.0.1, clusterIP: 10.96.0.2}}\n");
    let (snapshot, warnings) = parse(&duplicate, "dup.yaml");
    assert!(snapshot.services.is_empty(), "{snapshot:?}");
    assert!(
        warnings[0].to_string().contains("duplicate"),
        "{warnings:?}"
    );

    let merged = format!("{service}base: &base {{clusterIP: 10.96.0.3}}\nspec: {{<<: *base}}\n");
    let (snapshot, warnings) = parse(&merged, "merge.yaml");
    assert!(warnings.is_empty(), "{warnings:?}");
    let spec = snapshot.services[0].spec.as_ref().expect("spec");
    assert_eq!(spec.cluster_ip.as_deref(), Some("10.96.0.3"));

    let mut bomb = format!("{service}a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for n in 1..9 {
        let prev = n - 1;
        bomb.push_str(&format!("a{n}: &a{n} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
    }
    let (snapshot, warnings) = parse(&bomb, "bomb.yaml");
    assert!(snapshot.services.is_empty(), "{snapshot:?}");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}
