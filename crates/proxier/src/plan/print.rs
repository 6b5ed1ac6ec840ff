//! Printing a plan the way a node would show it: `ipvsadm -Ln`,
//! `ipset save` and `iptables-restore` input.
//!
//! `ipset save` notes: kube-proxy creates hash sets with `family inet|inet6
//! hashsize 1024 maxelem 65536` and `bitmap:port` sets with `range
//! 0-65535`. ipset 7.x on current kernels lists hash sets with `bucketsize
//! 12 initval 0x…` appended; `bucketsize 12` is printed, the random
//! `initval` is left out so plans compare. Sets are printed in name order
//! (`ipset save` uses creation order), members in address order (`ipset
//! save` uses hash order).

use std::fmt::Write;

use ipset_netlink::SetType;
use ipvs_netlink::{Family, Info, Table, TableEntry};

use super::KernelPlan;

/// The IPVS part of a plan as a table (version 1.2.1, 4096 connections),
/// sorted like ipvsadm.
pub fn ipvs_table(plan: &KernelPlan) -> Table {
    let entries = plan
        .services
        .values()
        .map(|s| TableEntry::new(s.service.clone(), s.real_servers.clone()))
        .collect();
    let mut table = Table::new(Info::new(0x010201, 4096), entries);
    table.sort_like_ipvsadm();
    table
}

/// `ipvsadm -Ln`.
pub fn render_ipvs(plan: &KernelPlan) -> String {
    ipvs_table(plan).to_string()
}

/// `ipset save` of every set (see the module notes).
pub fn render_ipsets(plan: &KernelPlan) -> String {
    let mut out = String::new();
    for (name, set) in &plan.ipsets {
        let _ = match set.set_type {
            SetType::BitmapPort => writeln!(out, "create {name} bitmap:port range 0-65535"),
            other => writeln!(
                out,
                "create {name} {other} family {} hashsize 1024 maxelem 65536 bucketsize 12",
                set.family
            ),
        };
        for entry in &set.entries {
            let _ = writeln!(out, "add {name} {entry}");
        }
    }
    out
}

/// The `iptables-restore` / `ip6tables-restore` input of each family.
pub fn render_iptables(plan: &KernelPlan) -> String {
    let mut out = String::new();
    for (family, rules) in &plan.iptables {
        let tool = match family {
            Family::Inet => "iptables",
            Family::Inet6 => "ip6tables",
        };
        let _ = writeln!(out, "# {tool}-restore --noflush --counters");
        out.push_str(&rules.nat.text());
        out.push_str(&rules.filter.text());
    }
    out
}

/// Everything: IPVS, addresses bound to `kube-ipvs0`, ipsets, iptables,
/// each under a `#` heading.
pub fn render(plan: &KernelPlan) -> String {
    let mut out = String::from("# ipvsadm -Ln\n");
    out.push_str(&render_ipvs(plan));
    out.push_str("\n# ip addr show kube-ipvs0\n");
    for addr in &plan.bind_addrs {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        let _ = writeln!(out, "{addr}/{prefix}");
    }
    out.push_str("\n# ipset save\n");
    out.push_str(&render_ipsets(plan));
    out.push('\n');
    out.push_str(&render_iptables(plan));
    out
}
