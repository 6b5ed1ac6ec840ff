//! `IPVS_DAEMON_ATTR_*`: the attributes nested in `IPVS_CMD_ATTR_DAEMON`
//! (the connection-sync daemons of `NEW_DAEMON`, `DEL_DAEMON` and the
//! `GET_DAEMON` dump).

use std::net::{Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable, parse_string, parse_u8,
    parse_u16, parse_u32,
};

use super::nla::{Attr, put, put_string};

const STATE: u16 = 1;
const MCAST_IFN: u16 = 2;
const SYNC_ID: u16 = 3;
const SYNC_MAXLEN: u16 = 4;
const MCAST_GROUP: u16 = 5;
const MCAST_GROUP6: u16 = 6;
const MCAST_PORT: u16 = 7;
const MCAST_TTL: u16 = 8;

/// One attribute of a sync daemon.
///
/// Byte orders are the wire's as ipvsadm 1.31 and a 6.1 kernel use them:
/// the multicast groups in network order, every number (the port included)
/// in host order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DaemonAttribute {
    /// `IPVS_DAEMON_ATTR_STATE`: `IP_VS_STATE_MASTER` (1) or
    /// `IP_VS_STATE_BACKUP` (2).
    State(u32),
    /// `IPVS_DAEMON_ATTR_MCAST_IFN`: the multicast interface,
    /// NUL-terminated on the wire.
    McastIfn(String),
    /// `IPVS_DAEMON_ATTR_SYNC_ID`: the sync id the daemon sends or accepts.
    SyncId(u32),
    /// `IPVS_DAEMON_ATTR_SYNC_MAXLEN`: the UDP payload size (kernel 4.3+).
    SyncMaxlen(u16),
    /// `IPVS_DAEMON_ATTR_MCAST_GROUP`: the IPv4 multicast group.
    McastGroup(Ipv4Addr),
    /// `IPVS_DAEMON_ATTR_MCAST_GROUP6`: the IPv6 multicast group.
    McastGroup6(Ipv6Addr),
    /// `IPVS_DAEMON_ATTR_MCAST_PORT`: the multicast (base) port.
    McastPort(u16),
    /// `IPVS_DAEMON_ATTR_MCAST_TTL`: the multicast TTL.
    McastTtl(u8),
    /// An attribute this crate does not know.
    Other(DefaultNla),
}

impl Nla for DaemonAttribute {
    fn value_len(&self) -> usize {
        match self {
            Self::State(_) | Self::SyncId(_) | Self::McastGroup(_) => 4,
            Self::McastIfn(name) => name.len() + 1,
            Self::SyncMaxlen(_) | Self::McastPort(_) => 2,
            Self::McastGroup6(_) => 16,
            Self::McastTtl(_) => 1,
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::State(_) => STATE,
            Self::McastIfn(_) => MCAST_IFN,
            Self::SyncId(_) => SYNC_ID,
            Self::SyncMaxlen(_) => SYNC_MAXLEN,
            Self::McastGroup(_) => MCAST_GROUP,
            Self::McastGroup6(_) => MCAST_GROUP6,
            Self::McastPort(_) => MCAST_PORT,
            Self::McastTtl(_) => MCAST_TTL,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::State(v) | Self::SyncId(v) => put(buffer, &v.to_ne_bytes()),
            Self::McastIfn(name) => put_string(buffer, name),
            Self::SyncMaxlen(v) | Self::McastPort(v) => put(buffer, &v.to_ne_bytes()),
            Self::McastGroup(group) => put(buffer, &group.octets()),
            Self::McastGroup6(group) => put(buffer, &group.octets()),
            Self::McastTtl(ttl) => put(buffer, &[*ttl]),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DaemonAttribute {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        Self::parse_attr(Attr::of_buffer(buf))
    }
}

impl DaemonAttribute {
    /// Parses one attribute of a daemon nest.
    pub(crate) fn parse_attr(attr: Attr<'_>) -> Result<Self, DecodeError> {
        let value = attr.value;
        Ok(match attr.kind() {
            STATE => Self::State(parse_u32(value).context("daemon STATE")?),
            MCAST_IFN => Self::McastIfn(parse_string(value).context("daemon MCAST_IFN")?),
            SYNC_ID => Self::SyncId(parse_u32(value).context("daemon SYNC_ID")?),
            SYNC_MAXLEN => Self::SyncMaxlen(parse_u16(value).context("daemon SYNC_MAXLEN")?),
            MCAST_GROUP => match <[u8; 4]>::try_from(value) {
                Ok(octets) => Self::McastGroup(Ipv4Addr::from(octets)),
                Err(_) => {
                    return Err(DecodeError::invalid_number(4, value.len()))
                        .context("daemon MCAST_GROUP");
                }
            },
            MCAST_GROUP6 => match <[u8; 16]>::try_from(value) {
                Ok(octets) => Self::McastGroup6(Ipv6Addr::from(octets)),
                Err(_) => {
                    return Err(DecodeError::invalid_number(16, value.len()))
                        .context("daemon MCAST_GROUP6");
                }
            },
            MCAST_PORT => Self::McastPort(parse_u16(value).context("daemon MCAST_PORT")?),
            MCAST_TTL => Self::McastTtl(parse_u8(value).context("daemon MCAST_TTL")?),
            _ => Self::Other(attr.to_default()),
        })
    }
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use netlink_packet_core::Emitable;

    use super::*;

    fn round_trip(attr: DaemonAttribute, bytes: &[u8]) {
        let mut out = vec![0u8; attr.buffer_len()];
        attr.emit(&mut out);
        assert_eq!(out, bytes, "emit {attr:?}");
        let parsed = DaemonAttribute::parse(&NlaBuffer::new_checked(bytes).unwrap()).unwrap();
        assert_eq!(parsed, attr);
    }

    /// The bytes of ipvsadm's `--start-daemon backup` (capture 35).
    #[test]
    fn every_attribute() {
        round_trip(DaemonAttribute::State(2), &[8, 0, 1, 0, 2, 0, 0, 0]);
        round_trip(
            DaemonAttribute::McastIfn("lo".into()),
            &[7, 0, 2, 0, b'l', b'o', 0, 0],
        );
        round_trip(DaemonAttribute::SyncId(9), &[8, 0, 3, 0, 9, 0, 0, 0]);
        round_trip(
            DaemonAttribute::SyncMaxlen(1400),
            &[6, 0, 4, 0, 0x78, 5, 0, 0],
        );
        round_trip(
            DaemonAttribute::McastGroup(Ipv4Addr::new(224, 0, 0, 82)),
            &[8, 0, 5, 0, 224, 0, 0, 82],
        );
        round_trip(
            DaemonAttribute::McastPort(8849),
            &[6, 0, 7, 0, 0x91, 0x22, 0, 0],
        );
        round_trip(DaemonAttribute::McastTtl(2), &[5, 0, 8, 0, 2, 0, 0, 0]);
        let group6: Ipv6Addr = "ff02::1:2".parse().unwrap();
        let mut bytes = vec![20, 0, 6, 0];
        bytes.extend(group6.octets());
        round_trip(DaemonAttribute::McastGroup6(group6), &bytes);
    }

    #[test]
    fn bad_lengths_are_errors() {
        for bytes in [
            &[7, 0, 5, 0, 224, 0, 0, 0][..],
            &[5, 0, 1, 0, 2, 0, 0, 0],
            &[8, 0, 6, 0, 1, 2, 3, 4],
        ] {
            let buf = NlaBuffer::new_checked(bytes).unwrap();
            assert!(DaemonAttribute::parse(&buf).is_err(), "{bytes:?}");
        }
    }
}
