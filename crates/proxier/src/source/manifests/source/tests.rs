use std::{
    fs,
    os::unix::net::UnixListener,
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use super::*;
use crate::source::{
    manifests::{MAX_FILE_BYTES, load},
    store::{ClusterStore, NodeExit},
};

/// A fresh directory under the temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("kube-ipvs-manifests-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes a file so that its stamp surely changes (a new inode).
    fn write(&self, name: &str, text: impl AsRef<[u8]>) {
        let tmp = self.file(&format!(".{name}.tmp"));
        fs::write(&tmp, text).unwrap();
        fs::rename(&tmp, self.file(name)).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn service(name: &str, ip: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\n\
         spec: {{clusterIP: {ip}, ports: [{{port: 80}}]}}\n"
    )
}

fn names(poll: &Poll) -> Vec<String> {
    let mut names: Vec<String> = poll
        .snapshot
        .services
        .iter()
        .map(|s| s.metadata.name.as_deref().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names
}

fn messages(poll: &Poll) -> String {
    poll.warnings
        .iter()
        .map(|w| w.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Polls and expects a change.
fn changed(source: &mut ManifestsSource) -> Poll {
    source.poll().unwrap().expect("a change")
}

#[test]
fn a_poll_reads_only_the_files_that_changed() {
    let dir = TempDir::new("incremental");
    dir.write("a.yaml", service("a", "10.96.0.1"));
    dir.write("b.yaml", service("b", "10.96.0.2"));
    let mut source = ManifestsSource::new(&dir.0);
    let first = changed(&mut source);
    assert_eq!(names(&first), ["a", "b"]);
    assert!(first.warnings.is_empty(), "{}", messages(&first));
    assert!(source.poll().unwrap().is_none(), "nothing changed");
    let objects =
        |source: &ManifestsSource, name: &str| source.files[&dir.file(name)].objects.clone();
    let (a, b) = (objects(&source, "a.yaml"), objects(&source, "b.yaml"));
    dir.write("b.yaml", service("b2", "10.96.0.3"));
    let second = changed(&mut source);
    assert_eq!(names(&second), ["a", "b2"]);
    // a.yaml was not read again: its parsed objects are the same ones.
    let first = |s: Snapshot| Arc::clone(&s.services[0]);
    assert!(Arc::ptr_eq(&first(a), &first(objects(&source, "a.yaml"))));
    assert!(!Arc::ptr_eq(&first(b), &first(objects(&source, "b.yaml"))));
}

#[test]
fn a_removed_file_removes_its_objects_but_an_emptied_directory_keeps_all() {
    let dir = TempDir::new("removed");
    dir.write("a.yaml", service("a", "10.96.0.1"));
    dir.write("b.yaml", service("b", "10.96.0.2"));
    let mut source = ManifestsSource::new(&dir.0);
    changed(&mut source);
    fs::remove_file(dir.file("b.yaml")).unwrap();
    assert_eq!(names(&changed(&mut source)), ["a"]);
    fs::remove_file(dir.file("a.yaml")).unwrap();
    let emptied = changed(&mut source);
    assert_eq!(names(&emptied), ["a"], "the last file's objects stay");
    assert!(
        messages(&emptied).contains("no manifest file any more"),
        "{}",
        messages(&emptied)
    );
    dir.write("c.yaml", service("c", "10.96.0.3"));
    assert_eq!(names(&changed(&mut source)), ["c"]);
}

fn cluster_ip(poll: &Poll, name: &str) -> Option<String> {
    let service = poll
        .snapshot
        .services
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some(name))?;
    service
        .spec
        .as_ref()?
        .cluster_ip
        .as_deref()
        .map(str::to_owned)
}

/// Issue 8: a directory read racing a rename (Linux 6.1's tmpfs, more
/// names than one read returns) listed every file but the renamed one,
/// and its objects were deleted until the next poll. The VM test
/// `polls_racing_renames_see_every_file` races real renames.
#[test]
fn a_file_the_directory_read_missed_is_not_deleted() {
    let dir = TempDir::new("missed");
    dir.write("a.yaml", service("a", "10.96.0.1"));
    dir.write("b.yaml", service("b", "10.96.0.2"));
    let mut source = ManifestsSource::new(&dir.0);
    changed(&mut source);
    dir.write("b.yaml", service("b", "10.96.0.3"));
    let mut raced = files::list(&dir.0).unwrap();
    raced.retain(|(path, _)| *path != dir.file("b.yaml"));
    assert!(source.refresh_from(raced));
    let poll = source.view();
    assert_eq!(names(&poll), ["a", "b"], "{}", messages(&poll));
    assert_eq!(cluster_ip(&poll, "b").as_deref(), Some("10.96.0.3"));
    // Missed again while it is still there: nothing changed.
    let mut raced = files::list(&dir.0).unwrap();
    raced.retain(|(path, _)| *path != dir.file("b.yaml"));
    assert!(!source.refresh_from(raced));
    // A file really gone from the listing is still a delete.
    fs::remove_file(dir.file("b.yaml")).unwrap();
    let mut raced = files::list(&dir.0).unwrap();
    raced.retain(|(path, _)| *path != dir.file("b.yaml"));
    assert!(source.refresh_from(raced));
    assert_eq!(names(&source.view()), ["a"]);
}

#[test]
fn a_file_that_got_worse_keeps_its_objects() {
    let dir = TempDir::new("worse");
    dir.write("a.yaml", service("a", "10.96.0.1"));
    dir.write("b.yaml", service("b", "10.96.0.2"));
    let mut source = ManifestsSource::new(&dir.0);
    changed(&mut source);
    let half = &service("b", "10.96.0.9")[..60];
    let cases: [(&str, &[u8], &str); 5] = [
        ("empty", b"", "it is empty"),
        ("blank", b"  \n\n", "it is empty"),
        (
            "half-written",
            half.as_bytes(),
            "one of its documents cannot be read",
        ),
        (
            "not UTF-8",
            b"kind: Service\nmetadata: {name: \xff\xfe}\n",
            "not UTF-8",
        ),
        (
            "no kind",
            b"apiVersion: v1\nmetadata: {name: b}\n",
            "one of its documents",
        ),
    ];
    for (what, text, expected) in cases {
        dir.write("b.yaml", text);
        let poll = changed(&mut source);
        assert_eq!(names(&poll), ["a", "b"], "{what}: {}", messages(&poll));
        let shown = messages(&poll);
        assert!(
            shown.contains(expected)
                && shown.contains("keeping what its last good read gave (1 objects)"),
            "{what}: {shown}"
        );
        assert!(shown.contains("b.yaml"), "{what}: {shown}");
        assert_eq!(poll.unreadable.len(), 1, "{what}");
    }
    // Unreadable: a dangling symlink in its place.
    fs::remove_file(dir.file("b.yaml")).unwrap();
    std::os::unix::fs::symlink(dir.file("gone"), dir.file("b.yaml")).unwrap();
    let poll = changed(&mut source);
    assert_eq!(names(&poll), ["a", "b"], "{}", messages(&poll));
    // Only a clean read replaces them; a comment alone empties on purpose.
    fs::remove_file(dir.file("b.yaml")).unwrap();
    dir.write("b.yaml", service("b3", "10.96.0.3"));
    let poll = changed(&mut source);
    assert_eq!(names(&poll), ["a", "b3"]);
    assert!(poll.warnings.is_empty(), "{}", messages(&poll));
    dir.write("b.yaml", "# nothing here on purpose\n");
    assert_eq!(names(&changed(&mut source)), ["a"]);
}

#[test]
fn invalid_utf8_in_one_file_does_not_stop_the_others() {
    let dir = TempDir::new("utf8");
    dir.write("a.yaml", b"a: 1\nb: \"\xc3\x28\"\n");
    dir.write("b.yaml", service("b", "10.96.0.2"));
    let (snapshot, warnings) = load(&dir.0).unwrap();
    assert_eq!(snapshot.services.len(), 1);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let shown = warnings[0].to_string();
    assert!(
        shown.contains("a.yaml") && shown.contains("not UTF-8 (invalid bytes on line 2)"),
        "{shown}"
    );
    // A single file that cannot be read fails `load`, naming it.
    let err = load(&dir.file("a.yaml")).unwrap_err().to_string();
    assert!(err.contains("a.yaml") && err.contains("not UTF-8"), "{err}");
}

#[test]
fn only_regular_files_are_read_and_nothing_hangs() {
    let dir = TempDir::new("special");
    dir.write("ok.yaml", service("ok", "10.96.0.1"));
    let status = Command::new("mkfifo")
        .arg(dir.file("fifo.yaml"))
        .status()
        .unwrap();
    assert!(status.success());
    let _socket = UnixListener::bind(dir.file("socket.yaml")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.file("zero.yaml")).unwrap();
    fs::create_dir(dir.file("sub.yml")).unwrap();
    std::os::unix::fs::symlink(dir.file("ok.yaml"), dir.file("link.yaml")).unwrap();
    let start = Instant::now();
    let (snapshot, warnings) = load(&dir.0).unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    // The symlink to a regular file is read: the Service twice.
    assert_eq!(snapshot.services.len(), 2);
    let shown: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
    let expect = [
        ("fifo.yaml", "not a regular file but a FIFO"),
        ("socket.yaml", "not a regular file but a socket"),
        ("sub.yml", "not a regular file but a directory"),
        ("zero.yaml", "not a regular file but a character device"),
    ];
    assert_eq!(shown.len(), expect.len(), "{shown:#?}");
    for ((file, message), line) in expect.iter().zip(&shown) {
        assert!(line.contains(file) && line.contains(message), "{line}");
    }
    // Given as the path itself, each one is an error.
    for name in ["fifo.yaml", "socket.yaml", "zero.yaml"] {
        let err = load(&dir.file(name)).unwrap_err().to_string();
        assert!(
            err.contains(name) && err.contains("not a regular file"),
            "{err}"
        );
    }
    let err = load(Path::new("/dev/zero")).unwrap_err().to_string();
    assert!(err.contains("/dev/zero"), "{err}");
}

#[test]
fn a_file_over_the_size_limit_is_refused() {
    let dir = TempDir::new("large");
    dir.write("ok.yaml", service("ok", "10.96.0.1"));
    // Sparse: over the default limit without writing 64 MiB.
    let big = fs::File::create(dir.file("big.yaml")).unwrap();
    big.set_len(MAX_FILE_BYTES + 1).unwrap();
    let (snapshot, warnings) = load(&dir.0).unwrap();
    assert_eq!(snapshot.services.len(), 1);
    assert_eq!(warnings.len(), 1);
    let shown = warnings[0].to_string();
    assert!(
        shown.contains("big.yaml")
            && shown.contains(&format!("over the limit of {MAX_FILE_BYTES} bytes")),
        "{shown}"
    );
    // A smaller limit, and a file that grows over it keeps its objects.
    let mut source = ManifestsSource::new(&dir.0).with_limit(1000);
    fs::remove_file(dir.file("big.yaml")).unwrap();
    assert_eq!(names(&changed(&mut source)), ["ok"]);
    let mut text = service("ok", "10.96.0.1");
    text.push_str(&format!("# {}\n", "x".repeat(1000)));
    dir.write("ok.yaml", text);
    let poll = changed(&mut source);
    assert_eq!(names(&poll), ["ok"]);
    assert!(messages(&poll).contains("over the limit of 1000 bytes"));
}

#[test]
fn at_start_an_empty_file_or_directory_plans_nothing() {
    let dir = TempDir::new("start");
    let mut source = ManifestsSource::new(&dir.0);
    let poll = changed(&mut source);
    assert!(poll.snapshot.is_empty() && poll.warnings.is_empty());
    assert!(!poll.nothing_readable());
    dir.write("empty.yaml", "");
    let poll = changed(&mut source);
    assert!(poll.snapshot.is_empty() && poll.warnings.is_empty());
    let (snapshot, warnings) = load(&dir.file("empty.yaml")).unwrap();
    assert!(snapshot.is_empty() && warnings.is_empty());
    // A missing path is an error, for `load` and for a poll.
    assert!(ManifestsSource::new(dir.file("missing")).poll().is_err());
    // A first read where no file can be read says so.
    dir.write("empty.yaml", b"\xff");
    let mut source = ManifestsSource::new(&dir.0);
    assert!(changed(&mut source).nothing_readable());
}

#[test]
fn json_files_and_lists_are_read() {
    let dir = TempDir::new("json");
    let json = r#"{"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "j", "namespace": "n"},
         "spec": {"clusterIP": "10.96.0.5", "ports": [{"port": 53, "protocol": "UDP"}]}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    ]}"#;
    dir.write("list.json", json);
    dir.write("skip.txt", "not read");
    let (snapshot, warnings) = load(&dir.0).unwrap();
    assert_eq!(snapshot.services.len(), 1);
    assert_eq!(
        snapshot.services[0].metadata.namespace.as_deref(),
        Some("n")
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .object
            .ends_with("list.json#0 items[1], line 1)"),
        "{:?}",
        warnings[0]
    );
}

use test_support::rng;

/// One random manifest document from small pools, so that names collide
/// within and across files: Services (some headless, some `None`),
/// EndpointSlices (owners move), Nodes (addresses change).
fn random_document(rng: &mut rng::Rng) -> String {
    let name = ["a", "b", "c"][rng.below(3)];
    let namespace = ["", "namespace: other, "][rng.below(2)];
    let ip = rng.below(4);
    match rng.below(3) {
        0 => {
            let labels = ["", ", labels: {service.kubernetes.io/headless: \"\"}"][rng.below(2)];
            let cluster_ip = ["10.96.0.1", "10.96.0.2", "None"][rng.below(3)];
            format!(
                "apiVersion: v1\nkind: Service\nmetadata: {{{namespace}name: {name}{labels}}}\n\
                 spec: {{clusterIP: {cluster_ip}, ports: [{{port: 8{ip}}}]}}\n"
            )
        }
        1 => {
            let owner = ["a", "b", "c"][rng.below(3)];
            format!(
                "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
                 metadata: {{{namespace}name: {name}-s, labels: {{kubernetes.io/service-name: {owner}}}}}\n\
                 addressType: IPv4\nendpoints: [{{addresses: [10.244.0.{ip}]}}]\n"
            )
        }
        _ => {
            let node = ["node-1", "node-2"][rng.below(2)];
            format!(
                "apiVersion: v1\nkind: Node\nmetadata: {{name: {node}}}\n\
                 status: {{addresses: [{{type: InternalIP, address: 192.168.0.{ip}}}]}}\n"
            )
        }
    }
}

/// What a store holds, to compare two.
fn contents(store: &ClusterStore) -> String {
    let mut out = String::new();
    for name in store.names() {
        out += &format!("{name}: {:?}\n", store.service_shared(&name));
        out += &format!("  slices: {:?}\n", store.slices_shared(&name));
    }
    out + &format!("node: {:?}\n", store.node())
}

#[test]
fn deltas_leave_the_store_as_whole_views_do() {
    for seed in 1..=12u64 {
        let dir = TempDir::new(&format!("delta-{seed}"));
        let mut rng = rng::Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let files = ["a.yaml", "b.yaml", "c.yaml", "d.json"];
        let (mut whole, mut deltas) = (ManifestsSource::new(&dir.0), ManifestsSource::new(&dir.0));
        let (mut by_view, mut by_delta) = (ClusterStore::new(), ClusterStore::new());
        let mut first = true;
        for step in 0..60 {
            let file = files[rng.below(files.len())];
            match rng.below(10) {
                0 => {
                    let _ = fs::remove_file(dir.file(file));
                }
                1 => dir.write(file, "kind: Service\nmetadata: {name: [\n"),
                2 => dir.write(file, ""),
                _ => {
                    let docs: Vec<String> = (0..rng.below(4))
                        .map(|_| random_document(&mut rng))
                        .collect();
                    dir.write(file, docs.join("---\n"));
                }
            }
            let view = whole.poll().unwrap();
            let at = format!("seed {seed}, step {step} ({file})");
            if first {
                let Some(view) = view else { continue };
                first = false;
                assert!(deltas.poll().unwrap().is_some(), "{at}");
                let a = by_view.replace_all(view.snapshot.clone(), "node-1");
                let b = by_delta.replace_all(view.snapshot, "node-1");
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{at}");
            } else {
                let delta = deltas.poll_delta().unwrap();
                assert_eq!(view.is_some(), delta.is_some(), "{at}");
                let (Some(view), Some(delta)) = (view, delta) else {
                    continue;
                };
                let a = by_view.replace_all(view.snapshot, "node-1");
                let b = by_delta.apply_delta(delta.delta, "node-1");
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{at}");
                // The proxier exits when its node's addresses change (a
                // whole view would say so again at every poll after).
                if matches!(a, Err(NodeExit::IpsChanged { .. })) {
                    assert_eq!(contents(&by_view), contents(&by_delta), "{at}");
                    break;
                }
            }
            assert_eq!(contents(&by_view), contents(&by_delta), "{at}");
            assert_eq!(by_view.take_changes(), by_delta.take_changes(), "{at}");
        }
    }
}

#[test]
fn a_delta_names_only_what_the_files_read_touched() {
    let dir = TempDir::new("delta-small");
    dir.write("a.yaml", service("a", "10.96.0.1"));
    dir.write(
        "b.yaml",
        [service("b", "10.96.0.2"), service("a", "10.96.0.9")].join("---\n"),
    );
    let mut source = ManifestsSource::new(&dir.0);
    changed(&mut source);
    // b.yaml changes: b changes; a is touched, and a.yaml still wins it.
    dir.write(
        "b.yaml",
        [service("b", "10.96.0.3"), service("a", "10.96.0.8")].join("---\n"),
    );
    let delta = source.poll_delta().unwrap().expect("a change").delta;
    let ip = |s: &Option<Arc<crate::cluster::objects::Service>>| {
        s.as_ref()
            .and_then(|s| s.spec.as_ref()?.cluster_ip.as_deref().map(str::to_owned))
            .unwrap_or_default()
    };
    let got: Vec<(String, String)> = delta
        .services
        .iter()
        .map(|(name, s)| (name.name.clone(), ip(s)))
        .collect();
    assert_eq!(
        got,
        [
            ("a".into(), "10.96.0.1".into()),
            ("b".into(), "10.96.0.3".into())
        ]
    );
    // a.yaml goes: b.yaml's a wins now.
    fs::remove_file(dir.file("a.yaml")).unwrap();
    let delta = source.poll_delta().unwrap().expect("a change").delta;
    assert_eq!(delta.services.len(), 1);
    assert_eq!(ip(&delta.services[0].1), "10.96.0.8");
    // Nothing changed: no delta.
    assert!(source.poll_delta().unwrap().is_none());
}
