//! Timing a `ManifestsSource` poll after one file changed
//! (bench/manifests.sh).
//!
//! `manifests-poll DIR FILE`: reads DIR once, rewrites FILE (a file of
//! DIR) with the same content under a new inode, polls again and prints
//! `RESULT first SECONDS` and `RESULT changed SECONDS objects=N`.

use std::{path::Path, process::ExitCode, time::Instant};

use kube_ipvs_proxier::source::manifests::ManifestsSource;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, file] = args.as_slice() else {
        eprintln!("usage: manifests-poll DIR FILE");
        return ExitCode::from(2);
    };
    let mut source = ManifestsSource::new(dir);
    let start = Instant::now();
    if let Err(err) = source.poll() {
        eprintln!("manifests-poll: {err}");
        return ExitCode::FAILURE;
    }
    println!("RESULT first {:.3}", start.elapsed().as_secs_f64());
    let path = Path::new(dir).join(file);
    let tmp = Path::new(dir).join(".manifests-poll.tmp");
    let rewrite = std::fs::read(&path)
        .and_then(|text| std::fs::write(&tmp, text))
        .and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(err) = rewrite {
        eprintln!("manifests-poll: cannot rewrite {}: {err}", path.display());
        return ExitCode::FAILURE;
    }
    let start = Instant::now();
    match source.poll() {
        Ok(Some(poll)) => {
            let objects = poll.snapshot.services.len()
                + poll.snapshot.endpoint_slices.len()
                + poll.snapshot.nodes.len();
            let seconds = start.elapsed().as_secs_f64();
            println!("RESULT changed {seconds:.3} objects={objects}");
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!("manifests-poll: the change was not seen");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("manifests-poll: {err}");
            ExitCode::FAILURE
        }
    }
}
