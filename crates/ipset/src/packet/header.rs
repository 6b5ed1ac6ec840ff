use netlink_packet_core::{DecodeError, Emitable};

/// Length of the nfgenmsg header in bytes.
pub const NFGEN_HEADER_LEN: usize = 4;

/// The nfnetlink header (`struct nfgenmsg`) that follows every netlink
/// header of an ipset message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct NfGenHeader {
    /// Address family (`NFPROTO_*`). The ipset tool always sends
    /// `NFPROTO_IPV4`; the real family travels in `IPSET_ATTR_FAMILY`.
    pub family: u8,
    /// nfnetlink version, `NFNETLINK_V0` (0).
    pub version: u8,
    /// Resource id, big endian on the wire; 0 for ipset.
    pub res_id: u16,
}

impl NfGenHeader {
    /// A header with the given family, version 0 and resource id 0.
    pub fn new(family: u8) -> Self {
        Self {
            family,
            version: 0,
            res_id: 0,
        }
    }

    /// Parses the first four bytes of `buf`.
    pub fn parse(buf: &[u8]) -> Result<Self, DecodeError> {
        match buf {
            [family, version, hi, lo, ..] => Ok(Self {
                family: *family,
                version: *version,
                res_id: u16::from_be_bytes([*hi, *lo]),
            }),
            _ => Err(DecodeError::buffer_too_small(buf.len(), NFGEN_HEADER_LEN)),
        }
    }
}

impl Emitable for NfGenHeader {
    fn buffer_len(&self) -> usize {
        NFGEN_HEADER_LEN
    }

    fn emit(&self, buffer: &mut [u8]) {
        let [hi, lo] = self.res_id.to_be_bytes();
        buffer[..NFGEN_HEADER_LEN].copy_from_slice(&[self.family, self.version, hi, lo]);
    }
}
