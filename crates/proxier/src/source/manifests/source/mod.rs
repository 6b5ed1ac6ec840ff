//! [`ManifestsSource`]: the manifests as they were last read, file by
//! file, so that a poll reads only the files that changed (the rules are
//! in the [module docs](super)).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    sync::Arc,
};

use super::{
    document::{self, Parsed},
    files::{self, Entry, Stamp},
    index::{Id, Index, Kind},
};
use crate::{
    cluster::{Delta, Snapshot},
    model::Warning,
    source::store::wanted_service,
};

/// What a poll found.
#[derive(Debug)]
pub struct Poll {
    /// Every object of every file (the kept ones included).
    pub snapshot: Snapshot,
    /// Every warning of the current view: the documents skipped in each
    /// file, and the files that could not be read.
    pub warnings: Vec<Warning>,
    /// The files that could not be read this time, with why.
    pub unreadable: Vec<(PathBuf, String)>,
    /// How many files the view is made of.
    pub files: usize,
}

/// What a poll after the first found ([`ManifestsSource::poll_delta`]).
#[derive(Debug)]
pub struct DeltaPoll {
    /// What changed in the view, by name.
    pub delta: Delta,
    /// The warnings of the files read this time (and of the directory,
    /// when it became empty).
    pub warnings: Vec<Warning>,
}

impl Poll {
    /// Whether there were files and none of them could be read.
    pub fn nothing_readable(&self) -> bool {
        self.files > 0 && self.unreadable.len() == self.files
    }
}

/// One file as last read.
#[derive(Debug)]
struct FileState {
    /// Its path, shared with the index.
    path: Arc<Path>,
    /// What the listing showed last (a stamp or why the file is not
    /// readable): the file is read again when this changes.
    seen: Result<Stamp, String>,
    /// The objects of its last good read (each shared with the views
    /// given out, so that the store holds the same objects).
    objects: Snapshot,
    /// The warnings of its last read.
    warnings: Vec<Warning>,
    /// Why the last read could not be used, if it could not.
    unreadable: Option<String>,
}

/// What reading one file gave.
enum Read {
    /// Its objects replace the file's.
    Good(Parsed),
    /// Worse than before: the file's objects stay.
    Worse {
        /// Why.
        why: String,
        /// The documents' warnings, if it was parsed.
        warnings: Vec<Warning>,
    },
}

/// The manifests of one path, read incrementally.
#[derive(Debug)]
pub struct ManifestsSource {
    path: PathBuf,
    limit: u64,
    files: BTreeMap<PathBuf, FileState>,
    /// The last listing, to tell "nothing changed" cheaply.
    listing: Option<Vec<Entry>>,
    /// Whether the directory became empty (the objects are kept).
    emptied: bool,
    /// The files that hold each name.
    index: Index,
    /// The names whose objects a refresh added, changed or removed.
    touched: BTreeSet<Id>,
    /// The files a refresh read (or found unreadable).
    read: Vec<PathBuf>,
}

impl ManifestsSource {
    /// A source of `path` (a file or a directory), nothing read yet.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ManifestsSource {
            path: path.into(),
            limit: files::MAX_FILE_BYTES,
            files: BTreeMap::new(),
            listing: None,
            emptied: false,
            index: Index::default(),
            touched: BTreeSet::new(),
            read: Vec::new(),
        }
    }

    /// The same with another size limit per file than
    /// [`files::MAX_FILE_BYTES`].
    pub fn with_limit(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    /// The path read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads what changed since the last poll: `Ok(None)` when nothing
    /// did (the same file names and stamps), else the whole current view.
    /// Fails only when the path itself cannot be read; the view is kept.
    pub fn poll(&mut self) -> Result<Option<Poll>, std::io::Error> {
        let changed = self.refresh()?;
        // Only a delta needs them (20,000 names after a first read at 10k).
        self.touched.clear();
        self.read.clear();
        Ok(changed.then(|| self.view()))
    }

    /// Like [`poll`](Self::poll), but gives only what changed since the
    /// previous poll: for each name the files read added, changed or
    /// removed an object under, what now wins it in the view (the first
    /// object of that name in file order, for a Service the first that
    /// [`wanted_service`]), looked up in the files that hold the name. The
    /// cost is the files read and the names they hold, not the view:
    /// [`crate::source::store::ClusterStore::apply_delta`] of it leaves
    /// the store as a `replace_all` of [`poll`](Self::poll)'s view would.
    pub fn poll_delta(&mut self) -> Result<Option<DeltaPoll>, std::io::Error> {
        if !self.refresh()? {
            return Ok(None);
        }
        let mut delta = Delta::default();
        for id in std::mem::take(&mut self.touched) {
            match id.kind {
                Kind::Service => {
                    let winner = self.winner(
                        &id,
                        |o| &o.services,
                        |s| wanted_service(s) && id.is(&s.metadata.namespace, &s.metadata.name),
                    );
                    delta.services.push((id.service_name(), winner));
                }
                Kind::EndpointSlice => {
                    let winner = self.winner(
                        &id,
                        |o| &o.endpoint_slices,
                        |s| id.is(&s.metadata.namespace, &s.metadata.name),
                    );
                    delta
                        .endpoint_slices
                        .push(((id.namespace.clone(), id.name.clone()), winner));
                }
                Kind::Node => {
                    let winner = self.winner(
                        &id,
                        |o| &o.nodes,
                        |n| id.is(&n.metadata.namespace, &n.metadata.name),
                    );
                    delta.nodes.push((id.name.clone(), winner));
                }
            }
        }
        let mut warnings = self.emptied_warning().into_iter().collect::<Vec<_>>();
        for path in std::mem::take(&mut self.read) {
            if let Some(state) = self.files.get(&path) {
                warnings.extend(state.warnings.iter().cloned());
            }
        }
        Ok(Some(DeltaPoll { delta, warnings }))
    }

    /// The first object of the files that hold `id` (in file order) that
    /// `is_it` accepts.
    fn winner<T>(
        &self,
        id: &Id,
        list: impl Fn(&Snapshot) -> &Vec<Arc<T>>,
        is_it: impl Fn(&T) -> bool,
    ) -> Option<Arc<T>> {
        self.index.files(id).iter().find_map(|path| {
            let state = self.files.get(&**path)?;
            list(&state.objects).iter().find(|o| is_it(o)).cloned()
        })
    }

    /// Reads the files once and returns the view, moving the objects out
    /// (a one-shot read: [`super::load`]).
    pub fn read_once(mut self) -> Result<Poll, std::io::Error> {
        self.refresh()?;
        let mut poll = self.view_without_objects();
        for state in self.files.into_values() {
            poll.snapshot.extend(state.objects);
        }
        Ok(poll)
    }

    /// Re-reads the files whose stamps changed; whether any did. What the
    /// view gained and lost is in `touched`, the files read in `read`.
    fn refresh(&mut self) -> Result<bool, std::io::Error> {
        self.touched.clear();
        self.read.clear();
        let listing = files::list(&self.path)?;
        Ok(self.refresh_from(listing))
    }

    /// [`refresh`](Self::refresh) from a listing of the path.
    fn refresh_from(&mut self, mut listing: Vec<Entry>) -> bool {
        // A file the directory read missed is not deleted if it is there.
        files::add_missed(&mut listing, self.files.keys());
        if self.listing.as_ref() == Some(&listing) {
            return false;
        }
        self.emptied = listing.is_empty() && !self.files.is_empty();
        if !self.emptied {
            // A file gone from the listing is a deliberate delete.
            let listed: BTreeSet<&PathBuf> = listing.iter().map(|(path, _)| path).collect();
            let gone: Vec<PathBuf> = self
                .files
                .keys()
                .filter(|path| !listed.contains(path))
                .cloned()
                .collect();
            for path in gone {
                if let Some(state) = self.files.remove(&path) {
                    self.forget(&state);
                }
            }
            for (path, seen) in &listing {
                self.update(path, seen);
            }
        }
        self.listing = Some(listing);
        true
    }

    /// Reads one file again if the listing shows it changed.
    fn update(&mut self, path: &Path, seen: &Result<Stamp, String>) {
        if self
            .files
            .get(path)
            .is_some_and(|state| state.seen == *seen)
        {
            return;
        }
        self.read.push(path.to_owned());
        let previous = self.files.remove(path);
        let read = match seen {
            Err(why) => Read::Worse {
                why: why.clone(),
                warnings: Vec::new(),
            },
            Ok(_) => self.read_file(path, previous.is_some()),
        };
        let shared: Arc<Path> = match &previous {
            Some(old) => old.path.clone(),
            None => Arc::from(path),
        };
        let state = match read {
            Read::Good(parsed) => {
                if let Some(old) = &previous {
                    self.forget(old);
                }
                let state = FileState {
                    path: shared,
                    seen: seen.clone(),
                    objects: parsed.snapshot,
                    warnings: parsed.warnings,
                    unreadable: None,
                };
                self.index.add(&state.path, &state.objects);
                self.touched.extend(Id::all(&state.objects));
                state
            }
            Read::Worse { why, mut warnings } => {
                let (objects, message) = match previous {
                    Some(old) => {
                        let count = old.objects.services.len()
                            + old.objects.endpoint_slices.len()
                            + old.objects.nodes.len();
                        let message = format!(
                            "{why}; keeping what its last good read gave ({count} objects)"
                        );
                        (old.objects, message)
                    }
                    None => (Snapshot::default(), why.clone()),
                };
                warnings.push(file_warning(path, message));
                FileState {
                    path: shared,
                    seen: seen.clone(),
                    objects,
                    warnings,
                    unreadable: Some(why),
                }
            }
        };
        self.files.insert(path.to_owned(), state);
    }

    /// Takes a file's objects out of the index; their names are touched.
    fn forget(&mut self, state: &FileState) {
        self.index.remove(&state.path, &state.objects);
        self.touched.extend(Id::all(&state.objects));
    }

    /// Reads and parses one file; `had_objects`: whether it was read
    /// before (then an empty or broken read is worse, not new).
    fn read_file(&self, path: &Path, had_objects: bool) -> Read {
        let text = match files::read(path, self.limit) {
            Ok(text) => text,
            Err(err) => {
                return Read::Worse {
                    why: err.to_string(),
                    warnings: Vec::new(),
                };
            }
        };
        if text.trim().is_empty() {
            return if had_objects {
                Read::Worse {
                    why: "it is empty".into(),
                    warnings: Vec::new(),
                }
            } else {
                Read::Good(Parsed::default())
            };
        }
        let parsed = document::parse(&text, &path.display().to_string());
        if had_objects && parsed.failed > 0 {
            let why = match parsed.failed {
                1 => "one of its documents cannot be read".to_owned(),
                n => format!("{n} of its documents cannot be read"),
            };
            return Read::Worse {
                why,
                warnings: parsed.warnings,
            };
        }
        Read::Good(parsed)
    }

    /// The current view, assembled from the files in name order (the
    /// objects shared, not copied).
    fn view(&self) -> Poll {
        let mut poll = self.view_without_objects();
        for state in self.files.values() {
            let objects = &state.objects;
            let snapshot = &mut poll.snapshot;
            snapshot.services.extend(objects.services.iter().cloned());
            let slices = objects.endpoint_slices.iter().cloned();
            snapshot.endpoint_slices.extend(slices);
            snapshot.nodes.extend(objects.nodes.iter().cloned());
        }
        poll
    }

    /// The view's warnings and unreadable files, and no object yet.
    fn view_without_objects(&self) -> Poll {
        let mut warnings: Vec<Warning> = self.emptied_warning().into_iter().collect();
        let mut unreadable = Vec::new();
        for (path, state) in &self.files {
            warnings.extend(state.warnings.iter().cloned());
            if let Some(why) = &state.unreadable {
                unreadable.push((path.clone(), why.clone()));
            }
        }
        Poll {
            snapshot: Snapshot::default(),
            warnings,
            unreadable,
            files: self.files.len(),
        }
    }
}

impl ManifestsSource {
    /// The warning of a directory that became empty.
    fn emptied_warning(&self) -> Option<Warning> {
        self.emptied.then(|| {
            file_warning(
                &self.path,
                format!(
                    "no manifest file any more; keeping the objects of the {} files read before",
                    self.files.len()
                ),
            )
        })
    }
}

fn file_warning(path: &Path, message: String) -> Warning {
    Warning::new("", path.display().to_string(), "", message)
}

#[cfg(test)]
mod tests;
