//! [`RealServerHandle`]: list, add, update and delete the real servers of
//! one virtual service.

use std::net::SocketAddr;

use crate::{IpvsError, IpvsHandle, RealServer, ServiceKey};

/// The real servers of one virtual service, like rtnetlink's
/// `AddressHandle`: each method returns a request, run with `execute()`.
///
/// ```no_run
/// use ipvs_netlink::{ForwardMethod, IpvsHandle, RealServer, ServiceKey};
///
/// # async fn run() -> Result<(), ipvs_netlink::IpvsError> {
/// let ipvs = IpvsHandle::connect().await?;
/// let key = ServiceKey::tcp("10.96.0.1:443".parse().unwrap());
/// let backend = "10.244.0.5:6443".parse().unwrap();
/// let real_servers = ipvs.real_servers(key);
/// real_servers
///     .add(RealServer::new(backend, ForwardMethod::Masq, 1))
///     .execute()
///     .await?;
/// // Drain it: weight 0, existing connections stay.
/// real_servers
///     .update(RealServer::new(backend, ForwardMethod::Masq, 0))
///     .execute()
///     .await?;
/// println!("{:?}", real_servers.list().execute().await?);
/// real_servers.del(backend).execute().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RealServerHandle {
    handle: IpvsHandle,
    key: ServiceKey,
}

impl RealServerHandle {
    /// The real servers of the service `key` on `handle`.
    pub fn new(handle: IpvsHandle, key: ServiceKey) -> Self {
        RealServerHandle { handle, key }
    }

    /// The service these real servers belong to.
    pub fn service(&self) -> ServiceKey {
        self.key
    }

    /// Every real server of the service, in kernel dump order.
    pub fn list(&self) -> RealServerListRequest {
        RealServerListRequest {
            handle: self.handle.clone(),
            key: self.key,
        }
    }

    /// Adds `server` to the service (`NEW_DEST`).
    pub fn add(&self, server: RealServer) -> RealServerAddRequest {
        RealServerAddRequest {
            handle: self.handle.clone(),
            key: self.key,
            server,
            replace: false,
        }
    }

    /// Replaces the settings of an existing real server (`SET_DEST`).
    pub fn update(&self, server: RealServer) -> RealServerUpdateRequest {
        RealServerUpdateRequest {
            handle: self.handle.clone(),
            key: self.key,
            server,
        }
    }

    /// Removes the real server `addr` from the service (`DEL_DEST`).
    pub fn del(&self, addr: SocketAddr) -> RealServerDelRequest {
        RealServerDelRequest {
            handle: self.handle.clone(),
            key: self.key,
            addr,
        }
    }
}

/// A request for the real servers of a service
/// ([`RealServerHandle::list`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct RealServerListRequest {
    handle: IpvsHandle,
    key: ServiceKey,
}

impl RealServerListRequest {
    /// Dumps the real servers. The kernel answers an empty list for a
    /// service that does not exist.
    pub async fn execute(self) -> Result<Vec<RealServer>, IpvsError> {
        self.handle.list_real_servers(&self.key).await
    }
}

/// A request to add a real server ([`RealServerHandle::add`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct RealServerAddRequest {
    handle: IpvsHandle,
    key: ServiceKey,
    server: RealServer,
    replace: bool,
}

impl RealServerAddRequest {
    /// If the real server exists, update it to these settings instead of
    /// failing with [`IpvsError::RealServerExists`] (an add and, on
    /// `EEXIST`, an update).
    pub fn replace(mut self) -> Self {
        self.replace = true;
        self
    }

    /// Adds the real server; [`IpvsError::ServiceNotFound`] if the service
    /// does not exist.
    pub async fn execute(self) -> Result<(), IpvsError> {
        match self.handle.add_real_server(&self.key, &self.server).await {
            Err(IpvsError::RealServerExists { .. }) if self.replace => {
                self.handle
                    .update_real_server(&self.key, &self.server)
                    .await
            }
            result => result,
        }
    }
}

/// A request to update a real server ([`RealServerHandle::update`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct RealServerUpdateRequest {
    handle: IpvsHandle,
    key: ServiceKey,
    server: RealServer,
}

impl RealServerUpdateRequest {
    /// Updates the real server; [`IpvsError::RealServerNotFound`] if it
    /// does not exist.
    pub async fn execute(self) -> Result<(), IpvsError> {
        self.handle
            .update_real_server(&self.key, &self.server)
            .await
    }
}

/// A request to remove a real server ([`RealServerHandle::del`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct RealServerDelRequest {
    handle: IpvsHandle,
    key: ServiceKey,
    addr: SocketAddr,
}

impl RealServerDelRequest {
    /// Removes the real server; [`IpvsError::RealServerNotFound`] if it
    /// does not exist.
    pub async fn execute(self) -> Result<(), IpvsError> {
        self.handle.delete_real_server(&self.key, self.addr).await
    }
}
