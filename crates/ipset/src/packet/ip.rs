use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    DecodeError, DefaultNla, NLA_F_NET_BYTEORDER, Nla, NlaBuffer, NlasIterator, Parseable,
};

use super::constants::{IPSET_ATTR_IPADDR_IPV4, IPSET_ATTR_IPADDR_IPV6};

/// An attribute inside a nested `IPSET_ATTR_IP`/`IPSET_ATTR_IP2`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpAttribute {
    /// `IPSET_ATTR_IPADDR_IPV4`.
    V4(Ipv4Addr),
    /// `IPSET_ATTR_IPADDR_IPV6`.
    V6(Ipv6Addr),
    /// Anything else.
    Other(DefaultNla),
}

impl IpAttribute {
    /// The attribute carrying `addr`.
    pub fn from_addr(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(v4) => IpAttribute::V4(v4),
            IpAddr::V6(v6) => IpAttribute::V6(v6),
        }
    }

    /// The address, if this is an address attribute.
    pub fn addr(&self) -> Option<IpAddr> {
        match self {
            IpAttribute::V4(v4) => Some(IpAddr::V4(*v4)),
            IpAttribute::V6(v6) => Some(IpAddr::V6(*v6)),
            IpAttribute::Other(_) => None,
        }
    }
}

impl Nla for IpAttribute {
    fn value_len(&self) -> usize {
        match self {
            IpAttribute::V4(_) => 4,
            IpAttribute::V6(_) => 16,
            IpAttribute::Other(nla) => nla.value_len(),
        }
    }

    // The ipset tool sends addresses with NLA_F_NET_BYTEORDER; the kernel
    // accepts both and replies without it.
    fn kind(&self) -> u16 {
        match self {
            IpAttribute::V4(_) => IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER,
            IpAttribute::V6(_) => IPSET_ATTR_IPADDR_IPV6 | NLA_F_NET_BYTEORDER,
            IpAttribute::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            IpAttribute::V4(v4) => buffer.copy_from_slice(&v4.octets()),
            IpAttribute::V6(v6) => buffer.copy_from_slice(&v6.octets()),
            IpAttribute::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for IpAttribute {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let value = buf.value();
        Ok(match buf.kind() {
            IPSET_ATTR_IPADDR_IPV4 => {
                let octets: [u8; 4] = value
                    .try_into()
                    .map_err(|_| DecodeError::invalid_ip_address(value.len()))?;
                IpAttribute::V4(Ipv4Addr::from(octets))
            }
            IPSET_ATTR_IPADDR_IPV6 => {
                let octets: [u8; 16] = value
                    .try_into()
                    .map_err(|_| DecodeError::invalid_ip_address(value.len()))?;
                IpAttribute::V6(Ipv6Addr::from(octets))
            }
            _ => IpAttribute::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// Parses the payload of a nested IP attribute into its address.
pub(crate) fn parse_nested_ip(value: &[u8]) -> Result<IpAddr, DecodeError> {
    for nla in NlasIterator::new(value) {
        if let Some(addr) = IpAttribute::parse(&nla?)?.addr() {
            return Ok(addr);
        }
    }
    Err(DecodeError::from("nested IP attribute without an address"))
}
