//! Which files the manifests are, and reading one safely.
//!
//! A path is a file or a directory of `*.yaml`, `*.yml` and `*.json` files
//! (not recursive). Symbolic links are followed; what they lead to must be
//! a regular file. Anything else (a FIFO, a socket, a device, a directory
//! named `x.yaml`) is a [`FileError::NotRegular`] and is never opened for
//! reading, so it cannot hang the reader; a file is opened non-blocking and
//! checked again on the open descriptor, in case it was swapped meanwhile.
//! A file larger than [`MAX_FILE_BYTES`] is refused.

use std::{
    fs::{File, Metadata, OpenOptions},
    io::Read,
    os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

/// The largest manifest file read: 64 MiB (a file of 50,000 EndpointSlices
/// of 10 endpoints each is about 50 MB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// The file name endings read in a directory.
pub const EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// Why one file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// An I/O error (missing, permission denied, a broken symlink…).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Not a regular file.
    #[error("not a regular file but {0}")]
    NotRegular(&'static str),
    /// Over [`MAX_FILE_BYTES`].
    #[error("{size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The file's size (at least).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not UTF-8.
    #[error("not UTF-8 (invalid bytes on line {line})")]
    Utf8 {
        /// The line of the first invalid byte.
        line: usize,
    },
}

/// What identifies a file's content cheaply: a changed stamp means the file
/// is read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    device: u64,
    inode: u64,
    size: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl Stamp {
    fn of(meta: &Metadata) -> Self {
        Stamp {
            device: meta.dev(),
            inode: meta.ino(),
            size: meta.size(),
            modified: (meta.mtime(), meta.mtime_nsec()),
            changed: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// One file of a listing: its stamp, or why it cannot be read.
pub type Entry = (PathBuf, Result<Stamp, String>);

/// The files of `path` in name order, each with its stamp or the reason it
/// cannot be read (as text, so that listings compare). Fails only when
/// `path` itself cannot be read.
pub fn list(path: &Path) -> Result<Vec<Entry>, std::io::Error> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_dir() {
        return Ok(vec![(
            path.to_owned(),
            stamp(&meta).map_err(|e| e.to_string()),
        )]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let file = entry?.path();
        let wanted = file
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e));
        if wanted {
            files.push(entry_of(file));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    // A rename during the read can also show one name twice.
    files.dedup_by(|a, b| a.0 == b.0);
    Ok(files)
}

/// Adds to a [`list`]ing the `known` files it lacks that are still there.
/// A read of a directory that races a rename over one of its files can
/// miss that file: Linux 6.1's tmpfs moves the renamed entry to the front
/// of the directory, behind the read position, and drops the replaced one,
/// and a read of more names than one buffer holds (glibc's 32 KiB: about
/// 800 names) is several system calls. A file left out of a listing counts
/// as deleted, so each known name missing is looked up by itself; only one
/// that is really gone stays out.
pub fn add_missed<'a>(listing: &mut Vec<Entry>, known: impl IntoIterator<Item = &'a PathBuf>) {
    let listed = listing.len();
    let gone = |err: &std::io::Error| err.kind() == std::io::ErrorKind::NotFound;
    for path in known {
        let missing = listing[..listed]
            .binary_search_by(|(p, _)| p.cmp(path))
            .is_err();
        if missing && !std::fs::symlink_metadata(path).as_ref().is_err_and(gone) {
            listing.push(entry_of(path.clone()));
        }
    }
    if listing.len() > listed {
        listing.sort_by(|a, b| a.0.cmp(&b.0));
    }
}

/// One file of a listing, with its stamp or why it cannot be read.
fn entry_of(file: PathBuf) -> Entry {
    let found = std::fs::metadata(&file)
        .map_err(FileError::from)
        .and_then(|meta| stamp(&meta))
        .map_err(|e| e.to_string());
    (file, found)
}

/// The stamp of a regular file, or why it is not one.
fn stamp(meta: &Metadata) -> Result<Stamp, FileError> {
    let kind = meta.file_type();
    let what = if kind.is_file() {
        return Ok(Stamp::of(meta));
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "a special file"
    };
    Err(FileError::NotRegular(what))
}

/// Reads a regular file of at most `limit` bytes as UTF-8.
pub fn read(path: &Path, limit: u64) -> Result<String, FileError> {
    // O_NONBLOCK: a FIFO swapped in after the listing opens at once (and
    // is refused below) instead of waiting for a writer.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    stamp(&meta)?;
    if meta.size() > limit {
        return Err(FileError::TooLarge {
            size: meta.size(),
            limit,
        });
    }
    let bytes = read_at_most(file, meta.size(), limit)?;
    String::from_utf8(bytes).map_err(|err| {
        let valid = err.utf8_error().valid_up_to();
        let line = 1 + err.as_bytes()[..valid]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        FileError::Utf8 { line }
    })
}

/// Reads to the end, but never more than `limit` bytes (a file growing
/// while it is read is refused, not read without end).
fn read_at_most(file: File, size: u64, limit: u64) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    let read = bytes.len() as u64;
    if read > limit {
        return Err(FileError::TooLarge { size: read, limit });
    }
    Ok(bytes)
}
