//! The writer seam: one trait per kernel writer the
//! [`crate::reconcile::Reconciler`] drives, and [`Writers`], the bundle of
//! their types.
//!
//! The real writers ([`IpvsWriter`], [`IpsetWriter`], [`LinkWriter`],
//! [`IptablesWriter`], [`SysctlWriter`]) implement these traits and make up
//! [`Netlink`], the reconciler's default bundle. Tests put in-memory writers
//! behind the same traits so that the orchestration (retries, recovery from
//! lost replies, graceful draining, the daemon's loop and shutdown) runs on
//! the host, with the fake kernel's state as the oracle. Each method is the
//! real writer's method of the same name, with its contract and its error
//! type. A future conntrack writer (flushing the entries of removed UDP
//! real servers, as kube-proxy does) goes behind the same seam: a trait
//! here and a type in [`Writers`].

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Debug,
    future::Future,
    net::IpAddr,
};

use ipset_netlink::{Entry, SetType};
use ipvs_netlink::{Command, Family, IpvsError, RealServer, ServiceKey, TableEntry, Timeouts};

use super::{
    Bindings, IpsetWriter, IpsetWriterError, IptablesError, IptablesWriter, IpvsWriter,
    IpvsWriterError, LinkError, LinkWriter, SetState, Sysctl, SysctlError, SysctlWriter,
};
use crate::{plan::rules::IptablesRules, types::BindMode};

/// IPVS services and real servers ([`IpvsWriter`]).
pub trait IpvsWrite: Debug {
    /// Mutating messages sent so far.
    fn messages(&self) -> u64;

    /// Every service with its real servers, without counters.
    fn dump(&mut self) -> impl Future<Output = Result<Vec<TableEntry>, IpvsWriterError>>;

    /// The real servers of one service with their connection counters;
    /// `None` if the service does not exist.
    fn real_servers(
        &mut self,
        key: &ServiceKey,
    ) -> impl Future<Output = Result<Option<Vec<RealServer>>, IpvsWriterError>>;

    /// Sends the commands; one result per command, in order. An `Err` is a
    /// failure of the whole batch, which may be partly applied.
    fn apply(
        &mut self,
        commands: &[Command],
    ) -> impl Future<Output = Result<Vec<Result<(), IpvsError>>, IpvsWriterError>>;

    /// kube-proxy's scheduler check ([`IpvsWriter::probe_scheduler`]).
    fn probe_scheduler(
        &mut self,
        scheduler: &str,
    ) -> impl Future<Output = Result<(), IpvsWriterError>>;

    /// Sets the non-zero timeouts; returns whether a message was sent.
    fn set_timeouts(
        &mut self,
        timeouts: Timeouts,
    ) -> impl Future<Output = Result<bool, IpvsWriterError>>;
}

/// kube-proxy's ipsets ([`IpsetWriter`]).
pub trait IpsetWrite: Debug {
    /// Mutating messages sent so far.
    fn messages(&self) -> u64;

    /// Every set whose name starts with `prefix`, with its members.
    fn dump(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, SetState>, IpsetWriterError>>;

    /// Creates a set unless an identical one exists.
    fn create(
        &mut self,
        name: &str,
        set_type: SetType,
        family: Family,
    ) -> impl Future<Output = Result<(), IpsetWriterError>>;

    /// Destroys a set (a missing set is not an error).
    fn destroy(&mut self, name: &str) -> impl Future<Output = Result<(), IpsetWriterError>>;

    /// Deletes then adds members of one set, ignoring members already
    /// absent or present.
    fn apply(
        &mut self,
        name: &str,
        delete: &[Entry],
        add: &[Entry],
    ) -> impl Future<Output = Result<(), IpsetWriterError>>;
}

/// The dummy interface and its VIPs ([`LinkWriter`]).
pub trait LinkWrite: Debug {
    /// Mutating messages sent so far.
    fn messages(&self) -> u64;

    /// The interface's index.
    fn index(&self) -> u32;

    /// Creates the interface if it is missing; returns whether it did.
    fn ensure_interface(&mut self) -> impl Future<Output = Result<bool, LinkError>>;

    /// What the interface holds.
    fn bindings(&self) -> impl Future<Output = Result<Bindings, LinkError>>;

    /// The addresses of every other interface.
    fn local_addresses(&self) -> impl Future<Output = Result<BTreeSet<IpAddr>, LinkError>>;

    /// Binds VIPs (already bound is not an error); one result per VIP.
    fn bind(
        &mut self,
        mode: BindMode,
        vips: &[IpAddr],
    ) -> impl Future<Output = Vec<Result<(), LinkError>>>;

    /// Unbinds VIPs (already unbound is not an error); one result per VIP.
    fn unbind(
        &mut self,
        mode: BindMode,
        vips: &[IpAddr],
    ) -> impl Future<Output = Vec<Result<(), LinkError>>>;
}

/// The iptables rules of both families ([`IptablesWriter`]).
pub trait IptablesWrite: Debug {
    /// Processes started so far.
    fn forks(&self) -> u64;

    /// Writes a family's rules unless they equal the last successful
    /// write; returns whether it wrote.
    fn write(
        &mut self,
        family: Family,
        rules: &IptablesRules,
    ) -> impl Future<Output = Result<bool, IptablesError>>;

    /// Rewrites the last write if the kernel lost any of it; returns
    /// whether it wrote.
    fn check(&mut self, family: Family) -> impl Future<Output = Result<bool, IptablesError>>;
}

/// kube-proxy's sysctls ([`SysctlWriter`]).
pub trait SysctlWrite: Debug {
    /// Sets every sysctl that differs, stopping at the first failure;
    /// returns how many were written.
    fn ensure(&mut self, sysctls: &[Sysctl]) -> Result<usize, SysctlError>;
}

/// The types of the writers a reconciler drives.
pub trait Writers {
    /// IPVS.
    type Ipvs: IpvsWrite;
    /// ipset.
    type Ipset: IpsetWrite;
    /// The dummy interface.
    type Link: LinkWrite;
    /// iptables.
    type Iptables: IptablesWrite;
    /// sysctls.
    type Sysctl: SysctlWrite;
}

/// The real writers: netlink sockets, the iptables binaries, `/proc/sys`.
#[derive(Debug)]
pub enum Netlink {}

impl Writers for Netlink {
    type Ipvs = IpvsWriter;
    type Ipset = IpsetWriter;
    type Link = LinkWriter;
    type Iptables = IptablesWriter;
    type Sysctl = SysctlWriter;
}

/// One writer of each kind, as a reconciler starts with them.
#[derive(Debug)]
pub struct WriterSet<W: Writers> {
    /// IPVS.
    pub ipvs: W::Ipvs,
    /// ipset.
    pub ipset: W::Ipset,
    /// The dummy interface.
    pub link: W::Link,
    /// iptables.
    pub iptables: W::Iptables,
    /// sysctls.
    pub sysctl: W::Sysctl,
}

impl IpvsWrite for IpvsWriter {
    fn messages(&self) -> u64 {
        IpvsWriter::messages(self)
    }

    async fn dump(&mut self) -> Result<Vec<TableEntry>, IpvsWriterError> {
        IpvsWriter::dump(self).await
    }

    async fn real_servers(
        &mut self,
        key: &ServiceKey,
    ) -> Result<Option<Vec<RealServer>>, IpvsWriterError> {
        IpvsWriter::real_servers(self, key).await
    }

    async fn apply(
        &mut self,
        commands: &[Command],
    ) -> Result<Vec<Result<(), IpvsError>>, IpvsWriterError> {
        IpvsWriter::apply(self, commands).await
    }

    async fn probe_scheduler(&mut self, scheduler: &str) -> Result<(), IpvsWriterError> {
        IpvsWriter::probe_scheduler(self, scheduler).await
    }

    async fn set_timeouts(&mut self, timeouts: Timeouts) -> Result<bool, IpvsWriterError> {
        IpvsWriter::set_timeouts(self, timeouts).await
    }
}

impl IpsetWrite for IpsetWriter {
    fn messages(&self) -> u64 {
        IpsetWriter::messages(self)
    }

    async fn dump(&self, prefix: &str) -> Result<BTreeMap<String, SetState>, IpsetWriterError> {
        IpsetWriter::dump(self, prefix).await
    }

    async fn create(
        &mut self,
        name: &str,
        set_type: SetType,
        family: Family,
    ) -> Result<(), IpsetWriterError> {
        IpsetWriter::create(self, name, set_type, family).await
    }

    async fn destroy(&mut self, name: &str) -> Result<(), IpsetWriterError> {
        IpsetWriter::destroy(self, name).await
    }

    async fn apply(
        &mut self,
        name: &str,
        delete: &[Entry],
        add: &[Entry],
    ) -> Result<(), IpsetWriterError> {
        IpsetWriter::apply(self, name, delete, add).await
    }
}

impl LinkWrite for LinkWriter {
    fn messages(&self) -> u64 {
        LinkWriter::messages(self)
    }

    fn index(&self) -> u32 {
        LinkWriter::index(self)
    }

    async fn ensure_interface(&mut self) -> Result<bool, LinkError> {
        LinkWriter::ensure_interface(self).await
    }

    async fn bindings(&self) -> Result<Bindings, LinkError> {
        LinkWriter::bindings(self).await
    }

    async fn local_addresses(&self) -> Result<BTreeSet<IpAddr>, LinkError> {
        LinkWriter::local_addresses(self).await
    }

    async fn bind(&mut self, mode: BindMode, vips: &[IpAddr]) -> Vec<Result<(), LinkError>> {
        LinkWriter::bind(self, mode, vips).await
    }

    async fn unbind(&mut self, mode: BindMode, vips: &[IpAddr]) -> Vec<Result<(), LinkError>> {
        LinkWriter::unbind(self, mode, vips).await
    }
}

impl IptablesWrite for IptablesWriter {
    fn forks(&self) -> u64 {
        IptablesWriter::forks(self)
    }

    async fn write(
        &mut self,
        family: Family,
        rules: &IptablesRules,
    ) -> Result<bool, IptablesError> {
        IptablesWriter::write(self, family, rules).await
    }

    async fn check(&mut self, family: Family) -> Result<bool, IptablesError> {
        IptablesWriter::check(self, family).await
    }
}

impl SysctlWrite for SysctlWriter {
    fn ensure(&mut self, sysctls: &[Sysctl]) -> Result<usize, SysctlError> {
        SysctlWriter::ensure(self, sysctls)
    }
}
