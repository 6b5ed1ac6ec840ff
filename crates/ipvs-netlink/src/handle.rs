//! [`IpvsHandle`]: the async client, on the shared netlink transport.

use std::{net::SocketAddr, time::Duration};

use netlink_packet_core::{DecodeError, NLM_F_DUMP, ParseableParametrized};
use netlink_packet_generic::GenlHeader;
use netlink_sys::protocols::NETLINK_GENERIC;
use netlink_transport::{BatchLimits, OnError, Transport, TransportError};

use crate::{
    Command, Info, IpvsError, RealServer, ServiceKey, Timeouts, VirtualService,
    command::requests as query,
    error::from_transport,
    format::{Table, TableEntry},
    genl::{self, CommandRequest, DUMP, GetFamily, Query, REQUEST},
    packet::{IPVS_GENL_NAME, IpvsCmd, IpvsMessage},
};

/// An async IPVS client over one `NETLINK_GENERIC` socket.
///
/// Cheap to clone: clones share the socket (calls on it run one at a time)
/// and each has its own [`BatchLimits`] and reply timeout.
#[derive(Debug, Clone)]
pub struct IpvsHandle {
    /// The socket.
    transport: Transport,
    /// Resolved id of the "IPVS" generic-netlink family.
    family_id: u16,
}

impl IpvsHandle {
    /// Opens a socket (with `NETLINK_CAP_ACK`, `NETLINK_EXT_ACK` and a
    /// larger receive buffer) and resolves the "IPVS" family.
    ///
    /// Fails with [`IpvsError::NotLoaded`] when the kernel has no IPVS.
    /// Must be called within a tokio runtime.
    pub async fn connect() -> Result<Self, IpvsError> {
        let mut handle = IpvsHandle::with_family_id(0)?;
        handle.family_id = handle.resolve_family(IPVS_GENL_NAME).await?;
        Ok(handle)
    }

    /// A handle on a fresh socket whose requests go to `family_id`, without
    /// resolving anything.
    pub(crate) fn with_family_id(family_id: u16) -> Result<Self, IpvsError> {
        let transport = Transport::open(NETLINK_GENERIC)?;
        Ok(IpvsHandle {
            transport,
            family_id,
        })
    }

    /// The resolved generic-netlink id of the IPVS family.
    pub fn family_id(&self) -> u16 {
        self.family_id
    }

    /// Sets how long this handle waits for each datagram of an answer
    /// before failing with [`TransportError::Timeout`] (default 10 s).
    pub fn set_reply_timeout(&mut self, timeout: Duration) {
        self.transport.set_reply_timeout(timeout);
    }

    /// The batch window of [`IpvsHandle::execute`].
    pub fn batch_limits(&self) -> BatchLimits {
        self.transport.limits()
    }

    /// Sets the batch window of [`IpvsHandle::execute`] (default 256
    /// messages or 64 KiB).
    pub fn set_batch_limits(&mut self, limits: BatchLimits) {
        self.transport.set_limits(limits);
    }

    /// All virtual services, in kernel dump order.
    pub(crate) async fn list_services(&self) -> Result<Vec<VirtualService>, IpvsError> {
        self.dump(query::dump_services(), "list services", |attrs, header| {
            VirtualService::from_message_bytes(attrs, IpvsCmd::from(header.cmd))
        })
        .await
    }

    /// One virtual service, or `None` if it does not exist.
    pub(crate) async fn service(
        &self,
        key: &ServiceKey,
    ) -> Result<Option<VirtualService>, IpvsError> {
        genl::service_reply(self.get(query::get_service(key)).await, key)
    }

    /// The real servers of a service, in kernel dump order. The kernel
    /// answers an empty list for a service that does not exist.
    pub(crate) async fn list_real_servers(
        &self,
        key: &ServiceKey,
    ) -> Result<Vec<RealServer>, IpvsError> {
        let family = key.family();
        let operation = format!("list real servers of service {key}");
        self.dump(query::dump_destinations(key), operation, |attrs, header| {
            RealServer::from_message_bytes(attrs, IpvsCmd::from(header.cmd), family)
        })
        .await
    }

    /// Every service with its real servers, and the `GET_INFO` header.
    ///
    /// One service dump, then one destination dump per service. The
    /// destination dumps cannot share a datagram: netlink runs one dump per
    /// socket at a time and answers `EBUSY` to a second dump request while
    /// one is in progress, so they go back to back.
    pub async fn table(&self) -> Result<Table, IpvsError> {
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
    pub async fn timeouts(&self) -> Result<Timeouts, IpvsError> {
        let reply = self.get(query::get_config()).await;
        Ok(Timeouts::from_message(&genl::first_reply(
            reply, "timeouts",
        )?))
    }

    /// IPVS version and connection table size.
    pub async fn info(&self) -> Result<Info, IpvsError> {
        let reply = self.get(query::get_info()).await;
        Ok(Info::from_message(&genl::first_reply(reply, "info")?)?)
    }

    /// Adds a virtual service.
    pub(crate) async fn add_service(&self, service: &VirtualService) -> Result<(), IpvsError> {
        self.run(Command::AddService(service.clone())).await
    }

    /// Replaces the settings of an existing virtual service.
    pub(crate) async fn update_service(&self, service: &VirtualService) -> Result<(), IpvsError> {
        self.run(Command::UpdateService(service.clone())).await
    }

    /// Deletes a virtual service and its real servers.
    pub(crate) async fn delete_service(&self, key: &ServiceKey) -> Result<(), IpvsError> {
        self.run(Command::DeleteService(*key)).await
    }

    /// Adds a real server to a service.
    pub(crate) async fn add_real_server(
        &self,
        key: &ServiceKey,
        server: &RealServer,
    ) -> Result<(), IpvsError> {
        self.run(Command::AddRealServer(*key, server.clone())).await
    }

    /// Replaces the settings of a real server.
    pub(crate) async fn update_real_server(
        &self,
        key: &ServiceKey,
        server: &RealServer,
    ) -> Result<(), IpvsError> {
        self.run(Command::UpdateRealServer(*key, server.clone()))
            .await
    }

    /// Removes a real server from a service.
    pub(crate) async fn delete_real_server(
        &self,
        key: &ServiceKey,
        server: SocketAddr,
    ) -> Result<(), IpvsError> {
        self.run(Command::DeleteRealServer(*key, server)).await
    }

    /// Sets the timeouts (0 leaves a timeout unchanged).
    pub async fn set_timeouts(&self, timeouts: &Timeouts) -> Result<(), IpvsError> {
        self.run(Command::SetTimeouts(*timeouts)).await
    }

    /// Zeroes the counters of one service, or of all with `None`.
    pub async fn zero(&self, key: Option<&ServiceKey>) -> Result<(), IpvsError> {
        self.run(Command::Zero(key.copied())).await
    }

    /// Deletes every virtual service.
    pub(crate) async fn flush(&self) -> Result<(), IpvsError> {
        self.run(Command::Flush).await
    }

    /// Runs `commands` in order, pipelined: each window of
    /// [`BatchLimits`] is serialized into one buffer and written with one
    /// `send`; the kernel applies every message in order and acknowledges
    /// each. Returns one result per command, in the same order: a failing
    /// command does not stop or hide the others (later commands still run,
    /// e.g. adding real servers to a service whose creation failed fails
    /// with [`IpvsError::ServiceNotFound`]).
    ///
    /// The outer error is a socket failure, a timeout or an undecodable
    /// datagram; the batch may then be partly applied.
    pub async fn execute(
        &self,
        commands: &[Command],
    ) -> Result<Vec<Result<(), IpvsError>>, IpvsError> {
        let requests: Vec<CommandRequest<'_>> = commands
            .iter()
            .map(|command| CommandRequest {
                family_id: self.family_id,
                command,
            })
            .collect();
        let outcomes = self
            .transport
            .execute(&requests, OnError::Continue, |_, _| Ok(()))
            .await?;
        Ok(crate::command::results(outcomes, commands))
    }

    /// Runs one command and gives its errno a meaning.
    pub(crate) async fn run(&self, command: Command) -> Result<(), IpvsError> {
        let mut results = self.execute(std::slice::from_ref(&command)).await?;
        results.pop().unwrap_or(Ok(()))
    }

    /// Sends one acknowledged request and collects its replies.
    async fn get(&self, message: IpvsMessage) -> Result<Vec<IpvsMessage>, TransportError> {
        self.request(message, REQUEST, IpvsMessage::parse_with_param)
            .await
    }

    /// Sends one request and decodes its data messages with `decode`
    /// (given their attributes and generic-netlink header).
    pub(crate) async fn request<D>(
        &self,
        message: IpvsMessage,
        flags: u16,
        mut decode: impl FnMut(&[u8], GenlHeader) -> Result<D, DecodeError>,
    ) -> Result<Vec<D>, TransportError> {
        let query = Query {
            family_id: self.family_id,
            flags,
            message,
        };
        let family_id = self.family_id;
        let decode = |frame: &genl::Frame<'_>| genl::data(frame, family_id, &mut decode);
        if flags & NLM_F_DUMP == NLM_F_DUMP {
            self.transport.dump(&query, decode).await
        } else {
            self.transport.request(&query, decode).await
        }
    }

    /// One dump, its entries decoded with `decode`; a dump the kernel keeps
    /// interrupting is retried by the transport.
    pub(crate) async fn dump<D>(
        &self,
        message: IpvsMessage,
        operation: impl Into<String>,
        decode: impl FnMut(&[u8], GenlHeader) -> Result<D, DecodeError>,
    ) -> Result<Vec<D>, IpvsError> {
        self.request(message, DUMP, decode)
            .await
            .map_err(|err| from_transport(err, operation))
    }

    /// `CTRL_CMD_GETFAMILY` for `name`.
    async fn resolve_family(&self, name: &'static str) -> Result<u16, IpvsError> {
        let ids = self
            .transport
            .request(&GetFamily(name), |frame| {
                genl::decode_family_id(frame).map(Some)
            })
            .await;
        genl::family_id(ids, name)
    }
}

/// These run against the real kernel's nlctrl family, which every Linux has:
/// IPVS command numbers sent to it are rejected one by one, which exercises
/// the windows and the sequence matching without IPVS.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Scheduler, ServiceKey, VirtualService};

    /// `GENL_ID_CTRL`.
    const NLCTRL: u16 = 0x10;

    /// A multi-datagram dump from the kernel's nlctrl family (command 3 is
    /// `CTRL_CMD_GETFAMILY`): read until `NLMSG_DONE`, and the socket stays
    /// in step whatever the decoding of nlctrl's attributes gives.
    #[tokio::test]
    async fn dumps_are_read_to_the_end() {
        let handle = IpvsHandle::with_family_id(NLCTRL).unwrap();
        let dump = IpvsMessage::new(IpvsCmd::from(3), vec![]);
        for _ in 0..3 {
            match handle
                .request(dump.clone(), DUMP, |_, header| Ok(header.cmd))
                .await
            {
                Ok(commands) => assert!(commands.len() > 3, "{commands:?}"),
                Err(other) => panic!("{other}"),
            }
        }
        let err = handle.flush().await.unwrap_err();
        assert_eq!(err.errno(), Some(libc::EOPNOTSUPP), "{err}");
    }

    #[tokio::test]
    async fn missing_family_is_not_loaded() {
        let handle = IpvsHandle::with_family_id(0).unwrap();
        let err = handle.resolve_family("NO-SUCH-FAMILY").await.unwrap_err();
        assert!(matches!(err, IpvsError::NotLoaded), "{err}");
        assert_eq!(handle.resolve_family("nlctrl").await.unwrap(), NLCTRL);
    }

    #[tokio::test]
    async fn every_command_of_every_window_gets_its_answer() {
        let mut handle = IpvsHandle::with_family_id(NLCTRL).unwrap();
        handle.set_batch_limits(BatchLimits::new(7, 1 << 16));
        let key = ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
        let commands: Vec<Command> = (0..600)
            .map(|i| match i % 3 {
                0 => Command::Flush,
                1 => Command::AddService(VirtualService::new(key, Scheduler::RR)),
                _ => Command::Zero(None),
            })
            .collect();
        let results = handle.execute(&commands).await.unwrap();
        assert_eq!(results.len(), commands.len());
        for result in results {
            assert_eq!(result.unwrap_err().errno(), Some(libc::EOPNOTSUPP));
        }
    }

    #[tokio::test]
    async fn default_window_and_byte_limit() {
        let mut handle = IpvsHandle::with_family_id(NLCTRL).unwrap();
        let commands = vec![Command::Flush; 1000];
        let results = handle.execute(&commands).await.unwrap();
        assert!(results.iter().all(|r| {
            r.as_ref()
                .is_err_and(|e| e.errno() == Some(libc::EOPNOTSUPP))
        }));
        // A byte limit smaller than one message still sends one at a time.
        handle.set_batch_limits(BatchLimits::new(256, 1));
        let results = handle.execute(&commands[..20]).await.unwrap();
        assert_eq!(results.len(), 20);
        // A clone shares the socket but keeps its own settings.
        let clone = handle.clone();
        let single = clone.flush().await.unwrap_err();
        assert!(
            matches!(
                single,
                IpvsError::Kernel {
                    errno: libc::EOPNOTSUPP,
                    ..
                }
            ),
            "{single}"
        );
        assert_eq!(clone.batch_limits(), BatchLimits::new(256, 1));
    }
}
