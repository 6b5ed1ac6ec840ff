//! `union nf_inet_addr` as it travels in `IPVS_*_ATTR_ADDR`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::DecodeError;

/// The 16 address bytes of an `IPVS_SVC_ATTR_ADDR` / `IPVS_DEST_ATTR_ADDR`
/// attribute (the kernel's `union nf_inet_addr`).
///
/// The kernel always dumps 16 bytes, with an IPv4 address in the first four;
/// which family it is comes from a separate attribute. [`InetAddr::to_ip`]
/// applies the family, [`From<IpAddr>`] builds the union.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct InetAddr(pub [u8; 16]);

impl InetAddr {
    /// Length of the encoded union.
    pub const LEN: usize = 16;

    /// Parses 4 (IPv4) or 16 bytes.
    pub fn parse(payload: &[u8]) -> Result<Self, DecodeError> {
        let mut bytes = [0u8; 16];
        match payload.len() {
            4 | 16 => {
                bytes
                    .get_mut(..payload.len())
                    .ok_or_else(|| DecodeError::invalid_ip_address(payload.len()))?
                    .copy_from_slice(payload);
                Ok(InetAddr(bytes))
            }
            other => Err(DecodeError::invalid_ip_address(other)),
        }
    }

    /// Interprets the union for an address family: `v6 == false` takes the
    /// first four bytes as IPv4.
    pub fn to_ip(self, v6: bool) -> IpAddr {
        if v6 {
            IpAddr::V6(Ipv6Addr::from(self.0))
        } else {
            let [a, b, c, d, ..] = self.0;
            IpAddr::V4(Ipv4Addr::new(a, b, c, d))
        }
    }
}

impl From<IpAddr> for InetAddr {
    fn from(addr: IpAddr) -> Self {
        let mut bytes = [0u8; 16];
        match addr {
            IpAddr::V4(v4) => {
                let [a, b, c, d] = v4.octets();
                bytes[0] = a;
                bytes[1] = b;
                bytes[2] = c;
                bytes[3] = d;
            }
            IpAddr::V6(v6) => bytes = v6.octets(),
        }
        InetAddr(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_is_padded_to_the_union() {
        let addr = InetAddr::from(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(&addr.0[..4], &[10, 0, 0, 1]);
        assert_eq!(&addr.0[4..], &[0; 12]);
        assert_eq!(addr.to_ip(false), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    }

    #[test]
    fn parses_short_and_long_forms() {
        assert_eq!(
            InetAddr::parse(&[1, 2, 3, 4])
                .unwrap()
                .to_ip(false)
                .to_string(),
            "1.2.3.4"
        );
        let v6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            InetAddr::parse(&v6.octets()).unwrap().to_ip(true),
            IpAddr::V6(v6)
        );
        assert!(InetAddr::parse(&[1, 2, 3]).is_err());
        assert!(InetAddr::parse(&[]).is_err());
    }
}
