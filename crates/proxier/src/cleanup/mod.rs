//! `--cleanup`: removes what this proxier (or kube-proxy in IPVS mode)
//! left on the node, and nothing else.
//!
//! kube-proxy's `ipvs.CleanupLeftovers` (pkg/proxy/ipvs/cleanup.go) flushes
//! the IPVS table, deletes `kube-ipvs0`, the jump rules and the KUBE chains
//! of both families, then the ipsets. [`cleanup`] does the same steps in the
//! same order, with these differences:
//!
//! * **IPVS: only our virtual servers, never a flush.** kube-proxy's
//!   `ipvs.Flush()` deletes every virtual server on the host, including
//!   ones other software made and ones inside `--ipvs-exclude-cidrs`. Here a
//!   virtual server is deleted only if it is ours ([`owned_services`]):
//!   the reconciler's ownership rule ([`claimed_by_ipsets`](crate::catalogue::owned::claimed_by_ipsets), read with the
//!   `KUBE-*` ipsets as they are before the cleanup and the host's
//!   addresses, so a NodePort is claimed only on one of those), **or** its address is
//!   bound on `kube-ipvs0` (as an address or as a local route). The second
//!   rule catches what the sets no longer name (a service whose set entry
//!   was lost, or a port added by hand on a service VIP): those addresses
//!   are Service VIPs, they stop being local when the interface goes, and a
//!   virtual server left on them would be a black hole. Firewall-mark
//!   services are never ours. A virtual server whose address is inside
//!   `--ipvs-exclude-cidrs` is kept, as the running proxier keeps it.
//! * **No module loading.** kube-proxy runs `modprobe -va ip_vs` and skips
//!   the whole cleanup if it fails. Here the IPVS step is skipped (and
//!   said so in [`CleanupReport::skipped`]) when the kernel has no IPVS
//!   family loaded, since then no virtual server can exist; the other steps
//!   still run. Likewise the ipset step is skipped when ipset cannot be
//!   opened (kube-proxy: "if ipset works").
//! * **Both families' ipsets.** kube-proxy destroys only the IPv4 names; the
//!   IPv6 copies (`KUBE-6-…`) stay behind. Here both are destroyed
//!   ([`owned_set_names`]). Only kube-proxy's set names are destroyed, not
//!   every set starting with the prefix.
//! * **The interface only if it is a dummy**, as kube-proxy's
//!   `DeleteDummyDevice`.
//! * **iptables in one restore per family.** The jumps from the built-in
//!   chains (matched by comment and target, as kube-proxy) and the KUBE
//!   chains ([`NAT_CHAINS`](crate::catalogue::iptables::NAT_CHAINS),
//!   [`FILTER_CHAINS`](crate::catalogue::iptables::FILTER_CHAINS)) found in
//!   `iptables-save` are removed with one `iptables-restore --noflush`
//!   (jumps deleted, chains flushed, then deleted). If that fails (a
//!   foreign rule still jumps to one of our chains), the rules are read
//!   again and each removal is done on its own, so one failure keeps only
//!   what it must.
//!
//! Every step reports its errors ([`CleanupReport::errors`]) and the
//! cleanup goes on. Only what exists is removed, so a second run removes
//! nothing and succeeds.

mod iptables;
mod ipvs;
mod report;

use std::{
    collections::{BTreeMap, BTreeSet},
    net::IpAddr,
};

use ipvs_netlink::{Family, IpvsError, ServiceKey};

pub use iptables::{RuleRemoval, removal_input};
pub use ipvs::owned_services;
pub use report::{CleanupReport, RemovedChain, RemovedJump};

use crate::{
    catalogue::{
        ipsets::{SETS, set_name},
        owned::ExcludeCidrs,
    },
    kernel::{
        IpsetWriter, IpsetWriterError, IptablesError, IptablesWriter, IpvsWriterError, LinkError,
        LinkWriter, SetState, iptables::Tools, link::INTERFACE,
    },
};

/// What to clean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupOptions {
    /// The dummy interface (`kube-ipvs0`).
    pub interface: String,
    /// The prefix of the ipsets read for the ownership rule (`KUBE-`).
    pub ipset_prefix: String,
    /// `--ipvs-exclude-cidrs`: virtual servers there are kept.
    pub exclude_cidrs: ExcludeCidrs,
    /// The iptables binaries per family (both families by default).
    pub iptables: BTreeMap<Family, Tools>,
}

impl Default for CleanupOptions {
    fn default() -> Self {
        CleanupOptions {
            interface: INTERFACE.to_owned(),
            ipset_prefix: "KUBE-".to_owned(),
            exclude_cidrs: ExcludeCidrs::default(),
            iptables: Family::ALL
                .into_iter()
                .map(|family| (family, Tools::of(family)))
                .collect(),
        }
    }
}

/// One failed cleanup step.
#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    /// Reading or destroying ipsets.
    #[error("ipset: {0}")]
    Ipset(#[from] IpsetWriterError),
    /// Opening or dumping IPVS.
    #[error("IPVS: {0}")]
    Ipvs(#[from] IpvsWriterError),
    /// Deleting one virtual server.
    #[error("IPVS: delete service {key}: {source}")]
    DeleteService {
        /// The service.
        key: ServiceKey,
        /// The kernel's answer.
        #[source]
        source: IpvsError,
    },
    /// Reading or deleting the dummy interface.
    #[error("interface: {0}")]
    Link(#[from] LinkError),
    /// One iptables step (`step` names the family, table and object).
    #[error("{step}: {source}")]
    Iptables {
        /// What was attempted.
        step: String,
        /// The tool's failure.
        #[source]
        source: IptablesError,
    },
}

/// kube-proxy's ipset names in both families: the IPv4 names and their
/// `KUBE-6-` copies.
pub fn owned_set_names() -> BTreeSet<String> {
    SETS.iter()
        .flat_map(|def| Family::ALL.map(|family| set_name(def.name, family)))
        .collect()
}

/// Every address of the host outside the dummy `link` (all of them when
/// there is no dummy): the addresses NodePort virtual servers can be on.
async fn host_addresses(link: Option<&LinkWriter>) -> Result<BTreeSet<IpAddr>, LinkError> {
    if let Some(link) = link {
        return link.local_addresses().await;
    }
    // No dummy: the addresses of every interface, `lo`'s included.
    let Some(lo) = LinkWriter::open("lo").await? else {
        return Ok(BTreeSet::new());
    };
    let mut addrs = lo.local_addresses().await?;
    addrs.extend(lo.addresses().await?);
    Ok(addrs)
}

/// Removes this proxier's kernel state (see the module docs): IPVS virtual
/// servers, `kube-ipvs0`, the iptables jumps and chains of both families,
/// then the ipsets. Never stops at a failed step.
pub async fn cleanup(options: &CleanupOptions) -> CleanupReport {
    let mut report = CleanupReport::default();

    // What the ownership rule reads, before anything is removed.
    let mut ipset = match IpsetWriter::connect().await {
        Ok(writer) => Some(writer),
        Err(err) => {
            report.skipped.push(format!("ipsets: {err}"));
            None
        }
    };
    let sets: BTreeMap<String, SetState> = match &ipset {
        Some(writer) => writer
            .dump(&options.ipset_prefix)
            .await
            .unwrap_or_else(|err| {
                report.errors.push(err.into());
                BTreeMap::new()
            }),
        None => BTreeMap::new(),
    };
    let mut link = LinkWriter::open(&options.interface)
        .await
        .unwrap_or_else(|err| {
            report.errors.push(err.into());
            None
        });
    let bound: BTreeSet<IpAddr> = match &link {
        Some(link) => match link.bindings().await {
            Ok(bindings) => bindings.all(),
            Err(err) => {
                report.errors.push(err.into());
                BTreeSet::new()
            }
        },
        None => BTreeSet::new(),
    };

    let node_addrs = host_addresses(link.as_ref()).await.unwrap_or_else(|err| {
        report.errors.push(err.into());
        BTreeSet::new()
    });

    ipvs::remove_services(options, &sets, &node_addrs, &bound, &mut report).await;

    if let Some(link) = &mut link {
        match link.delete_interface().await {
            Ok(deleted) => report.link_deleted = deleted,
            Err(err) => report.errors.push(err.into()),
        }
    }

    for (family, tools) in &options.iptables {
        let mut writer = IptablesWriter::new().with_tools(*family, tools.clone());
        iptables::remove_rules(&mut writer, *family, &mut report).await;
    }

    // After iptables: a set still referenced by a rule cannot be destroyed.
    if let Some(ipset) = &mut ipset {
        for name in owned_set_names() {
            if !sets.contains_key(&name) {
                continue;
            }
            match ipset.destroy(&name).await {
                Ok(()) => report.ipsets_destroyed.push(name),
                Err(err) => report.errors.push(err.into()),
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_names_cover_both_families() {
        let names = owned_set_names();
        assert_eq!(names.len(), 2 * SETS.len());
        assert!(names.contains("KUBE-CLUSTER-IP"));
        assert!(names.contains("KUBE-6-CLUSTER-IP"));
        assert!(names.contains("KUBE-6-NODE-PORT-LOCAL-SCTP-HAS"));
        assert!(names.contains("KUBE-NODE-PORT-LOCAL-SCTP-HASH"));
        assert!(!names.iter().any(|n| n == "KUBE-6-6-CLUSTER-IP"));
    }

    #[test]
    fn defaults_clean_kube_ipvs0_and_both_families() {
        let options = CleanupOptions::default();
        assert_eq!(options.interface, "kube-ipvs0");
        assert_eq!(options.ipset_prefix, "KUBE-");
        assert_eq!(options.iptables[&Family::Inet6].save, "ip6tables-save");
        assert_eq!(options.iptables[&Family::Inet].restore, "iptables-restore");
    }
}
