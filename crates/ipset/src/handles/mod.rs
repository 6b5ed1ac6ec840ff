//! rtnetlink-shaped sub-handles on [`IpsetHandle`]: [`SetHandle`] and
//! [`EntryHandle`], whose methods return request values run with
//! `execute()`. Each holds a clone of the handle and calls its methods, so
//! both styles share one socket and one behaviour.

mod entries;
mod sets;

pub use self::{
    entries::{
        EntryAddRequest, EntryDelRequest, EntryHandle, EntryListRequest, EntrySyncRequest,
        EntryTestRequest,
    },
    sets::{
        SetCreateRequest, SetDestroyRequest, SetFlushRequest, SetGetRequest, SetHandle,
        SetListRequest, SetNamesRequest, SetRenameRequest, SetSwapRequest,
    },
};
use crate::IpsetHandle;

impl IpsetHandle {
    /// The sets (`ipset create`, `destroy`, `flush`, `rename`, `swap`,
    /// `list`).
    pub fn sets(&self) -> SetHandle {
        SetHandle::new(self.clone())
    }

    /// The members of the set `name` (`ipset add`, `del`, `test`, `list`).
    pub fn entries(&self, name: impl Into<String>) -> EntryHandle {
        EntryHandle::new(self.clone(), name)
    }
}
