//! [`SetHandle`]: create, destroy, flush, rename, swap and list sets.

use crate::{CreateOptions, Family, IpsetError, IpsetHandle, SetInfo, SetType};

/// The sets of an [`IpsetHandle`], like rtnetlink's `LinkHandle`: each
/// method returns a request, run with `execute()`.
///
/// ```no_run
/// use ipset_netlink::{Family, IpsetHandle, SetType};
///
/// # async fn run() -> Result<(), ipset_netlink::IpsetError> {
/// let ipset = IpsetHandle::connect().await?;
/// // `ipset create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 -exist`
/// ipset
///     .sets()
///     .create("KUBE-CLUSTER-IP", SetType::HashIpPort)
///     .family(Family::Inet)
///     .hashsize(1024)
///     .exist(true)
///     .execute()
///     .await?;
/// println!("{:?}", ipset.sets().names().execute().await?);
/// let header = ipset.sets().get("KUBE-CLUSTER-IP").terse().execute().await?;
/// println!("{} {:?}", header.type_name, header.header);
/// ipset.sets().destroy("KUBE-CLUSTER-IP").execute().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SetHandle(IpsetHandle);

impl SetHandle {
    /// The sets of `handle`.
    pub fn new(handle: IpsetHandle) -> Self {
        SetHandle(handle)
    }

    /// Creates the set `name` of type `set_type`, with the kernel's
    /// defaults unless the request sets options.
    pub fn create(&self, name: impl Into<String>, set_type: SetType) -> SetCreateRequest {
        SetCreateRequest {
            handle: self.0.clone(),
            name: name.into(),
            set_type,
            options: CreateOptions::default(),
            exist: false,
        }
    }

    /// Destroys the set `name`.
    pub fn destroy(&self, name: impl Into<String>) -> SetDestroyRequest {
        SetDestroyRequest {
            handle: self.0.clone(),
            name: name.into(),
        }
    }

    /// Removes every member of the set `name`.
    pub fn flush(&self, name: impl Into<String>) -> SetFlushRequest {
        SetFlushRequest {
            handle: self.0.clone(),
            name: name.into(),
        }
    }

    /// Renames the set `from` to `to`.
    pub fn rename(&self, from: impl Into<String>, to: impl Into<String>) -> SetRenameRequest {
        SetRenameRequest {
            handle: self.0.clone(),
            from: from.into(),
            to: to.into(),
        }
    }

    /// Swaps the contents of two sets of compatible types.
    pub fn swap(&self, first: impl Into<String>, second: impl Into<String>) -> SetSwapRequest {
        SetSwapRequest {
            handle: self.0.clone(),
            first: first.into(),
            second: second.into(),
        }
    }

    /// One set, with its members unless [`SetGetRequest::terse`].
    pub fn get(&self, name: impl Into<String>) -> SetGetRequest {
        SetGetRequest {
            handle: self.0.clone(),
            name: name.into(),
            terse: false,
        }
    }

    /// Every set with its members (`ipset list`).
    pub fn list(&self) -> SetListRequest {
        SetListRequest {
            handle: self.0.clone(),
        }
    }

    /// The names of every set (`ipset list -n`).
    pub fn names(&self) -> SetNamesRequest {
        SetNamesRequest {
            handle: self.0.clone(),
        }
    }
}

/// A request to create a set ([`SetHandle::create`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct SetCreateRequest {
    handle: IpsetHandle,
    name: String,
    set_type: SetType,
    options: CreateOptions,
    exist: bool,
}

impl SetCreateRequest {
    /// Replaces every option at once.
    pub fn options(mut self, options: CreateOptions) -> Self {
        self.options = options;
        self
    }

    /// The address family of a hash set (default inet).
    pub fn family(mut self, family: Family) -> Self {
        self.options.family = family;
        self
    }

    /// The initial hash size.
    pub fn hashsize(mut self, value: u32) -> Self {
        self.options = self.options.hashsize(value);
        self
    }

    /// The maximal number of elements.
    pub fn maxelem(mut self, value: u32) -> Self {
        self.options = self.options.maxelem(value);
        self
    }

    /// The default timeout of elements, in seconds (enables timeouts).
    pub fn timeout(mut self, seconds: u32) -> Self {
        self.options = self.options.timeout(seconds);
        self
    }

    /// The port range of a bitmap:port set.
    pub fn range(mut self, from: u16, to: u16) -> Self {
        self.options = self.options.range(from, to);
        self
    }

    /// With `true`, an identical existing set is not an error
    /// (`create -exist`); default `false`: [`IpsetError::SetExists`].
    pub fn exist(mut self, exist: bool) -> Self {
        self.exist = exist;
        self
    }

    /// Creates the set.
    pub async fn execute(self) -> Result<(), IpsetError> {
        if self.exist {
            self.handle
                .ensure(&self.name, self.set_type, &self.options)
                .await
        } else {
            self.handle
                .create(&self.name, self.set_type, &self.options)
                .await
        }
    }
}

/// A request to destroy a set ([`SetHandle::destroy`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct SetDestroyRequest {
    handle: IpsetHandle,
    name: String,
}

impl SetDestroyRequest {
    /// Destroys the set; [`IpsetError::SetNotFound`] if it does not exist,
    /// [`IpsetError::SetInUse`] if a rule or another set refers to it.
    pub async fn execute(self) -> Result<(), IpsetError> {
        self.handle.destroy(&self.name).await
    }
}

/// A request to flush a set ([`SetHandle::flush`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct SetFlushRequest {
    handle: IpsetHandle,
    name: String,
}

impl SetFlushRequest {
    /// Removes every member.
    pub async fn execute(self) -> Result<(), IpsetError> {
        self.handle.flush(&self.name).await
    }
}

/// A request to rename a set ([`SetHandle::rename`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct SetRenameRequest {
    handle: IpsetHandle,
    from: String,
    to: String,
}

impl SetRenameRequest {
    /// Renames the set; [`IpsetError::SetExists`] if `to` exists.
    pub async fn execute(self) -> Result<(), IpsetError> {
        self.handle.rename(&self.from, &self.to).await
    }
}

/// A request to swap two sets ([`SetHandle::swap`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct SetSwapRequest {
    handle: IpsetHandle,
    first: String,
    second: String,
}

impl SetSwapRequest {
    /// Swaps the sets; [`IpsetError::TypeMismatch`] if their types or
    /// families differ.
    pub async fn execute(self) -> Result<(), IpsetError> {
        self.handle.swap(&self.first, &self.second).await
    }
}

/// A request for one set ([`SetHandle::get`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct SetGetRequest {
    handle: IpsetHandle,
    name: String,
    terse: bool,
}

impl SetGetRequest {
    /// Only the header, without members (`ipset list -t`).
    pub fn terse(mut self) -> Self {
        self.terse = true;
        self
    }

    /// Lists the set; [`IpsetError::SetNotFound`] if it does not exist.
    pub async fn execute(self) -> Result<SetInfo, IpsetError> {
        if self.terse {
            self.handle.header(&self.name).await
        } else {
            self.handle.list(&self.name).await
        }
    }
}

/// A request for every set ([`SetHandle::list`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct SetListRequest {
    handle: IpsetHandle,
}

impl SetListRequest {
    /// Lists every set with its members.
    pub async fn execute(self) -> Result<Vec<SetInfo>, IpsetError> {
        self.handle.list_all().await
    }
}

/// A request for the names of every set ([`SetHandle::names`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct SetNamesRequest {
    handle: IpsetHandle,
}

impl SetNamesRequest {
    /// Lists the names.
    pub async fn execute(self) -> Result<Vec<String>, IpsetError> {
        self.handle.list_names().await
    }
}
