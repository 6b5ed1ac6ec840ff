//! In-memory writers over one shared fake kernel, failing on demand: the
//! [`Writers`] of the orchestration tests. The kernel behaves as the real
//! one for what the reconciler relies on (an add of something present is
//! `EEXIST`, an update or delete of something absent is `ENOENT`, ipset
//! adds and deletes are `-exist`, binds of a bound VIP succeed), and records
//! every IPVS command it received, so a test can say exactly what a sync
//! sent.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex, MutexGuard},
};

use ipset_netlink::{Entry, IpsetError, SetType};
use ipvs_netlink::{
    Command, Family, IpvsError, RealServer, ServiceKey, TableEntry, Timeouts, VirtualService,
};
use tokio::sync::Notify;

use crate::{
    kernel::{
        Bindings, IpsetWrite, IpsetWriterError, IptablesError, IptablesWrite, IpvsWrite,
        IpvsWriterError, LinkError, LinkWrite, SetState, Sysctl, SysctlError, SysctlWrite,
        WriterSet, Writers,
    },
    plan::KernelPlan,
    plan::rules::IptablesRules,
    types::BindMode,
};

/// The index of the fake `kube-ipvs0`.
pub const INDEX: u32 = 7;

/// Schedulers the fake kernel has.
const SCHEDULERS: &[&str] = &["rr", "wrr", "lc", "wlc", "sh", "dh", "sed", "nq", "mh"];

/// Failures to inject; each is used up as it fires.
#[derive(Debug, Default)]
pub struct Faults {
    /// IPVS commands refused (not applied, `ENOMEM`), once each.
    pub refuse: Vec<Command>,
    /// IPVS batches applied whose reply is lost (the batch fails as a
    /// whole after every command was applied).
    pub lose_ipvs_replies: usize,
    /// Sets whose next member change fails (not applied).
    pub ipset_refuse: BTreeSet<String>,
    /// Sets whose next member change is applied but its reply lost.
    pub ipset_lose_reply: BTreeSet<String>,
    /// VIPs whose next bind fails (not applied).
    pub bind_refuse: BTreeSet<IpAddr>,
    /// `iptables-restore` runs that fail (not applied).
    pub iptables_refuse: usize,
    /// Stall the next IPVS batch for ever after applying this many of its
    /// commands, notifying [`Kernel::stalled`] (a long sync, for a
    /// shutdown to interrupt).
    pub stall_after: Option<usize>,
}

/// What the fake kernel holds.
#[derive(Debug, Default)]
pub struct Kernel {
    /// IPVS: every service with its real servers (counters included).
    pub services: BTreeMap<ServiceKey, (VirtualService, BTreeMap<SocketAddr, RealServer>)>,
    /// The ipsets.
    pub sets: BTreeMap<String, SetState>,
    /// `kube-ipvs0`'s addresses and routes.
    pub bindings: Bindings,
    /// The addresses of the node's other interfaces.
    pub node_addrs: BTreeSet<IpAddr>,
    /// The iptables rules, per family.
    pub rules: BTreeMap<Family, IptablesRules>,
    /// The IPVS timeouts.
    pub timeouts: Timeouts,
    /// The sysctls set, in order.
    pub sysctls: Vec<Sysctl>,
    /// Every IPVS command received (applied or not), in order.
    pub sent: Vec<Command>,
    /// What fails next.
    pub faults: Faults,
    /// Notified when an IPVS batch stalls ([`Faults::stall_after`]).
    pub stalled: Arc<Notify>,
}

impl Kernel {
    /// Takes the IPVS commands received so far.
    pub fn take_sent(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.sent)
    }

    /// Every difference between what the kernel holds and `plan`, in
    /// words; empty when they are equal (IPVS settings and real servers,
    /// VIPs bound as addresses, the planned sets' types and members, the
    /// rules).
    pub fn differences(&self, plan: &KernelPlan) -> Vec<String> {
        let mut out = Vec::new();
        let planned: BTreeSet<_> = plan.services.keys().collect();
        let held: BTreeSet<_> = self.services.keys().collect();
        if planned != held {
            out.push(format!("services: held {held:?}, planned {planned:?}"));
        }
        for (key, wanted) in &plan.services {
            let Some((service, real_servers)) = self.services.get(key) else {
                continue;
            };
            if !service.same_config(&wanted.service) {
                out.push(format!(
                    "{key}: held {service:?}, planned {:?}",
                    wanted.service
                ));
            }
            let wanted: BTreeMap<_, _> = wanted.real_servers.iter().map(|r| (r.addr, r)).collect();
            let held: BTreeMap<_, _> = real_servers.iter().map(|(a, r)| (*a, r)).collect();
            let same = wanted.len() == held.len()
                && wanted
                    .iter()
                    .zip(&held)
                    .all(|((a, w), (b, h))| a == b && w.same_config(h));
            if !same {
                out.push(format!("{key}: held {held:?}, planned {wanted:?}"));
            }
        }
        if self.bindings.addresses != plan.bind_addrs {
            out.push(format!(
                "VIPs: held {:?}, planned {:?}",
                self.bindings.addresses, plan.bind_addrs
            ));
        }
        for (name, wanted) in &plan.ipsets {
            match self.sets.get(name) {
                Some(set)
                    if set.set_type == Some(wanted.set_type) && set.entries == wanted.entries => {}
                held => out.push(format!("set {name}: held {held:?}, planned {wanted:?}")),
            }
        }
        if self.rules != plan.iptables {
            out.push("iptables rules differ".to_owned());
        }
        out
    }
}

/// One fake kernel, shared by the writers over it and the test.
#[derive(Debug, Clone, Default)]
pub struct Shared(Arc<Mutex<Kernel>>);

impl Shared {
    /// The kernel (never held across an await).
    pub fn lock(&self) -> MutexGuard<'_, Kernel> {
        self.0.lock().unwrap()
    }

    /// A fresh set of writers over this kernel.
    pub fn writers(&self) -> WriterSet<Fake> {
        WriterSet {
            ipvs: FakeIpvs {
                kernel: self.clone(),
                messages: 0,
            },
            ipset: FakeIpset {
                kernel: self.clone(),
                messages: 0,
            },
            link: FakeLink {
                kernel: self.clone(),
                messages: 0,
            },
            iptables: FakeIptables {
                kernel: self.clone(),
                written: BTreeMap::new(),
                forks: 0,
            },
            sysctl: FakeSysctl {
                kernel: self.clone(),
            },
        }
    }
}

/// The in-memory writers.
#[derive(Debug)]
pub enum Fake {}

impl Writers for Fake {
    type Ipvs = FakeIpvs;
    type Ipset = FakeIpset;
    type Link = FakeLink;
    type Iptables = FakeIptables;
    type Sysctl = FakeSysctl;
}

/// An IPVS error as the kernel sends it.
fn errno(operation: &str, errno: i32) -> IpvsError {
    IpvsError::Kernel {
        operation: operation.to_owned(),
        errno,
        message: None,
    }
}

/// IPVS over the fake kernel.
#[derive(Debug)]
pub struct FakeIpvs {
    kernel: Shared,
    messages: u64,
}

/// Applies one command to the kernel as IPVS would.
fn execute(kernel: &mut Kernel, command: &Command) -> Result<(), IpvsError> {
    let services = &mut kernel.services;
    let missing = |key: &ServiceKey| IpvsError::ServiceNotFound(*key);
    match command {
        Command::AddService(service) => {
            if services.contains_key(&service.key) {
                return Err(IpvsError::ServiceExists(service.key));
            }
            services.insert(service.key, (service.clone(), BTreeMap::new()));
        }
        Command::UpdateService(service) => {
            let held = services
                .get_mut(&service.key)
                .ok_or(missing(&service.key))?;
            held.0 = service.clone();
        }
        Command::DeleteService(key) => {
            services.remove(key).ok_or(missing(key))?;
        }
        Command::AddRealServer(key, rs) => {
            let held = services.get_mut(key).ok_or(missing(key))?;
            if held.1.contains_key(&rs.addr) {
                return Err(IpvsError::RealServerExists {
                    service: *key,
                    server: rs.addr,
                });
            }
            held.1.insert(rs.addr, rs.clone());
        }
        Command::UpdateRealServer(key, rs) => {
            let held = services.get_mut(key).ok_or(missing(key))?;
            let Some(current) = held.1.get_mut(&rs.addr) else {
                return Err(IpvsError::RealServerNotFound {
                    service: *key,
                    server: rs.addr,
                });
            };
            let (active, inactive) = (current.active_conns, current.inactive_conns);
            *current = rs.clone();
            (current.active_conns, current.inactive_conns) = (active, inactive);
        }
        Command::DeleteRealServer(key, addr) => {
            let held = services.get_mut(key).ok_or(missing(key))?;
            held.1.remove(addr).ok_or(IpvsError::RealServerNotFound {
                service: *key,
                server: *addr,
            })?;
        }
        other => panic!("the reconciler does not send {other:?}"),
    }
    Ok(())
}

impl IpvsWrite for FakeIpvs {
    fn messages(&self) -> u64 {
        self.messages
    }

    async fn dump(&mut self) -> Result<Vec<TableEntry>, IpvsWriterError> {
        let kernel = self.kernel.lock();
        Ok(kernel
            .services
            .values()
            .map(|(service, real_servers)| {
                TableEntry::new(service.clone(), real_servers.values().cloned().collect())
            })
            .collect())
    }

    async fn real_servers(
        &mut self,
        key: &ServiceKey,
    ) -> Result<Option<Vec<RealServer>>, IpvsWriterError> {
        let kernel = self.kernel.lock();
        Ok(kernel
            .services
            .get(key)
            .map(|(_, real_servers)| real_servers.values().cloned().collect()))
    }

    async fn apply(
        &mut self,
        commands: &[Command],
    ) -> Result<Vec<Result<(), IpvsError>>, IpvsWriterError> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        self.messages += commands.len() as u64;
        let (results, stalled) = {
            let mut kernel = self.kernel.lock();
            let stall = kernel.faults.stall_after.take();
            let mut results = Vec::new();
            for (i, command) in commands.iter().enumerate() {
                if stall == Some(i) {
                    break;
                }
                kernel.sent.push(command.clone());
                let refused = kernel.faults.refuse.iter().position(|c| c == command);
                let result = match refused {
                    Some(at) => {
                        kernel.faults.refuse.remove(at);
                        Err(errno("refused", libc::ENOMEM))
                    }
                    None => execute(&mut kernel, command),
                };
                results.push(result);
            }
            let stalled = stall.is_some().then(|| kernel.stalled.clone());
            if stalled.is_none() && kernel.faults.lose_ipvs_replies > 0 {
                kernel.faults.lose_ipvs_replies -= 1;
                return Err(IpvsWriterError::Batch(errno("receive", libc::ENOBUFS)));
            }
            (results, stalled)
        };
        if let Some(stalled) = stalled {
            stalled.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(results)
    }

    async fn probe_scheduler(&mut self, scheduler: &str) -> Result<(), IpvsWriterError> {
        if SCHEDULERS.contains(&scheduler) {
            return Ok(());
        }
        Err(IpvsWriterError::Scheduler {
            scheduler: scheduler.to_owned(),
            source: IpvsError::UnknownScheduler {
                service: ServiceKey::tcp(crate::kernel::ipvs::PROBE_ADDR),
                name: scheduler.to_owned(),
            },
        })
    }

    async fn set_timeouts(&mut self, timeouts: Timeouts) -> Result<bool, IpvsWriterError> {
        let mut kernel = self.kernel.lock();
        if timeouts == Timeouts::default() || kernel.timeouts == timeouts {
            return Ok(false);
        }
        self.messages += 1;
        kernel.timeouts = timeouts;
        Ok(true)
    }
}

/// ipset over the fake kernel.
#[derive(Debug)]
pub struct FakeIpset {
    kernel: Shared,
    messages: u64,
}

impl IpsetWrite for FakeIpset {
    fn messages(&self) -> u64 {
        self.messages
    }

    async fn dump(&self, prefix: &str) -> Result<BTreeMap<String, SetState>, IpsetWriterError> {
        let kernel = self.kernel.lock();
        Ok(kernel
            .sets
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(name, set)| (name.clone(), set.clone()))
            .collect())
    }

    async fn create(
        &mut self,
        name: &str,
        set_type: SetType,
        family: Family,
    ) -> Result<(), IpsetWriterError> {
        self.messages += 1;
        let family = (!set_type.is_bitmap()).then_some(family);
        let mut kernel = self.kernel.lock();
        match kernel.sets.get(name) {
            Some(set) if set.set_type == Some(set_type) && set.family == family => Ok(()),
            Some(_) => Err(IpsetWriterError::Set {
                set: name.to_owned(),
                source: IpsetError::SetExists {
                    set: name.to_owned(),
                },
            }),
            None => {
                let set = SetState {
                    set_type: Some(set_type),
                    family,
                    entries: BTreeSet::new(),
                };
                kernel.sets.insert(name.to_owned(), set);
                Ok(())
            }
        }
    }

    async fn destroy(&mut self, name: &str) -> Result<(), IpsetWriterError> {
        self.messages += 1;
        self.kernel.lock().sets.remove(name);
        Ok(())
    }

    async fn apply(
        &mut self,
        name: &str,
        delete: &[Entry],
        add: &[Entry],
    ) -> Result<(), IpsetWriterError> {
        self.messages += u64::from(!delete.is_empty()) + u64::from(!add.is_empty());
        let mut kernel = self.kernel.lock();
        let failure = |source| IpsetWriterError::Set {
            set: name.to_owned(),
            source,
        };
        if kernel.faults.ipset_refuse.remove(name) {
            return Err(failure(IpsetError::SetInUse {
                set: name.to_owned(),
            }));
        }
        let Some(set) = kernel.sets.get_mut(name) else {
            return Err(failure(IpsetError::SetNotFound {
                set: name.to_owned(),
            }));
        };
        for entry in delete {
            set.entries.remove(entry);
        }
        set.entries.extend(add.iter().copied());
        if kernel.faults.ipset_lose_reply.remove(name) {
            return Err(failure(IpsetError::SetInUse {
                set: name.to_owned(),
            }));
        }
        Ok(())
    }
}

/// `kube-ipvs0` over the fake kernel.
#[derive(Debug)]
pub struct FakeLink {
    kernel: Shared,
    messages: u64,
}

impl LinkWrite for FakeLink {
    fn messages(&self) -> u64 {
        self.messages
    }

    fn index(&self) -> u32 {
        INDEX
    }

    async fn ensure_interface(&mut self) -> Result<bool, LinkError> {
        Ok(false)
    }

    async fn bindings(&self) -> Result<Bindings, LinkError> {
        Ok(self.kernel.lock().bindings.clone())
    }

    async fn local_addresses(&self) -> Result<BTreeSet<IpAddr>, LinkError> {
        Ok(self.kernel.lock().node_addrs.clone())
    }

    async fn bind(&mut self, mode: BindMode, vips: &[IpAddr]) -> Vec<Result<(), LinkError>> {
        self.messages += vips.len() as u64;
        let mut kernel = self.kernel.lock();
        vips.iter()
            .map(|vip| {
                if kernel.faults.bind_refuse.remove(vip) {
                    return Err(LinkError::PermissionDenied {
                        operation: format!("bind {vip} ({mode:?} mode)"),
                    });
                }
                kernel.bindings.in_mode_mut(mode).insert(*vip);
                Ok(())
            })
            .collect()
    }

    async fn unbind(&mut self, mode: BindMode, vips: &[IpAddr]) -> Vec<Result<(), LinkError>> {
        self.messages += vips.len() as u64;
        let mut kernel = self.kernel.lock();
        for vip in vips {
            kernel.bindings.in_mode_mut(mode).remove(vip);
        }
        vips.iter().map(|_| Ok(())).collect()
    }
}

/// iptables over the fake kernel: like the real writer, writes only what
/// differs from its last successful write.
#[derive(Debug)]
pub struct FakeIptables {
    kernel: Shared,
    written: BTreeMap<Family, IptablesRules>,
    forks: u64,
}

impl FakeIptables {
    fn restore(&mut self, family: Family, rules: &IptablesRules) -> Result<(), IptablesError> {
        self.forks += 3;
        let mut kernel = self.kernel.lock();
        if kernel.faults.iptables_refuse > 0 {
            kernel.faults.iptables_refuse -= 1;
            return Err(IptablesError::Failed {
                tool: "iptables-restore".to_owned(),
                status: "exit status: 4".to_owned(),
                stderr: "Another app is currently holding the xtables lock".to_owned(),
            });
        }
        kernel.rules.insert(family, rules.clone());
        self.written.insert(family, rules.clone());
        Ok(())
    }
}

impl IptablesWrite for FakeIptables {
    fn forks(&self) -> u64 {
        self.forks
    }

    async fn write(
        &mut self,
        family: Family,
        rules: &IptablesRules,
    ) -> Result<bool, IptablesError> {
        if self.written.get(&family) == Some(rules) {
            return Ok(false);
        }
        self.written.remove(&family);
        self.restore(family, rules).map(|()| true)
    }

    async fn check(&mut self, family: Family) -> Result<bool, IptablesError> {
        let Some(written) = self.written.get(&family).cloned() else {
            return Ok(false);
        };
        self.forks += 1;
        if self.kernel.lock().rules.get(&family) == Some(&written) {
            return Ok(false);
        }
        self.written.remove(&family);
        self.restore(family, &written).map(|()| true)
    }
}

/// sysctls over the fake kernel (recorded).
#[derive(Debug)]
pub struct FakeSysctl {
    kernel: Shared,
}

impl SysctlWrite for FakeSysctl {
    fn ensure(&mut self, sysctls: &[Sysctl]) -> Result<usize, SysctlError> {
        self.kernel.lock().sysctls.extend(sysctls.iter().cloned());
        Ok(sysctls.len())
    }
}
