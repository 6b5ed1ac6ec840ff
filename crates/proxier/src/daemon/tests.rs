//! The daemon's node context over the address seam, with an in-memory
//! fake of the kernel's addresses.

use std::collections::BTreeSet;

use super::*;
use crate::kernel::{AddressCacheError, LinkError};

/// The kernel's addresses as a test sets them; records the interfaces
/// it was asked to leave out.
struct FakeAddresses {
    addresses: Option<BTreeSet<IpAddr>>,
    asked: Vec<u32>,
}

impl FakeAddresses {
    fn new(addresses: &[&str]) -> Self {
        FakeAddresses {
            addresses: Some(addresses.iter().map(|a| ip(a)).collect()),
            asked: Vec::new(),
        }
    }

    /// Every read fails.
    fn failing() -> Self {
        FakeAddresses {
            addresses: None,
            asked: Vec::new(),
        }
    }
}

impl NodeAddresses for FakeAddresses {
    async fn local_addresses(
        &mut self,
        except: u32,
    ) -> Result<BTreeSet<IpAddr>, AddressCacheError> {
        self.asked.push(except);
        self.addresses
            .clone()
            .ok_or(AddressCacheError::Dump(LinkError::DumpInterrupted {
                operation: "dump addresses".to_owned(),
                attempts: 5,
            }))
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ips(addrs: &[&str]) -> Vec<IpAddr> {
    addrs.iter().map(|a| ip(a)).collect()
}

fn sources(node_ips: &[IpAddr]) -> AddressSources<'_> {
    AddressSources {
        bind_address: None,
        node_ips,
        kernel: None,
    }
}

#[tokio::test]
async fn without_node_ips_the_node_addresses_are_the_kernels() {
    let mut fake = FakeAddresses::new(&["127.0.0.1", "192.168.1.10", "fd00::10"]);
    let context = node_context("node-1", None, sources(&[]), Some(&mut fake), 7).await;
    assert_eq!(
        context.node_ips,
        ips(&["127.0.0.1", "192.168.1.10", "fd00::10"])
    );
    assert_eq!(context.primary_ips, ips(&["192.168.1.10", "fd00::10"]));
    assert_eq!(fake.asked, vec![7], "kube-ipvs0's index is left out");
}

#[tokio::test]
async fn node_ips_are_used_without_asking_the_kernel() {
    let node_ips = ips(&["10.0.0.1"]);
    let context = node_context(
        "node-1",
        None,
        sources(&node_ips),
        None::<&mut FakeAddresses>,
        7,
    )
    .await;
    assert_eq!(context.node_ips, node_ips);
    assert_eq!(context.primary_ips, node_ips);
}

#[tokio::test]
async fn unreadable_kernel_addresses_leave_the_nodes_own() {
    let node: Node = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "node-1"},
        "status": {"addresses": [{"type": "InternalIP", "address": "192.168.1.10"}]},
    }))
    .unwrap();
    let mut fake = FakeAddresses::failing();
    let context = node_context("node-1", Some(&node), sources(&[]), Some(&mut fake), 7).await;
    assert_eq!(context.node_ips, ips(&["192.168.1.10"]));
    assert_eq!(fake.asked.len(), 1);
}
