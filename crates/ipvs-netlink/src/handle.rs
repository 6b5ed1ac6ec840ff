//! [`IpvsHandle`]: the async client, one netlink socket.

use std::{io, net::SocketAddr, time::Duration};

use netlink_packet_core::{
    DecodeError, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, ParseableParametrized,
};
use netlink_packet_generic::GenlHeader;
use netlink_sys::{AsyncSocket, AsyncSocketExt, SocketAddr as NetlinkAddr, TokioSocket};

use crate::{
    Command, Info, IpvsError, RealServer, ServiceKey, Timeouts, VirtualService,
    batch::BatchLimits,
    command::requests as query,
    error::{ENOENT, ESRCH, Failure},
    format::{Table, TableEntry},
    packet::{IPVS_GENL_NAME, IpvsCmd, IpvsMessage},
    wire::{self, Reply},
};

/// `NETLINK_GENERIC`.
const NETLINK_GENERIC: isize = 16;
/// Flags of a request that expects an acknowledgement.
pub(crate) const REQUEST: u16 = NLM_F_REQUEST | NLM_F_ACK;
/// Flags of a dump request.
pub(crate) const DUMP: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP;
/// Receive buffer asked of the kernel (`SO_RCVBUF`; capped by
/// `net.core.rmem_max`).
const SOCKET_RCVBUF: i32 = 4 << 20;
/// Size of one `recv` buffer: larger than any datagram the kernel builds
/// (dumps are at most 32 KiB per datagram).
const RECV_LEN: usize = 64 << 10;
/// Default time to wait for each datagram of an answer.
const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// An async IPVS client over one `NETLINK_GENERIC` socket.
///
/// Methods take `&mut self`: one request (or batch) is in flight at a time.
/// Open several handles for parallelism.
pub struct IpvsHandle {
    /// The socket, bound and connected to the kernel.
    socket: TokioSocket,
    /// Resolved id of the "IPVS" generic-netlink family.
    family_id: u16,
    /// Next sequence number.
    next_seq: u32,
    /// Receive buffer, reused across calls.
    recv_buf: Vec<u8>,
    /// Send buffer, reused across calls.
    send_buf: Vec<u8>,
    /// Batch window of [`IpvsHandle::execute`].
    pub(crate) limits: BatchLimits,
    /// How long to wait for each datagram of an answer.
    reply_timeout: Duration,
}

impl std::fmt::Debug for IpvsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpvsHandle")
            .field("family_id", &self.family_id)
            .field("next_seq", &self.next_seq)
            .field("limits", &self.limits)
            .field("reply_timeout", &self.reply_timeout)
            .finish_non_exhaustive()
    }
}

impl IpvsHandle {
    /// Opens a socket, sets `NETLINK_CAP_ACK`, `NETLINK_EXT_ACK` and a larger
    /// receive buffer, and resolves the "IPVS" family.
    ///
    /// Fails with [`IpvsError::NotLoaded`] when the kernel has no IPVS.
    /// Must be called within a tokio runtime.
    pub async fn connect() -> Result<Self, IpvsError> {
        let mut handle = IpvsHandle::with_family_id(0)?;
        handle.family_id = handle.resolve_family().await?;
        Ok(handle)
    }

    /// A handle on a fresh socket whose requests go to `family_id`, without
    /// resolving anything.
    pub(crate) fn with_family_id(family_id: u16) -> Result<Self, IpvsError> {
        let mut socket = TokioSocket::new(NETLINK_GENERIC)?;
        {
            let raw = socket.socket_mut();
            raw.bind_auto()?;
            raw.connect(&NetlinkAddr::new(0, 0))?;
            // Best effort: older kernels lack these options, and the reply
            // parser copes with uncapped acks and missing messages.
            let _ = raw.set_cap_ack(true);
            let _ = raw.set_ext_ack(true);
            let _ = raw.set_rx_buf_sz(SOCKET_RCVBUF);
        }
        Ok(IpvsHandle {
            socket,
            family_id,
            next_seq: 1,
            recv_buf: Vec::with_capacity(RECV_LEN),
            send_buf: Vec::new(),
            limits: BatchLimits::default(),
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
        })
    }

    /// The resolved generic-netlink id of the IPVS family.
    pub fn family_id(&self) -> u16 {
        self.family_id
    }

    /// Sets how long to wait for each datagram of an answer before failing
    /// with an [`io::ErrorKind::TimedOut`] error (default 10 s).
    pub fn set_reply_timeout(&mut self, timeout: Duration) {
        self.reply_timeout = timeout;
    }

    /// All virtual services, in kernel dump order.
    pub async fn list_services(&mut self) -> Result<Vec<VirtualService>, IpvsError> {
        self.transact_with(query::dump_services(), DUMP, |attrs, header| {
            VirtualService::from_message_bytes(attrs, IpvsCmd::from(header.cmd))
        })
        .await?
        .map_err(|failure| failure.into_error("list services"))
    }

    /// One virtual service, or `None` if it does not exist.
    pub async fn service(&mut self, key: &ServiceKey) -> Result<Option<VirtualService>, IpvsError> {
        match self.transact(query::get_service(key), REQUEST).await? {
            Ok(messages) => match messages.first() {
                Some(msg) => Ok(Some(VirtualService::from_message(msg)?)),
                None => Ok(None),
            },
            Err(Failure { errno: ESRCH, .. }) => Ok(None),
            Err(failure) => Err(failure.into_error(format!("get service {key}"))),
        }
    }

    /// The real servers of a service, in kernel dump order. The kernel
    /// answers an empty list for a service that does not exist.
    pub async fn list_real_servers(
        &mut self,
        key: &ServiceKey,
    ) -> Result<Vec<RealServer>, IpvsError> {
        let family = key.family();
        self.transact_with(query::dump_destinations(key), DUMP, |attrs, header| {
            RealServer::from_message_bytes(attrs, IpvsCmd::from(header.cmd), family)
        })
        .await?
        .map_err(|failure| failure.into_error(format!("list real servers of service {key}")))
    }

    /// Every service with its real servers, and the `GET_INFO` header.
    ///
    /// One service dump, then one destination dump per service. The
    /// destination dumps cannot share a datagram: netlink runs one dump per
    /// socket at a time and answers `EBUSY` to a second dump request while
    /// one is in progress, so they go back to back.
    pub async fn table(&mut self) -> Result<Table, IpvsError> {
        let info = self.info().await?;
        let services = self.list_services().await?;
        let mut entries = Vec::with_capacity(services.len());
        for service in services {
            let real_servers = self.list_real_servers(&service.key).await?;
            entries.push(TableEntry {
                service,
                real_servers,
            });
        }
        Ok(Table::new(info, entries))
    }

    /// The TCP, TCP-FIN and UDP timeouts (`ipvsadm -L --timeout`).
    pub async fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        let messages = self
            .transact(query::get_config(), REQUEST)
            .await?
            .map_err(|failure| failure.into_error("get timeouts"))?;
        let msg = messages
            .first()
            .ok_or(DecodeError::from("GET_CONFIG without reply"))?;
        Ok(Timeouts::from_message(msg))
    }

    /// IPVS version and connection table size.
    pub async fn info(&mut self) -> Result<Info, IpvsError> {
        let messages = self
            .transact(query::get_info(), REQUEST)
            .await?
            .map_err(|failure| failure.into_error("get info"))?;
        let msg = messages
            .first()
            .ok_or(DecodeError::from("GET_INFO without reply"))?;
        Ok(Info::from_message(msg)?)
    }

    /// Adds a virtual service.
    pub async fn add_service(&mut self, service: &VirtualService) -> Result<(), IpvsError> {
        self.run(Command::AddService(service.clone())).await
    }

    /// Replaces the settings of an existing virtual service.
    pub async fn update_service(&mut self, service: &VirtualService) -> Result<(), IpvsError> {
        self.run(Command::UpdateService(service.clone())).await
    }

    /// Deletes a virtual service and its real servers.
    pub async fn delete_service(&mut self, key: &ServiceKey) -> Result<(), IpvsError> {
        self.run(Command::DeleteService(*key)).await
    }

    /// Adds a real server to a service.
    pub async fn add_real_server(
        &mut self,
        key: &ServiceKey,
        server: &RealServer,
    ) -> Result<(), IpvsError> {
        self.run(Command::AddRealServer(*key, server.clone())).await
    }

    /// Replaces the settings of a real server.
    pub async fn update_real_server(
        &mut self,
        key: &ServiceKey,
        server: &RealServer,
    ) -> Result<(), IpvsError> {
        self.run(Command::UpdateRealServer(*key, server.clone()))
            .await
    }

    /// Removes a real server from a service.
    pub async fn delete_real_server(
        &mut self,
        key: &ServiceKey,
        server: SocketAddr,
    ) -> Result<(), IpvsError> {
        self.run(Command::DeleteRealServer(*key, server)).await
    }

    /// Sets the timeouts (0 leaves a timeout unchanged).
    pub async fn set_timeouts(&mut self, timeouts: &Timeouts) -> Result<(), IpvsError> {
        self.run(Command::SetTimeouts(*timeouts)).await
    }

    /// Zeroes the counters of one service, or of all with `None`.
    pub async fn zero(&mut self, key: Option<&ServiceKey>) -> Result<(), IpvsError> {
        self.run(Command::Zero(key.copied())).await
    }

    /// Deletes every virtual service.
    pub async fn flush(&mut self) -> Result<(), IpvsError> {
        self.run(Command::Flush).await
    }

    /// Runs one command and gives its errno a meaning.
    async fn run(&mut self, command: Command) -> Result<(), IpvsError> {
        match self.transact(command.to_message(), REQUEST).await? {
            Ok(_) => Ok(()),
            Err(failure) => Err(command.error(failure)),
        }
    }

    /// Sends one request and collects its data messages until it finishes.
    /// The outer error is the socket's or the parser's, the inner one the
    /// kernel's answer.
    pub(crate) async fn transact(
        &mut self,
        message: IpvsMessage,
        flags: u16,
    ) -> Result<Result<Vec<IpvsMessage>, Failure>, IpvsError> {
        self.transact_with(message, flags, IpvsMessage::parse_with_param)
            .await
    }

    /// [`IpvsHandle::transact`], each data message decoded with `decode`
    /// (given its attributes and generic-netlink header) as it arrives.
    pub(crate) async fn transact_with<D>(
        &mut self,
        message: IpvsMessage,
        flags: u16,
        decode: impl FnMut(&[u8], GenlHeader) -> Result<D, DecodeError>,
    ) -> Result<Result<Vec<D>, Failure>, IpvsError> {
        let mut send_buf = std::mem::take(&mut self.send_buf);
        send_buf.clear();
        let seq = self.take_seqs(1);
        wire::push_request(&mut send_buf, self.family_id, flags, seq, message);
        let mut data = Vec::new();
        let mut outcome = Ok(());
        let result = self
            .exchange_with(&send_buf, seq, 1, decode, |_, reply| match reply {
                Reply::Data(msg) => data.push(msg),
                Reply::Failed(failure) => outcome = Err(failure),
                _ => {}
            })
            .await;
        self.send_buf = send_buf;
        result?;
        Ok(outcome.map(|()| data))
    }

    /// Reserves `count` consecutive sequence numbers, returning the first.
    pub(crate) fn take_seqs(&mut self, count: usize) -> u32 {
        let first = self.next_seq;
        self.next_seq = first.wrapping_add(u32::try_from(count).unwrap_or(u32::MAX));
        first
    }

    /// Sends `buf` (requests with sequence numbers `first_seq ..
    /// first_seq + count`) in one datagram and reads replies until each of
    /// them has its final answer (ACK, error or `NLMSG_DONE`). `on_reply`
    /// gets the index of the request and each reply. Replies to other
    /// sequence numbers (stale answers of an abandoned call) are dropped.
    ///
    /// A reply that fails to decode does not stop the reading: the other
    /// answers are still collected, and the first decode error is returned
    /// at the end so the socket stays in step.
    pub(crate) async fn exchange(
        &mut self,
        buf: &[u8],
        first_seq: u32,
        count: usize,
        on_reply: impl FnMut(usize, Reply),
    ) -> Result<(), IpvsError> {
        self.exchange_with(
            buf,
            first_seq,
            count,
            IpvsMessage::parse_with_param,
            on_reply,
        )
        .await
    }

    /// [`IpvsHandle::exchange`], data messages decoded with `decode`.
    pub(crate) async fn exchange_with<D>(
        &mut self,
        buf: &[u8],
        first_seq: u32,
        count: usize,
        mut decode: impl FnMut(&[u8], GenlHeader) -> Result<D, DecodeError>,
        mut on_reply: impl FnMut(usize, Reply<D>),
    ) -> Result<(), IpvsError> {
        let sent = self.socket.send(buf).await?;
        if sent != buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("netlink send wrote {sent} of {} bytes", buf.len()),
            )
            .into());
        }
        let mut open = vec![true; count];
        let mut remaining = count;
        let mut first_error = None;
        while remaining > 0 {
            self.recv().await?;
            for frame in wire::frames(&self.recv_buf) {
                let frame = frame?;
                let index = frame.seq.wrapping_sub(first_seq) as usize;
                let Some(slot) = open.get_mut(index).filter(|slot| **slot) else {
                    continue;
                };
                match wire::decode_with(&frame, self.family_id, &mut decode) {
                    Ok(reply) => {
                        if reply.is_final() {
                            *slot = false;
                            remaining -= 1;
                        }
                        on_reply(index, reply);
                    }
                    Err(err) => {
                        first_error.get_or_insert(err);
                    }
                }
            }
        }
        match first_error {
            Some(err) => Err(err.into()),
            None => Ok(()),
        }
    }

    /// Reads one datagram into `recv_buf`.
    async fn recv(&mut self) -> Result<(), IpvsError> {
        self.recv_buf.clear();
        self.recv_buf.reserve(RECV_LEN);
        match tokio::time::timeout(self.reply_timeout, self.socket.recv(&mut self.recv_buf)).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no answer from the kernel (IPVS netlink)",
            )
            .into()),
        }
    }

    /// `CTRL_CMD_GETFAMILY` "IPVS".
    async fn resolve_family(&mut self) -> Result<u16, IpvsError> {
        let mut buf = Vec::new();
        let seq = self.take_seqs(1);
        wire::push_get_family(&mut buf, REQUEST, seq, IPVS_GENL_NAME);
        self.socket.send(&buf).await?;
        let mut family_id = None;
        loop {
            self.recv().await?;
            for frame in wire::frames(&self.recv_buf) {
                let frame = frame?;
                if frame.seq != seq {
                    continue;
                }
                match frame.message_type {
                    netlink_packet_core::NLMSG_ERROR => {
                        return match wire::decode_error(&frame)? {
                            None => family_id.ok_or_else(|| {
                                DecodeError::from("nlctrl acked without reply").into()
                            }),
                            Some(Failure { errno: ENOENT, .. }) => Err(IpvsError::NotLoaded),
                            Some(failure) => Err(failure.into_error("resolve the IPVS family")),
                        };
                    }
                    _ => family_id = Some(wire::decode_family_id(&frame)?),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A multi-datagram dump from the kernel's nlctrl family (command 3 is
    /// `CTRL_CMD_GETFAMILY`): read until `NLMSG_DONE`, and the socket stays
    /// in step whatever the decoding of nlctrl's attributes gives.
    #[tokio::test]
    async fn dumps_are_read_to_the_end() {
        let mut handle = IpvsHandle::with_family_id(0x10).unwrap();
        let dump = IpvsMessage::new(IpvsCmd::from(3), vec![]);
        for _ in 0..3 {
            match handle.transact(dump.clone(), DUMP).await {
                Ok(Ok(messages)) => assert!(!messages.is_empty()),
                Ok(Err(failure)) => panic!("nlctrl dump failed: {failure:?}"),
                Err(IpvsError::Decode(_)) => {}
                Err(other) => panic!("{other}"),
            }
        }
        let err = handle.flush().await.unwrap_err();
        assert_eq!(err.errno(), Some(95), "{err}");
    }

    #[tokio::test]
    async fn missing_family_is_not_loaded() {
        let mut handle = IpvsHandle::with_family_id(0).unwrap();
        let mut buf = Vec::new();
        let seq = handle.take_seqs(1);
        wire::push_get_family(&mut buf, REQUEST, seq, "NO-SUCH-FAMILY");
        let mut failure = None;
        handle
            .exchange(&buf, seq, 1, |_, reply| {
                if let Reply::Failed(f) = reply {
                    failure = Some(f);
                }
            })
            .await
            .unwrap();
        assert_eq!(failure.map(|f| f.errno), Some(ENOENT));
    }
}
