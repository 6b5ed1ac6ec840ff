//! The IPVS generic-netlink commands (`IPVS_CMD_*`).

/// An IPVS generic-netlink command, the `cmd` byte of the generic-netlink
/// header.
///
/// Replies reuse the "new" commands: a service dump answers with
/// [`IpvsCmd::NewService`] messages, a destination dump with
/// [`IpvsCmd::NewDest`], `GET_CONFIG` with [`IpvsCmd::SetConfig`] and
/// `GET_INFO` with [`IpvsCmd::SetInfo`] (as captured from a 6.1 kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IpvsCmd {
    /// `IPVS_CMD_NEW_SERVICE` (1): add a virtual service.
    NewService,
    /// `IPVS_CMD_SET_SERVICE` (2): modify a virtual service.
    SetService,
    /// `IPVS_CMD_DEL_SERVICE` (3): delete a virtual service.
    DelService,
    /// `IPVS_CMD_GET_SERVICE` (4): get one service, or dump them all.
    GetService,
    /// `IPVS_CMD_NEW_DEST` (5): add a destination (real server).
    NewDest,
    /// `IPVS_CMD_SET_DEST` (6): modify a destination.
    SetDest,
    /// `IPVS_CMD_DEL_DEST` (7): delete a destination.
    DelDest,
    /// `IPVS_CMD_GET_DEST` (8): dump the destinations of a service.
    GetDest,
    /// `IPVS_CMD_NEW_DAEMON` (9): start a sync daemon.
    NewDaemon,
    /// `IPVS_CMD_DEL_DAEMON` (10): stop a sync daemon.
    DelDaemon,
    /// `IPVS_CMD_GET_DAEMON` (11): dump the sync daemons.
    GetDaemon,
    /// `IPVS_CMD_SET_CONFIG` (12): set the TCP/TCP-FIN/UDP timeouts.
    SetConfig,
    /// `IPVS_CMD_GET_CONFIG` (13): get the timeouts.
    GetConfig,
    /// `IPVS_CMD_SET_INFO` (14): not a request; the command of `GET_INFO`
    /// replies.
    SetInfo,
    /// `IPVS_CMD_GET_INFO` (15): version and connection table size.
    GetInfo,
    /// `IPVS_CMD_ZERO` (16): zero the counters of one or all services.
    Zero,
    /// `IPVS_CMD_FLUSH` (17): delete every service.
    Flush,
    /// A command this crate does not know.
    Other(u8),
}

impl From<IpvsCmd> for u8 {
    fn from(cmd: IpvsCmd) -> u8 {
        match cmd {
            IpvsCmd::NewService => 1,
            IpvsCmd::SetService => 2,
            IpvsCmd::DelService => 3,
            IpvsCmd::GetService => 4,
            IpvsCmd::NewDest => 5,
            IpvsCmd::SetDest => 6,
            IpvsCmd::DelDest => 7,
            IpvsCmd::GetDest => 8,
            IpvsCmd::NewDaemon => 9,
            IpvsCmd::DelDaemon => 10,
            IpvsCmd::GetDaemon => 11,
            IpvsCmd::SetConfig => 12,
            IpvsCmd::GetConfig => 13,
            IpvsCmd::SetInfo => 14,
            IpvsCmd::GetInfo => 15,
            IpvsCmd::Zero => 16,
            IpvsCmd::Flush => 17,
            IpvsCmd::Other(other) => other,
        }
    }
}

impl From<u8> for IpvsCmd {
    fn from(value: u8) -> IpvsCmd {
        match value {
            1 => IpvsCmd::NewService,
            2 => IpvsCmd::SetService,
            3 => IpvsCmd::DelService,
            4 => IpvsCmd::GetService,
            5 => IpvsCmd::NewDest,
            6 => IpvsCmd::SetDest,
            7 => IpvsCmd::DelDest,
            8 => IpvsCmd::GetDest,
            9 => IpvsCmd::NewDaemon,
            10 => IpvsCmd::DelDaemon,
            11 => IpvsCmd::GetDaemon,
            12 => IpvsCmd::SetConfig,
            13 => IpvsCmd::GetConfig,
            14 => IpvsCmd::SetInfo,
            15 => IpvsCmd::GetInfo,
            16 => IpvsCmd::Zero,
            17 => IpvsCmd::Flush,
            other => IpvsCmd::Other(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_round_trips() {
        for value in 0..=u8::MAX {
            assert_eq!(u8::from(IpvsCmd::from(value)), value);
        }
        assert_eq!(IpvsCmd::from(17), IpvsCmd::Flush);
        assert_eq!(IpvsCmd::from(18), IpvsCmd::Other(18));
    }
}
