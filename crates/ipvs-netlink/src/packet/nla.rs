//! Small helpers shared by the attribute enums.

use netlink_packet_core::{DecodeError, Emitable, NLA_F_NESTED, Nla, NlaBuffer, NlasIterator};

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

/// Parses every attribute of `payload` with `parse`.
pub(crate) fn parse_all<'a, A>(
    payload: &'a [u8],
    mut parse: impl FnMut(&NlaBuffer<&'a [u8]>) -> Result<A, DecodeError>,
) -> Result<Vec<A>, DecodeError> {
    NlasIterator::new(payload).map(|nla| parse(&nla?)).collect()
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
