//! ipset writer: a thin adapter over [`IpsetHandle`] that creates the
//! kube-proxy sets with kube-proxy's options, applies minimal adds and
//! deletes per set in batches, and counts the messages it sends.
//!
//! kube-proxy's options: hash types `family inet|inet6 hashsize 1024
//! maxelem 65536`; bitmap:port `range 0-65535`.

use std::collections::{BTreeMap, BTreeSet};

use ipset_netlink::{CreateOptions, Entry, Family, IpsetError, IpsetHandle, SetType};

/// Errors of the ipset writer.
#[derive(Debug, thiserror::Error)]
pub enum IpsetWriterError {
    /// The ipset subsystem could not be reached.
    #[error("cannot open ipset (is the ip_set module loaded? `modprobe ip_set`): {0}")]
    Connect(#[source] IpsetError),
    /// The kernel lacks a set type.
    #[error("set {set}: the kernel has no {type_name} support (`modprobe {module}`)")]
    TypeMissing {
        /// The set.
        set: String,
        /// The set type.
        type_name: String,
        /// The module to load.
        module: String,
    },
    /// Any other failure on one set.
    #[error("set {set}: {source}")]
    Set {
        /// The set.
        set: String,
        /// The library error.
        #[source]
        source: IpsetError,
    },
}

impl IpsetWriterError {
    fn on(set: &str, source: IpsetError) -> Self {
        match source {
            IpsetError::TypeNotSupported { type_name, .. } => IpsetWriterError::TypeMissing {
                set: set.to_owned(),
                module: format!("ip_set_{}", type_name.replace(':', "_").replace(',', "")),
                type_name,
            },
            source => IpsetWriterError::Set {
                set: set.to_owned(),
                source,
            },
        }
    }
}

/// One set as the kernel holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetState {
    /// The type (`None` if the kernel reported one this library does not
    /// know).
    pub set_type: Option<SetType>,
    /// The family (`None` for bitmap:port).
    pub family: Option<Family>,
    /// The members.
    pub entries: BTreeSet<Entry>,
}

/// kube-proxy's create options for a set type and family.
pub fn create_options(set_type: SetType, family: Family) -> CreateOptions {
    if set_type.is_bitmap() {
        CreateOptions::new(Family::Inet).range(0, u16::MAX)
    } else {
        CreateOptions::new(family).hashsize(1024).maxelem(65536)
    }
}

/// Writer of ipsets.
#[derive(Debug)]
pub struct IpsetWriter {
    handle: IpsetHandle,
    per_message: usize,
    messages: u64,
}

impl IpsetWriter {
    /// Opens the ipset subsystem.
    pub async fn connect() -> Result<Self, IpsetWriterError> {
        let handle = IpsetHandle::connect()
            .await
            .map_err(IpsetWriterError::Connect)?;
        let per_message = handle.element_limits().per_message;
        Ok(IpsetWriter {
            handle,
            per_message,
            messages: 0,
        })
    }

    /// Mutating messages sent so far.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Every set whose name starts with `prefix`, with its members (one
    /// dump of every set).
    pub async fn dump(&self, prefix: &str) -> Result<BTreeMap<String, SetState>, IpsetWriterError> {
        let sets = self
            .handle
            .list_all()
            .await
            .map_err(|e| IpsetWriterError::on("*", e))?;
        Ok(sets
            .into_iter()
            .filter(|set| set.name.starts_with(prefix))
            .map(|set| {
                let state = SetState {
                    set_type: set.set_type,
                    family: set.set_type.filter(|t| !t.is_bitmap()).and(set.family),
                    entries: set.members.into_iter().collect(),
                };
                (set.name, state)
            })
            .collect())
    }

    /// Creates a set with kube-proxy's options unless an identical one
    /// exists (`create -exist`).
    pub async fn create(
        &mut self,
        name: &str,
        set_type: SetType,
        family: Family,
    ) -> Result<(), IpsetWriterError> {
        self.messages += 1;
        self.handle
            .ensure(name, set_type, &create_options(set_type, family))
            .await
            .map_err(|e| IpsetWriterError::on(name, e))
    }

    /// Destroys a set (fails with "in use" while an iptables rule
    /// references it).
    pub async fn destroy(&mut self, name: &str) -> Result<(), IpsetWriterError> {
        self.messages += 1;
        match self.handle.destroy(name).await {
            Ok(()) | Err(IpsetError::SetNotFound { .. }) => Ok(()),
            Err(e) => Err(IpsetWriterError::on(name, e)),
        }
    }

    /// Deletes and adds members of one set, many per message, with
    /// `-exist` so drift does not fail the batch.
    pub async fn apply(
        &mut self,
        name: &str,
        delete: &[Entry],
        add: &[Entry],
    ) -> Result<(), IpsetWriterError> {
        if !delete.is_empty() {
            self.messages += delete.len().div_ceil(self.per_message) as u64;
            self.handle
                .del_all(name, delete, true)
                .await
                .map_err(|e| IpsetWriterError::on(name, e))?;
        }
        if !add.is_empty() {
            self.messages += add.len().div_ceil(self.per_message) as u64;
            self.handle
                .add_all(name, add, true)
                .await
                .map_err(|e| IpsetWriterError::on(name, e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_proxy_options() {
        let o = create_options(SetType::HashIpPort, Family::Inet6);
        assert_eq!(o.family, Family::Inet6);
        assert_eq!((o.hashsize, o.maxelem), (Some(1024), Some(65536)));
        let o = create_options(SetType::BitmapPort, Family::Inet6);
        assert_eq!(o.range, (0, 65535));
    }

    #[test]
    fn missing_type_names_the_module() {
        let err = IpsetWriterError::on(
            "KUBE-CLUSTER-IP",
            IpsetError::TypeNotSupported {
                set: "KUBE-CLUSTER-IP".into(),
                type_name: "hash:ip,port".into(),
            },
        );
        assert!(
            err.to_string().contains("modprobe ip_set_hash_ipport"),
            "{err}"
        );
    }
}
