//! Shared encoding of attribute values, so each attribute enum only maps
//! its variants to a kind and a [`Value`].

use std::net::IpAddr;

use netlink_packet_core::{DefaultNla, Emitable, Nla};

use super::{AdtAttribute, ElementAttribute, HeaderAttribute, ip::IpAttribute};

/// The value of one attribute, borrowed from the attribute enum.
pub(crate) enum Value<'a> {
    /// One byte.
    U8(u8),
    /// Big-endian u16.
    Be16(u16),
    /// Big-endian u32.
    Be32(u32),
    /// Big-endian u64.
    Be64(u64),
    /// NUL-terminated string.
    Str(&'a str),
    /// Nested IP attribute holding one address.
    Ip(IpAddr),
    /// Nested set-header attributes.
    Header(&'a [HeaderAttribute]),
    /// Nested element attributes.
    Element(&'a [ElementAttribute]),
    /// Nested ADT attributes.
    Adt(&'a [AdtAttribute]),
    /// Unknown attribute, emitted as parsed.
    Raw(&'a DefaultNla),
}

impl Value<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Value::U8(_) => 1,
            Value::Be16(_) => 2,
            Value::Be32(_) => 4,
            Value::Be64(_) => 8,
            Value::Str(s) => s.len() + 1,
            Value::Ip(ip) => IpAttribute::from_addr(*ip).buffer_len(),
            Value::Header(attrs) => attrs.buffer_len(),
            Value::Element(attrs) => attrs.buffer_len(),
            Value::Adt(attrs) => attrs.buffer_len(),
            Value::Raw(nla) => nla.value_len(),
        }
    }

    pub(crate) fn emit(&self, buf: &mut [u8]) {
        match self {
            Value::U8(v) => buf.copy_from_slice(&[*v]),
            Value::Be16(v) => buf.copy_from_slice(&v.to_be_bytes()),
            Value::Be32(v) => buf.copy_from_slice(&v.to_be_bytes()),
            Value::Be64(v) => buf.copy_from_slice(&v.to_be_bytes()),
            Value::Str(s) => {
                let (text, nul) = buf.split_at_mut(s.len());
                text.copy_from_slice(s.as_bytes());
                nul.fill(0);
            }
            Value::Ip(ip) => IpAttribute::from_addr(*ip).emit(buf),
            Value::Header(attrs) => attrs.emit(buf),
            Value::Element(attrs) => attrs.emit(buf),
            Value::Adt(attrs) => attrs.emit(buf),
            Value::Raw(nla) => nla.emit_value(buf),
        }
    }
}

/// Implements [`Nla`] for an attribute enum with a
/// `fn value(&self) -> (u16, Value<'_>)` method.
macro_rules! nla_from_value {
    ($ty:ty) => {
        impl netlink_packet_core::Nla for $ty {
            fn value_len(&self) -> usize {
                self.value().1.len()
            }

            fn kind(&self) -> u16 {
                self.value().0
            }

            fn emit_value(&self, buffer: &mut [u8]) {
                self.value().1.emit(buffer)
            }
        }
    };
}
pub(crate) use nla_from_value;
