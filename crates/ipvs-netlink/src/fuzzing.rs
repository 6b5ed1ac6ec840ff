//! Entry point for the fuzz target and the robustness tests: runs every
//! reply parser of the crate over arbitrary bytes.

use crate::{
    Family, Info, RealServer, Timeouts, VirtualService,
    packet::IpvsCmd,
    wire::{self, Reply},
};

/// Parses `datagram` as a reply datagram of the IPVS family `family_id`:
/// framing, `NLMSG_ERROR`/`NLMSG_DONE` with extended acks, attributes, and
/// the typed conversions. Results are discarded; the point is that nothing
/// panics.
pub fn parse_datagram(datagram: &[u8], family_id: u16) {
    for frame in wire::frames(datagram) {
        let Ok(frame) = frame else { break };
        let _ = wire::decode_family_id(&frame);
        if let Ok(Reply::Data(msg)) = wire::decode(&frame, family_id) {
            match msg.cmd {
                IpvsCmd::GetInfo | IpvsCmd::SetInfo => drop(Info::from_message(&msg)),
                IpvsCmd::SetConfig => drop(Timeouts::from_message(&msg)),
                _ => {
                    let _ = VirtualService::from_message(&msg);
                    let _ = RealServer::from_message(&msg, Family::Inet);
                    let _ = RealServer::from_message(&msg, Family::Inet6);
                }
            }
        }
    }
}
