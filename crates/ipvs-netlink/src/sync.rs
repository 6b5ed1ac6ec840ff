//! Desired-state sync, with no I/O: the fewest [`Command`]s that turn a
//! dumped table into a wanted one (what [`IpvsHandle::sync`] sends).
//!
//! [`IpvsHandle::sync`]: crate::IpvsHandle::sync

use std::collections::HashMap;

use crate::{Command, ServiceKey, TableEntry};

/// What a sync changed (or, from [`sync_commands`], would change).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncStats {
    /// Services added.
    pub services_added: usize,
    /// Services whose settings were updated.
    pub services_updated: usize,
    /// Services deleted (with their real servers).
    pub services_deleted: usize,
    /// Real servers added.
    pub real_servers_added: usize,
    /// Real servers whose settings (weight, forwarding, thresholds) were
    /// updated.
    pub real_servers_updated: usize,
    /// Real servers deleted.
    pub real_servers_deleted: usize,
}

impl SyncStats {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == SyncStats::default()
    }

    fn count(&mut self, command: &Command) {
        match command {
            Command::AddService(_) => self.services_added += 1,
            Command::UpdateService(_) => self.services_updated += 1,
            Command::DeleteService(_) => self.services_deleted += 1,
            Command::AddRealServer(..) => self.real_servers_added += 1,
            Command::UpdateRealServer(..) => self.real_servers_updated += 1,
            Command::DeleteRealServer(..) => self.real_servers_deleted += 1,
            _ => {}
        }
    }
}

/// Which services a sync may delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncScope {
    /// The wanted table is the whole table: every other service is
    /// deleted.
    #[default]
    WholeTable,
    /// Only the wanted services are synced; other services are left alone.
    OnlyListed,
}

/// The commands that turn `current` (a dump) into `desired`, compared by
/// configuration ([`VirtualService::same_config`],
/// [`RealServer::same_config`]; counters and the kernel's flags ignored):
/// service deletes first, then for each wanted service in order its add or
/// update, then its real servers' deletes, updates and adds. A service or
/// real server listed twice in `desired` counts once (the last wins). With
/// the counts of what they change.
///
/// [`VirtualService::same_config`]: crate::VirtualService::same_config
/// [`RealServer::same_config`]: crate::RealServer::same_config
pub fn sync_commands(
    current: &[TableEntry],
    desired: &[TableEntry],
    scope: SyncScope,
) -> (Vec<Command>, SyncStats) {
    let have: HashMap<ServiceKey, &TableEntry> =
        current.iter().map(|e| (e.service.key, e)).collect();
    let mut want: HashMap<ServiceKey, &TableEntry> = HashMap::new();
    let mut order = Vec::new();
    for entry in desired {
        if want.insert(entry.service.key, entry).is_none() {
            order.push(entry.service.key);
        }
    }
    let mut commands = Vec::new();
    if scope == SyncScope::WholeTable {
        commands.extend(
            current
                .iter()
                .filter(|e| !want.contains_key(&e.service.key))
                .map(|e| Command::DeleteService(e.service.key)),
        );
    }
    for key in order {
        let Some(wanted) = want.get(&key) else {
            continue;
        };
        let existing = have.get(&key);
        match existing {
            None => commands.push(Command::AddService(wanted.service.clone())),
            Some(e) if !e.service.same_config(&wanted.service) => {
                commands.push(Command::UpdateService(wanted.service.clone()));
            }
            Some(_) => {}
        }
        let mut servers = HashMap::new();
        let mut server_order = Vec::new();
        for rs in &wanted.real_servers {
            if servers.insert(rs.addr, rs).is_none() {
                server_order.push(rs.addr);
            }
        }
        let old: HashMap<_, _> = existing
            .map(|e| e.real_servers.iter().map(|rs| (rs.addr, rs)).collect())
            .unwrap_or_default();
        if let Some(e) = existing {
            commands.extend(
                e.real_servers
                    .iter()
                    .filter(|rs| !servers.contains_key(&rs.addr))
                    .map(|rs| Command::DeleteRealServer(key, rs.addr)),
            );
        }
        for addr in server_order {
            let Some(&rs) = servers.get(&addr) else {
                continue;
            };
            match old.get(&addr) {
                None => commands.push(Command::AddRealServer(key, rs.clone())),
                Some(have) if !have.same_config(rs) => {
                    commands.push(Command::UpdateRealServer(key, rs.clone()));
                }
                Some(_) => {}
            }
        }
    }
    let mut stats = SyncStats::default();
    for command in &commands {
        stats.count(command);
    }
    (commands, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ForwardMethod, RealServer, Scheduler, VirtualService};

    fn entry(addr: &str, scheduler: Scheduler, servers: &[(&str, u32)]) -> TableEntry {
        let key = ServiceKey::tcp(addr.parse().unwrap());
        TableEntry::new(
            VirtualService::new(key, scheduler),
            servers
                .iter()
                .map(|(a, w)| RealServer::new(a.parse().unwrap(), ForwardMethod::Masq, *w))
                .collect(),
        )
    }

    #[test]
    fn only_the_differences() {
        let current = [
            entry(
                "10.0.0.1:80",
                Scheduler::RR,
                &[("10.1.0.1:80", 1), ("10.1.0.2:80", 1)],
            ),
            entry("10.0.0.2:80", Scheduler::RR, &[("10.1.0.3:80", 1)]),
            entry("10.0.0.3:80", Scheduler::RR, &[]),
        ];
        let desired = [
            // Same service; one real server reweighted, one gone, one new.
            entry(
                "10.0.0.1:80",
                Scheduler::RR,
                &[("10.1.0.1:80", 5), ("10.1.0.4:80", 1)],
            ),
            // New scheduler, same real servers.
            entry("10.0.0.2:80", Scheduler::WRR, &[("10.1.0.3:80", 1)]),
            // New service.
            entry("10.0.0.4:80", Scheduler::RR, &[("10.1.0.5:80", 1)]),
        ];
        let (commands, stats) = sync_commands(&current, &desired, SyncScope::WholeTable);
        let key = |a: &str| ServiceKey::tcp(a.parse().unwrap());
        let rs = |a: &str, w| RealServer::new(a.parse().unwrap(), ForwardMethod::Masq, w);
        assert_eq!(
            commands,
            [
                Command::DeleteService(key("10.0.0.3:80")),
                Command::DeleteRealServer(key("10.0.0.1:80"), "10.1.0.2:80".parse().unwrap()),
                Command::UpdateRealServer(key("10.0.0.1:80"), rs("10.1.0.1:80", 5)),
                Command::AddRealServer(key("10.0.0.1:80"), rs("10.1.0.4:80", 1)),
                Command::UpdateService(desired[1].service.clone()),
                Command::AddService(desired[2].service.clone()),
                Command::AddRealServer(key("10.0.0.4:80"), rs("10.1.0.5:80", 1)),
            ]
        );
        assert_eq!(
            (
                stats.services_added,
                stats.services_updated,
                stats.services_deleted
            ),
            (1, 1, 1)
        );
        assert_eq!(
            (
                stats.real_servers_added,
                stats.real_servers_updated,
                stats.real_servers_deleted
            ),
            (2, 1, 1)
        );
        // Only the listed services: 10.0.0.3 stays.
        let (only, _) = sync_commands(&current, &desired, SyncScope::OnlyListed);
        assert_eq!(only, commands[1..]);
        // In sync: nothing to do; counters and order do not matter.
        let mut dumped = desired.clone();
        dumped.reverse();
        dumped[0].real_servers.reverse();
        dumped[1].real_servers[0].active_conns = 7;
        let (none, stats) = sync_commands(&dumped, &desired, SyncScope::WholeTable);
        assert!(none.is_empty() && stats.is_empty(), "{none:?}");
    }
}
