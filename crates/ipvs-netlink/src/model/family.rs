//! IPVS attribute numbers to the shared [`Family`] and [`Protocol`].

use netlink_packet_core::DecodeError;

use super::{Family, Protocol};

/// The family of an `IPVS_*_ATTR_AF` value (`AF_INET` or `AF_INET6`).
pub(crate) fn decode_family(af: u16) -> Result<Family, DecodeError> {
    Family::from_af(af).ok_or_else(|| format!("unsupported address family {af}").into())
}

/// The protocol of an `IPVS_SVC_ATTR_PROTOCOL` value: an IP protocol
/// number, which fits in a byte.
pub(crate) fn decode_protocol(number: u16) -> Result<Protocol, DecodeError> {
    u8::try_from(number)
        .map(Protocol::from_number)
        .map_err(|_| format!("protocol {number} is not an IP protocol number").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(decode_family(10).unwrap(), Family::Inet6);
        assert!(decode_family(7).is_err());
        assert_eq!(decode_protocol(132).unwrap(), Protocol::Sctp);
        assert_eq!(decode_protocol(255).unwrap(), Protocol::Other(255));
        let error = decode_protocol(256).unwrap_err().to_string();
        assert!(error.contains("protocol 256"), "{error}");
    }
}
