//! Multi-document YAML manifests (`kubectl apply -f` style) into a
//! [`Snapshot`]: a file, or a directory of `*.yaml`, `*.yml` and `*.json`
//! files (JSON is YAML; not recursive, in name order).
//!
//! * Each document is parsed once (`document`), by serde-saphyr with its
//!   defaults (duplicate keys refused, merge keys merged, its budget on);
//!   a text that is one JSON object by serde_json; `kind: List` (what
//!   `kubectl get -o yaml` prints) is read item by item. A document that
//!   fails, or has a kind the planner does not use, becomes a [`Warning`]
//!   naming the file, the document index and the line of the file the
//!   document starts on (a YAML error names its own line in the file); the
//!   other documents are still read. Objects without a namespace get
//!   `default`, like `kubectl apply`.
//! * Only regular files are read (symbolic links to them are fine), at
//!   most [`MAX_FILE_BYTES`] each, as UTF-8 (`files`). Anything else is a
//!   warning naming the path; one bad file does not stop the others.
//! * [`ManifestsSource`] keeps each file's objects with its stamp (device,
//!   inode, size, modification and change times); a poll re-reads only the
//!   files whose stamp changed and assembles the view from all of them, or
//!   (`poll_delta`, what the daemon does after the first view) gives only
//!   what changed, by name, looked up in the files that hold each name
//!   (`index`): O(the files read), not O(the view).
//!
//! **Never delete on an input that got worse.** Once a file was read, a
//! new version of it that is empty (only whitespace), unreadable, not a
//! regular file, over the size limit, not UTF-8, or has a document that
//! cannot be read (a YAML error such as a half-written file, no `kind`, a
//! field of the wrong type) keeps that file's previous objects, with a
//! warning that says so; only a file whose every document reads cleanly
//! replaces its objects (kinds that are not used are skipped, not
//! errors). A directory that becomes empty keeps everything too (with a
//! warning). A file removed from a directory that still has others removes
//! its objects: that is a deliberate delete (a name the directory read did
//! not return is looked up by itself first: a read racing a rename can
//! miss the renamed file, see `files::add_missed`). To empty a file on
//! purpose, leave a comment or a `---` in it. A file cut inside a plain value is
//! valid YAML and cannot be told from a complete one: write manifests to a
//! temporary name and rename them into place (editors, `kubectl` tooling
//! and ConfigMap volumes do).
//!
//! At the first read nothing is older: an empty file or directory plans
//! nothing, and a file with bad documents gives the good ones. [`load`] on a
//! missing path, or on a single file that cannot be read, fails.

mod document;
mod files;
mod index;
mod object;
mod source;

use std::path::Path;

pub use files::{EXTENSIONS, FileError, MAX_FILE_BYTES};
pub use source::{DeltaPoll, ManifestsSource, Poll};

use super::SourceError;
use crate::cluster::Snapshot;
use crate::model::Warning;

/// Reads a file, or every manifest file of a directory, once. Fails when
/// the path cannot be read, or is a single file that cannot be read; the
/// files of a directory that cannot be read are warnings.
pub fn load(path: &Path) -> Result<(Snapshot, Vec<Warning>), SourceError> {
    let read_err = |path: &Path, source| SourceError::Read {
        path: path.display().to_string(),
        source,
    };
    let poll = ManifestsSource::new(path)
        .read_once()
        .map_err(|err| read_err(path, err))?;
    if !path.is_dir()
        && let Some((file, why)) = poll.unreadable.into_iter().next()
    {
        return Err(read_err(&file, std::io::Error::other(why)));
    }
    Ok((poll.snapshot, poll.warnings))
}

/// Parses the documents of one YAML text; `file` only names it in
/// warnings. Never panics and never fails: bad documents are warnings.
pub fn parse(text: &str, file: &str) -> (Snapshot, Vec<Warning>) {
    let parsed = document::parse(text, file);
    (parsed.snapshot, parsed.warnings)
}

#[cfg(test)]
mod tests;
