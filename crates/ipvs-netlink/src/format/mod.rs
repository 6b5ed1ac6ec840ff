//! [`Table`]: a dumped IPVS table, printed exactly like `ipvsadm -Ln`,
//! `ipvsadm -Ln --stats`, `--rate`, `--thresholds`, `--persistent-conn`
//! and `ipvsadm -Sn` (ipvsadm 1.31, `print_title` / `print_service_entry` /
//! `print_largenum`). The `-S` rules are in the `rules` submodule.

use std::{
    fmt::{self, Write},
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
};

use crate::{
    Family, Info, Netmask, Protocol, RealServer, ServiceFlags, ServiceKey, Stats, VirtualService,
};

/// One service and its real servers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableEntry {
    /// The service.
    pub service: VirtualService,
    /// Its real servers.
    pub real_servers: Vec<RealServer>,
}

impl TableEntry {
    /// A service and its real servers.
    pub fn new(service: VirtualService, real_servers: Vec<RealServer>) -> Self {
        TableEntry {
            service,
            real_servers,
        }
    }
}

/// The whole IPVS table: `GET_INFO` plus every service with its real
/// servers, in the order given (the kernel's dump order for
/// [`IpvsHandle::table`](crate::IpvsHandle::table)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Table {
    /// Version and connection table size, for the header line.
    pub info: Info,
    /// Services and real servers.
    pub entries: Vec<TableEntry>,
}

/// Which `ipvsadm -L` listing to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ListFormat {
    /// `ipvsadm -Ln`.
    #[default]
    Plain,
    /// `ipvsadm -Ln --stats`.
    Stats,
    /// `ipvsadm -Ln --rate`.
    Rate,
    /// `ipvsadm -Ln --thresholds`.
    Thresholds,
    /// `ipvsadm -Ln --persistent-conn`.
    PersistentConn,
    /// `ipvsadm -Sn`: the table as `-A` / `-a` rules that `ipvsadm -R`
    /// reads back; no version header and no title.
    Save,
}

impl Table {
    /// A table from its parts.
    pub fn new(info: Info, entries: Vec<TableEntry>) -> Self {
        Table { info, entries }
    }

    /// Sorts services and real servers the way ipvsadm does unless given
    /// `--nosort` (libipvs `ipvs_cmp_services` / `ipvs_cmp_dests` under
    /// glibc's merge sort, including their wrapping `int` subtraction: e.g.
    /// `192.168.0.1` sorts before `10.0.0.1`).
    pub fn sort_like_ipvsadm(&mut self) {
        merge_sort_by(&mut self.entries, |a, b| {
            cmp_services(&a.service, &b.service)
        });
        for entry in &mut self.entries {
            merge_sort_by(&mut entry.real_servers, |a, b| cmp_addrs(a.addr, b.addr));
        }
    }

    /// A `Display` adapter for one listing format.
    pub fn display(&self, format: ListFormat) -> TableDisplay<'_> {
        TableDisplay {
            table: self,
            format,
            version_header: true,
            exact: false,
        }
    }
}

impl fmt::Display for Table {
    /// The `ipvsadm -Ln` listing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.display(ListFormat::Plain).fmt(f)
    }
}

/// Prints a [`Table`] in a [`ListFormat`]; see [`Table::display`].
#[derive(Debug, Clone, Copy)]
pub struct TableDisplay<'a> {
    table: &'a Table,
    format: ListFormat,
    version_header: bool,
    exact: bool,
}

impl TableDisplay<'_> {
    /// Leaves out the `IP Virtual Server version ...` line, as
    /// `ipvsadm -Ln -t <service>` does when it lists one service.
    pub fn without_version_header(mut self) -> Self {
        self.version_header = false;
        self
    }

    /// Prints counters and rates in full instead of with K/M/G/T
    /// (`ipvsadm --exact`).
    pub fn exact(mut self) -> Self {
        self.exact = true;
        self
    }
}

impl fmt::Display for TableDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.format == ListFormat::Save {
            for entry in &self.table.entries {
                rules::write_entry(f, entry)?;
            }
            return Ok(());
        }
        if self.version_header {
            let (major, minor, patch) = self.table.info.version_triple();
            writeln!(
                f,
                "IP Virtual Server version {major}.{minor}.{patch} (size={})",
                self.table.info.conn_table_size
            )?;
        }
        write_title(f, self.format)?;
        for entry in &self.table.entries {
            self.write_entry(f, entry)?;
        }
        Ok(())
    }
}

/// ipvsadm's `print_title`.
fn write_title(f: &mut fmt::Formatter<'_>, format: ListFormat) -> fmt::Result {
    let columns = |f: &mut fmt::Formatter<'_>, names: [&str; 5]| {
        let [a, b, c, d, e] = names;
        writeln!(
            f,
            "{:<33} {a:>8} {b:>8} {c:>8} {d:>8} {e:>8}\n  -> RemoteAddress:Port",
            "Prot LocalAddress:Port"
        )
    };
    match format {
        ListFormat::Plain | ListFormat::Save => f.write_str(
            "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           \
             Forward Weight ActiveConn InActConn\n",
        ),
        ListFormat::Stats => columns(f, ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"]),
        ListFormat::Rate => columns(f, ["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"]),
        ListFormat::Thresholds => writeln!(
            f,
            "{:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port",
            "Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        ),
        ListFormat::PersistentConn => writeln!(
            f,
            "{:<33} {:<9} {:<11} {:<10} {:<10}\n  -> RemoteAddress:Port",
            "Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn", "InActConn"
        ),
    }
}

impl TableDisplay<'_> {
    /// One service line and its real servers (`print_service_entry`).
    fn write_entry(&self, f: &mut fmt::Formatter<'_>, entry: &TableEntry) -> fmt::Result {
        let svc = &entry.service;
        let name = service_name(&svc.key);
        let stats = svc.stats.as_deref().copied().unwrap_or_default();
        match self.format {
            ListFormat::Stats => {
                write!(f, "{name:<33}")?;
                self.write_numbers(f, totals(stats))?;
            }
            ListFormat::Rate => {
                write!(f, "{name:<33}")?;
                self.write_numbers(f, rates(stats))?;
            }
            _ => {
                write!(f, "{name} {}", svc.scheduler)?;
                let sched_flags = sched_flag_names(svc);
                if !sched_flags.is_empty() {
                    write!(f, " ({})", sched_flags.join(","))?;
                }
                if let Some(persistence) = Persistence::of(svc) {
                    write!(f, " persistent {}", persistence.timeout)?;
                    if let Some(mask) = persistence.mask {
                        write!(f, " mask {mask}")?;
                    }
                    if let Some(pe) = &svc.pe_name {
                        write!(f, " pe {pe}")?;
                    }
                }
                if svc.flags.contains(ServiceFlags::ONE_PACKET) {
                    f.write_str(" ops")?;
                }
            }
        }
        f.write_char('\n')?;
        let v6 = svc.key.family().is_v6();
        for rs in &entry.real_servers {
            let mut dest = addr_port(rs.addr);
            if !v6 {
                dest.truncate(28);
            }
            let rs_stats = rs.stats.as_deref().copied().unwrap_or_default();
            match self.format {
                ListFormat::Stats => {
                    write!(f, "  -> {dest:<28}")?;
                    self.write_numbers(f, totals(rs_stats))?;
                    f.write_char('\n')?;
                }
                ListFormat::Rate => {
                    // Connection and packet rates are never abbreviated
                    // for real servers, byte rates are.
                    let [cps, in_pps, out_pps, in_bps, out_bps] = rates(rs_stats);
                    write!(f, "  -> {dest:<28} {cps:>8} {in_pps:>8} {out_pps:>8}")?;
                    f.write_str(&self.number(in_bps))?;
                    f.write_str(&self.number(out_bps))?;
                    f.write_char('\n')?;
                }
                ListFormat::Thresholds => writeln!(
                    f,
                    "  -> {dest:<28} {:<10} {:<10} {:<10} {:<10}",
                    rs.upper_threshold, rs.lower_threshold, rs.active_conns, rs.inactive_conns
                )?,
                ListFormat::PersistentConn => writeln!(
                    f,
                    "  -> {dest:<28} {:<9} {:<11} {:<10} {:<10}",
                    rs.weight, rs.persistent_conns, rs.active_conns, rs.inactive_conns
                )?,
                _ => writeln!(
                    f,
                    "  -> {dest:<28} {:<7} {:<6} {:<10} {:<10}",
                    rs.forward.ipvsadm_name(),
                    rs.weight,
                    rs.active_conns,
                    rs.inactive_conns
                )?,
            }
        }
        Ok(())
    }

    /// Five counters.
    fn write_numbers(&self, f: &mut fmt::Formatter<'_>, values: [u64; 5]) -> fmt::Result {
        values
            .into_iter()
            .try_for_each(|value| f.write_str(&self.number(value)))
    }

    /// `print_largenum`, honouring [`TableDisplay::exact`].
    fn number(&self, value: u64) -> String {
        if self.exact {
            let digits = value.to_string();
            let width = if digits.len() <= 8 {
                9
            } else {
                digits.len() + 1
            };
            format!("{digits:>width$}")
        } else {
            large_number(value)
        }
    }
}

/// `TCP  10.0.0.1:80`, `SCTP 10.0.0.3:3868`, `FWM  5`, `FWM  5 IPv6`.
fn service_name(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Fwmark {
            family: Family::Inet,
            mark,
        } => format!("FWM  {}", mark.cast_signed()),
        ServiceKey::Fwmark {
            family: Family::Inet6,
            mark,
        } => format!("FWM  {} IPv6", mark.cast_signed()),
        ServiceKey::Inet { protocol, addr } => {
            // ipvsadm pads the protocol to four columns: "TCP ", "SCTP".
            let proto = match protocol {
                Protocol::Tcp => "TCP ",
                Protocol::Udp => "UDP ",
                Protocol::Sctp => "SCTP",
                _ => "?   ",
            };
            let mut name = format!("{proto} {}", addr_port(*addr));
            if addr.is_ipv4() {
                name.truncate(33);
            }
            name
        }
    }
}

/// The names of a service's scheduler flags as ipvsadm prints them
/// (`print_sched_flags`): `sh-fallback`, `sh-port` for sh, `mh-fallback`,
/// `mh-port` for mh, `flag-1` .. `flag-3` otherwise.
fn sched_flag_names(svc: &VirtualService) -> Vec<&'static str> {
    let names: [&str; 3] = match svc.scheduler.name() {
        "sh" => ["sh-fallback", "sh-port", ""],
        "mh" => ["mh-fallback", "mh-port", ""],
        _ => ["flag-1", "flag-2", "flag-3"],
    };
    [
        ServiceFlags::SCHED1,
        ServiceFlags::SCHED2,
        ServiceFlags::SCHED3,
    ]
    .into_iter()
    .zip(names)
    .filter(|(flag, name)| svc.flags.contains(*flag) && !name.is_empty())
    .map(|(_, name)| name)
    .collect()
}

/// Conns, InPkts, OutPkts, InBytes, OutBytes.
fn totals(stats: Stats) -> [u64; 5] {
    [
        stats.conns,
        stats.in_packets,
        stats.out_packets,
        stats.in_bytes,
        stats.out_bytes,
    ]
}

/// CPS, InPPS, OutPPS, InBPS, OutBPS.
fn rates(stats: Stats) -> [u64; 5] {
    [
        stats.cps,
        stats.in_pps,
        stats.out_pps,
        stats.in_bps,
        stats.out_bps,
    ]
}

/// What a persistent service prints after `persistent` / `-p`.
struct Persistence {
    /// Timeout in seconds.
    timeout: u32,
    /// The mask, unless it is the family's full one: dotted for IPv4, a
    /// prefix length for IPv6.
    mask: Option<String>,
}

impl Persistence {
    /// `None` for a service that is not persistent.
    fn of(svc: &VirtualService) -> Option<Persistence> {
        if !svc.flags.contains(ServiceFlags::PERSISTENT) {
            return None;
        }
        let mask = match svc.netmask {
            Netmask::Ipv4(mask) if mask != Ipv4Addr::BROADCAST => Some(mask.to_string()),
            Netmask::Ipv6Prefix(prefix) if prefix != 128 => Some(prefix.to_string()),
            _ => None,
        };
        Some(Persistence {
            timeout: svc.timeout,
            mask,
        })
    }
}

/// ipvsadm's `print_largenum` without `--exact`: nine columns, with K/M/G/T
/// above 100 million.
pub(crate) fn large_number(value: u64) -> String {
    match value {
        v if v < 100_000_000 => format!("{v:>9}"),
        v if v < 1_000_000_000 => format!("{:>8}K", v / 1_000),
        v if v < 100_000_000_000 => format!("{:>8}M", v / 1_000_000),
        v if v < 100_000_000_000_000 => format!("{:>8}G", v / 1_000_000_000),
        v => format!("{:>8}T", v / 1_000_000_000_000),
    }
}

/// `10.0.0.1:80` or `[2001:db8::1]:80`, with glibc's `inet_ntop` spelling
/// of IPv6.
fn addr_port(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(v4) => format!("{v4}:{}", addr.port()),
        IpAddr::V6(v6) => format!("[{}]:{}", ipv6_like_glibc(v6), addr.port()),
    }
}

/// Rust prints IPv6 like glibc except the deprecated IPv4-compatible form
/// (`::a.b.c.d`), which glibc prints dotted.
fn ipv6_like_glibc(addr: Ipv6Addr) -> String {
    let [s0, s1, s2, s3, s4, s5, high, low] = addr.segments();
    if [s0, s1, s2, s3, s4, s5] == [0; 6] && high != 0 {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        format!("::{a}.{b}.{c}.{d}")
    } else {
        addr.to_string()
    }
}

/// `int` subtraction of two unsigned values, as C computes it.
fn c_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// libipvs `ipvs_cmp_services`.
fn cmp_services(a: &VirtualService, b: &VirtualService) -> i32 {
    let fwmark = |svc: &VirtualService| match svc.key {
        ServiceKey::Fwmark { mark, .. } => mark,
        ServiceKey::Inet { .. } => 0,
    };
    let protocol = |svc: &VirtualService| match svc.key {
        ServiceKey::Inet { protocol, .. } => i32::from(protocol.number()),
        ServiceKey::Fwmark { .. } => 0,
    };
    let addr = |svc: &VirtualService| match svc.key {
        ServiceKey::Inet { addr, .. } => addr,
        ServiceKey::Fwmark {
            family: Family::Inet,
            ..
        } => SocketAddr::from(([0u8; 4], 0)),
        ServiceKey::Fwmark {
            family: Family::Inet6,
            ..
        } => SocketAddr::from(([0u16; 8], 0)),
    };
    let r = c_diff(fwmark(a), fwmark(b));
    if r != 0 {
        return r;
    }
    let r = i32::from(a.key.family().af()) - i32::from(b.key.family().af());
    if r != 0 {
        return r;
    }
    let r = protocol(a) - protocol(b);
    if r != 0 {
        return r;
    }
    cmp_addrs(addr(a), addr(b))
}

/// libipvs `ipvs_cmp_dests` (and the address part of
/// `ipvs_cmp_services`): address words, then port.
fn cmp_addrs(a: SocketAddr, b: SocketAddr) -> i32 {
    let words = |ip: IpAddr| -> [u32; 4] {
        match ip {
            IpAddr::V4(v4) => [u32::from(v4), 0, 0, 0],
            IpAddr::V6(v6) => {
                let [a, b, c, d, e, f, g, h] = v6.segments().map(u32::from);
                [a << 16 | b, c << 16 | d, e << 16 | f, g << 16 | h]
            }
        }
    };
    let r = words(a.ip())
        .into_iter()
        .zip(words(b.ip()))
        .map(|(x, y)| c_diff(x, y))
        .find(|r| *r != 0)
        .unwrap_or(0);
    if r != 0 {
        return r;
    }
    i32::from(a.port()) - i32::from(b.port())
}

/// glibc's `msort`: top-down merge sort, left half first on ties. Unlike
/// `slice::sort_by` it is fine with the non-transitive comparisons above.
fn merge_sort_by<T>(items: &mut Vec<T>, cmp: impl Fn(&T, &T) -> i32 + Copy) {
    if items.len() < 2 {
        return;
    }
    let mut right = items.split_off(items.len() / 2);
    merge_sort_by(items, cmp);
    merge_sort_by(&mut right, cmp);
    let left = std::mem::take(items);
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (Some(l), Some(r)) => cmp(l, r) <= 0,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_left { left.next() } else { right.next() };
        items.extend(next);
    }
}

mod rules;
#[cfg(test)]
mod tests;
