//! What the async [`IpsetHandle`](crate::IpsetHandle) and the blocking
//! [`IpsetClient`](crate::blocking::IpsetClient) share, with no I/O: name
//! checks, the protocol and revision read from the kernel's answers, the
//! element requests, the errors read from outcomes, the sets read from a
//! dump and the plan of a sync. Each client only sends what this builds
//! and hands back what it received.

use crate::{
    ElementLimits, Entry, Error, Extensions, SetInfo, SetType, SyncStats,
    batch::Outcome,
    error::ErrorContext,
    packet::{
        IpsetAttribute,
        constants::{IPSET_ERR_PROTOCOL, IPSET_MAXNAMELEN, IPSET_PROTOCOL, IPSET_PROTOCOL_MIN},
    },
    request::{self, ElementOp, Request},
    set::collect_sets,
    sync::diff,
};

/// Picks the protocol from the answer to `IPSET_CMD_PROTOCOL` sent with
/// protocol 7: the kernel's version capped at 7, or 6 when the kernel
/// rejects 7 with `IPSET_ERR_PROTOCOL` (kernels that speak only 6).
pub(crate) fn negotiate_protocol(
    outcome_code: Option<i32>,
    kernel_protocol: Option<u8>,
) -> Option<u8> {
    match (outcome_code, kernel_protocol) {
        (Some(IPSET_ERR_PROTOCOL), _) => Some(IPSET_PROTOCOL_MIN),
        (Some(_), _) => None,
        (None, Some(p)) if p >= IPSET_PROTOCOL_MIN => Some(p.min(IPSET_PROTOCOL)),
        (None, _) => None,
    }
}

/// The protocol to use, from the outcome of
/// [`request::protocol`] sent with `IPSET_PROTOCOL` (7).
pub(crate) fn protocol_from(outcome: &Outcome) -> Result<u8, Error> {
    let kernel = outcome
        .messages
        .iter()
        .flat_map(|m| &m.attributes)
        .find_map(|a| match a {
            IpsetAttribute::Protocol(p) => Some(*p),
            _ => None,
        });
    let code = outcome.error.map(|(code, _)| code);
    negotiate_protocol(code, kernel).ok_or_else(|| match code {
        Some(code) => Error::from_kernel(code, ErrorContext::default()),
        None => Error::UnexpectedReply(format!("kernel ipset protocol {kernel:?}")),
    })
}

/// The revision to create `set_type` with, from the outcome of
/// [`request::type_query`]: the highest one both the kernel and this
/// library support.
pub(crate) fn revision_from(outcome: &Outcome, set_type: SetType) -> Result<u8, Error> {
    let (mut max, mut min) = (None, 0);
    for attr in outcome.messages.iter().flat_map(|m| &m.attributes) {
        match attr {
            IpsetAttribute::Revision(r) => max = Some(*r),
            IpsetAttribute::RevisionMin(r) => min = *r,
            _ => {}
        }
    }
    max.map(|max| max.min(set_type.max_revision()))
        .filter(|rev| *rev >= min)
        .ok_or_else(|| Error::TypeNotSupported {
            set: String::new(),
            type_name: set_type.name().to_owned(),
        })
}

/// A set name the kernel can take: 1 to 31 bytes, no NUL.
pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > IPSET_MAXNAMELEN || name.contains('\0') {
        return Err(Error::InvalidName(name.to_owned()));
    }
    Ok(())
}

/// The error of an outcome, named after the request.
pub(crate) fn outcome_error(
    request: &Request,
    outcome: &Outcome,
    entries: &[Entry],
) -> Option<Error> {
    let (code, lineno) = outcome.error?;
    let mut ctx = ErrorContext {
        command: Some(request.message.command),
        set: request.set_name().unwrap_or_default().to_owned(),
        ..ErrorContext::default()
    };
    for attr in &request.message.attributes {
        match attr {
            IpsetAttribute::SetName2(other) | IpsetAttribute::TypeName(other) => {
                ctx.other = other.clone()
            }
            IpsetAttribute::Element(_) => ctx.entry = entries.first().map(Entry::to_string),
            _ => {}
        }
    }
    if let Some(n) = lineno.filter(|n| *n > 0) {
        ctx.entry = entries.get(n as usize - 1).map(Entry::to_string);
    }
    Some(Error::from_kernel(code, ctx))
}

/// The first failed outcome of `requests` as an error (a single element
/// request names `entries[0]`).
pub(crate) fn first_error(
    requests: &[Request],
    outcomes: &[Outcome],
    entries: &[Entry],
) -> Result<(), Error> {
    for (request, outcome) in requests.iter().zip(outcomes) {
        if let Some(err) = outcome_error(request, outcome, entries) {
            return Err(err);
        }
    }
    Ok(())
}

/// The first failed outcome of batched element requests, naming the
/// failing element of `entries` (the elements of the requests, in order)
/// by the kernel's line number.
pub(crate) fn batch_error(
    requests: &[Request],
    outcomes: &[Outcome],
    entries: &[Entry],
) -> Result<(), Error> {
    // Line numbers count from 1 in each message: find its first entry.
    let mut first = 0;
    for (request, outcome) in requests.iter().zip(outcomes) {
        let chunk = entries.get(first.min(entries.len())..).unwrap_or_default();
        if let Some(err) = outcome_error(request, outcome, chunk) {
            return Err(err);
        }
        first += request.element_count();
    }
    Ok(())
}

/// The sets of a dump's outcome, or its error.
pub(crate) fn sets_from(request: &Request, outcome: &Outcome) -> Result<Vec<SetInfo>, Error> {
    if let Some(err) = outcome_error(request, outcome, &[]) {
        return Err(err);
    }
    Ok(collect_sets(&outcome.messages)?)
}

/// The one set a dump of `name` gave, [`Error::SetNotFound`] if none.
pub(crate) fn the_set(sets: Vec<SetInfo>, name: &str) -> Result<SetInfo, Error> {
    sets.into_iter().next().ok_or_else(|| Error::SetNotFound {
        set: name.to_owned(),
    })
}

/// A TEST answer: present, absent, or an error.
pub(crate) fn test_result(result: Result<(), Error>) -> Result<bool, Error> {
    match result {
        Ok(()) => Ok(true),
        Err(Error::ElementMissing { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A header lookup as an existence test.
pub(crate) fn exists_result(result: Result<SetInfo, Error>) -> Result<bool, Error> {
    match result {
        Ok(_) => Ok(true),
        Err(Error::SetNotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A destroy of a leftover temporary set: absent is fine.
pub(crate) fn leftover_destroyed(result: Result<(), Error>) -> Result<(), Error> {
    match result {
        Ok(()) | Err(Error::SetNotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// What a client needs to build requests: the negotiated protocol and the
/// elements per message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Builder {
    pub protocol: u8,
    pub elements: ElementLimits,
}

impl Builder {
    /// The batched requests for many elements of one set, each with
    /// `extensions`.
    pub fn elements(
        &self,
        op: ElementOp,
        name: &str,
        entries: &[Entry],
        extensions: &Extensions,
        exist: bool,
    ) -> Vec<Request> {
        request::elements_with(
            self.protocol,
            op,
            name,
            entries,
            extensions,
            exist,
            self.elements.per_message,
            self.elements.max_bytes,
        )
    }

    /// What a sync of `name` from `current` to `desired` sends.
    pub fn sync(&self, name: &str, current: &[Entry], desired: &[Entry]) -> SyncPlan {
        let (delete, add) = diff(current, desired);
        let none = Extensions::default();
        let mut requests = self.elements(ElementOp::Del, name, &delete, &none, true);
        requests.extend(self.elements(ElementOp::Add, name, &add, &none, true));
        let stats = SyncStats {
            added: add.len(),
            deleted: delete.len(),
        };
        // Errors name entries by position: only when one half is sent.
        let entries = match (delete.is_empty(), add.is_empty()) {
            (false, false) => Vec::new(),
            (false, true) => delete,
            (true, _) => add,
        };
        SyncPlan {
            requests,
            entries,
            stats,
        }
    }
}

/// The requests of one sync ([`Builder::sync`]): deletes, then adds, all
/// with `-exist` so that a concurrent change does not fail them.
#[derive(Debug)]
pub(crate) struct SyncPlan {
    /// The DEL then ADD requests (none when nothing changes).
    pub requests: Vec<Request>,
    /// The elements of `requests`, to name a failing one; empty when both
    /// deletes and adds are sent.
    pub entries: Vec<Entry>,
    /// How many elements are deleted and added.
    pub stats: SyncStats,
}
