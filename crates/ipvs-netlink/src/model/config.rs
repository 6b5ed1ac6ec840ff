//! Global settings: timeouts (`GET/SET_CONFIG`) and `GET_INFO`.

use netlink_packet_core::DecodeError;

use crate::packet::{IpvsAttribute, IpvsMessage};

/// Connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`).
///
/// When setting, a zero leaves that timeout unchanged (kernel semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Timeouts {
    /// Established TCP connections.
    pub tcp: u32,
    /// TCP connections after a FIN.
    pub tcp_fin: u32,
    /// UDP "connections".
    pub udp: u32,
}

impl Timeouts {
    /// Timeouts from their three values (seconds; 0 = leave unchanged).
    pub fn new(tcp: u32, tcp_fin: u32, udp: u32) -> Self {
        Timeouts { tcp, tcp_fin, udp }
    }

    /// The three `IPVS_CMD_ATTR_TIMEOUT_*` attributes.
    pub fn to_attributes(&self) -> Vec<IpvsAttribute> {
        vec![
            IpvsAttribute::TimeoutTcp(self.tcp),
            IpvsAttribute::TimeoutTcpFin(self.tcp_fin),
            IpvsAttribute::TimeoutUdp(self.udp),
        ]
    }

    /// Timeouts from a `GET_CONFIG` reply; missing ones are 0.
    pub fn from_message(msg: &IpvsMessage) -> Self {
        let mut timeouts = Timeouts::default();
        for attr in &msg.attributes {
            match *attr {
                IpvsAttribute::TimeoutTcp(v) => timeouts.tcp = v,
                IpvsAttribute::TimeoutTcpFin(v) => timeouts.tcp_fin = v,
                IpvsAttribute::TimeoutUdp(v) => timeouts.udp = v,
                _ => {}
            }
        }
        timeouts
    }
}

/// What `GET_INFO` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Info {
    /// IPVS version as `0x00MMmmpp` (e.g. `0x010201` for 1.2.1).
    pub version: u32,
    /// Size of the connection hash table.
    pub conn_table_size: u32,
}

impl Info {
    /// Info from its two values.
    pub fn new(version: u32, conn_table_size: u32) -> Self {
        Info {
            version,
            conn_table_size,
        }
    }

    /// The version as `(major, minor, patch)`.
    pub fn version_triple(&self) -> (u8, u8, u8) {
        let [_, major, minor, patch] = self.version.to_be_bytes();
        (major, minor, patch)
    }

    /// Info from a `GET_INFO` reply; both attributes are required.
    pub fn from_message(msg: &IpvsMessage) -> Result<Self, DecodeError> {
        let mut version = None;
        let mut size = None;
        for attr in &msg.attributes {
            match *attr {
                IpvsAttribute::InfoVersion(v) => version = Some(v),
                IpvsAttribute::InfoConnTableSize(v) => size = Some(v),
                _ => {}
            }
        }
        match (version, size) {
            (Some(version), Some(conn_table_size)) => Ok(Info {
                version,
                conn_table_size,
            }),
            _ => Err("GET_INFO reply without VERSION or CONN_TAB_SIZE".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::IpvsCmd;

    #[test]
    fn version_triple() {
        assert_eq!(Info::new(0x010201, 4096).version_triple(), (1, 2, 1));
    }

    #[test]
    fn from_messages() {
        let msg = IpvsMessage::new(
            IpvsCmd::SetConfig,
            Timeouts::new(900, 120, 300).to_attributes(),
        );
        assert_eq!(Timeouts::from_message(&msg), Timeouts::new(900, 120, 300));
        let info = IpvsMessage::new(
            IpvsCmd::GetInfo,
            vec![
                IpvsAttribute::InfoVersion(0x010201),
                IpvsAttribute::InfoConnTableSize(4096),
            ],
        );
        assert_eq!(
            Info::from_message(&info).unwrap(),
            Info::new(0x010201, 4096)
        );
        assert!(Info::from_message(&IpvsMessage::new(IpvsCmd::GetInfo, vec![])).is_err());
    }
}
