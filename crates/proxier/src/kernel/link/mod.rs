//! The `kube-ipvs0` dummy interface and the VIPs bound to it, over
//! rtnetlink.
//!
//! kube-proxy creates `kube-ipvs0` (type `dummy`) and never sets it up: it
//! stays `DOWN`, it only exists so that the kernel treats the bound VIPs as
//! local and IPVS sees the packets. Two binding modes:
//!
//! * [`BindMode::Address`] (kube-proxy's): a `/32` or `/128` address per VIP
//!   on `kube-ipvs0` (`EEXIST` = already bound).
//! * [`BindMode::Route`]: a `local` route per VIP in table `local` with
//!   device `kube-ipvs0` (`ip route add local VIP dev kube-ipvs0 table
//!   local`), protocol `static`. IPVS forwards to those exactly as to
//!   bound addresses, and the kernel adds them in constant time where
//!   addresses are super-linear.
//!
//! Binds and unbinds are pipelined: up to [`PIPELINE`] requests are in
//! flight on the one rtnetlink socket. Every request sent is counted
//! ([`LinkWriter::messages`]).
//!
//! Address and route dumps are retried (at most [`DUMP_ATTEMPTS`] times)
//! when the kernel flags a reply `NLM_F_DUMP_INTR`: the table changed
//! while it was being dumped, so the dump may miss or repeat entries
//! (`dump`: a second socket of their own, every reply header checked).

use std::{
    collections::{BTreeMap, BTreeSet},
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

use futures::{StreamExt, TryStreamExt, stream};
use rtnetlink::{
    AddressMessageBuilder, Handle, LinkDummy, RouteMessageBuilder,
    packet_route::{
        RouteNetlinkMessage,
        address::AddressMessage,
        link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage},
        route::{RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType},
    },
};

/// kube-proxy's dummy interface.
pub const INTERFACE: &str = "kube-ipvs0";

/// Requests in flight at once on the rtnetlink socket.
pub const PIPELINE: usize = 128;

/// Dumps of one table tried at most, while the kernel flags them
/// interrupted (`NLM_F_DUMP_INTR`).
pub const DUMP_ATTEMPTS: usize = 5;

/// The kernel's `local` routing table (`RT_TABLE_LOCAL`).
const TABLE_LOCAL: u32 = 255;

use libc::{EADDRNOTAVAIL, EEXIST, ENODEV, ENOENT, ENXIO, EOPNOTSUPP, EPERM, ESRCH};

use crate::types::BindMode;

pub(crate) mod dump;

/// Errors of the link writer.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The rtnetlink socket could not be opened.
    #[error("rtnetlink socket: {0}")]
    Socket(#[source] std::io::Error),
    /// The kernel cannot create dummy interfaces.
    #[error(
        "cannot create {name}: the kernel has no dummy interface support \
         (load it with `modprobe dummy`, CONFIG_DUMMY)"
    )]
    DummyUnsupported {
        /// The interface.
        name: String,
    },
    /// The caller lacks `CAP_NET_ADMIN`.
    #[error("{operation}: permission denied (needs CAP_NET_ADMIN)")]
    PermissionDenied {
        /// What was attempted.
        operation: String,
    },
    /// The interface does not exist (deleted behind our back).
    #[error("interface {name} does not exist")]
    NoInterface {
        /// The interface.
        name: String,
    },
    /// The interface exists but is not a dummy, so it is not ours to
    /// delete.
    #[error("interface {name} is not a dummy interface: not deleting it")]
    NotDummy {
        /// The interface.
        name: String,
    },
    /// Every dump of a table was interrupted by changes to it
    /// (`NLM_F_DUMP_INTR`, or replies lost to an overrun).
    #[error("{operation}: interrupted by concurrent changes {attempts} times in a row")]
    DumpInterrupted {
        /// The dump.
        operation: String,
        /// How many dumps were tried.
        attempts: usize,
    },
    /// Any other rtnetlink failure.
    #[error("{operation}: {source}")]
    Netlink {
        /// What was attempted.
        operation: String,
        /// The rtnetlink error.
        #[source]
        source: rtnetlink::Error,
    },
}

/// The errno of an rtnetlink error, positive, if the kernel sent one.
fn errno(err: &rtnetlink::Error) -> Option<i32> {
    match err {
        rtnetlink::Error::NetlinkError(msg) => Some(-msg.raw_code()),
        _ => None,
    }
}

/// An rtnetlink failure of `operation`, `EPERM` as permission denied.
pub(crate) fn failure(operation: String, source: rtnetlink::Error) -> LinkError {
    match errno(&source) {
        Some(EPERM) => LinkError::PermissionDenied { operation },
        _ => LinkError::Netlink { operation, source },
    }
}

/// What `kube-ipvs0` holds: VIPs bound as addresses and as local routes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bindings {
    /// Addresses on the interface (any prefix length).
    pub addresses: BTreeSet<IpAddr>,
    /// Local routes in table `local` through the interface that the
    /// kernel did not create for an address (protocol other than
    /// `kernel`).
    pub routes: BTreeSet<IpAddr>,
}

impl Bindings {
    /// The VIPs bound in `mode`.
    pub fn in_mode(&self, mode: BindMode) -> &BTreeSet<IpAddr> {
        match mode {
            BindMode::Address => &self.addresses,
            BindMode::Route => &self.routes,
        }
    }

    /// The VIPs bound in `mode`, mutably.
    pub fn in_mode_mut(&mut self, mode: BindMode) -> &mut BTreeSet<IpAddr> {
        match mode {
            BindMode::Address => &mut self.addresses,
            BindMode::Route => &mut self.routes,
        }
    }

    /// Every bound VIP, in either mode.
    pub fn all(&self) -> BTreeSet<IpAddr> {
        self.addresses.union(&self.routes).copied().collect()
    }
}

/// Writer of `kube-ipvs0` and its VIPs.
#[derive(Debug)]
pub struct LinkWriter {
    handle: Handle,
    /// Dumps only: its connection forwards `NLMSG_DONE` (see the module
    /// docs), which the typed requests on `handle` would take for an
    /// unexpected message.
    dumps: Handle,
    name: String,
    index: u32,
    messages: u64,
}

impl LinkWriter {
    /// Opens an rtnetlink socket and makes sure the dummy interface
    /// `name` exists (created if missing, left down).
    pub async fn connect(name: &str) -> Result<Self, LinkError> {
        let mut writer = Self::socket(name)?;
        writer.ensure_interface().await?;
        Ok(writer)
    }

    /// Opens an rtnetlink socket on an existing interface `name` without
    /// creating it; `None` if there is no such interface.
    pub async fn open(name: &str) -> Result<Option<Self>, LinkError> {
        let mut writer = Self::socket(name)?;
        Ok(writer.find_interface().await?.map(|index| {
            writer.index = index;
            writer
        }))
    }

    fn socket(name: &str) -> Result<Self, LinkError> {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(LinkError::Socket)?;
        tokio::spawn(connection);
        Ok(LinkWriter {
            handle,
            dumps: dump::connect()?,
            name: name.to_owned(),
            index: 0,
            messages: 0,
        })
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The interface index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Mutating rtnetlink messages sent so far.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    async fn find_link(&self) -> Result<Option<LinkMessage>, LinkError> {
        let found = self
            .handle
            .link()
            .get()
            .match_name(self.name.clone())
            .execute()
            .try_next()
            .await;
        match found {
            Ok(link) => Ok(link),
            Err(err) if matches!(errno(&err), Some(ENODEV)) => Ok(None),
            Err(err) => Err(failure(format!("look up interface {}", self.name), err)),
        }
    }

    async fn find_interface(&self) -> Result<Option<u32>, LinkError> {
        Ok(self.find_link().await?.map(|link| link.header.index))
    }

    /// Deletes the interface (its addresses and local routes go with it),
    /// like kube-proxy's `DeleteDummyDevice`: only if it is a dummy.
    /// Returns whether it was deleted (`false`: it did not exist).
    pub async fn delete_interface(&mut self) -> Result<bool, LinkError> {
        let Some(link) = self.find_link().await? else {
            return Ok(false);
        };
        let dummy = link.attributes.iter().any(|attr| {
            matches!(attr, LinkAttribute::LinkInfo(infos)
                if infos.contains(&LinkInfo::Kind(InfoKind::Dummy)))
        });
        if !dummy {
            return Err(LinkError::NotDummy {
                name: self.name.clone(),
            });
        }
        self.messages += 1;
        match self.handle.link().del(link.header.index).execute().await {
            Ok(()) => Ok(true),
            Err(err) if errno(&err) == Some(ENODEV) => Ok(false),
            Err(err) => Err(failure(format!("delete interface {}", self.name), err)),
        }
    }

    /// Creates the dummy interface if it is missing (never sets it up) and
    /// refreshes its index. Returns whether it was created.
    pub async fn ensure_interface(&mut self) -> Result<bool, LinkError> {
        if let Some(index) = self.find_interface().await? {
            self.index = index;
            return Ok(false);
        }
        self.messages += 1;
        let created = self
            .handle
            .link()
            .add(LinkDummy::new(&self.name).build())
            .execute()
            .await;
        match created {
            Ok(()) => {}
            Err(err) if errno(&err) == Some(EEXIST) => {}
            Err(err) if errno(&err) == Some(EOPNOTSUPP) => {
                return Err(LinkError::DummyUnsupported {
                    name: self.name.clone(),
                });
            }
            Err(err) => return Err(failure(format!("create dummy {}", self.name), err)),
        }
        self.index = self
            .find_interface()
            .await?
            .ok_or_else(|| LinkError::NoInterface {
                name: self.name.clone(),
            })?;
        Ok(true)
    }

    /// Every address of every interface, by interface index (one
    /// `RTM_GETADDR` dump).
    async fn addresses_by_link(&self) -> Result<BTreeMap<u32, BTreeSet<IpAddr>>, LinkError> {
        let mut by_link: BTreeMap<u32, BTreeSet<IpAddr>> = BTreeMap::new();
        for addr in dump::addresses(&self.dumps).await? {
            by_link.entry(addr.index).or_default().insert(addr.address);
        }
        Ok(by_link)
    }

    /// The local addresses of every interface except this one, for
    /// NodePorts (kube-proxy's `GetAllLocalAddressesExcept`; one dump).
    pub async fn local_addresses(&self) -> Result<BTreeSet<IpAddr>, LinkError> {
        Ok(self
            .addresses_by_link()
            .await?
            .into_iter()
            .filter(|(index, _)| *index != self.index)
            .flat_map(|(_, addrs)| addrs)
            .collect())
    }

    /// The addresses on the interface.
    pub async fn addresses(&self) -> Result<BTreeSet<IpAddr>, LinkError> {
        Ok(self
            .addresses_by_link()
            .await?
            .remove(&self.index)
            .unwrap_or_default())
    }

    /// The local routes in table `local` through the interface, excluding
    /// the ones the kernel made for its addresses (one dump per family).
    pub async fn routes(&self) -> Result<BTreeSet<IpAddr>, LinkError> {
        let mut routes = BTreeSet::new();
        let queries = [
            RouteMessageBuilder::<Ipv4Addr>::new().build(),
            RouteMessageBuilder::<Ipv6Addr>::new().build(),
        ];
        for query in queries {
            let messages = dump::dump(
                &self.dumps,
                RouteNetlinkMessage::GetRoute(query),
                "dump routes",
            )
            .await?;
            routes.extend(messages.iter().filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(route) => self.bound_route(route),
                _ => None,
            }));
        }
        Ok(routes)
    }

    /// What the interface holds, in both modes (one address dump and two
    /// route dumps).
    pub async fn bindings(&self) -> Result<Bindings, LinkError> {
        Ok(Bindings {
            addresses: self.addresses().await?,
            routes: self.routes().await?,
        })
    }

    /// The VIP of a dumped route if it is one of ours: table local, type
    /// local, through the interface, a host prefix, not the kernel's.
    fn bound_route(&self, message: &RouteMessage) -> Option<IpAddr> {
        let header = &message.header;
        let mut table = u32::from(header.table);
        let mut oif = None;
        let mut dst = None;
        for attr in &message.attributes {
            match attr {
                RouteAttribute::Table(t) => table = *t,
                RouteAttribute::Oif(i) => oif = Some(*i),
                RouteAttribute::Destination(RouteAddress::Inet(a)) => dst = Some(IpAddr::V4(*a)),
                RouteAttribute::Destination(RouteAddress::Inet6(a)) => dst = Some(IpAddr::V6(*a)),
                _ => {}
            }
        }
        let dst = dst?;
        let ours = table == TABLE_LOCAL
            && header.kind == RouteType::Local
            && header.protocol != RouteProtocol::Kernel
            && oif == Some(self.index)
            && header.destination_prefix_length == host_prefix(dst);
        ours.then_some(dst)
    }

    /// Binds VIPs in `mode`; one result per VIP, in order. Already bound
    /// counts as success.
    pub async fn bind(&mut self, mode: BindMode, vips: &[IpAddr]) -> Vec<Result<(), LinkError>> {
        self.pipelined(vips, |handle, index, vip| async move {
            let result = match mode {
                BindMode::Address => {
                    handle
                        .address()
                        .add(index, vip, host_prefix(vip))
                        .execute()
                        .await
                }
                BindMode::Route => handle.route().add(local_route(index, vip)).execute().await,
            };
            match result {
                Err(err) if errno(&err) != Some(EEXIST) => {
                    Err(failure(format!("bind {vip} ({mode:?} mode)"), err))
                }
                _ => Ok(()),
            }
        })
        .await
    }

    /// Unbinds VIPs in `mode`; one result per VIP, in order. Not bound
    /// counts as success.
    pub async fn unbind(&mut self, mode: BindMode, vips: &[IpAddr]) -> Vec<Result<(), LinkError>> {
        self.pipelined(vips, |handle, index, vip| async move {
            let result = match mode {
                BindMode::Address => {
                    handle
                        .address()
                        .del(host_address(index, vip))
                        .execute()
                        .await
                }
                BindMode::Route => handle.route().del(local_route(index, vip)).execute().await,
            };
            match result {
                Err(err)
                    if !matches!(errno(&err), Some(ENXIO | ENOENT | ESRCH | EADDRNOTAVAIL)) =>
                {
                    Err(failure(format!("unbind {vip} ({mode:?} mode)"), err))
                }
                _ => Ok(()),
            }
        })
        .await
    }

    /// Runs `request` for every VIP with up to `PIPELINE` requests in
    /// flight; one result per VIP, in order.
    async fn pipelined<'a, F, Fut>(
        &'a mut self,
        vips: &[IpAddr],
        request: F,
    ) -> Vec<Result<(), LinkError>>
    where
        F: Fn(&'a Handle, u32, IpAddr) -> Fut,
        Fut: std::future::Future<Output = Result<(), LinkError>>,
    {
        self.messages += vips.len() as u64;
        let (handle, index) = (&self.handle, self.index);
        stream::iter(vips.iter().copied())
            .map(|vip| request(handle, index, vip))
            .buffered(PIPELINE)
            .collect()
            .await
    }
}

/// `/32` or `/128`.
fn host_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn host_address(index: u32, vip: IpAddr) -> AddressMessage {
    match vip {
        IpAddr::V4(a) => AddressMessageBuilder::<Ipv4Addr>::new()
            .index(index)
            .address(a, 32)
            .build(),
        IpAddr::V6(a) => AddressMessageBuilder::<Ipv6Addr>::new()
            .index(index)
            .address(a, 128)
            .build(),
    }
}

/// `local VIP dev <index> table local proto static scope host`.
fn local_route(index: u32, vip: IpAddr) -> RouteMessage {
    match vip {
        IpAddr::V4(a) => RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(a, 32)
            .output_interface(index)
            .table_id(TABLE_LOCAL)
            .kind(RouteType::Local)
            .scope(RouteScope::Host)
            .protocol(RouteProtocol::Static)
            .build(),
        IpAddr::V6(a) => RouteMessageBuilder::<Ipv6Addr>::new()
            .destination_prefix(a, 128)
            .output_interface(index)
            .table_id(TABLE_LOCAL)
            .kind(RouteType::Local)
            .scope(RouteScope::Host)
            .protocol(RouteProtocol::Static)
            .build(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_route_is_host_scope_in_table_local() {
        let route = local_route(7, "10.96.0.1".parse().unwrap());
        assert_eq!(route.header.kind, RouteType::Local);
        assert_eq!(route.header.scope, RouteScope::Host);
        assert_eq!(route.header.destination_prefix_length, 32);
        assert!(route.attributes.contains(&RouteAttribute::Oif(7)));
        let route = local_route(7, "fd00::1".parse().unwrap());
        assert_eq!(route.header.destination_prefix_length, 128);
    }

    #[test]
    fn errors_say_what_to_load() {
        let err = LinkError::DummyUnsupported {
            name: INTERFACE.to_owned(),
        };
        assert!(err.to_string().contains("modprobe dummy"));
    }
}
