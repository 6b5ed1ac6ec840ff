//! [`IpsetHandle`]: the async API. Each method builds requests with
//! [`crate::request`], runs them on the shared connection and maps the
//! outcome to typed values and errors.

use std::{collections::HashMap, sync::Arc, time::Duration};

use netlink_sys::protocols::NETLINK_NETFILTER;
use netlink_transport::{OnError, Transport};
use tokio::sync::Mutex;

use crate::{
    BatchLimits, CreateOptions, ElementLimits, Entry, Error, Extensions, SetInfo, SetType,
    batch::{self, Outcome},
    client::{self, Builder, check_name},
    packet::constants::IPSET_PROTOCOL,
    request::{self, ElementOp, ListScope, Request},
};

/// A cloneable handle on one netlink socket. Operations on clones are
/// serialised on that socket; each clone has its own reply timeout.
#[derive(Clone)]
pub struct IpsetHandle {
    transport: Transport,
    elements: ElementLimits,
    protocol: u8,
    revisions: Arc<Mutex<HashMap<SetType, u8>>>,
}

impl std::fmt::Debug for IpsetHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpsetHandle")
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl IpsetHandle {
    /// Opens a socket and negotiates the protocol (7, or 6 on old
    /// kernels), with a send window of 64 messages or 64 KiB and the
    /// default [`ElementLimits`].
    pub async fn connect() -> Result<Self, Error> {
        let mut transport = Transport::open(NETLINK_NETFILTER)?;
        transport.set_limits(batch::default_send_limits());
        let request = request::protocol(IPSET_PROTOCOL);
        let outcome = batch::execute(&transport, std::slice::from_ref(&request), OnError::Stop)
            .await?
            .into_iter()
            .next()
            .unwrap_or_default();
        let protocol = client::protocol_from(&outcome)?;
        Ok(Self {
            transport,
            elements: ElementLimits::default(),
            protocol,
            revisions: Arc::default(),
        })
    }

    /// The send window: most messages and bytes per `sendmsg`.
    pub fn batch_limits(&self) -> BatchLimits {
        self.transport.limits()
    }

    /// Sets the send window of this handle (default 64 messages or
    /// 64 KiB).
    pub fn set_batch_limits(&mut self, limits: BatchLimits) {
        self.transport.set_limits(limits);
    }

    /// How many elements go into one ADD/DEL message.
    pub fn element_limits(&self) -> ElementLimits {
        self.elements
    }

    /// Sets how many elements go into one ADD/DEL message of this handle.
    pub fn set_element_limits(&mut self, limits: ElementLimits) {
        self.elements = ElementLimits::new(limits.per_message, limits.max_bytes);
    }

    /// The request builder of this handle.
    pub(crate) fn builder(&self) -> Builder {
        Builder {
            protocol: self.protocol,
            elements: self.elements,
        }
    }

    /// The negotiated protocol version (7 or 6).
    pub fn protocol(&self) -> u8 {
        self.protocol
    }

    /// Sets how long this handle waits for each datagram of an answer
    /// before failing with a timeout (default 10 s).
    pub fn set_reply_timeout(&mut self, timeout: Duration) {
        self.transport.set_reply_timeout(timeout);
    }

    /// Runs requests; returns the outcomes, or the first error.
    async fn run(&self, requests: &[Request], entries: &[Entry]) -> Result<Vec<Outcome>, Error> {
        let outcomes = batch::execute(&self.transport, requests, OnError::Stop).await?;
        client::first_error(requests, &outcomes, entries)?;
        Ok(outcomes)
    }

    async fn run_one(&self, request: Request) -> Result<Outcome, Error> {
        let outcomes = self.run(std::slice::from_ref(&request), &[]).await?;
        Ok(outcomes.into_iter().next().unwrap_or_default())
    }

    /// The revision to create `set_type` with: the highest one that both
    /// the kernel (asked with `IPSET_CMD_TYPE`, then cached) and this
    /// library support.
    pub async fn revision(&self, set_type: SetType) -> Result<u8, Error> {
        if let Some(rev) = self.revisions.lock().await.get(&set_type) {
            return Ok(*rev);
        }
        let outcome = self
            .run_one(request::type_query(self.protocol, set_type))
            .await?;
        let rev = client::revision_from(&outcome, set_type)?;
        self.revisions.lock().await.insert(set_type, rev);
        Ok(rev)
    }

    async fn create_impl(
        &self,
        name: &str,
        set_type: SetType,
        options: &CreateOptions,
        exist: bool,
    ) -> Result<(), Error> {
        check_name(name)?;
        let rev = self.revision(set_type).await?;
        let req = request::create(self.protocol, name, set_type, rev, options, exist);
        self.run_one(req).await.map(drop)
    }

    /// Creates a set; fails with [`Error::SetExists`] if it exists.
    pub async fn create(
        &self,
        name: &str,
        set_type: SetType,
        options: &CreateOptions,
    ) -> Result<(), Error> {
        self.create_impl(name, set_type, options, false).await
    }

    /// Creates a set unless an identical one exists (`create -exist`).
    pub async fn ensure(
        &self,
        name: &str,
        set_type: SetType,
        options: &CreateOptions,
    ) -> Result<(), Error> {
        self.create_impl(name, set_type, options, true).await
    }

    /// Destroys a set.
    pub async fn destroy(&self, name: &str) -> Result<(), Error> {
        check_name(name)?;
        self.run_one(request::destroy(self.protocol, name))
            .await
            .map(drop)
    }

    /// Removes every member of a set.
    pub async fn flush(&self, name: &str) -> Result<(), Error> {
        check_name(name)?;
        self.run_one(request::flush(self.protocol, name))
            .await
            .map(drop)
    }

    /// Renames a set.
    pub async fn rename(&self, from: &str, to: &str) -> Result<(), Error> {
        check_name(from)?;
        check_name(to)?;
        self.run_one(request::rename(self.protocol, from, to))
            .await
            .map(drop)
    }

    /// Swaps the contents (and types) of two sets of compatible types.
    pub async fn swap(&self, first: &str, second: &str) -> Result<(), Error> {
        check_name(first)?;
        check_name(second)?;
        self.run_one(request::swap(self.protocol, first, second))
            .await
            .map(drop)
    }

    async fn element(
        &self,
        op: ElementOp,
        name: &str,
        entry: &Entry,
        exist: bool,
    ) -> Result<(), Error> {
        check_name(name)?;
        let req = request::element(self.protocol, op, name, entry, exist);
        self.run(std::slice::from_ref(&req), std::slice::from_ref(entry))
            .await
            .map(drop)
    }

    /// Adds one element; fails with [`Error::ElementExists`] if present.
    pub async fn add(&self, name: &str, entry: &Entry) -> Result<(), Error> {
        self.element(ElementOp::Add, name, entry, false).await
    }

    /// Adds one element unless present (`add -exist`).
    pub async fn add_exist(&self, name: &str, entry: &Entry) -> Result<(), Error> {
        self.element(ElementOp::Add, name, entry, true).await
    }

    /// Deletes one element; fails with [`Error::ElementMissing`] if absent.
    pub async fn del(&self, name: &str, entry: &Entry) -> Result<(), Error> {
        self.element(ElementOp::Del, name, entry, false).await
    }

    /// Deletes one element if present (`del -exist`).
    pub async fn del_exist(&self, name: &str, entry: &Entry) -> Result<(), Error> {
        self.element(ElementOp::Del, name, entry, true).await
    }

    /// Whether the set holds the element.
    pub async fn test(&self, name: &str, entry: &Entry) -> Result<bool, Error> {
        client::test_result(self.element(ElementOp::Test, name, entry, false).await)
    }

    /// Builds the batched requests for many elements of one set.
    pub(crate) async fn batch_requests(
        &self,
        op: ElementOp,
        name: &str,
        entries: &[Entry],
        exist: bool,
    ) -> Vec<Request> {
        self.batch_requests_with(op, name, entries, &Extensions::default(), exist)
    }

    /// [`IpsetHandle::batch_requests`] with extensions on every element.
    pub(crate) fn batch_requests_with(
        &self,
        op: ElementOp,
        name: &str,
        entries: &[Entry],
        extensions: &Extensions,
        exist: bool,
    ) -> Vec<Request> {
        self.builder()
            .elements(op, name, entries, extensions, exist)
    }

    /// Adds many elements, each with `extensions` (timeout, counters,
    /// comment), batched like [`add_all`](Self::add_all).
    pub(crate) async fn add_all_with(
        &self,
        name: &str,
        entries: &[Entry],
        extensions: &Extensions,
        exist: bool,
    ) -> Result<(), Error> {
        check_name(name)?;
        let requests = self.batch_requests_with(ElementOp::Add, name, entries, extensions, exist);
        self.run_batch(&requests, entries).await
    }

    /// Runs batched element requests and names a failing element.
    pub(crate) async fn run_batch(
        &self,
        requests: &[Request],
        entries: &[Entry],
    ) -> Result<(), Error> {
        if requests.is_empty() {
            return Ok(());
        }
        let outcomes = batch::execute(&self.transport, requests, OnError::Stop).await?;
        client::batch_error(requests, &outcomes, entries)
    }

    /// Adds many elements: many per message, many messages per send, each
    /// ACK matched by sequence number. With `exist`, present elements are
    /// skipped; without, the first present one fails the call (elements
    /// before it stay added).
    pub async fn add_all(&self, name: &str, entries: &[Entry], exist: bool) -> Result<(), Error> {
        check_name(name)?;
        let requests = self
            .batch_requests(ElementOp::Add, name, entries, exist)
            .await;
        self.run_batch(&requests, entries).await
    }

    /// Deletes many elements, batched like [`add_all`](Self::add_all).
    pub async fn del_all(&self, name: &str, entries: &[Entry], exist: bool) -> Result<(), Error> {
        check_name(name)?;
        let requests = self
            .batch_requests(ElementOp::Del, name, entries, exist)
            .await;
        self.run_batch(&requests, entries).await
    }

    async fn dump(&self, request: Request) -> Result<Vec<SetInfo>, Error> {
        let outcome = batch::dump(&self.transport, &request).await?;
        client::sets_from(&request, &outcome)
    }

    /// Header and members of one set.
    pub async fn list(&self, name: &str) -> Result<SetInfo, Error> {
        check_name(name)?;
        let sets = self
            .dump(request::list(self.protocol, Some(name), ListScope::Full))
            .await?;
        client::the_set(sets, name)
    }

    /// Header of one set, without members (`ipset list -t`).
    pub async fn header(&self, name: &str) -> Result<SetInfo, Error> {
        check_name(name)?;
        let sets = self
            .dump(request::list(self.protocol, Some(name), ListScope::Headers))
            .await?;
        client::the_set(sets, name)
    }

    /// Every set with its members.
    pub async fn list_all(&self) -> Result<Vec<SetInfo>, Error> {
        self.dump(request::list(self.protocol, None, ListScope::Full))
            .await
    }

    /// The names of every set (`ipset list -n`).
    pub async fn list_names(&self) -> Result<Vec<String>, Error> {
        let sets = self
            .dump(request::list(self.protocol, None, ListScope::Names))
            .await?;
        Ok(sets.into_iter().map(|s| s.name).collect())
    }

    /// Whether a set with this name exists.
    pub async fn exists(&self, name: &str) -> Result<bool, Error> {
        client::exists_result(self.header(name).await)
    }
}
