//! A stable-toolchain fuzz runner for the fuzz targets' checks: replays a
//! committed corpus, then feeds random mutations of it (bit flips,
//! interesting bytes and lengths, inserted tokens, deleted, duplicated and
//! spliced ranges) for a bounded time. Not coverage-guided (that is
//! `tests/fuzz.sh --libfuzzer`, which needs sanitizer builds); deterministic
//! for a given seed.
//!
//! Used by each crate's `tests/fuzz.rs`. Environment:
//! `FUZZ_SECONDS` (per target, default 2), `FUZZ_SEED` (default: a fixed seed, so runs repeat).
//! A panicking input is written to `target/fuzz-artifacts/` and the test
//! fails naming it and the seed.

use std::{
    panic::{self, AssertUnwindSafe},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// What the target reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Bytes (netlink datagrams): any byte may be written.
    Bytes,
    /// Text (YAML): written bytes are printable ASCII, tabs and newlines,
    /// or the dictionary's tokens, so most mutants stay UTF-8.
    Text,
}

/// A fuzz target: its name, its committed corpus, what it reads, tokens
/// worth inserting, and the check that must not panic.
pub struct Target<'a> {
    /// The name printed and used for artifacts.
    pub name: &'a str,
    /// The directory of seed inputs (every file).
    pub corpus: PathBuf,
    /// Bytes or text.
    pub input: Input,
    /// Tokens inserted by one of the mutations.
    pub dictionary: &'a [&'a [u8]],
    /// The check.
    pub check: fn(&[u8]),
}

use crate::rng::Rng;

const INTERESTING: [u8; 8] = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40];

fn random_byte(rng: &mut Rng, input: Input) -> u8 {
    match input {
        Input::Bytes => rng.next_u64() as u8,
        Input::Text => match rng.below(20) {
            0 => b'\n',
            1 => b'\t',
            _ => b' ' + rng.below(95) as u8,
        },
    }
}

/// One mutant of `seed`, built from 1 to 4 mutations.
fn mutate(rng: &mut Rng, seed: &[u8], corpus: &[Vec<u8>], target: &Target<'_>) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let len = data.len();
        match rng.below(10) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = random_byte(rng, target.input);
            }
            2 if len > 0 && target.input == Input::Bytes => {
                let i = rng.below(len);
                data[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            3 if len >= 2 && target.input == Input::Bytes => {
                // A 16- or 32-bit length or type field set to an edge value.
                let width = if rng.below(2) == 0 { 2 } else { 4 }.min(len);
                let i = rng.below(len - width + 1);
                let value: u32 = match rng.below(5) {
                    0 => 0,
                    1 => 4,
                    2 => len as u32,
                    3 => len as u32 + 1,
                    _ => u32::MAX,
                };
                data[i..i + width].copy_from_slice(&value.to_ne_bytes()[..width]);
            }
            4 => {
                let i = rng.below(len + 1);
                let bytes: Vec<u8> = (0..=rng.below(8))
                    .map(|_| random_byte(rng, target.input))
                    .collect();
                data.splice(i..i, bytes);
            }
            5 if !target.dictionary.is_empty() => {
                let i = rng.below(len + 1);
                let token = target.dictionary[rng.below(target.dictionary.len())];
                data.splice(i..i, token.iter().copied());
            }
            6 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                data.drain(i..i + n);
            }
            7 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                let chunk = data[i..i + n].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, chunk);
            }
            8 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                let keep = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                data.truncate(keep);
                data.extend_from_slice(&other[from..]);
            }
            9 if len > 0 => data.truncate(rng.below(len)),
            _ => {}
        }
    }
    data
}

fn corpus(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| std::fs::read(path).expect("corpus file"))
        .collect()
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `input` through the check; on a panic writes it out and fails.
fn exec(target: &Target<'_>, input: &[u8], seed: u64) {
    if panic::catch_unwind(AssertUnwindSafe(|| (target.check)(input))).is_ok() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts directory");
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("{}-{hash:016x}", target.name));
    std::fs::write(&path, input).expect("artifact");
    panic!(
        "fuzz {}: the check panicked on {} (FUZZ_SEED={seed})",
        target.name,
        path.display()
    );
}

/// The seed of the mutants when `FUZZ_SEED` is not set.
const DEFAULT_SEED: u64 = 0x6b75_6265_6970_7673;

/// Replays the corpus, then mutants until `FUZZ_SECONDS` have passed;
/// prints the executions done.
pub fn run(target: &Target<'_>) {
    let seconds: f64 = env_or("FUZZ_SECONDS", 2.0);
    // A fixed default, so that a test run (and CI) is repeatable: a new
    // seed is a new exploration, asked for with FUZZ_SEED.
    let seed: u64 = env_or("FUZZ_SEED", DEFAULT_SEED);
    let seeds = corpus(&target.corpus);
    assert!(
        !seeds.is_empty(),
        "fuzz {}: empty corpus {}",
        target.name,
        target.corpus.display()
    );
    let started = Instant::now();
    let budget = Duration::from_secs_f64(seconds);
    let mut rng = Rng(seed | 1);
    let mut execs = 0u64;
    for input in &seeds {
        exec(target, input, seed);
        execs += 1;
    }
    while started.elapsed() < budget {
        // Between clock reads, a batch.
        for _ in 0..64 {
            let pick = rng.below(seeds.len());
            let input = mutate(&mut rng, &seeds[pick], &seeds, target);
            exec(target, &input, seed);
            execs += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "fuzz {}: {execs} execs in {elapsed:.1} s ({:.0}/s) from {} seeds, FUZZ_SEED={seed}, no panic",
        target.name,
        execs as f64 / elapsed,
        seeds.len()
    );
}
