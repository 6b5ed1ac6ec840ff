//! The error type of the I/O layer, with kernel error codes mapped to
//! typed variants that name the set.

use std::io;

use libc::{EEXIST, ENOENT};
use netlink_packet_core::DecodeError;
use netlink_transport::TransportError;

use crate::{EntryError, packet::constants::*};

/// Errors from [`IpsetHandle`](crate::IpsetHandle) operations.
///
/// Named after the crate, like `ipvs_netlink::IpvsError`, so that a program
/// using both (the proxier) needs no renaming imports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IpsetError {
    /// CREATE of a set that exists (without `-exist`), or RENAME/SWAP onto
    /// an existing name.
    #[error("set {set:?} already exists")]
    SetExists {
        /// The set.
        set: String,
    },
    /// The set does not exist.
    #[error("set {set:?} does not exist")]
    SetNotFound {
        /// The set.
        set: String,
    },
    /// The set is referenced by an iptables rule, another set or a kernel
    /// component and cannot be destroyed or renamed.
    #[error("set {set:?} is in use by a rule or a kernel component")]
    SetInUse {
        /// The set.
        set: String,
    },
    /// SWAP of two sets of different types or families.
    #[error("sets {set:?} and {other:?} have different types or families")]
    TypeMismatch {
        /// The first set.
        set: String,
        /// The second set.
        other: String,
    },
    /// ADD of an element that is already present (without `-exist`).
    #[error("element {entry} is already in set {set:?}")]
    ElementExists {
        /// The set.
        set: String,
        /// The element, or `?` if unknown.
        entry: String,
    },
    /// DEL of an element that is not present (without `-exist`).
    #[error("element {entry} is not in set {set:?}")]
    ElementMissing {
        /// The set.
        set: String,
        /// The element, or `?` if unknown.
        entry: String,
    },
    /// An element whose family differs from the set's.
    #[error("element {entry} does not match the family of set {set:?}")]
    FamilyMismatch {
        /// The set.
        set: String,
        /// The element, or `?` if unknown.
        entry: String,
    },
    /// The kernel does not speak ipset protocol 6 or 7, or rejected a
    /// malformed request (both are `IPSET_ERR_PROTOCOL`).
    #[error("set {set:?}: ipset protocol mismatch with the kernel (or malformed request)")]
    Protocol {
        /// The set, if the request named one.
        set: String,
    },
    /// The kernel lacks the set type (module not loaded or too old).
    #[error("the kernel does not support set type {type_name} (set {set:?})")]
    TypeNotSupported {
        /// The set.
        set: String,
        /// The type name.
        type_name: String,
    },
    /// Any other kernel error code (errno or ipset-specific).
    #[error("set {set:?}: {message} (kernel error {code})")]
    Kernel {
        /// The set, if the request named one.
        set: String,
        /// The positive error code.
        code: i32,
        /// A readable text for the code.
        message: String,
    },
    /// A set name that is empty or longer than 31 bytes.
    #[error("invalid set name {0:?} (1 to 31 bytes)")]
    InvalidName(String),
    /// The netlink transport failed: the socket (ENOBUFS means replies
    /// were lost), a reply timeout, a dump interrupted too often, an
    /// undecodable datagram.
    #[error("{0}")]
    Transport(#[from] TransportError),
    /// A kernel reply could not be decoded.
    #[error("undecodable kernel reply: {0}")]
    Decode(#[from] DecodeError),
    /// A kernel element could not be turned into an [`Entry`](crate::Entry).
    #[error("set member: {0}")]
    Entry(#[from] EntryError),
    /// The kernel answered something the request does not expect.
    #[error("unexpected kernel reply: {0}")]
    UnexpectedReply(String),
}

/// What the failed request was about, to name things in the error.
#[derive(Debug, Default, Clone)]
pub(crate) struct ErrorContext {
    pub command: Option<crate::packet::IpsetCommand>,
    pub set: String,
    pub other: String,
    pub entry: Option<String>,
}

impl IpsetError {
    /// The typed error for kernel code `code` (positive).
    pub(crate) fn from_kernel(code: i32, ctx: ErrorContext) -> Self {
        use crate::packet::IpsetCommand as C;
        let set = ctx.set;
        let entry = ctx.entry.unwrap_or_else(|| "?".to_owned());
        match code {
            ENOENT => IpsetError::SetNotFound { set },
            EEXIST => IpsetError::SetExists { set },
            IPSET_ERR_EXIST_SETNAME2 => IpsetError::SetExists { set: ctx.other },
            IPSET_ERR_BUSY | IPSET_ERR_REFERENCED => IpsetError::SetInUse { set },
            IPSET_ERR_TYPE_MISMATCH => IpsetError::TypeMismatch {
                set,
                other: ctx.other,
            },
            IPSET_ERR_EXIST if ctx.command == Some(C::Add) => {
                IpsetError::ElementExists { set, entry }
            }
            IPSET_ERR_EXIST => IpsetError::ElementMissing { set, entry },
            IPSET_ERR_IPADDR_IPV4 | IPSET_ERR_IPADDR_IPV6 | IPSET_ERR_INVALID_FAMILY => {
                IpsetError::FamilyMismatch { set, entry }
            }
            IPSET_ERR_PROTOCOL => IpsetError::Protocol { set },
            IPSET_ERR_FIND_TYPE => IpsetError::TypeNotSupported {
                set,
                type_name: ctx.other,
            },
            code => IpsetError::Kernel {
                set,
                code,
                message: message(code),
            },
        }
    }
}

/// Text for an ipset-specific code, or the OS text for an errno.
fn message(code: i32) -> String {
    match code {
        IPSET_ERR_MAX_SETS => "the kernel reached the maximal number of sets".to_owned(),
        IPSET_ERR_INVALID_CIDR => "invalid prefix length".to_owned(),
        4105 => "invalid netmask".to_owned(),
        4107 => "the set has no timeout support".to_owned(),
        4111 => "the set has no counter support".to_owned(),
        4112 => "the set has no comment support".to_owned(),
        IPSET_ERR_TYPE_SPECIFIC => {
            "set-type specific error (hash full, or value out of the bitmap range)".to_owned()
        }
        c if c > IPSET_ERR_TYPE_SPECIFIC => "set-type specific error".to_owned(),
        c => io::Error::from_raw_os_error(c).to_string(),
    }
}
