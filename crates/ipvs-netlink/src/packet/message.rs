//! The IPVS generic-netlink message: a command plus top-level attributes.

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, ErrorContext, Nla, NlaBuffer, ParseableParametrized,
    parse_u32,
};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use super::{
    cmd::IpvsCmd,
    daemon::DaemonAttribute,
    destination::DestinationAttribute,
    nla::{Attr, Attrs, emit_nest, nest_len, nested, parse_all, put},
    service::ServiceAttribute,
};

/// Name of the generic-netlink family (`IPVS_GENL_NAME`).
pub const IPVS_GENL_NAME: &str = "IPVS";
/// Version carried in the generic-netlink header (`IPVS_GENL_VERSION`).
pub const IPVS_GENL_VERSION: u8 = 1;

const CMD_ATTR_SERVICE: u16 = 1;
const CMD_ATTR_DEST: u16 = 2;
const CMD_ATTR_DAEMON: u16 = 3;
const CMD_ATTR_TIMEOUT_TCP: u16 = 4;
const CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
const CMD_ATTR_TIMEOUT_UDP: u16 = 6;
const INFO_ATTR_VERSION: u16 = 1;
const INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

/// A top-level attribute (`IPVS_CMD_ATTR_*`, or `IPVS_INFO_ATTR_*` in a
/// `GET_INFO` reply, whose numbers overlap; the kernel sends that reply with
/// the `SET_INFO` command).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpvsAttribute {
    /// `IPVS_CMD_ATTR_SERVICE`: nested service attributes.
    Service(Vec<ServiceAttribute>),
    /// `IPVS_CMD_ATTR_DEST`: nested destination attributes.
    Destination(Vec<DestinationAttribute>),
    /// `IPVS_CMD_ATTR_DAEMON`: nested sync-daemon attributes (sent with
    /// `NLA_F_NESTED` like ipvsadm; the kernel's dump sets no flag).
    Daemon(Vec<DaemonAttribute>),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP`, seconds.
    TimeoutTcp(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN`, seconds.
    TimeoutTcpFin(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_UDP`, seconds.
    TimeoutUdp(u32),
    /// `IPVS_INFO_ATTR_VERSION` (only in `GET_INFO` replies, which carry
    /// the `SET_INFO` command): IPVS version
    /// as `0x00MMmmpp`.
    InfoVersion(u32),
    /// `IPVS_INFO_ATTR_CONN_TAB_SIZE` (only in `GET_INFO` replies).
    InfoConnTableSize(u32),
    /// Anything else.
    Other(DefaultNla),
}

impl Nla for IpvsAttribute {
    fn value_len(&self) -> usize {
        match self {
            Self::Service(nest) => nest_len(nest),
            Self::Destination(nest) => nest_len(nest),
            Self::Daemon(nest) => nest_len(nest),
            Self::TimeoutTcp(_)
            | Self::TimeoutTcpFin(_)
            | Self::TimeoutUdp(_)
            | Self::InfoVersion(_)
            | Self::InfoConnTableSize(_) => 4,
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Service(_) => nested(CMD_ATTR_SERVICE),
            Self::Destination(_) => nested(CMD_ATTR_DEST),
            Self::Daemon(_) => nested(CMD_ATTR_DAEMON),
            Self::TimeoutTcp(_) => CMD_ATTR_TIMEOUT_TCP,
            Self::TimeoutTcpFin(_) => CMD_ATTR_TIMEOUT_TCP_FIN,
            Self::TimeoutUdp(_) => CMD_ATTR_TIMEOUT_UDP,
            Self::InfoVersion(_) => INFO_ATTR_VERSION,
            Self::InfoConnTableSize(_) => INFO_ATTR_CONN_TAB_SIZE,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Service(nest) => emit_nest(nest, buffer),
            Self::Destination(nest) => emit_nest(nest, buffer),
            Self::Daemon(nest) => emit_nest(nest, buffer),
            Self::TimeoutTcp(v)
            | Self::TimeoutTcpFin(v)
            | Self::TimeoutUdp(v)
            | Self::InfoVersion(v)
            | Self::InfoConnTableSize(v) => put(buffer, &v.to_ne_bytes()),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> ParseableParametrized<NlaBuffer<&'a T>, IpvsCmd>
    for IpvsAttribute
{
    fn parse_with_param(buf: &NlaBuffer<&'a T>, cmd: IpvsCmd) -> Result<Self, DecodeError> {
        Self::parse_attr(Attr::of_buffer(buf), cmd)
    }
}

impl IpvsAttribute {
    /// Parses one top-level attribute of a message with command `cmd`.
    fn parse_attr(attr: Attr<'_>, cmd: IpvsCmd) -> Result<Self, DecodeError> {
        let value = attr.value;
        if matches!(cmd, IpvsCmd::GetInfo | IpvsCmd::SetInfo) {
            return Ok(match attr.kind() {
                INFO_ATTR_VERSION => Self::InfoVersion(parse_u32(value).context("info VERSION")?),
                INFO_ATTR_CONN_TAB_SIZE => {
                    Self::InfoConnTableSize(parse_u32(value).context("info CONN_TAB_SIZE")?)
                }
                _ => Self::Other(attr.to_default()),
            });
        }
        Ok(match attr.kind() {
            CMD_ATTR_SERVICE => Self::Service(
                parse_all(value, ServiceAttribute::parse_attr).context("SERVICE nest")?,
            ),
            CMD_ATTR_DEST => Self::Destination(
                parse_all(value, DestinationAttribute::parse_attr).context("DEST nest")?,
            ),
            CMD_ATTR_DAEMON => {
                Self::Daemon(parse_all(value, DaemonAttribute::parse_attr).context("DAEMON nest")?)
            }
            CMD_ATTR_TIMEOUT_TCP => Self::TimeoutTcp(parse_u32(value).context("TIMEOUT_TCP")?),
            CMD_ATTR_TIMEOUT_TCP_FIN => {
                Self::TimeoutTcpFin(parse_u32(value).context("TIMEOUT_TCP_FIN")?)
            }
            CMD_ATTR_TIMEOUT_UDP => Self::TimeoutUdp(parse_u32(value).context("TIMEOUT_UDP")?),
            _ => Self::Other(attr.to_default()),
        })
    }
}

/// The payload of an IPVS generic-netlink message; goes inside
/// `NetlinkMessage<GenlMessage<IpvsMessage>>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IpvsMessage {
    /// The command.
    pub cmd: IpvsCmd,
    /// Top-level attributes, in wire order.
    pub attributes: Vec<IpvsAttribute>,
}

impl IpvsMessage {
    /// A message with the given command and attributes.
    pub fn new(cmd: IpvsCmd, attributes: Vec<IpvsAttribute>) -> Self {
        Self { cmd, attributes }
    }
}

/// Which nest [`IpvsMessage::parse_first_nest`] looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NestKind {
    /// `IPVS_CMD_ATTR_SERVICE`.
    Service,
    /// `IPVS_CMD_ATTR_DEST`.
    Destination,
}

impl IpvsMessage {
    /// Parses the attributes of a message with command `cmd` (the bytes
    /// after the generic-netlink header) with the checks and errors of
    /// `parse_with_param`, but without building the message: the value of
    /// the first `want` nest goes to `nest`, every other attribute is
    /// parsed and dropped. `Ok(None)` when there is no such nest.
    pub(crate) fn parse_first_nest<T>(
        attrs: &[u8],
        cmd: IpvsCmd,
        want: NestKind,
        nest: impl FnOnce(&[u8]) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        let (kind, name) = match want {
            NestKind::Service => (CMD_ATTR_SERVICE, "SERVICE nest"),
            NestKind::Destination => (CMD_ATTR_DEST, "DEST nest"),
        };
        let info = matches!(cmd, IpvsCmd::GetInfo | IpvsCmd::SetInfo);
        let mut nest = Some(nest);
        let mut found = None;
        let mut walk = || {
            for attr in Attrs::new(attrs) {
                let attr = attr?;
                if !info
                    && attr.kind() == kind
                    && let Some(nest) = nest.take()
                {
                    found = Some(nest(attr.value).context(name)?);
                    continue;
                }
                IpvsAttribute::parse_attr(attr, cmd)?;
            }
            Ok::<_, DecodeError>(())
        };
        walk().with_context(|| format!("IPVS message {cmd:?}"))?;
        Ok(found)
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }

    fn command(&self) -> u8 {
        self.cmd.into()
    }

    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.attributes.as_slice().buffer_len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        self.attributes.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let cmd = IpvsCmd::from(header.cmd);
        let attributes = parse_all(buf, |attr| IpvsAttribute::parse_attr(attr, cmd))
            .with_context(|| format!("IPVS message {cmd:?}"))?;
        Ok(Self { cmd, attributes })
    }
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;

    #[test]
    fn info_attributes_depend_on_the_command() {
        let bytes = [8u8, 0, 1, 0, 0x01, 0x02, 0x01, 0, 8, 0, 2, 0, 0, 0x10, 0, 0];
        let header = GenlHeader {
            cmd: 15,
            version: 1,
        };
        let info = IpvsMessage::parse_with_param(&bytes[..], header).unwrap();
        assert_eq!(
            info.attributes,
            vec![
                IpvsAttribute::InfoVersion(0x010201),
                IpvsAttribute::InfoConnTableSize(4096)
            ]
        );
        let header = GenlHeader {
            cmd: 12,
            version: 1,
        };
        assert!(IpvsMessage::parse_with_param(&bytes[..], header).is_err());
    }

    #[test]
    fn timeouts_round_trip() {
        let msg = IpvsMessage::new(
            IpvsCmd::SetConfig,
            vec![
                IpvsAttribute::TimeoutTcp(900),
                IpvsAttribute::TimeoutTcpFin(120),
                IpvsAttribute::TimeoutUdp(300),
            ],
        );
        let mut out = vec![0u8; msg.buffer_len()];
        msg.emit(&mut out);
        assert_eq!(
            out,
            [
                8, 0, 4, 0, 0x84, 3, 0, 0, 8, 0, 5, 0, 120, 0, 0, 0, 8, 0, 6, 0, 0x2c, 1, 0, 0
            ]
        );
        let header = GenlHeader {
            cmd: 12,
            version: 1,
        };
        assert_eq!(
            IpvsMessage::parse_with_param(&out[..], header).unwrap(),
            msg
        );
    }

    #[test]
    fn empty_service_nest_for_dumps() {
        let msg = IpvsMessage::new(IpvsCmd::GetService, vec![IpvsAttribute::Service(vec![])]);
        let mut out = vec![0u8; msg.buffer_len()];
        msg.emit(&mut out);
        assert_eq!(out, [4, 0, 1, 0x80]);
    }
}
