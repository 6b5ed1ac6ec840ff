//! `ipvsadm -Sn`: a table entry as the `-A` / `-a` rules `ipvsadm -R`
//! reads (ipvsadm 1.31 `print_service_entry` and `print_tunnel_rule` with
//! `FMT_RULE | FMT_NUMERIC`).

use std::fmt::{self, Write};

use super::{Persistence, TableEntry, addr_port, sched_flag_names};
use crate::{Family, ForwardMethod, Protocol, ServiceFlags, ServiceKey, Tunnel, TunnelType};

/// The `-A` line of a service and one `-a` line per real server.
pub(super) fn write_entry(f: &mut fmt::Formatter<'_>, entry: &TableEntry) -> fmt::Result {
    let svc = &entry.service;
    let name = service_option(&svc.key);
    write!(f, "-A {name} -s {}", svc.scheduler)?;
    if let Some(persistence) = Persistence::of(svc) {
        write!(f, " -p {}", persistence.timeout)?;
        if let Some(mask) = persistence.mask {
            write!(f, " -M {mask}")?;
        }
    }
    if let Some(pe) = &svc.pe_name {
        write!(f, " --pe {pe}")?;
    }
    if svc.flags.contains(ServiceFlags::ONE_PACKET) {
        f.write_str(" -o")?;
    }
    let sched_flags = sched_flag_names(svc);
    if !sched_flags.is_empty() {
        write!(f, " -b {}", sched_flags.join(","))?;
    }
    f.write_char('\n')?;
    for rs in &entry.real_servers {
        let dest = addr_port(rs.addr);
        let switch = match rs.forward {
            ForwardMethod::Masq => "-m",
            ForwardMethod::Tunnel(_) => "-i",
            ForwardMethod::Local | ForwardMethod::DirectRoute => "-g",
        };
        write!(f, "-a {name} -r {dest} {switch} -w {}", rs.weight)?;
        if let ForwardMethod::Tunnel(tunnel) = rs.forward {
            write_tunnel(f, tunnel)?;
        }
        f.write_char('\n')?;
    }
    Ok(())
}

/// `--tun-type gue --tun-port 6080 --tun-nocsum` and the like.
fn write_tunnel(f: &mut fmt::Formatter<'_>, tunnel: Tunnel) -> fmt::Result {
    // ipvsadm indexes its option names by the flags value.
    let checksum = match tunnel.flags {
        0 => "--tun-nocsum",
        Tunnel::CSUM => "--tun-csum",
        Tunnel::REMCSUM => "--tun-remcsum",
        _ => "",
    };
    match tunnel.kind {
        TunnelType::Ipip => f.write_str(" --tun-type ipip"),
        TunnelType::Gue => write!(f, " --tun-type gue --tun-port {} {checksum}", tunnel.port),
        TunnelType::Gre => write!(f, " --tun-type gre {checksum}"),
        TunnelType::Other(_) => Ok(()),
    }
}

/// `-t 10.0.0.1:80`, `-u [fd00::1]:53`, `--sctp-service ...`, `-f 5`,
/// `-f 5 -6`.
fn service_option(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Fwmark { family, mark } => {
            let v6 = if *family == Family::Inet6 { " -6" } else { "" };
            format!("-f {}{v6}", mark.cast_signed())
        }
        ServiceKey::Inet { protocol, addr } => {
            let option = match protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                Protocol::Sctp => "--sctp-service",
                _ => "--xxx-service",
            };
            format!("{option} {}", addr_port(*addr))
        }
    }
}
