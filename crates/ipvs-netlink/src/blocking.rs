//! [`IpvsClient`]: the IPVS client for programs without an async runtime,
//! on netlink-transport's blocking socket. The messages, the decoding, the
//! errno meanings and the sync diff are the async client's.

use std::time::Duration;

use netlink_packet_core::{DecodeError, NLM_F_DUMP, ParseableParametrized};
use netlink_packet_generic::GenlHeader;
use netlink_sys::protocols::NETLINK_GENERIC;
use netlink_transport::{BatchLimits, BlockingTransport, OnError, TransportError};

use crate::{
    Command, Info, IpvsError, RealServer, ServiceKey, SyncDaemon, SyncScope, SyncStats, Table,
    TableEntry, Timeouts, VirtualService,
    command::{requests, results},
    error::from_transport,
    genl::{self, CommandRequest, DUMP, GetFamily, Query, REQUEST},
    packet::{IPVS_GENL_NAME, IpvsCmd, IpvsMessage},
    sync_commands,
};

/// A blocking IPVS client over one `NETLINK_GENERIC` socket. Calls take
/// `&mut self` and block until the kernel has answered (each datagram
/// awaited at most the reply timeout, 10 s by default).
///
/// ```no_run
/// use ipvs_netlink::{blocking::IpvsClient, Command, ForwardMethod, RealServer, Scheduler, ServiceKey, VirtualService};
///
/// # fn run() -> Result<(), ipvs_netlink::IpvsError> {
/// let mut ipvs = IpvsClient::connect()?;
/// let key = ServiceKey::tcp("10.96.0.1:443".parse().unwrap());
/// let server = RealServer::new("10.244.0.5:6443".parse().unwrap(), ForwardMethod::Masq, 1);
/// for result in ipvs.execute(&[
///     Command::AddService(VirtualService::new(key, Scheduler::RR)),
///     Command::AddRealServer(key, server),
/// ])? {
///     result?;
/// }
/// print!("{}", ipvs.table()?);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct IpvsClient {
    transport: BlockingTransport,
    family_id: u16,
}

impl IpvsClient {
    /// Opens a socket and resolves the "IPVS" family;
    /// [`IpvsError::NotLoaded`] when the kernel has no IPVS.
    pub fn connect() -> Result<Self, IpvsError> {
        let mut client = IpvsClient::with_family_id(0)?;
        let ids = client
            .transport
            .request(&GetFamily(IPVS_GENL_NAME), |frame| {
                genl::decode_family_id(frame).map(Some)
            });
        client.family_id = genl::family_id(ids, IPVS_GENL_NAME)?;
        Ok(client)
    }

    fn with_family_id(family_id: u16) -> Result<Self, IpvsError> {
        let transport = BlockingTransport::open(NETLINK_GENERIC)?;
        Ok(IpvsClient {
            transport,
            family_id,
        })
    }

    /// The resolved generic-netlink id of the IPVS family.
    pub fn family_id(&self) -> u16 {
        self.family_id
    }

    /// Sets how long a call waits for each datagram of an answer (default
    /// 10 s).
    pub fn set_reply_timeout(&mut self, timeout: Duration) {
        self.transport.set_reply_timeout(timeout);
    }

    /// Sets the batch window of [`IpvsClient::execute`] (default 256
    /// messages or 64 KiB).
    pub fn set_batch_limits(&mut self, limits: BatchLimits) {
        self.transport.set_limits(limits);
    }

    /// Runs `commands` pipelined, like
    /// [`IpvsHandle::execute`](crate::IpvsHandle::execute): one result per
    /// command, a failing one does not stop the others.
    pub fn execute(
        &mut self,
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
            .execute(&requests, OnError::Continue, |_, _| Ok(()))?;
        Ok(results(outcomes, commands))
    }

    /// Runs one command.
    pub fn run(&mut self, command: Command) -> Result<(), IpvsError> {
        let mut results = self.execute(std::slice::from_ref(&command))?;
        results.pop().unwrap_or(Ok(()))
    }

    /// All virtual services, in kernel dump order.
    pub fn services(&mut self) -> Result<Vec<VirtualService>, IpvsError> {
        self.request(requests::dump_services(), DUMP, |attrs, header| {
            VirtualService::from_message_bytes(attrs, IpvsCmd::from(header.cmd))
        })
        .map_err(|err| from_transport(err, "list services"))
    }

    /// One virtual service, `None` if it does not exist.
    pub fn service(&mut self, key: &ServiceKey) -> Result<Option<VirtualService>, IpvsError> {
        let reply = self.get(requests::get_service(key));
        genl::service_reply(reply, key)
    }

    /// The real servers of a service, in kernel dump order.
    pub fn real_servers(&mut self, key: &ServiceKey) -> Result<Vec<RealServer>, IpvsError> {
        let family = key.family();
        self.request(requests::dump_destinations(key), DUMP, |attrs, header| {
            RealServer::from_message_bytes(attrs, IpvsCmd::from(header.cmd), family)
        })
        .map_err(|err| from_transport(err, format!("list real servers of service {key}")))
    }

    /// The running sync daemons.
    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>, IpvsError> {
        self.request(requests::dump_daemons(), DUMP, |attrs, header| {
            SyncDaemon::from_message(&IpvsMessage::parse_with_param(attrs, header)?)
        })
        .map_err(|err| from_transport(err, "list sync daemons"))
    }

    /// The TCP, TCP-FIN and UDP timeouts.
    pub fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        let reply = self.get(requests::get_config());
        Ok(Timeouts::from_message(&genl::first_reply(
            reply, "timeouts",
        )?))
    }

    /// IPVS version and connection table size.
    pub fn info(&mut self) -> Result<Info, IpvsError> {
        let reply = self.get(requests::get_info());
        Ok(Info::from_message(&genl::first_reply(reply, "info")?)?)
    }

    /// Every service with its real servers (without the `GET_INFO`
    /// header).
    pub fn entries(&mut self) -> Result<Vec<TableEntry>, IpvsError> {
        let mut entries = Vec::new();
        for service in self.services()? {
            let real_servers = self.real_servers(&service.key)?;
            entries.push(TableEntry::new(service, real_servers));
        }
        Ok(entries)
    }

    /// The whole table, printable like `ipvsadm -Ln`.
    pub fn table(&mut self) -> Result<Table, IpvsError> {
        let info = self.info()?;
        Ok(Table::new(info, self.entries()?))
    }

    /// The desired-state sync of
    /// [`IpvsHandle::sync`](crate::IpvsHandle::sync): dump, diff, send only
    /// the changes in one batch; the error is the first change that
    /// failed.
    pub fn sync(
        &mut self,
        desired: &[TableEntry],
        scope: SyncScope,
    ) -> Result<SyncStats, IpvsError> {
        let current = self.entries()?;
        let (commands, stats) = sync_commands(&current, desired, scope);
        for result in self.execute(&commands)? {
            result?;
        }
        Ok(stats)
    }

    fn get(&mut self, message: IpvsMessage) -> Result<Vec<IpvsMessage>, TransportError> {
        self.request(message, REQUEST, IpvsMessage::parse_with_param)
    }

    fn request<D>(
        &mut self,
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
            self.transport.dump(&query, decode)
        } else {
            self.transport.request(&query, decode)
        }
    }
}

/// Against the kernel's nlctrl family (no IPVS needed): IPVS commands sent
/// there are refused one by one, each with its own result.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_gets_its_answer_without_a_runtime() {
        let mut client = IpvsClient::with_family_id(0x10).unwrap();
        client.set_batch_limits(BatchLimits::new(5, 1 << 16));
        let commands = vec![Command::Flush; 23];
        let results = client.execute(&commands).unwrap();
        assert_eq!(results.len(), 23);
        assert!(results.iter().all(|r| {
            r.as_ref()
                .is_err_and(|e| e.errno() == Some(libc::EOPNOTSUPP))
        }));
        let err = client.run(Command::Zero(None)).unwrap_err();
        assert_eq!(err.errno(), Some(libc::EOPNOTSUPP), "{err}");
    }
}
