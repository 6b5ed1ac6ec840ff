use netlink_packet_core::{
    DecodeError, Emitable, ErrorContext, NetlinkDeserializable, NetlinkHeader, NetlinkSerializable,
    NlaBuffer, NlasIterator, ParseableParametrized,
};

use super::{
    IpsetAttribute, IpsetCommand,
    constants::NFNL_SUBSYS_IPSET,
    header::{NFGEN_HEADER_LEN, NfGenHeader},
};

/// One ipset message: the payload of a netlink message whose type is
/// `NFNL_SUBSYS_IPSET << 8 | command`.
///
/// Wrap it in a [`netlink_packet_core::NetlinkMessage`] to get the netlink
/// header (length, flags, sequence number, port id).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IpsetMessage {
    /// The nfgenmsg header.
    pub header: NfGenHeader,
    /// The command (low byte of the netlink message type).
    pub command: IpsetCommand,
    /// Command-level attributes, in wire order.
    pub attributes: Vec<IpsetAttribute>,
}

impl IpsetMessage {
    /// A message with the given command and attributes and the header the
    /// ipset tool sends (family `NFPROTO_IPV4`, version 0).
    pub fn new(command: IpsetCommand, attributes: Vec<IpsetAttribute>) -> Self {
        Self {
            header: NfGenHeader::new(super::constants::NFPROTO_IPV4),
            command,
            attributes,
        }
    }

    /// Parses the payload of a netlink message (after the netlink header).
    pub fn parse(command: IpsetCommand, payload: &[u8]) -> Result<Self, DecodeError> {
        let header = NfGenHeader::parse(payload)?;
        let rest = payload.get(NFGEN_HEADER_LEN..).unwrap_or_default();
        let attributes = NlasIterator::new(rest)
            .map(|nla| {
                let nla: NlaBuffer<&[u8]> = nla?;
                IpsetAttribute::parse_with_param(&nla, command)
            })
            .collect::<Result<Vec<_>, _>>()
            .context("ipset message attributes")?;
        Ok(Self {
            header,
            command,
            attributes,
        })
    }
}

impl Emitable for IpsetMessage {
    fn buffer_len(&self) -> usize {
        NFGEN_HEADER_LEN + self.attributes.as_slice().buffer_len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        self.header.emit(buffer);
        self.attributes
            .as_slice()
            .emit(&mut buffer[NFGEN_HEADER_LEN..]);
    }
}

impl NetlinkSerializable for IpsetMessage {
    fn message_type(&self) -> u16 {
        u16::from(NFNL_SUBSYS_IPSET) << 8 | u16::from(u8::from(self.command))
    }

    fn buffer_len(&self) -> usize {
        Emitable::buffer_len(self)
    }

    fn serialize(&self, buffer: &mut [u8]) {
        self.emit(buffer)
    }
}

impl NetlinkDeserializable for IpsetMessage {
    type Error = DecodeError;

    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<Self, Self::Error> {
        let [subsys, command] = header.message_type.to_be_bytes();
        if subsys != NFNL_SUBSYS_IPSET {
            return Err(format!("not an ipset message: type {:#06x}", header.message_type).into());
        }
        Self::parse(IpsetCommand::from(command), payload)
    }
}
