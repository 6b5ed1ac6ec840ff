//! kube-proxy exits when its `--config` file changes ("content of the
//! proxy server's configuration file was updated"), so that the DaemonSet
//! restarts it with the new configuration.
//!
//! kube-proxy uses an inotify watch (fsnotify, Write or Rename). This
//! proxier reads the file every [`PERIOD`] and compares its bytes with
//! those it started with: reading the path follows the symlinks a
//! ConfigMap volume is made of, so the kubelet's update (a new
//! `..data_tmp` directory renamed over `..data`) is seen like an edit in
//! place, with no watch to re-arm on the replaced inode, and no
//! dependency. A config file is a few kilobytes; reading it every two
//! seconds costs nothing measurable. A file that cannot be read for a
//! while (mid-update) is not a change; one that comes back different is.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use tracing::warn;

/// How often the file is read.
pub const PERIOD: Duration = Duration::from_secs(2);

/// The file's content changed since the start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("content of the proxy server's configuration file was updated ({path})")]
pub struct ConfigChanged {
    /// The file.
    pub path: String,
}

/// The file and the content it had at the start.
#[derive(Debug)]
pub struct ConfigWatch {
    path: PathBuf,
    start: Option<Vec<u8>>,
    unreadable: bool,
}

impl ConfigWatch {
    /// Remembers the content of `path` now.
    pub fn new(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref().to_owned();
        let start = std::fs::read(&path).ok();
        ConfigWatch {
            path,
            start,
            unreadable: false,
        }
    }

    /// Reads the file again: an error when its content differs from the
    /// start's. An unreadable file is logged once and waited out.
    pub fn check(&mut self) -> Result<(), ConfigChanged> {
        match std::fs::read(&self.path) {
            Ok(now) => {
                self.unreadable = false;
                match &self.start {
                    Some(start) if *start == now => Ok(()),
                    Some(_) => Err(ConfigChanged {
                        path: self.path.display().to_string(),
                    }),
                    // Unreadable at the start: this is the content run with.
                    None => {
                        self.start = Some(now);
                        Ok(())
                    }
                }
            }
            Err(err) => {
                if !self.unreadable {
                    warn!("configuration file {}: {err}", self.path.display());
                    self.unreadable = true;
                }
                Ok(())
            }
        }
    }

    /// Checks every `period` until the content changes.
    pub async fn changed(mut self, period: Duration) -> ConfigChanged {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(changed) = self.check() {
                return changed;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("config-watch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn an_edit_in_place_is_a_change_a_rewrite_of_the_same_bytes_is_not() {
        let dir = dir("edit");
        let file = dir.join("config.conf");
        std::fs::write(&file, "mode: ipvs\n").unwrap();
        let mut watch = ConfigWatch::new(&file);
        assert_eq!(watch.check(), Ok(()));
        std::fs::write(&file, "mode: ipvs\n").unwrap();
        assert_eq!(watch.check(), Ok(()));
        std::fs::remove_file(&file).unwrap();
        assert_eq!(watch.check(), Ok(()), "a missing file is waited out");
        std::fs::write(&file, "mode: ipvs\nipvs: {strictARP: true}\n").unwrap();
        let changed = watch.check().unwrap_err();
        assert!(
            changed
                .to_string()
                .starts_with("content of the proxy server's configuration file was updated"),
            "{changed}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_configmap_symlink_swap_is_a_change() {
        // The kubelet's layout: config.conf -> ..data/config.conf,
        // ..data -> ..2026_01_01_v1; an update writes ..2026_01_01_v2,
        // links ..data_tmp to it and renames ..data_tmp over ..data.
        let dir = dir("swap");
        for (version, text) in [
            ("..v1", "mode: ipvs\n"),
            ("..v2", "mode: ipvs\nipvs: {strictARP: true}\n"),
        ] {
            std::fs::create_dir(dir.join(version)).unwrap();
            std::fs::write(dir.join(version).join("config.conf"), text).unwrap();
        }
        symlink("..v1", dir.join("..data")).unwrap();
        symlink("..data/config.conf", dir.join("config.conf")).unwrap();
        let mut watch = ConfigWatch::new(dir.join("config.conf"));
        assert_eq!(watch.check(), Ok(()));
        symlink("..v2", dir.join("..data_tmp")).unwrap();
        std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
        assert!(watch.check().is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn changed_resolves_on_the_first_check_after_the_change() {
        let dir = dir("async");
        let file = dir.join("config.conf");
        std::fs::write(&file, "a").unwrap();
        let watch = ConfigWatch::new(&file);
        let period = Duration::from_millis(20);
        let waiting = tokio::spawn(watch.changed(period));
        tokio::time::sleep(period * 5).await;
        assert!(!waiting.is_finished());
        std::fs::write(&file, "b").unwrap();
        let changed = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(changed.path, file.display().to_string());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
