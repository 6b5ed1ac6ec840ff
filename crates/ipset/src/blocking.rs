//! [`IpsetClient`]: the ipset client for programs without an async
//! runtime, on netlink-transport's blocking socket. The requests, the
//! decoding, the errors and the sync plan are the async
//! [`IpsetHandle`](crate::IpsetHandle)'s.

use std::{collections::HashMap, time::Duration};

use netlink_sys::protocols::NETLINK_NETFILTER;
use netlink_transport::{BatchLimits, BlockingTransport, OnError};

use crate::{
    CreateOptions, ElementLimits, Entry, Extensions, IpsetError, SetInfo, SetType, SyncStats,
    batch::{self, Outcome},
    client::{self, Builder, check_name},
    packet::constants::IPSET_PROTOCOL,
    request::{self, ElementOp, ListScope, Request},
    sync::temporary_name,
};

/// A blocking ipset client over one `NETLINK_NETFILTER` socket. Calls take
/// `&mut self` and block until the kernel has answered (each datagram
/// awaited at most the reply timeout, 10 s by default). The methods are
/// those of [`IpsetHandle`](crate::IpsetHandle), with the same requests
/// and errors.
///
/// ```no_run
/// use ipset_netlink::{blocking::IpsetClient, CreateOptions, Entry, Family, SetType};
///
/// # fn run() -> Result<(), ipset_netlink::IpsetError> {
/// let mut ipset = IpsetClient::connect()?;
/// let options = CreateOptions::new(Family::Inet).hashsize(1024);
/// ipset.ensure("KUBE-CLUSTER-IP", SetType::HashIpPort, &options)?;
/// let dns = Entry::parse(SetType::HashIpPort, "10.96.0.10,udp:53")?;
/// ipset.add_exist("KUBE-CLUSTER-IP", &dns)?;
/// assert!(ipset.test("KUBE-CLUSTER-IP", &dns)?);
/// let wanted = [Entry::parse(SetType::HashIpPort, "10.96.0.1,tcp:443")?, dns];
/// let changes = ipset.sync("KUBE-CLUSTER-IP", &wanted)?;
/// println!("added {}, deleted {}", changes.added, changes.deleted);
/// for member in ipset.list("KUBE-CLUSTER-IP")?.members {
///     println!("{member}");
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct IpsetClient {
    transport: BlockingTransport,
    builder: Builder,
    revisions: HashMap<SetType, u8>,
}

impl IpsetClient {
    /// Opens a socket and negotiates the protocol (7, or 6 on old
    /// kernels), with a send window of 64 messages or 64 KiB and the
    /// default [`ElementLimits`].
    pub fn connect() -> Result<Self, IpsetError> {
        let mut client = IpsetClient::with_protocol(IPSET_PROTOCOL)?;
        let outcome = client.execute(&[request::protocol(IPSET_PROTOCOL)])?;
        client.builder.protocol =
            client::protocol_from(&outcome.into_iter().next().unwrap_or_default())?;
        Ok(client)
    }

    /// A client that speaks `protocol` without asking the kernel.
    fn with_protocol(protocol: u8) -> Result<Self, IpsetError> {
        let mut transport = BlockingTransport::open(NETLINK_NETFILTER)?;
        transport.set_limits(batch::default_send_limits());
        Ok(IpsetClient {
            transport,
            builder: Builder {
                protocol,
                elements: ElementLimits::default(),
            },
            revisions: HashMap::new(),
        })
    }

    /// The negotiated protocol version (7 or 6).
    pub fn protocol(&self) -> u8 {
        self.builder.protocol
    }

    /// The send window: most messages and bytes per `sendmsg`.
    pub fn batch_limits(&self) -> BatchLimits {
        self.transport.limits()
    }

    /// Sets the send window (default 64 messages or 64 KiB).
    pub fn set_batch_limits(&mut self, limits: BatchLimits) {
        self.transport.set_limits(limits);
    }

    /// How many elements go into one ADD/DEL message.
    pub fn element_limits(&self) -> ElementLimits {
        self.builder.elements
    }

    /// Sets how many elements go into one ADD/DEL message.
    pub fn set_element_limits(&mut self, limits: ElementLimits) {
        self.builder.elements = ElementLimits::new(limits.per_message, limits.max_bytes);
    }

    /// Sets how long a call waits for each datagram of an answer before
    /// failing with a timeout (default 10 s).
    pub fn set_reply_timeout(&mut self, timeout: Duration) {
        self.transport.set_reply_timeout(timeout);
    }

    fn execute(&mut self, requests: &[Request]) -> Result<Vec<Outcome>, IpsetError> {
        batch::execute_blocking(&mut self.transport, requests, OnError::Stop)
    }

    /// Runs requests; returns the outcomes, or the first error.
    fn run(&mut self, requests: &[Request], entries: &[Entry]) -> Result<Vec<Outcome>, IpsetError> {
        let outcomes = self.execute(requests)?;
        client::first_error(requests, &outcomes, entries)?;
        Ok(outcomes)
    }

    fn run_one(&mut self, request: Request) -> Result<Outcome, IpsetError> {
        let outcomes = self.run(std::slice::from_ref(&request), &[])?;
        Ok(outcomes.into_iter().next().unwrap_or_default())
    }

    /// Runs batched element requests and names a failing element.
    fn run_batch(&mut self, requests: &[Request], entries: &[Entry]) -> Result<(), IpsetError> {
        if requests.is_empty() {
            return Ok(());
        }
        let outcomes = self.execute(requests)?;
        client::batch_error(requests, &outcomes, entries)
    }

    /// The revision to create `set_type` with: the highest one that both
    /// the kernel (asked with `IPSET_CMD_TYPE`, then cached) and this
    /// library support.
    pub fn revision(&mut self, set_type: SetType) -> Result<u8, IpsetError> {
        if let Some(rev) = self.revisions.get(&set_type) {
            return Ok(*rev);
        }
        let outcome = self.run_one(request::type_query(self.builder.protocol, set_type))?;
        let rev = client::revision_from(&outcome, set_type)?;
        self.revisions.insert(set_type, rev);
        Ok(rev)
    }

    fn create_impl(
        &mut self,
        name: &str,
        set_type: SetType,
        options: &CreateOptions,
        exist: bool,
    ) -> Result<(), IpsetError> {
        check_name(name)?;
        let rev = self.revision(set_type)?;
        let req = request::create(self.builder.protocol, name, set_type, rev, options, exist);
        self.run_one(req).map(drop)
    }

    /// Creates a set; fails with [`IpsetError::SetExists`] if it exists.
    pub fn create(
        &mut self,
        name: &str,
        set_type: SetType,
        options: &CreateOptions,
    ) -> Result<(), IpsetError> {
        self.create_impl(name, set_type, options, false)
    }

    /// Creates a set unless an identical one exists (`create -exist`).
    pub fn ensure(
        &mut self,
        name: &str,
        set_type: SetType,
        options: &CreateOptions,
    ) -> Result<(), IpsetError> {
        self.create_impl(name, set_type, options, true)
    }

    /// Destroys a set.
    pub fn destroy(&mut self, name: &str) -> Result<(), IpsetError> {
        check_name(name)?;
        self.run_one(request::destroy(self.builder.protocol, name))
            .map(drop)
    }

    /// Removes every member of a set.
    pub fn flush(&mut self, name: &str) -> Result<(), IpsetError> {
        check_name(name)?;
        self.run_one(request::flush(self.builder.protocol, name))
            .map(drop)
    }

    /// Renames a set.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), IpsetError> {
        check_name(from)?;
        check_name(to)?;
        self.run_one(request::rename(self.builder.protocol, from, to))
            .map(drop)
    }

    /// Swaps the contents (and types) of two sets of compatible types.
    pub fn swap(&mut self, first: &str, second: &str) -> Result<(), IpsetError> {
        check_name(first)?;
        check_name(second)?;
        self.run_one(request::swap(self.builder.protocol, first, second))
            .map(drop)
    }

    fn element(
        &mut self,
        op: ElementOp,
        name: &str,
        entry: &Entry,
        exist: bool,
    ) -> Result<(), IpsetError> {
        check_name(name)?;
        let req = request::element(self.builder.protocol, op, name, entry, exist);
        self.run(std::slice::from_ref(&req), std::slice::from_ref(entry))
            .map(drop)
    }

    /// Adds one element; fails with [`IpsetError::ElementExists`] if
    /// present.
    pub fn add(&mut self, name: &str, entry: &Entry) -> Result<(), IpsetError> {
        self.element(ElementOp::Add, name, entry, false)
    }

    /// Adds one element unless present (`add -exist`).
    pub fn add_exist(&mut self, name: &str, entry: &Entry) -> Result<(), IpsetError> {
        self.element(ElementOp::Add, name, entry, true)
    }

    /// Deletes one element; fails with [`IpsetError::ElementMissing`] if
    /// absent.
    pub fn del(&mut self, name: &str, entry: &Entry) -> Result<(), IpsetError> {
        self.element(ElementOp::Del, name, entry, false)
    }

    /// Deletes one element if present (`del -exist`).
    pub fn del_exist(&mut self, name: &str, entry: &Entry) -> Result<(), IpsetError> {
        self.element(ElementOp::Del, name, entry, true)
    }

    /// Whether the set holds the element.
    pub fn test(&mut self, name: &str, entry: &Entry) -> Result<bool, IpsetError> {
        client::test_result(self.element(ElementOp::Test, name, entry, false))
    }

    fn elements(
        &mut self,
        op: ElementOp,
        name: &str,
        entries: &[Entry],
        extensions: &Extensions,
        exist: bool,
    ) -> Result<(), IpsetError> {
        check_name(name)?;
        let requests = self.builder.elements(op, name, entries, extensions, exist);
        self.run_batch(&requests, entries)
    }

    /// Adds many elements: many per message, many messages per send, each
    /// ACK matched by sequence number. With `exist`, present elements are
    /// skipped; without, the first present one fails the call (elements
    /// before it stay added).
    pub fn add_all(
        &mut self,
        name: &str,
        entries: &[Entry],
        exist: bool,
    ) -> Result<(), IpsetError> {
        self.elements(ElementOp::Add, name, entries, &Extensions::default(), exist)
    }

    /// [`add_all`](Self::add_all) with `extensions` (timeout, counters,
    /// comment) on every element; the set must have been created with
    /// them. With `exist`, a present element gets them anew.
    pub fn add_all_with(
        &mut self,
        name: &str,
        entries: &[Entry],
        extensions: &Extensions,
        exist: bool,
    ) -> Result<(), IpsetError> {
        self.elements(ElementOp::Add, name, entries, extensions, exist)
    }

    /// Deletes many elements, batched like [`add_all`](Self::add_all).
    pub fn del_all(
        &mut self,
        name: &str,
        entries: &[Entry],
        exist: bool,
    ) -> Result<(), IpsetError> {
        self.elements(ElementOp::Del, name, entries, &Extensions::default(), exist)
    }

    fn dump(&mut self, request: Request) -> Result<Vec<SetInfo>, IpsetError> {
        let outcome = batch::dump_blocking(&mut self.transport, &request)?;
        client::sets_from(&request, &outcome)
    }

    /// Header and members of one set (`ipset list NAME`).
    pub fn list(&mut self, name: &str) -> Result<SetInfo, IpsetError> {
        check_name(name)?;
        let request = request::list(self.builder.protocol, Some(name), ListScope::Full);
        client::the_set(self.dump(request)?, name)
    }

    /// Header of one set, without members (`ipset list -t NAME`).
    pub fn header(&mut self, name: &str) -> Result<SetInfo, IpsetError> {
        check_name(name)?;
        let request = request::list(self.builder.protocol, Some(name), ListScope::Headers);
        client::the_set(self.dump(request)?, name)
    }

    /// Every set with its members (`ipset list`).
    pub fn list_all(&mut self) -> Result<Vec<SetInfo>, IpsetError> {
        self.dump(request::list(self.builder.protocol, None, ListScope::Full))
    }

    /// The names of every set (`ipset list -n`).
    pub fn list_names(&mut self) -> Result<Vec<String>, IpsetError> {
        let sets = self.dump(request::list(self.builder.protocol, None, ListScope::Names))?;
        Ok(sets.into_iter().map(|s| s.name).collect())
    }

    /// Whether a set with this name exists.
    pub fn exists(&mut self, name: &str) -> Result<bool, IpsetError> {
        client::exists_result(self.header(name))
    }

    /// Makes the set hold exactly `desired`, like
    /// [`IpsetHandle::sync`](crate::IpsetHandle::sync): lists it, then
    /// deletes the extra members and adds the missing ones, all in one
    /// pipelined batch (with `-exist`, so a concurrent change does not
    /// fail it).
    pub fn sync(&mut self, name: &str, desired: &[Entry]) -> Result<SyncStats, IpsetError> {
        let current = self.list(name)?.members;
        let plan = self.builder.sync(name, &current, desired);
        self.run_batch(&plan.requests, &plan.entries)?;
        Ok(plan.stats)
    }

    /// Replaces the set atomically, like
    /// [`IpsetHandle::replace`](crate::IpsetHandle::replace): fills a
    /// temporary set, swaps it with `name` (or renames it if `name` does
    /// not exist) and destroys the temporary.
    pub fn replace(
        &mut self,
        name: &str,
        set_type: SetType,
        options: &CreateOptions,
        entries: &[Entry],
    ) -> Result<(), IpsetError> {
        let tmp = temporary_name(name);
        // A leftover from an interrupted replace is discarded.
        client::leftover_destroyed(self.destroy(&tmp))?;
        self.create(&tmp, set_type, options)?;
        let filled = self.add_all(&tmp, entries, true);
        let result = match filled {
            Ok(()) if self.exists(name)? => self.swap(&tmp, name),
            Ok(()) => return self.rename(&tmp, name),
            Err(e) => Err(e),
        };
        let cleanup = self.destroy(&tmp);
        result.and(cleanup)
    }
}

/// Without touching any set: invalid names fail before any I/O, and a
/// client speaking protocol 1 (below the kernel's minimum) gets every
/// request of a pipelined batch refused (`IPSET_ERR_PROTOCOL` as root,
/// `EPERM` otherwise), the error naming the set.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ReplyKind;

    fn refused(err: &IpsetError) -> bool {
        matches!(
            err,
            IpsetError::Protocol { .. }
                | IpsetError::Kernel {
                    code: libc::EPERM,
                    ..
                }
        )
    }

    #[test]
    fn names_are_checked_before_sending() {
        let mut client = IpsetClient::with_protocol(1).unwrap();
        let entry = Entry::parse(SetType::HashIp, "10.0.0.1").unwrap();
        for name in ["", "x\0y", &"n".repeat(32)] {
            let err = client.add(name, &entry).unwrap_err();
            assert!(matches!(err, IpsetError::InvalidName(_)), "{err}");
            let err = client.list(name).unwrap_err();
            assert!(matches!(err, IpsetError::InvalidName(_)), "{err}");
        }
    }

    #[test]
    fn refused_batches_get_their_answers_without_a_runtime() {
        let mut client = IpsetClient::with_protocol(1).unwrap();
        client.set_batch_limits(BatchLimits::new(3, 1 << 16));
        client.set_element_limits(ElementLimits::new(2, 1 << 12));
        client.set_reply_timeout(Duration::from_secs(5));
        assert_eq!(client.batch_limits(), BatchLimits::new(3, 1 << 16));
        assert_eq!(client.element_limits().per_message, 2);
        assert_eq!(client.protocol(), 1);
        let entries: Vec<Entry> = (1..=20)
            .map(|i| Entry::parse(SetType::HashIp, &format!("10.0.0.{i}")).unwrap())
            .collect();
        let requests = client.builder.elements(
            ElementOp::Add,
            "unit-x",
            &entries,
            &Extensions::default(),
            true,
        );
        assert_eq!(requests.len(), 10);
        assert!(requests.iter().all(|r| r.reply_kind() == ReplyKind::Ack));
        let err = client.add_all("unit-x", &entries, true).unwrap_err();
        assert!(refused(&err), "{err}");
        let err = client.test("unit-x", &entries[0]).unwrap_err();
        assert!(refused(&err), "{err}");
        let err = client.list_all().unwrap_err();
        assert!(refused(&err), "{err}");
        let err = client.flush("unit-x").unwrap_err();
        assert!(refused(&err), "{err}");
        // The socket is still in step after the refusals.
        let err = client.destroy("unit-x").unwrap_err();
        assert!(refused(&err), "{err}");
    }

    #[test]
    fn sync_plan_is_the_async_one() {
        let builder = Builder {
            protocol: IPSET_PROTOCOL,
            elements: ElementLimits::new(2, 1 << 12),
        };
        let parse = |s: &str| Entry::parse(SetType::HashIp, s).unwrap();
        let current = [parse("10.0.0.1"), parse("10.0.0.2")];
        let desired = [parse("10.0.0.2"), parse("10.0.0.3"), parse("10.0.0.4")];
        let plan = builder.sync("unit-s", &current, &desired);
        assert_eq!((plan.stats.deleted, plan.stats.added), (1, 2));
        assert_eq!(plan.requests.len(), 2);
        assert!(plan.entries.is_empty());
        let add_only = builder.sync("unit-s", &current[..1], &current);
        assert_eq!(add_only.entries, [parse("10.0.0.2")]);
        assert!(
            builder
                .sync("unit-s", &current, &current)
                .requests
                .is_empty()
        );
    }
}
