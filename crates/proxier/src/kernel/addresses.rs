//! The node's local addresses, kept current by rtnetlink notifications
//! instead of a dump at every sync.
//!
//! Without `--node-ip` the node addresses (NodePorts, `nodePortAddresses`,
//! the node IP) are every local address except those of `kube-ipvs0`
//! (kube-proxy's `GetAllLocalAddressesExcept`). A dump of every address
//! costs O(VIPs) in address binding mode (one `/32` or `/128` per VIP on
//! `kube-ipvs0`), so [`AddressCache`] dumps once and then applies the
//! kernel's `RTM_NEWADDR`/`RTM_DELADDR` notifications (multicast groups
//! `RTNLGRP_IPV4_IFADDR` and `RTNLGRP_IPV6_IFADDR`), read without blocking
//! from a socket of its own at each [`NodeAddresses::local_addresses`]:
//! everything the kernel announced before the call is applied, so the
//! answer equals a dump made then.
//!
//! The socket subscribes before the dump, so nothing is missed in
//! between: a notification older than the dump is applied again after it,
//! which converges (each one sets its address present or absent, in the
//! kernel's order). When notifications were lost (`ENOBUFS`: the socket's
//! receive queue overran) or one cannot be read, the cache dumps again.
//! Notifications are taken from the kernel only (sender port 0).
//!
//! [`AddressCache::exclude`] drops the notifications of one interface in
//! the kernel (a classic BPF socket filter on the interface index), before
//! they are queued: the proxier's own binds on `kube-ipvs0`, one per VIP,
//! then cost it nothing, and a burst of them (10,000 at a cold start)
//! neither overruns the socket nor makes the next sync read them or dump.

use std::{
    collections::{BTreeMap, BTreeSet},
    future::Future,
    io,
    net::IpAddr,
};

use netlink_sys::{Socket, protocols::NETLINK_ROUTE};
use rtnetlink::{
    Handle,
    packet_core::{NetlinkBuffer, NetlinkMessage, NetlinkPayload},
    packet_route::RouteNetlinkMessage,
};

use super::link::{
    DUMP_ATTEMPTS, LinkError,
    dump::{self, LinkAddress},
};

/// `RTNLGRP_IPV4_IFADDR`: IPv4 address notifications.
const RTNLGRP_IPV4_IFADDR: u32 = 5;
/// `RTNLGRP_IPV6_IFADDR`: IPv6 address notifications.
const RTNLGRP_IPV6_IFADDR: u32 = 9;

/// The receive buffer asked for (the kernel caps it at
/// `net.core.rmem_max`); an overrun past it costs a dump, not an error.
pub const RECEIVE_BUFFER: usize = 1 << 20;

/// The largest notification read at once; a longer one (never seen for
/// addresses) counts as lost, and the cache dumps again.
const DATAGRAM: usize = 64 * 1024;

/// Errors of the address cache.
#[derive(Debug, thiserror::Error)]
pub enum AddressCacheError {
    /// The notification socket could not be opened or subscribed.
    #[error("address notifications: {operation}: {source}")]
    Socket {
        /// What was attempted.
        operation: &'static str,
        /// The socket error.
        #[source]
        source: io::Error,
    },
    /// The dump failed.
    #[error(transparent)]
    Dump(#[from] LinkError),
    /// Notifications kept being lost while dumping.
    #[error("address notifications overran {attempts} times in a row while dumping")]
    Overrun {
        /// Dumps tried.
        attempts: usize,
    },
}

/// Where the daemon gets the node's local addresses from: the kernel's
/// ([`AddressCache`]), or an in-memory fake in tests.
pub trait NodeAddresses {
    /// Every local address of every interface except the one with index
    /// `except` (`kube-ipvs0`), as of the call.
    fn local_addresses(
        &mut self,
        except: u32,
    ) -> impl Future<Output = Result<BTreeSet<IpAddr>, AddressCacheError>>;
}

/// The node's addresses by interface index, kept by notifications (see
/// the module docs).
#[derive(Debug)]
pub struct AddressCache {
    events: Socket,
    dumps: Handle,
    table: Table,
    buffer: Vec<u8>,
    dumped: u64,
}

/// Where the type and the interface index are in a notification:
/// `nlmsghdr.nlmsg_type`, and `ifaddrmsg.ifa_index` after the 16-byte
/// header.
const TYPE_OFFSET: u32 = 4;
const INDEX_OFFSET: u32 = 20;

/// A classic BPF program that drops the address notifications
/// (`RTM_NEWADDR`, `RTM_DELADDR`) of the interface `index` and passes
/// everything else. Absolute loads read in network byte order, so the
/// constants are the host-order fields' bytes read big-endian.
fn drop_interface(index: u32) -> [socket2::SockFilter; 7] {
    use libc::{BPF_ABS, BPF_H, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    // The opcodes fit in 16 bits (`sock_filter.code`).
    let load_half = (BPF_LD | BPF_H | BPF_ABS) as u16;
    let load_word = (BPF_LD | BPF_W | BPF_ABS) as u16;
    let jump_eq = (BPF_JMP | BPF_JEQ | BPF_K) as u16;
    let ret = (BPF_RET | BPF_K) as u16;
    let half = |v: u16| u32::from(u16::from_be_bytes(v.to_ne_bytes()));
    let word = |v: u32| u32::from_be_bytes(v.to_ne_bytes());
    use socket2::SockFilter as F;
    [
        F::new(load_half, 0, 0, TYPE_OFFSET),
        F::new(jump_eq, 1, 0, half(libc::RTM_NEWADDR)), // -> 3
        F::new(jump_eq, 0, 2, half(libc::RTM_DELADDR)), // not an address -> 5
        F::new(load_word, 0, 0, INDEX_OFFSET),
        F::new(jump_eq, 1, 0, word(index)), // the interface -> 6
        F::new(ret, 0, 0, u32::MAX),        // 5: pass
        F::new(ret, 0, 0, 0),               // 6: drop
    ]
}

impl AddressCache {
    /// Subscribes to address notifications; the first
    /// [`local_addresses`](NodeAddresses::local_addresses) dumps. Must run
    /// inside a tokio runtime (the dump socket's connection is spawned).
    pub fn open() -> Result<Self, AddressCacheError> {
        Self::with_receive_buffer(RECEIVE_BUFFER)
    }

    /// [`open`](Self::open) with a receive buffer of `bytes` (tests make
    /// it small to overrun it).
    pub fn with_receive_buffer(bytes: usize) -> Result<Self, AddressCacheError> {
        let socket_error =
            |operation| move |source| AddressCacheError::Socket { operation, source };
        let mut events = Socket::new(NETLINK_ROUTE).map_err(socket_error("open"))?;
        events.bind_auto().map_err(socket_error("bind"))?;
        for group in [RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR] {
            events
                .add_membership(group)
                .map_err(socket_error("subscribe"))?;
        }
        let bytes = i32::try_from(bytes).unwrap_or(i32::MAX);
        events
            .set_rx_buf_sz(bytes)
            .map_err(socket_error("set the receive buffer"))?;
        events
            .set_non_blocking(true)
            .map_err(socket_error("set non-blocking"))?;
        Ok(AddressCache {
            events,
            dumps: dump::connect()?,
            table: Table::default(),
            buffer: vec![0; DATAGRAM],
            dumped: 0,
        })
    }

    /// Leaves the interface `index` (`kube-ipvs0`) out from now on: its
    /// notifications are dropped by the kernel before they are queued, and
    /// its addresses are left out of dumps. Its addresses are never
    /// answered anyway (the `except` of
    /// [`local_addresses`](NodeAddresses::local_addresses)); this spares
    /// the cache reading one notification per VIP bound. Another interface
    /// given as `except` later is still left out, from the table.
    pub fn exclude(&mut self, index: u32) -> Result<(), AddressCacheError> {
        socket2::SockRef::from(&self.events)
            .attach_filter(&drop_interface(index))
            .map_err(|source| AddressCacheError::Socket {
                operation: "attach the filter",
                source,
            })?;
        self.table.excluded = Some(index);
        self.table.by_link.remove(&index);
        Ok(())
    }

    /// Address dumps made so far (the first one included).
    pub fn dumps(&self) -> u64 {
        self.dumped
    }

    /// Notifications applied so far.
    pub fn notifications(&self) -> u64 {
        self.table.applied
    }

    /// Times notifications were lost (each followed by a dump).
    pub fn overruns(&self) -> u64 {
        self.table.lost
    }

    /// Applies every notification queued on the socket; marks the table
    /// stale when some were lost or unreadable.
    fn drain(&mut self) -> Result<(), AddressCacheError> {
        loop {
            let mut buf = &mut self.buffer[..];
            match self.events.recv_from(&mut buf, libc::MSG_TRUNC) {
                // Not the kernel's: ignored.
                Ok((_, from)) if from.port_number() != 0 => {}
                Ok((len, _)) if len > DATAGRAM => {
                    self.table.lose("a notification longer than the buffer");
                }
                Ok((len, _)) => self.table.apply_datagram(&self.buffer[..len]),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(err) if err.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.table.lose("the receive queue overran (ENOBUFS)");
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(AddressCacheError::Socket {
                        operation: "receive",
                        source,
                    });
                }
            }
        }
    }

    /// The table brought up to date: notifications applied, and a dump
    /// (then the notifications sent meanwhile) when some were lost.
    async fn refresh(&mut self) -> Result<(), AddressCacheError> {
        self.drain()?;
        let mut attempts = 0;
        while self.table.stale {
            if attempts == DUMP_ATTEMPTS {
                return Err(AddressCacheError::Overrun { attempts });
            }
            attempts += 1;
            self.dumped += 1;
            let dumped = dump::addresses(&self.dumps).await?;
            self.table.replace(dumped);
            self.drain()?;
        }
        Ok(())
    }
}

impl NodeAddresses for AddressCache {
    async fn local_addresses(
        &mut self,
        except: u32,
    ) -> Result<BTreeSet<IpAddr>, AddressCacheError> {
        self.refresh().await?;
        Ok(self.table.local_addresses(except))
    }
}

/// The addresses by interface index, and what the notifications did.
#[derive(Debug)]
struct Table {
    by_link: BTreeMap<u32, BTreeSet<(IpAddr, u8)>>,
    /// The interface whose notifications the kernel drops
    /// ([`AddressCache::exclude`]): left out of dumps too.
    excluded: Option<u32>,
    /// Notifications were lost (or nothing was dumped yet): dump again
    /// before answering.
    stale: bool,
    applied: u64,
    lost: u64,
}

impl Default for Table {
    fn default() -> Self {
        Table {
            by_link: BTreeMap::new(),
            excluded: None,
            stale: true,
            applied: 0,
            lost: 0,
        }
    }
}

impl Table {
    fn lose(&mut self, why: &str) {
        tracing::debug!("address notifications lost: {why}; dumping again");
        self.lost += 1;
        self.stale = true;
    }

    /// Applies the messages of one received datagram.
    fn apply_datagram(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let length = match NetlinkBuffer::new_checked(bytes) {
                Ok(buffer) => buffer.length() as usize,
                Err(_) => return self.lose("a notification could not be read"),
            };
            match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes[..length]) {
                Ok(message) => self.apply(message.payload),
                Err(_) => return self.lose("a notification could not be read"),
            }
            // Messages are 4-byte aligned.
            bytes = bytes.get((length + 3) & !3..).unwrap_or_default();
        }
    }

    /// Applies one notification.
    fn apply(&mut self, payload: NetlinkPayload<RouteNetlinkMessage>) {
        let (message, add) = match payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(m)) => (m, true),
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(m)) => (m, false),
            NetlinkPayload::Overrun(_) => return self.lose("overrun"),
            _ => return,
        };
        let Some(addr) = LinkAddress::of(&message) else {
            return;
        };
        self.applied += 1;
        let key = (addr.address, addr.prefix_len);
        if add {
            self.by_link.entry(addr.index).or_default().insert(key);
        } else if let Some(addrs) = self.by_link.get_mut(&addr.index) {
            addrs.remove(&key);
            if addrs.is_empty() {
                self.by_link.remove(&addr.index);
            }
        }
    }

    /// Replaces the table with a dump.
    fn replace(&mut self, dumped: Vec<LinkAddress>) {
        self.by_link.clear();
        for addr in dumped {
            if Some(addr.index) == self.excluded {
                continue;
            }
            self.by_link
                .entry(addr.index)
                .or_default()
                .insert((addr.address, addr.prefix_len));
        }
        self.stale = false;
    }

    /// The addresses of every interface but `except`.
    fn local_addresses(&self, except: u32) -> BTreeSet<IpAddr> {
        self.by_link
            .iter()
            .filter(|(index, _)| **index != except)
            .flat_map(|(_, addrs)| addrs.iter().map(|(addr, _)| *addr))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use rtnetlink::packet_route::{
        AddressFamily,
        address::{AddressAttribute, AddressMessage},
    };

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// An address message as the kernel sends it: IPv4 with `IFA_LOCAL`
    /// and `IFA_ADDRESS`, IPv6 with `IFA_ADDRESS` only.
    fn address(index: u32, addr: &str, prefix_len: u8) -> AddressMessage {
        let mut message = AddressMessage::default();
        message.header.index = index;
        message.header.prefix_len = prefix_len;
        let addr = ip(addr);
        message.header.family = match addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        message.attributes.push(AddressAttribute::Address(addr));
        if addr.is_ipv4() {
            message.attributes.push(AddressAttribute::Local(addr));
        }
        message
    }

    /// The bytes of notifications, one after the other in one datagram.
    fn datagram(messages: impl IntoIterator<Item = RouteNetlinkMessage>) -> Vec<u8> {
        let mut bytes = Vec::new();
        for message in messages {
            let mut message = NetlinkMessage::from(message);
            message.finalize();
            let mut buf = vec![0; message.buffer_len()];
            message.serialize(&mut buf);
            bytes.extend_from_slice(&buf);
        }
        bytes
    }

    fn new(index: u32, addr: &str, prefix_len: u8) -> Vec<u8> {
        datagram([RouteNetlinkMessage::NewAddress(address(
            index, addr, prefix_len,
        ))])
    }

    fn del(index: u32, addr: &str, prefix_len: u8) -> Vec<u8> {
        datagram([RouteNetlinkMessage::DelAddress(address(
            index, addr, prefix_len,
        ))])
    }

    fn dumped(table: &mut Table, addrs: &[(u32, &str, u8)]) {
        table.replace(
            addrs
                .iter()
                .map(|&(index, addr, prefix_len)| LinkAddress {
                    index,
                    address: ip(addr),
                    prefix_len,
                })
                .collect(),
        );
    }

    fn set(addrs: &[&str]) -> BTreeSet<IpAddr> {
        addrs.iter().map(|a| ip(a)).collect()
    }

    #[test]
    fn a_new_table_is_stale_until_dumped() {
        let mut table = Table::default();
        assert!(table.stale);
        dumped(&mut table, &[(1, "127.0.0.1", 8), (2, "10.0.0.5", 24)]);
        assert!(!table.stale);
        assert_eq!(table.local_addresses(9), set(&["127.0.0.1", "10.0.0.5"]));
    }

    #[test]
    fn notifications_add_and_remove_addresses() {
        let mut table = Table::default();
        dumped(&mut table, &[(1, "127.0.0.1", 8), (2, "10.0.0.5", 24)]);
        table.apply_datagram(&new(2, "fd00::5", 64));
        table.apply_datagram(&new(3, "192.168.1.1", 32));
        table.apply_datagram(&del(2, "10.0.0.5", 24));
        assert_eq!(
            table.local_addresses(0),
            set(&["127.0.0.1", "fd00::5", "192.168.1.1"])
        );
        assert_eq!(table.applied, 3);
        assert!(!table.stale);
    }

    #[test]
    fn the_excluded_interface_is_left_out() {
        let mut table = Table::default();
        dumped(&mut table, &[(2, "10.0.0.5", 24)]);
        table.apply_datagram(&new(7, "10.96.0.1", 32));
        table.apply_datagram(&new(7, "fd00:96::1", 128));
        assert_eq!(table.local_addresses(7), set(&["10.0.0.5"]));
        assert_eq!(table.local_addresses(2), set(&["10.96.0.1", "fd00:96::1"]));
    }

    #[test]
    fn an_address_under_two_prefix_lengths_stays_until_both_go() {
        let mut table = Table::default();
        dumped(&mut table, &[(2, "10.0.0.5", 24), (2, "10.0.0.5", 32)]);
        table.apply_datagram(&del(2, "10.0.0.5", 32));
        assert_eq!(table.local_addresses(0), set(&["10.0.0.5"]));
        table.apply_datagram(&del(2, "10.0.0.5", 24));
        assert_eq!(table.local_addresses(0), set(&[]));
    }

    #[test]
    fn notifications_older_than_the_dump_converge() {
        // Subscribed, then: delete X, add X back, dump (X present), and
        // only then the two queued notifications are read.
        let mut table = Table::default();
        dumped(&mut table, &[(2, "10.0.0.5", 24)]);
        table.apply_datagram(&del(2, "10.0.0.5", 24));
        table.apply_datagram(&new(2, "10.0.0.5", 24));
        assert_eq!(table.local_addresses(0), set(&["10.0.0.5"]));
    }

    #[test]
    fn several_messages_in_one_datagram_are_all_applied() {
        let mut table = Table::default();
        dumped(&mut table, &[]);
        table.apply_datagram(&datagram([
            RouteNetlinkMessage::NewAddress(address(2, "10.0.0.5", 24)),
            RouteNetlinkMessage::NewAddress(address(2, "fd00::5", 64)),
            RouteNetlinkMessage::DelAddress(address(2, "10.0.0.5", 24)),
        ]));
        assert_eq!(table.local_addresses(0), set(&["fd00::5"]));
        assert_eq!(table.applied, 3);
    }

    #[test]
    fn other_messages_are_ignored() {
        let mut table = Table::default();
        dumped(&mut table, &[(2, "10.0.0.5", 24)]);
        let mut no_address = AddressMessage::default();
        no_address.header.index = 2;
        table.apply_datagram(&datagram([
            RouteNetlinkMessage::NewAddress(no_address),
            RouteNetlinkMessage::GetAddress(address(2, "10.0.0.5", 24)),
        ]));
        assert_eq!(table.local_addresses(0), set(&["10.0.0.5"]));
        assert_eq!((table.applied, table.stale), (0, false));
    }

    #[test]
    fn unreadable_or_overrun_notifications_make_the_table_stale() {
        let mut table = Table::default();
        dumped(&mut table, &[(2, "10.0.0.5", 24)]);
        table.apply_datagram(&[1, 2, 3]);
        assert!(table.stale, "truncated header");
        assert_eq!(table.lost, 1);

        dumped(&mut table, &[(2, "10.0.0.5", 24)]);
        let mut bytes = new(2, "10.0.0.6", 24);
        bytes.truncate(bytes.len() - 4);
        let length = u32::try_from(bytes.len()).unwrap();
        bytes[..4].copy_from_slice(&length.to_ne_bytes());
        table.apply_datagram(&bytes);
        assert!(table.stale, "an attribute cut short");

        dumped(&mut table, &[(2, "10.0.0.5", 24)]);
        let mut overrun = NetlinkMessage::<RouteNetlinkMessage>::new(
            Default::default(),
            NetlinkPayload::Overrun(vec![0; 4]),
        );
        overrun.finalize();
        let mut bytes = vec![0; overrun.buffer_len()];
        overrun.serialize(&mut bytes);
        table.apply_datagram(&bytes);
        assert!(table.stale, "NLMSG_OVERRUN");
        assert_eq!(table.lost, 3);
        dumped(&mut table, &[(2, "10.0.0.5", 24)]);
        assert!(!table.stale, "a dump makes it whole again");
    }
}
