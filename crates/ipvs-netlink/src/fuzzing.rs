//! Entry points for the fuzz target, the robustness tests and the decode
//! benchmark (`examples/decode-bench.rs`): the crate's reply parsers on
//! arbitrary bytes. Not a stable API.

use crate::{
    Family, Info, RealServer, Timeouts, VirtualService,
    genl::{self, Reply},
    packet::IpvsCmd,
};

/// Parses `datagram` as a reply datagram of the IPVS family `family_id`:
/// framing, `NLMSG_ERROR`/`NLMSG_DONE` with extended acks, attributes, and
/// the typed conversions. Results are discarded; the point is that nothing
/// panics.
///
/// The typed readers of dumps (`VirtualService`/`RealServer` straight from
/// the bytes, as `IpvsHandle` reads them) are also checked against the
/// reference path through `IpvsMessage`: this panics if the two disagree,
/// which is a bug for the fuzzer to report.
pub fn parse_datagram(datagram: &[u8], family_id: u16) {
    for frame in netlink_transport::frames(datagram) {
        let Ok(frame) = frame else { break };
        let _ = genl::decode_family_id(&frame);
        let reference = genl::decode(&frame, family_id);
        if let Ok(Reply::Data(msg)) = &reference {
            match msg.cmd {
                IpvsCmd::GetInfo | IpvsCmd::SetInfo => drop(Info::from_message(msg)),
                IpvsCmd::SetConfig => drop(Timeouts::from_message(msg)),
                _ => {}
            }
        }
        // Every field compared (`Debug`, counters included); any decode
        // error is just "error" on both sides.
        fn outcome<T: std::fmt::Debug>(
            reply: Result<Reply<T>, netlink_packet_core::DecodeError>,
        ) -> Option<String> {
            match reply {
                Ok(Reply::Data(value)) => Some(format!("{value:?}")),
                Ok(_) => None,
                Err(_) => Some("error".to_owned()),
            }
        }
        let via_message =
            |typed: &dyn Fn(&crate::packet::IpvsMessage) -> Option<String>| match &reference {
                Ok(Reply::Data(msg)) => typed(msg),
                Ok(_) => None,
                Err(_) => Some("error".to_owned()),
            };
        let ok_or_error = |r: Result<String, _>| Some(r.unwrap_or_else(|_| "error".to_owned()));
        let direct = outcome(genl::decode_with(&frame, family_id, |attrs, header| {
            VirtualService::from_message_bytes(attrs, IpvsCmd::from(header.cmd))
        }));
        let expected = via_message(&|msg| {
            ok_or_error(VirtualService::from_message(msg).map(|v| format!("{v:?}")))
        });
        assert_eq!(direct, expected, "typed service decoding disagrees");
        for family in [Family::Inet, Family::Inet6] {
            let direct = outcome(genl::decode_with(&frame, family_id, |attrs, header| {
                RealServer::from_message_bytes(attrs, IpvsCmd::from(header.cmd), family)
            }));
            let expected = via_message(&|msg| {
                ok_or_error(RealServer::from_message(msg, family).map(|v| format!("{v:?}")))
            });
            assert_eq!(direct, expected, "typed real server decoding disagrees");
        }
    }
}

/// Reads the first netlink message of `datagram` the way
/// `IpvsHandle::list_services` reads a dump entry (for benchmarks).
pub fn read_service(datagram: &[u8], family_id: u16) -> Option<VirtualService> {
    let frame = netlink_transport::frames(datagram).next()?.ok()?;
    match genl::decode_with(&frame, family_id, |attrs, header| {
        VirtualService::from_message_bytes(attrs, IpvsCmd::from(header.cmd))
    }) {
        Ok(Reply::Data(service)) => Some(service),
        _ => None,
    }
}

/// Reads the first netlink message of `datagram` the way
/// `IpvsHandle::list_real_servers` reads a dump entry (for benchmarks).
pub fn read_real_server(datagram: &[u8], family_id: u16, family: Family) -> Option<RealServer> {
    let frame = netlink_transport::frames(datagram).next()?.ok()?;
    match genl::decode_with(&frame, family_id, |attrs, header| {
        RealServer::from_message_bytes(attrs, IpvsCmd::from(header.cmd), family)
    }) {
        Ok(Reply::Data(server)) => Some(server),
        _ => None,
    }
}
