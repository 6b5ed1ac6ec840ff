//! Higher-level helpers of the clients: make a set hold exactly a list of
//! members with the fewest changes, and replace a set atomically (on
//! `IpsetHandle` here; the blocking client has the same).

use std::collections::HashSet;

use crate::Entry;
#[cfg(feature = "tokio")]
use crate::{CreateOptions, IpsetError, IpsetHandle, SetType, client};

/// What a sync changed (`IpsetHandle::sync`, `IpsetClient::sync`).
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

#[cfg(feature = "tokio")]
impl IpsetHandle {
    /// Makes the set hold exactly `desired`: lists it, then deletes the
    /// extra members and adds the missing ones, all in one pipelined
    /// batch (with `-exist`, so a concurrent change does not fail it).
    pub async fn sync(&self, name: &str, desired: &[Entry]) -> Result<SyncStats, IpsetError> {
        let current = self.list(name).await?.members;
        let plan = self.builder().sync(name, &current, desired);
        self.run_batch(&plan.requests, &plan.entries).await?;
        Ok(plan.stats)
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
        client::leftover_destroyed(self.destroy(&tmp).await)?;
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
