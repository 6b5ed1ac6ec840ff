//! kube-proxy's sysctls, written under `/proc/sys` only when they differ.
//! (The IPVS timeouts go over netlink: [`IpvsWriter::set_timeouts`].)
//!
//! [`IpvsWriter::set_timeouts`]: super::ipvs::IpvsWriter::set_timeouts

use std::{
    io,
    path::{Path, PathBuf},
};

/// One sysctl: a path under `/proc/sys` and its wanted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctl {
    /// The path under `/proc/sys`, e.g. `net/ipv4/vs/conntrack`.
    pub path: &'static str,
    /// The value.
    pub value: &'static str,
}

const fn sysctl(path: &'static str, value: &'static str) -> Sysctl {
    Sysctl { path, value }
}

/// kube-proxy's sysctls for IPVS mode (proxier.go `NewProxier`):
/// `vs/conntrack=1`, `vs/expire_nodest_conn=1`,
/// `vs/expire_quiescent_template=1`, `ip_forward=1`;
/// `vs/conn_reuse_mode=0` only for kernels 4.1 ≤ k < 5.9 (left as-is from
/// 5.9, kubernetes#93297); with strict ARP `conf/all/arp_ignore=1` and
/// `conf/all/arp_announce=2`. `kernel` is `(major, minor)` of the running
/// kernel ([`kernel_version`]).
pub fn kube_proxy(strict_arp: bool, kernel: Option<(u32, u32)>) -> Vec<Sysctl> {
    let mut list = vec![sysctl("net/ipv4/vs/conntrack", "1")];
    if kernel.is_some_and(|k| ((4, 1)..(5, 9)).contains(&k)) {
        list.push(sysctl("net/ipv4/vs/conn_reuse_mode", "0"));
    }
    list.extend([
        sysctl("net/ipv4/vs/expire_nodest_conn", "1"),
        sysctl("net/ipv4/vs/expire_quiescent_template", "1"),
        sysctl("net/ipv4/ip_forward", "1"),
    ]);
    if strict_arp {
        list.extend([
            sysctl("net/ipv4/conf/all/arp_ignore", "1"),
            sysctl("net/ipv4/conf/all/arp_announce", "2"),
        ]);
    }
    list
}

/// `(major, minor)` of a kernel release string such as `6.1.0-28-amd64`.
pub fn parse_kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// `(major, minor)` of the running kernel, from
/// `/proc/sys/kernel/osrelease`.
pub fn kernel_version() -> Option<(u32, u32)> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .and_then(|r| parse_kernel_version(&r))
}

/// Whether a write failed for want of permission: a read-only `/proc/sys`
/// (`EROFS`, as in an unprivileged container) or `EACCES`/`EPERM`.
fn is_denied(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
    )
}

/// Errors of the sysctl writer.
#[derive(Debug, thiserror::Error)]
pub enum SysctlError {
    /// An IPVS sysctl is missing: the module is not loaded.
    #[error("sysctl {path} does not exist: load IPVS with `modprobe ip_vs`")]
    IpvsMissing {
        /// The sysctl.
        path: String,
    },
    /// Any other sysctl is missing.
    #[error("sysctl {path} does not exist on this kernel")]
    Missing {
        /// The sysctl.
        path: String,
    },
    /// The sysctl has another value and cannot be written: `/proc/sys` is
    /// read-only (an unprivileged container) or the process may not write
    /// it. kube-proxy's `EnsureSysctl` fails the same way ("can't set
    /// sysctl"); the value has to be set beforehand, by a privileged init
    /// container (`--init-only`) or on the node.
    #[error(
        "can't set sysctl {path} to {value} (it is {current}): {source}; set it beforehand \
         (`kube-ipvs-proxier --init-only` in a privileged init container, or \
         `sysctl -w {dotted}={value}` on the node)",
        dotted = .path.replace('/', ".")
    )]
    Denied {
        /// The sysctl.
        path: String,
        /// Its wanted value.
        value: String,
        /// Its current value.
        current: String,
        /// The error (`EROFS`, `EACCES` or `EPERM`).
        #[source]
        source: io::Error,
    },
    /// Reading or writing failed.
    #[error("sysctl {path}: {source}")]
    Io {
        /// The sysctl.
        path: String,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// Writer of sysctls.
#[derive(Debug, Clone)]
pub struct SysctlWriter {
    root: PathBuf,
    writes: u64,
}

impl Default for SysctlWriter {
    fn default() -> Self {
        Self::new("/proc/sys")
    }
}

impl SysctlWriter {
    /// A writer under `root` (`/proc/sys`; another directory in tests).
    pub fn new(root: impl AsRef<Path>) -> Self {
        SysctlWriter {
            root: root.as_ref().to_owned(),
            writes: 0,
        }
    }

    /// Values written so far.
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// Sets one sysctl if it differs; returns whether it wrote.
    pub fn set(&mut self, sysctl: &Sysctl) -> Result<bool, SysctlError> {
        let file = self.root.join(sysctl.path);
        let io_error = |source: io::Error| {
            let path = sysctl.path.to_owned();
            match source.kind() {
                io::ErrorKind::NotFound if sysctl.path.contains("/vs/") => {
                    SysctlError::IpvsMissing { path }
                }
                io::ErrorKind::NotFound => SysctlError::Missing { path },
                _ => SysctlError::Io { path, source },
            }
        };
        let current = std::fs::read_to_string(&file).map_err(io_error)?;
        if current.trim() == sysctl.value {
            return Ok(false);
        }
        self.writes += 1;
        std::fs::write(&file, format!("{}\n", sysctl.value)).map_err(|source| {
            if is_denied(&source) {
                SysctlError::Denied {
                    path: sysctl.path.to_owned(),
                    value: sysctl.value.to_owned(),
                    current: current.trim().to_owned(),
                    source,
                }
            } else {
                io_error(source)
            }
        })?;
        Ok(true)
    }

    /// Sets every sysctl that differs; one result per sysctl, in order.
    pub fn apply(&mut self, sysctls: &[Sysctl]) -> Vec<Result<bool, SysctlError>> {
        sysctls.iter().map(|s| self.set(s)).collect()
    }

    /// Sets the sysctls in order and stops at the first that cannot be
    /// set, as kube-proxy's `EnsureSysctl` calls in `NewProxier` (each
    /// failure ends its start). Returns how many were written.
    pub fn ensure(&mut self, sysctls: &[Sysctl]) -> Result<usize, SysctlError> {
        let mut written = 0;
        for sysctl in sysctls {
            written += usize::from(self.set(sysctl)?);
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conn_reuse_mode_only_on_old_kernels() {
        let has = |k| {
            kube_proxy(false, k)
                .iter()
                .any(|s| s.path.ends_with("conn_reuse_mode"))
        };
        assert!(has(Some((4, 19))));
        assert!(!has(Some((5, 9))));
        assert!(!has(Some((6, 1))));
        assert!(!has(None));
        assert_eq!(kube_proxy(true, None).len(), 6);
        assert_eq!(parse_kernel_version("6.1.0-28-amd64\n"), Some((6, 1)));
    }

    #[test]
    fn writes_only_differences() {
        let dir = std::env::temp_dir().join(format!("sysctl-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("net/ipv4")).unwrap();
        std::fs::write(dir.join("net/ipv4/ip_forward"), "1\n").unwrap();
        let mut writer = SysctlWriter::new(&dir);
        let forward = sysctl("net/ipv4/ip_forward", "1");
        assert!(!writer.set(&forward).unwrap());
        std::fs::write(dir.join("net/ipv4/ip_forward"), "0\n").unwrap();
        assert!(writer.set(&forward).unwrap());
        assert_eq!(writer.writes(), 1);
        let err = writer
            .set(&sysctl("net/ipv4/vs/conntrack", "1"))
            .unwrap_err();
        assert!(err.to_string().contains("modprobe ip_vs"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_denied_write_names_the_sysctl_and_the_fix() {
        let source = io::Error::from_raw_os_error(30);
        assert!(is_denied(&source));
        assert!(is_denied(&io::Error::from_raw_os_error(13)));
        assert!(!is_denied(&io::Error::from_raw_os_error(2)));
        let err = SysctlError::Denied {
            path: "net/ipv4/vs/conntrack".into(),
            value: "1".into(),
            current: "0".into(),
            source,
        };
        let text = err.to_string();
        for part in [
            "can't set sysctl net/ipv4/vs/conntrack to 1 (it is 0)",
            "--init-only",
            "sysctl -w net.ipv4.vs.conntrack=1",
        ] {
            assert!(text.contains(part), "{text}");
        }
    }

    #[test]
    fn ensure_stops_at_the_first_failure() {
        let dir = std::env::temp_dir().join(format!("sysctl-ensure-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("net/ipv4/vs")).unwrap();
        for name in ["ip_forward", "vs/conntrack", "vs/expire_quiescent_template"] {
            std::fs::write(dir.join("net/ipv4").join(name), "0\n").unwrap();
        }
        let wanted = kube_proxy(false, Some((6, 1)));
        let mut writer = SysctlWriter::new(&dir);
        // vs/expire_nodest_conn is missing: an error naming it, and
        // nothing after it is written.
        let err = writer.ensure(&wanted).unwrap_err();
        assert!(
            matches!(&err, SysctlError::IpvsMissing { path } if path == "net/ipv4/vs/expire_nodest_conn"),
            "{err}"
        );
        let read = |name: &str| std::fs::read_to_string(dir.join("net/ipv4").join(name)).unwrap();
        assert_eq!(read("vs/conntrack"), "1\n");
        assert_eq!(read("vs/expire_quiescent_template"), "0\n");
        assert_eq!(read("ip_forward"), "0\n");
        std::fs::write(dir.join("net/ipv4/vs/expire_nodest_conn"), "1\n").unwrap();
        assert_eq!(writer.ensure(&wanted).unwrap(), 2);
        assert_eq!(writer.ensure(&wanted).unwrap(), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
