//! [`Table`]: a dumped IPVS table, printed exactly like `ipvsadm -Ln` and
//! `ipvsadm -Ln --stats` (ipvsadm 1.31, `print_title` /
//! `print_service_entry` / `print_largenum`).

use std::{
    fmt::{self, Write},
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
};

use crate::{
    Family, Info, Netmask, Protocol, RealServer, ServiceFlags, ServiceKey, VirtualService,
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
}

impl TableDisplay<'_> {
    /// Leaves out the `IP Virtual Server version ...` line, as
    /// `ipvsadm -Ln -t <service>` does when it lists one service.
    pub fn without_version_header(mut self) -> Self {
        self.version_header = false;
        self
    }
}

impl fmt::Display for TableDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.version_header {
            let (major, minor, patch) = self.table.info.version_triple();
            writeln!(
                f,
                "IP Virtual Server version {major}.{minor}.{patch} (size={})",
                self.table.info.conn_table_size
            )?;
        }
        match self.format {
            ListFormat::Plain => f.write_str(
                "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           \
                 Forward Weight ActiveConn InActConn\n",
            )?,
            ListFormat::Stats => writeln!(
                f,
                "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port",
                "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
            )?,
        }
        for entry in &self.table.entries {
            write_entry(f, entry, self.format)?;
        }
        Ok(())
    }
}

fn write_entry(f: &mut fmt::Formatter<'_>, entry: &TableEntry, format: ListFormat) -> fmt::Result {
    let svc = &entry.service;
    let name = service_name(&svc.key);
    match format {
        ListFormat::Plain => {
            write!(f, "{name} {}", svc.scheduler)?;
            write_service_flags(f, svc)?;
            f.write_char('\n')?;
        }
        ListFormat::Stats => {
            write!(f, "{name:<33}")?;
            write_stats(f, svc.stats.unwrap_or_default())?;
        }
    }
    let v6 = svc.key.family().is_v6();
    for rs in &entry.real_servers {
        let mut dest = addr_port(rs.addr);
        if !v6 {
            dest.truncate(28);
        }
        match format {
            ListFormat::Plain => writeln!(
                f,
                "  -> {dest:<28} {:<7} {:<6} {:<10} {:<10}",
                rs.forward.ipvsadm_name(),
                rs.weight,
                rs.active_conns,
                rs.inactive_conns
            )?,
            ListFormat::Stats => {
                write!(f, "  -> {dest:<28}")?;
                write_stats(f, rs.stats.unwrap_or_default())?;
            }
        }
    }
    Ok(())
}

/// `TCP  10.0.0.1:80`, `SCTP 10.0.0.3:3868`, `FWM  5`, `FWM  5 IPv6`.
fn service_name(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Fwmark {
            family: Family::Inet,
            mark,
        } => format!("FWM  {mark}"),
        ServiceKey::Fwmark {
            family: Family::Inet6,
            mark,
        } => format!("FWM  {mark} IPv6"),
        ServiceKey::Inet { protocol, addr } => {
            // ipvsadm pads the protocol to four columns: "TCP ", "SCTP".
            let proto = match protocol {
                Protocol::Tcp => "TCP ",
                Protocol::Udp => "UDP ",
                _ => "SCTP",
            };
            let mut name = format!("{proto} {}", addr_port(*addr));
            if addr.is_ipv4() {
                name.truncate(33);
            }
            name
        }
    }
}

/// ` (sh-fallback,sh-port)`, ` persistent 300 mask 255.255.255.0 pe sip`,
/// ` ops`.
fn write_service_flags(f: &mut fmt::Formatter<'_>, svc: &VirtualService) -> fmt::Result {
    let flags = svc.flags;
    let sched_flags = ServiceFlags::SCHED1 | ServiceFlags::SCHED2 | ServiceFlags::SCHED3;
    if flags.intersects(sched_flags) {
        let names: [&str; 2] = match svc.scheduler.name() {
            "sh" => ["sh-fallback", "sh-port"],
            "mh" => ["mh-fallback", "mh-port"],
            _ => ["flag-1", "flag-2"],
        };
        let [first, second] = names;
        let set: Vec<&str> = [
            (ServiceFlags::SCHED1, first),
            (ServiceFlags::SCHED2, second),
            (ServiceFlags::SCHED3, "flag-3"),
        ]
        .into_iter()
        .filter(|(flag, _)| flags.contains(*flag))
        .map(|(_, name)| name)
        .collect();
        write!(f, " ({})", set.join(","))?;
    }
    if flags.contains(ServiceFlags::PERSISTENT) {
        write!(f, " persistent {}", svc.timeout)?;
        match svc.netmask {
            Netmask::Ipv4(mask) if mask != Ipv4Addr::BROADCAST => write!(f, " mask {mask}")?,
            Netmask::Ipv6Prefix(prefix) if prefix != 128 => write!(f, " mask {prefix}")?,
            _ => {}
        }
        if let Some(pe) = &svc.pe_name {
            write!(f, " pe {pe}")?;
        }
    }
    if flags.contains(ServiceFlags::ONE_PACKET) {
        f.write_str(" ops")?;
    }
    Ok(())
}

fn write_stats(f: &mut fmt::Formatter<'_>, stats: crate::Stats) -> fmt::Result {
    for value in [
        stats.conns,
        stats.in_packets,
        stats.out_packets,
        stats.in_bytes,
        stats.out_bytes,
    ] {
        f.write_str(&large_number(value))?;
    }
    f.write_char('\n')
}

/// ipvsadm's `print_largenum` without `--exact`: nine columns, with K/M/G/T
/// above 100 million.
pub fn large_number(value: u64) -> String {
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

#[cfg(test)]
mod tests;
