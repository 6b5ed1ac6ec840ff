//! The connection-sync daemons (`ipvsadm --start-daemon`, `--stop-daemon`,
//! `-L --daemon`): a master multicasts the connection table, a backup
//! applies what it receives.

use std::{fmt, net::IpAddr};

use netlink_packet_core::DecodeError;

use crate::packet::{DaemonAttribute, IpvsAttribute, IpvsMessage};

/// `IP_VS_STATE_MASTER`.
const MASTER: u32 = 1;
/// `IP_VS_STATE_BACKUP`.
const BACKUP: u32 = 2;

/// Which side of connection sync a daemon is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DaemonState {
    /// Sends this host's connections (`IP_VS_STATE_MASTER`).
    Master,
    /// Receives another host's connections (`IP_VS_STATE_BACKUP`).
    Backup,
}

impl DaemonState {
    /// The kernel's number (1 master, 2 backup).
    pub fn raw(self) -> u32 {
        match self {
            DaemonState::Master => MASTER,
            DaemonState::Backup => BACKUP,
        }
    }

    /// The state of a kernel number; `None` for any other.
    pub fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            MASTER => Some(DaemonState::Master),
            BACKUP => Some(DaemonState::Backup),
            _ => None,
        }
    }

    /// `master` or `backup`, as ipvsadm names them.
    pub fn name(self) -> &'static str {
        match self {
            DaemonState::Master => "master",
            DaemonState::Backup => "backup",
        }
    }
}

impl fmt::Display for DaemonState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One sync daemon: what `NEW_DAEMON` starts and a `GET_DAEMON` dump
/// lists.
///
/// The optional settings (kernel 4.3+) are left to the kernel's defaults
/// when `None` (ipvsadm then sends nothing; the kernel picks a payload size
/// from the interface MTU, group 224.0.0.81 or ff02::1:81 … port 8848, TTL
/// 1); a dump reports them all.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: DaemonState,
    /// The multicast interface (`--mcast-interface`).
    pub interface: String,
    /// The sync id (`--syncid`, 0-255 in ipvsadm).
    pub sync_id: u32,
    /// The UDP payload size (`--sync-maxlen`).
    pub max_len: Option<u16>,
    /// The multicast group (`--mcast-group`).
    pub group: Option<IpAddr>,
    /// The multicast port (`--mcast-port`), as ipvsadm reads and prints it.
    pub port: Option<u16>,
    /// The multicast TTL (`--mcast-ttl`).
    pub ttl: Option<u8>,
}

impl SyncDaemon {
    /// A daemon with the kernel's defaults for everything but its state,
    /// interface and sync id.
    pub fn new(state: DaemonState, interface: impl Into<String>, sync_id: u32) -> Self {
        SyncDaemon {
            state,
            interface: interface.into(),
            sync_id,
            max_len: None,
            group: None,
            port: None,
            ttl: None,
        }
    }

    /// With this UDP payload size.
    pub fn with_max_len(mut self, max_len: u16) -> Self {
        self.max_len = Some(max_len);
        self
    }

    /// With this multicast group, port and TTL.
    pub fn with_multicast(mut self, group: IpAddr, port: u16, ttl: u8) -> Self {
        self.group = Some(group);
        self.port = Some(port);
        self.ttl = Some(ttl);
        self
    }

    /// The daemon nest of `NEW_DAEMON`, in ipvsadm's order: STATE,
    /// MCAST_IFN, SYNC_ID, then SYNC_MAXLEN, MCAST_PORT, MCAST_TTL,
    /// MCAST_GROUP(6) when set.
    pub fn to_attributes(&self) -> Vec<DaemonAttribute> {
        let mut attrs = vec![
            DaemonAttribute::State(self.state.raw()),
            DaemonAttribute::McastIfn(self.interface.clone()),
            DaemonAttribute::SyncId(self.sync_id),
        ];
        attrs.extend(self.max_len.map(DaemonAttribute::SyncMaxlen));
        attrs.extend(self.port.map(DaemonAttribute::McastPort));
        attrs.extend(self.ttl.map(DaemonAttribute::McastTtl));
        attrs.extend(self.group.map(|group| match group {
            IpAddr::V4(v4) => DaemonAttribute::McastGroup(v4),
            IpAddr::V6(v6) => DaemonAttribute::McastGroup6(v6),
        }));
        attrs
    }

    /// The daemon of a nest; STATE (1 or 2), MCAST_IFN and SYNC_ID are
    /// required.
    pub fn from_attributes(attrs: &[DaemonAttribute]) -> Result<Self, DecodeError> {
        let (mut state, mut interface, mut sync_id) = (None, None, None);
        let mut daemon = SyncDaemon::new(DaemonState::Master, "", 0);
        for attr in attrs {
            match attr {
                DaemonAttribute::State(raw) => {
                    state = Some(DaemonState::from_raw(*raw).ok_or_else(|| {
                        DecodeError::from(format!("sync daemon with unknown state {raw}"))
                    })?);
                }
                DaemonAttribute::McastIfn(name) => interface = Some(name.clone()),
                DaemonAttribute::SyncId(id) => sync_id = Some(*id),
                DaemonAttribute::SyncMaxlen(len) => daemon.max_len = Some(*len),
                DaemonAttribute::McastGroup(group) => daemon.group = Some(IpAddr::V4(*group)),
                DaemonAttribute::McastGroup6(group) => daemon.group = Some(IpAddr::V6(*group)),
                DaemonAttribute::McastPort(port) => daemon.port = Some(*port),
                DaemonAttribute::McastTtl(ttl) => daemon.ttl = Some(*ttl),
                _ => {}
            }
        }
        match (state, interface, sync_id) {
            (Some(state), Some(interface), Some(sync_id)) => Ok(SyncDaemon {
                state,
                interface,
                sync_id,
                ..daemon
            }),
            _ => Err("sync daemon without STATE, MCAST_IFN or SYNC_ID".into()),
        }
    }

    /// The daemon of a `GET_DAEMON` dump entry (its `DAEMON` nest).
    pub fn from_message(msg: &IpvsMessage) -> Result<Self, DecodeError> {
        msg.attributes
            .iter()
            .find_map(|attr| match attr {
                IpvsAttribute::Daemon(nest) => Some(SyncDaemon::from_attributes(nest)),
                _ => None,
            })
            .unwrap_or_else(|| Err("sync daemon message without DAEMON nest".into()))
    }
}

impl fmt::Display for SyncDaemon {
    /// Like `ipvsadm -L --daemon`: `master sync daemon (mcast=lo,
    /// syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)`, the
    /// unset settings left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} sync daemon (mcast={}, syncid={}",
            self.state, self.interface, self.sync_id
        )?;
        if let Some(len) = self.max_len {
            write!(f, ", maxlen={len}")?;
        }
        if let Some(group) = self.group {
            write!(f, ", group={group}")?;
        }
        if let Some(port) = self.port {
            write!(f, ", port={port}")?;
        }
        if let Some(ttl) = self.ttl {
            write!(f, ", ttl={ttl}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_round_trip() {
        let daemon = SyncDaemon::new(DaemonState::Backup, "eth0", 9)
            .with_max_len(1400)
            .with_multicast("ff02::1:82".parse().unwrap(), 8849, 2);
        let attrs = daemon.to_attributes();
        assert_eq!(attrs.len(), 7);
        assert_eq!(SyncDaemon::from_attributes(&attrs).unwrap(), daemon);
        assert_eq!(
            daemon.to_string(),
            "backup sync daemon (mcast=eth0, syncid=9, maxlen=1400, group=ff02::1:82, port=8849, ttl=2)"
        );
        assert!(SyncDaemon::from_attributes(&attrs[1..]).is_err());
        let mut bad = attrs.clone();
        bad[0] = DaemonAttribute::State(3);
        assert!(SyncDaemon::from_attributes(&bad).is_err());
        assert_eq!(DaemonState::from_raw(2), Some(DaemonState::Backup));
        assert_eq!(DaemonState::Master.raw(), 1);
    }
}
