//! Higher-level helpers on [`IpsetHandle`]: make a set hold exactly a
//! list of members with the fewest changes, and replace a set atomically.

use std::collections::HashSet;

use crate::{CreateOptions, Entry, IpsetError, IpsetHandle, SetType, request::ElementOp};

/// What [`IpsetHandle::sync`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncStats {
    /// Elements added.
    pub added: usize,
    /// Elements deleted.
    pub deleted: usize,
}

/// The minimal changes that turn `current` into `desired`: (to delete,
/// to add), each in input order and without duplicates.
pub(crate) fn diff(current: &[Entry], desired: &[Entry]) -> (Vec<Entry>, Vec<Entry>) {
    let want: HashSet<&Entry> = desired.iter().collect();
    let have: HashSet<&Entry> = current.iter().collect();
    let mut seen = HashSet::new();
    let delete = current
        .iter()
        .filter(|e| !want.contains(e) && seen.insert(**e))
        .copied()
        .collect();
    let add = desired
        .iter()
        .filter(|e| !have.contains(e) && seen.insert(**e))
        .copied()
        .collect();
    (delete, add)
}

/// Name of the temporary set of [`IpsetHandle::replace`]: the name cut to
/// fit, plus `-tmp`.
pub(crate) fn temporary_name(name: &str) -> String {
    let mut cut = name.len().min(27);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-tmp", &name[..cut])
}

impl IpsetHandle {
    /// Makes the set hold exactly `desired`: lists it, then deletes the
    /// extra members and adds the missing ones, all in one pipelined
    /// batch (with `-exist`, so a concurrent change does not fail it).
    pub async fn sync(&self, name: &str, desired: &[Entry]) -> Result<SyncStats, IpsetError> {
        let current = self.list(name).await?.members;
        let (delete, add) = diff(&current, desired);
        let mut requests = self
            .batch_requests(ElementOp::Del, name, &delete, true)
            .await;
        let deletes = requests.len();
        requests.extend(self.batch_requests(ElementOp::Add, name, &add, true).await);
        // Errors name entries by position: check the two halves apart.
        let (del_reqs, add_reqs) = requests.split_at(deletes);
        if !add_reqs.is_empty() && !del_reqs.is_empty() {
            self.run_batch(&requests, &[]).await?;
        } else if !del_reqs.is_empty() {
            self.run_batch(del_reqs, &delete).await?;
        } else if !add_reqs.is_empty() {
            self.run_batch(add_reqs, &add).await?;
        }
        Ok(SyncStats {
            added: add.len(),
            deleted: delete.len(),
        })
    }

    /// Replaces the set atomically: fills a temporary set, swaps it with
    /// `name` (or renames it if `name` does not exist) and destroys the
    /// temporary. Readers of `name` see the old or the new members, never
    /// a mix. The set must keep its type and family.
    pub async fn replace(
        &self,
        name: &str,
        set_type: SetType,
        options: &CreateOptions,
        entries: &[Entry],
    ) -> Result<(), IpsetError> {
        let tmp = temporary_name(name);
        // A leftover from an interrupted replace is discarded.
        match self.destroy(&tmp).await {
            Ok(()) | Err(IpsetError::SetNotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        self.create(&tmp, set_type, options).await?;
        let filled = self.add_all(&tmp, entries, true).await;
        let result = match filled {
            Ok(()) if self.exists(name).await? => self.swap(&tmp, name).await,
            Ok(()) => return self.rename(&tmp, name).await,
            Err(e) => Err(e),
        };
        let cleanup = self.destroy(&tmp).await;
        result.and(cleanup)
    }
}
