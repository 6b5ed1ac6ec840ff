//! Small helpers shared by the attribute enums.

use super::stats::StatsNest;
use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, ErrorContext, NLA_F_NESTED, NLA_HEADER_SIZE, NLA_TYPE_MASK,
    Nla, NlaBuffer,
};

/// Whether nested attributes are sent with `NLA_F_NESTED` set.
///
/// The kernel accepts both (the IPVS ops are not strictly validated); this
/// is the one switch to flip if a capture shows otherwise.
pub(crate) const SET_NESTED_FLAG: bool = true;

/// The `kind()` of a nested attribute of type `kind`.
pub(crate) const fn nested(kind: u16) -> u16 {
    if SET_NESTED_FLAG {
        kind | NLA_F_NESTED
    } else {
        kind
    }
}

/// One attribute as the parsers see it: its type field and its value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attr<'a> {
    /// The whole `nla_type` field, flags included.
    pub raw_kind: u16,
    /// The value, without header or padding.
    pub value: &'a [u8],
}

impl<'a> Attr<'a> {
    /// The attribute type without `NLA_F_NESTED` / `NLA_F_NET_BYTEORDER`.
    pub fn kind(self) -> u16 {
        self.raw_kind & NLA_TYPE_MASK
    }

    /// The attribute as kept in `Other` (what `DefaultNla::parse` builds:
    /// the type with its flags, the value copied).
    pub fn to_default(self) -> DefaultNla {
        DefaultNla::new(self.raw_kind, self.value.to_vec())
    }

    /// The attribute of a checked `NlaBuffer` (the public `Parseable`
    /// impls delegate to the crate's parsers through this).
    pub fn of_buffer<T: AsRef<[u8]> + ?Sized>(buf: &NlaBuffer<&'a T>) -> Self {
        let bytes: &'a [u8] = buf.into_inner().as_ref();
        let field = |at: usize| {
            bytes
                .get(at..at + 2)
                .map_or(0, |f| u16::from_ne_bytes([f[0], f[1]]))
        };
        Attr {
            raw_kind: field(2),
            value: bytes
                .get(NLA_HEADER_SIZE..usize::from(field(0)))
                .unwrap_or_default(),
        }
    }
}

/// The attributes of `payload`, back to back, with the checks of
/// netlink-packet-core's `NlasIterator` (a header must fit, its length must
/// cover the header and fit the buffer) and the same errors; iteration ends
/// after the first error.
pub(crate) struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    pub fn new(payload: &'a [u8]) -> Self {
        Attrs { rest: payload }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest;
        if rest.is_empty() {
            return None;
        }
        let &[l0, l1, t0, t1, ..] = rest else {
            self.rest = &[];
            return Some(Err(DecodeError::nla_buffer_too_small(
                rest.len(),
                NLA_HEADER_SIZE,
            )));
        };
        let len = usize::from(u16::from_ne_bytes([l0, l1]));
        let value = match rest.get(NLA_HEADER_SIZE..len) {
            Some(value) => value,
            None => {
                self.rest = &[];
                return Some(Err(if len > rest.len() {
                    DecodeError::nla_length_mismatch(rest.len(), len)
                } else {
                    DecodeError::nla_invalid_length(rest.len(), len)
                }));
            }
        };
        self.rest = rest.get(align(len)..).unwrap_or_default();
        Some(Ok(Attr {
            raw_kind: u16::from_ne_bytes([t0, t1]),
            value,
        }))
    }
}

/// How many attributes `payload` holds, reading only the length fields (a
/// capacity hint: a malformed payload fails to parse anyway).
fn count(payload: &[u8]) -> usize {
    let mut n = 0;
    let mut at = 0;
    while let Some(&[l0, l1]) = payload.get(at..at + 2) {
        n += 1;
        let len = usize::from(u16::from_ne_bytes([l0, l1]));
        if len < NLA_HEADER_SIZE {
            break;
        }
        at += align(len);
    }
    n
}

const fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// Parses every attribute of `payload` with `parse`.
pub(crate) fn parse_all<'a, A>(
    payload: &'a [u8],
    mut parse: impl FnMut(Attr<'a>) -> Result<A, DecodeError>,
) -> Result<Vec<A>, DecodeError> {
    let mut out = Vec::with_capacity(count(payload));
    for attr in Attrs::new(payload) {
        out.push(parse(attr?)?);
    }
    Ok(out)
}

/// What a nest visitor is handed: one parsed attribute, or a stats nest
/// parsed in place (not boxed, not collected).
pub(crate) enum NestItem<A> {
    /// Any attribute but the stats nests.
    Attr(A),
    /// A `STATS` (`wide == false`) or `STATS64` nest.
    Stats { wide: bool, nest: StatsNest },
}

/// Parses every attribute of a service or destination nest, like
/// [`parse_all`] and with the same errors, but hands each to `visit`
/// instead of collecting them. `stats` and `stats64` are the nest's stats
/// attribute types; `name` prefixes their error context.
pub(crate) fn visit_nest<'a, A>(
    payload: &'a [u8],
    (stats, stats64, name): (u16, u16, &str),
    mut parse: impl FnMut(Attr<'a>) -> Result<A, DecodeError>,
    mut visit: impl FnMut(NestItem<A>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    for attr in Attrs::new(payload) {
        let attr = attr?;
        let kind = attr.kind();
        let item = if kind == stats || kind == stats64 {
            let wide = kind == stats64;
            let nest = StatsNest::parse(attr.value, wide)
                .with_context(|| format!("{name} {}", if wide { "STATS64" } else { "STATS" }))?;
            NestItem::Stats { wide, nest }
        } else {
            NestItem::Attr(parse(attr)?)
        };
        visit(item)?;
    }
    Ok(())
}

/// Encoded length of a list of attributes (the value of a nest).
pub(crate) fn nest_len<A: Nla>(attrs: &[A]) -> usize {
    attrs.iter().map(Emitable::buffer_len).sum()
}

/// Writes a list of attributes back to back.
pub(crate) fn emit_nest<A: Nla>(attrs: &[A], buffer: &mut [u8]) {
    attrs.emit(buffer)
}

/// Copies `value` into the start of `buffer`. `Nla::emit_value` is always
/// handed exactly `value_len()` bytes, so the lengths match by construction.
pub(crate) fn put(buffer: &mut [u8], value: &[u8]) {
    if let Some(dst) = buffer.get_mut(..value.len()) {
        dst.copy_from_slice(value);
    }
}

/// Writes a NUL-terminated string (`value_len() == s.len() + 1`).
pub(crate) fn put_string(buffer: &mut [u8], s: &str) {
    put(buffer, s.as_bytes());
    if let Some(nul) = buffer.get_mut(s.len()) {
        *nul = 0;
    }
}
