//! [`ServiceHandle`]: list, get, add, update, delete and flush virtual
//! services.

use crate::{IpvsError, IpvsHandle, ServiceKey, VirtualService};

/// The virtual services of an [`IpvsHandle`], like rtnetlink's
/// `LinkHandle`: each method returns a request, run with `execute()`.
///
/// ```no_run
/// use ipvs_netlink::{IpvsHandle, Scheduler, ServiceKey, VirtualService};
///
/// # async fn run() -> Result<(), ipvs_netlink::IpvsError> {
/// let ipvs = IpvsHandle::connect().await?;
/// let key = ServiceKey::tcp("10.96.0.1:443".parse().unwrap());
/// // Add, or update the scheduler if the service exists.
/// ipvs.services()
///     .add(VirtualService::new(key, Scheduler::RR))
///     .replace()
///     .execute()
///     .await?;
/// for service in ipvs.services().list().execute().await? {
///     println!("{} {}", service.key, service.scheduler);
/// }
/// ipvs.services().del(key).execute().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ServiceHandle(IpvsHandle);

impl ServiceHandle {
    /// The services of `handle`.
    pub fn new(handle: IpvsHandle) -> Self {
        ServiceHandle(handle)
    }

    /// Every virtual service, in kernel dump order.
    pub fn list(&self) -> ServiceListRequest {
        ServiceListRequest {
            handle: self.0.clone(),
        }
    }

    /// One virtual service, `None` if it does not exist.
    pub fn get(&self, key: ServiceKey) -> ServiceGetRequest {
        ServiceGetRequest {
            handle: self.0.clone(),
            key,
        }
    }

    /// Adds `service` (`NEW_SERVICE`).
    pub fn add(&self, service: VirtualService) -> ServiceAddRequest {
        ServiceAddRequest {
            handle: self.0.clone(),
            service,
            replace: false,
        }
    }

    /// Replaces the settings of an existing service (`SET_SERVICE`).
    pub fn update(&self, service: VirtualService) -> ServiceUpdateRequest {
        ServiceUpdateRequest {
            handle: self.0.clone(),
            service,
        }
    }

    /// Deletes the service `key` and its real servers (`DEL_SERVICE`).
    pub fn del(&self, key: ServiceKey) -> ServiceDelRequest {
        ServiceDelRequest {
            handle: self.0.clone(),
            key,
        }
    }

    /// Deletes every virtual service (`FLUSH`).
    pub fn flush(&self) -> ServiceFlushRequest {
        ServiceFlushRequest {
            handle: self.0.clone(),
        }
    }
}

/// A request for every virtual service ([`ServiceHandle::list`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct ServiceListRequest {
    handle: IpvsHandle,
}

impl ServiceListRequest {
    /// Dumps the services.
    pub async fn execute(self) -> Result<Vec<VirtualService>, IpvsError> {
        self.handle.list_services().await
    }
}

/// A request for one virtual service ([`ServiceHandle::get`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct ServiceGetRequest {
    handle: IpvsHandle,
    key: ServiceKey,
}

impl ServiceGetRequest {
    /// Gets the service, `None` if it does not exist.
    pub async fn execute(self) -> Result<Option<VirtualService>, IpvsError> {
        self.handle.service(&self.key).await
    }
}

/// A request to add a virtual service ([`ServiceHandle::add`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct ServiceAddRequest {
    handle: IpvsHandle,
    service: VirtualService,
    replace: bool,
}

impl ServiceAddRequest {
    /// If the service exists, update it to these settings instead of
    /// failing with [`IpvsError::ServiceExists`] (like rtnetlink's
    /// `replace()`; IPVS has no `NLM_F_REPLACE`, so this is an add and, on
    /// `EEXIST`, an update).
    pub fn replace(mut self) -> Self {
        self.replace = true;
        self
    }

    /// Adds the service.
    pub async fn execute(self) -> Result<(), IpvsError> {
        match self.handle.add_service(&self.service).await {
            Err(IpvsError::ServiceExists(_)) if self.replace => {
                self.handle.update_service(&self.service).await
            }
            result => result,
        }
    }
}

/// A request to update a virtual service ([`ServiceHandle::update`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct ServiceUpdateRequest {
    handle: IpvsHandle,
    service: VirtualService,
}

impl ServiceUpdateRequest {
    /// Updates the service; [`IpvsError::ServiceNotFound`] if it does not
    /// exist.
    pub async fn execute(self) -> Result<(), IpvsError> {
        self.handle.update_service(&self.service).await
    }
}

/// A request to delete a virtual service ([`ServiceHandle::del`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct ServiceDelRequest {
    handle: IpvsHandle,
    key: ServiceKey,
}

impl ServiceDelRequest {
    /// Deletes the service; [`IpvsError::ServiceNotFound`] if it does not
    /// exist.
    pub async fn execute(self) -> Result<(), IpvsError> {
        self.handle.delete_service(&self.key).await
    }
}

/// A request to delete every virtual service ([`ServiceHandle::flush`]).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until executed"]
pub struct ServiceFlushRequest {
    handle: IpvsHandle,
}

impl ServiceFlushRequest {
    /// Deletes every service.
    pub async fn execute(self) -> Result<(), IpvsError> {
        self.handle.flush().await
    }
}
