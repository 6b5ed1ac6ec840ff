//! Thin writers, one per kernel subsystem. Each owns its socket or tool,
//! has its own error type (which says what to install or load when a
//! module or a tool is missing) and counts what it sends, so a caller can
//! prove that a no-op sync sends nothing.
//!
//! * [`ipvs`]: IPVS services and real servers ([`IpvsWriter`], over
//!   `ipvs-netlink`).
//! * [`ipset`]: kube-proxy's ipsets ([`IpsetWriter`], over
//!   `ipset-netlink`).
//! * [`link`]: the `kube-ipvs0` dummy and its VIPs ([`LinkWriter`], over
//!   rtnetlink), in address or route [`BindMode`](crate::types::BindMode).
//! * [`addresses`]: the node's local addresses, kept by rtnetlink
//!   notifications ([`AddressCache`], behind [`NodeAddresses`]).
//! * [`iptables`]: the rules, through `iptables-restore --noflush`
//!   ([`IptablesWriter`]).
//! * [`sysctl`]: kube-proxy's sysctls ([`SysctlWriter`]).
//! * [`seam`]: a trait in front of each writer the reconciler drives
//!   ([`IpvsWrite`], [`IpsetWrite`], [`LinkWrite`], [`IptablesWrite`],
//!   [`SysctlWrite`]) and their bundle ([`Writers`], the real ones being
//!   [`Netlink`]), so that tests run the orchestration over in-memory
//!   writers.

pub mod addresses;
pub mod ipset;
pub mod iptables;
pub mod ipvs;
pub mod link;
pub mod seam;
pub mod sysctl;

pub use addresses::{AddressCache, AddressCacheError, NodeAddresses};
pub use ipset::{IpsetWriter, IpsetWriterError, SetState};
pub use iptables::{IptablesError, IptablesWriter};
pub use ipvs::{IpvsWriter, IpvsWriterError};
pub use link::{Bindings, LinkError, LinkWriter};
pub use seam::{
    IpsetWrite, IptablesWrite, IpvsWrite, LinkWrite, Netlink, SysctlWrite, WriterSet, Writers,
};
pub use sysctl::{Sysctl, SysctlError, SysctlWriter};
