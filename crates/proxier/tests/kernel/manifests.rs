//! The manifests source on the test VM's tmpfs (`/tmp`, Linux 6.1), where
//! a read of a large directory racing a rename over one of its files can
//! miss that file (the renamed entry moves to the front of the directory,
//! behind the read position, and the old one goes). Issue 8: a poll that
//! missed `slice-0.yaml` took it for deleted and a sync deleted Service 0's
//! real servers until the next poll.

use std::{
    fs,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use kube_ipvs_proxier::source::manifests::ManifestsSource;

/// Files, with long names: more than one `getdents64` buffer (glibc's 32
/// KiB) holds, as the 1,002 files of the 10k scale benchmark are (1k: 502
/// names fit in one read, and no change was lost).
const FILES: usize = 200;

/// A name of 240 bytes.
fn name(i: usize) -> String {
    format!("slice-{i:03}-{}.yaml", "x".repeat(225))
}

fn service(i: usize) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}, namespace: bench}}\n\
         spec: {{clusterIP: 10.96.{}.{}, ports: [{{port: 80}}]}}\n",
        (i + 10) >> 8,
        (i + 10) & 255
    )
}

/// Writes a file under a temporary name and renames it into place, as
/// `bench/churn.py` does.
fn write(dir: &std::path::Path, i: usize) {
    let tmp = dir.join(format!(".{i}.tmp"));
    fs::write(&tmp, service(i)).unwrap();
    fs::rename(&tmp, dir.join(name(i))).unwrap();
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
#[ignore = "kernel: Linux 6.1's tmpfs (the test VM); run tests/run"]
fn polls_racing_renames_see_every_file() {
    let dir =
        TempDir(std::env::temp_dir().join(format!("kpvs-rename-race-{}", std::process::id())));
    let _ = fs::remove_dir_all(&dir.0);
    fs::create_dir_all(&dir.0).unwrap();
    for i in 0..FILES {
        write(&dir.0, i);
    }
    let mut source = ManifestsSource::new(&dir.0);
    let first = source.poll().unwrap().expect("a first view");
    assert_eq!(first.snapshot.services.len(), FILES);

    // One writer renames a file over every 50 ms, in bench/churn.py's
    // order (7919·c mod FILES: always the file renamed longest ago, at the
    // directory's end), while this thread polls (each poll re-reads the
    // files renamed since the last: a few).
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, path) = (Arc::clone(&stop), dir.0.clone());
        thread::spawn(move || {
            let mut c = 0;
            while !stop.load(Ordering::Relaxed) {
                write(&path, (7919 * c) % FILES);
                c += 1;
                thread::sleep(Duration::from_millis(50));
            }
            c
        })
    };
    // Until 150 polls have seen a change, for at most 120 s: a poll takes
    // ~0.1 s on an idle host and over 1 s when the host is busy.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut polls, mut short) = (0, Vec::new());
    while polls < 150 && Instant::now() < deadline {
        if let Some(poll) = source.poll().unwrap() {
            polls += 1;
            let seen = poll.snapshot.services.len();
            if seen != FILES {
                short.push(seen);
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let renames = writer.join().unwrap();
    println!("{polls} polls during {renames} renames; polls missing files: {short:?}");
    assert!(
        polls >= 20 && renames >= 100,
        "only {polls} polls saw a change, {renames} renames"
    );
    assert!(
        short.is_empty(),
        "{} of {polls} polls missed files (services seen: {short:?})",
        short.len()
    );
}
