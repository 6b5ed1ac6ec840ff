//! [`EntryHandle`]: add, delete, test, list and sync the members of one
//! set.

use crate::{Entry, Extensions, IpsetError, IpsetHandle, SyncStats};

/// The members of one set, like rtnetlink's `AddressHandle`: each method
/// returns a request, run with `execute()`. Requests of many entries are
/// pipelined ([`BatchLimits`](crate::BatchLimits)).
///
/// ```no_run
/// use ipset_netlink::{Entry, IpsetHandle, SetType};
///
/// # async fn run() -> Result<(), ipset_netlink::IpsetError> {
/// let ipset = IpsetHandle::connect().await?;
/// let entries = ipset.entries("KUBE-CLUSTER-IP");
/// let dns = Entry::parse(SetType::HashIpPort, "10.96.0.10,udp:53")?;
/// // `ipset add KUBE-CLUSTER-IP 10.96.0.10,udp:53 -exist`
/// entries.add(dns).exist(true).execute().await?;
/// assert!(entries.test(dns).execute().await?);
/// // Exactly these members, with the fewest adds and deletes.
/// let wanted = ["10.96.0.1,tcp:443", "10.96.0.10,udp:53"]
///     .iter()
///     .map(|s| Entry::parse(SetType::HashIpPort, s))
///     .collect::<Result<Vec<_>, _>>()?;
/// let changes = entries.sync(wanted).execute().await?;
/// println!("added {}, deleted {}", changes.added, changes.deleted);
/// println!("{:?}", entries.list().execute().await?);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct EntryHandle {
    handle: IpsetHandle,
    name: String,
}

impl EntryHandle {
    /// The members of the set `name` on `handle`.
    pub fn new(handle: IpsetHandle, name: impl Into<String>) -> Self {
        EntryHandle {
            handle,
            name: name.into(),
        }
    }

    /// The set these entries belong to.
    pub fn set_name(&self) -> &str {
        &self.name
    }

    /// Adds `entry` (`ipset add`).
    pub fn add(&self, entry: Entry) -> EntryAddRequest {
        self.add_all([entry])
    }

    /// Adds many entries, pipelined.
    pub fn add_all(&self, entries: impl IntoIterator<Item = Entry>) -> EntryAddRequest {
        EntryAddRequest {
            handle: self.handle.clone(),
            name: self.name.clone(),
            entries: entries.into_iter().collect(),
            extensions: Extensions::default(),
            exist: false,
        }
    }

    /// Deletes `entry` (`ipset del`).
    pub fn del(&self, entry: Entry) -> EntryDelRequest {
        self.del_all([entry])
    }

    /// Deletes many entries, pipelined.
    pub fn del_all(&self, entries: impl IntoIterator<Item = Entry>) -> EntryDelRequest {
        EntryDelRequest {
            handle: self.handle.clone(),
            name: self.name.clone(),
            entries: entries.into_iter().collect(),
            exist: false,
        }
    }

    /// Whether the set holds `entry` (`ipset test`).
    pub fn test(&self, entry: Entry) -> EntryTestRequest {
        EntryTestRequest {
            handle: self.handle.clone(),
            name: self.name.clone(),
            entry,
        }
    }

    /// The members, in kernel order.
    pub fn list(&self) -> EntryListRequest {
        EntryListRequest {
            handle: self.handle.clone(),
            name: self.name.clone(),
        }
    }

    /// Makes the set hold exactly `desired`, with the fewest adds and
    /// deletes ([`IpsetHandle::sync`]).
    pub fn sync(&self, desired: impl IntoIterator<Item = Entry>) -> EntrySyncRequest {
        EntrySyncRequest {
            handle: self.handle.clone(),
            name: self.name.clone(),
            desired: desired.into_iter().collect(),
        }
    }
}

/// A request to add entries ([`EntryHandle::add`],
/// [`EntryHandle::add_all`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct EntryAddRequest {
    handle: IpsetHandle,
    name: String,
    entries: Vec<Entry>,
    extensions: Extensions,
    exist: bool,
}

impl EntryAddRequest {
    /// With `true`, present entries are skipped (`add -exist`); default
    /// `false`: the first present one fails with
    /// [`IpsetError::ElementExists`] (the entries before it stay added).
    pub fn exist(mut self, exist: bool) -> Self {
        self.exist = exist;
        self
    }

    /// With these extensions on every entry (the set must have been
    /// created with them: `timeout`, `counters`, `comment`). With
    /// [`exist`](Self::exist), an entry that is present gets them anew (a
    /// fresh timeout, as `ipset add -exist ... timeout N`).
    pub fn extensions(mut self, extensions: Extensions) -> Self {
        self.extensions = extensions;
        self
    }

    /// Adds the entries: one message for a single entry without
    /// extensions (as `ipset add` sends it), pipelined batches otherwise.
    pub async fn execute(self) -> Result<(), IpsetError> {
        if !self.extensions.is_empty() {
            return self
                .handle
                .add_all_with(&self.name, &self.entries, &self.extensions, self.exist)
                .await;
        }
        match (self.entries.as_slice(), self.exist) {
            ([entry], false) => self.handle.add(&self.name, entry).await,
            ([entry], true) => self.handle.add_exist(&self.name, entry).await,
            (entries, exist) => self.handle.add_all(&self.name, entries, exist).await,
        }
    }
}

/// A request to delete entries ([`EntryHandle::del`],
/// [`EntryHandle::del_all`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct EntryDelRequest {
    handle: IpsetHandle,
    name: String,
    entries: Vec<Entry>,
    exist: bool,
}

impl EntryDelRequest {
    /// With `true`, absent entries are skipped (`del -exist`); default
    /// `false`: the first absent one fails with
    /// [`IpsetError::ElementMissing`].
    pub fn exist(mut self, exist: bool) -> Self {
        self.exist = exist;
        self
    }

    /// Deletes the entries: one message for a single entry, pipelined
    /// batches for more.
    pub async fn execute(self) -> Result<(), IpsetError> {
        match (self.entries.as_slice(), self.exist) {
            ([entry], false) => self.handle.del(&self.name, entry).await,
            ([entry], true) => self.handle.del_exist(&self.name, entry).await,
            (entries, exist) => self.handle.del_all(&self.name, entries, exist).await,
        }
    }
}

/// A request to test for an entry ([`EntryHandle::test`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct EntryTestRequest {
    handle: IpsetHandle,
    name: String,
    entry: Entry,
}

impl EntryTestRequest {
    /// Whether the set holds the entry.
    pub async fn execute(self) -> Result<bool, IpsetError> {
        self.handle.test(&self.name, &self.entry).await
    }
}

/// A request for the members of a set ([`EntryHandle::list`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct EntryListRequest {
    handle: IpsetHandle,
    name: String,
}

impl EntryListRequest {
    /// Lists the members; [`IpsetError::SetNotFound`] if the set does not
    /// exist.
    pub async fn execute(self) -> Result<Vec<Entry>, IpsetError> {
        Ok(self.handle.list(&self.name).await?.members)
    }
}

/// A request to make a set hold exactly some entries
/// ([`EntryHandle::sync`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct EntrySyncRequest {
    handle: IpsetHandle,
    name: String,
    desired: Vec<Entry>,
}

impl EntrySyncRequest {
    /// Lists the set, then deletes the extra members and adds the missing
    /// ones in one pipelined batch; returns how many of each.
    pub async fn execute(self) -> Result<SyncStats, IpsetError> {
        self.handle.sync(&self.name, &self.desired).await
    }
}
