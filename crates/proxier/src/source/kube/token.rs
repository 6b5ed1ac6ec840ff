//! The bearer token of a token file (a kubeconfig's `tokenFile`, the
//! in-cluster `serviceaccount/token`), kept fresh as the kubelet rotates it.
//!
//! client-go (kube-proxy) re-reads the file when its copy is 50 s old and
//! forgets its copy after a 401, so the next request reads the file again
//! (`transport.NewCachedFileTokenSource`, `ResettableTokenSource`). kube-rs
//! re-reads on the same 50 s clock but not after a 401: a watch refused
//! after a rotation retries with the old token until the clock runs out.
//! This layer does what client-go does, and also re-reads as soon as the
//! file changes (its device, inode, size or modification time, checked
//! with one `stat` a request): the kubelet's swap of the projected volume's
//! `..data` symlink and a write-and-rename both give a new inode, so the
//! first request after a rotation carries the new token.

use std::{
    fs,
    future::Future,
    io,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant, SystemTime},
};

use http::{HeaderValue, Request, Response, StatusCode, header::AUTHORIZATION};
use tower::{BoxError, Layer, Service};
use tracing::{info, warn};

/// Re-read at least this often (client-go: a minute less a 10 s leeway).
const REREAD: Duration = Duration::from_secs(50);

/// What identifies a version of the file without reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
        }
    }
}

#[derive(Debug)]
struct Cached {
    header: HeaderValue,
    /// When it was read; `None` after a 401 (read again at the next request).
    read_at: Option<Instant>,
    stamp: Option<Stamp>,
}

/// A token file and the last token read from it (shared by every request).
#[derive(Debug)]
pub struct TokenFile {
    path: PathBuf,
    cached: Mutex<Cached>,
}

/// Reads the token: trimmed, not empty, usable in a header; with the
/// file's metadata (from just before the read) when it could be had.
fn read(path: &Path) -> io::Result<(HeaderValue, Option<fs::Metadata>)> {
    let meta = fs::metadata(path).ok();
    let text = fs::read_to_string(path)?;
    let token = text.trim();
    if token.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the file is empty",
        ));
    }
    let mut header = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "the token has characters a header cannot carry",
        )
    })?;
    header.set_sensitive(true);
    Ok((header, meta))
}

impl TokenFile {
    /// Reads PATH once (an error if it cannot be read: the client is not
    /// built without a token).
    pub fn open(path: impl Into<PathBuf>) -> io::Result<Arc<Self>> {
        let path = path.into();
        let (header, meta) = read(&path)?;
        Ok(Arc::new(Self {
            path,
            cached: Mutex::new(Cached {
                header,
                read_at: Some(Instant::now()),
                stamp: meta.as_ref().map(Stamp::of),
            }),
        }))
    }

    /// The `Authorization` header for a request: the cached token, read
    /// again when the file changed, after a 401, or when 50 s old. A file
    /// that cannot be read keeps the last token (as client-go), with a
    /// warning.
    pub fn header(&self) -> HeaderValue {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        let stamp = fs::metadata(&self.path).ok().map(|m| Stamp::of(&m));
        let stale = match cached.read_at {
            None => true,
            Some(at) => at.elapsed() >= REREAD || (stamp.is_some() && stamp != cached.stamp),
        };
        if !stale {
            return cached.header.clone();
        }
        match read(&self.path) {
            Ok((header, meta)) => {
                if header != cached.header {
                    let age = meta
                        .as_ref()
                        .and_then(|m| m.modified().ok())
                        .and_then(|m| SystemTime::now().duration_since(m).ok())
                        .map_or_else(|| "?".to_owned(), |d| format!("{:.1}", d.as_secs_f64()));
                    info!(
                        "read a new token from {} (the file was written {age} s ago); using it from now on",
                        self.path.display()
                    );
                }
                cached.header = header;
                cached.stamp = meta.as_ref().map(Stamp::of);
            }
            Err(err) => warn!(
                "cannot read the token file {} ({err}); keeping the last token read",
                self.path.display()
            ),
        }
        cached.read_at = Some(Instant::now());
        cached.header.clone()
    }

    /// A 401 to a request sent at `sent`: the token read before it is
    /// read again at the next request (client-go's `ResetTokenOlderThan`).
    pub fn unauthorized(&self, sent: Instant) {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if cached.read_at.is_some_and(|at| at <= sent) {
            cached.read_at = None;
        }
    }
}

/// Sets `Authorization` from a [`TokenFile`] on every request.
#[derive(Clone, Debug)]
pub struct TokenFileLayer(pub Arc<TokenFile>);

impl<S> Layer<S> for TokenFileLayer {
    type Service = TokenFileAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TokenFileAuth {
            inner,
            token: self.0.clone(),
        }
    }
}

/// The service of [`TokenFileLayer`].
#[derive(Debug)]
pub struct TokenFileAuth<S> {
    inner: S,
    token: Arc<TokenFile>,
}

impl<S, B, RB> Service<Request<B>> for TokenFileAuth<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<RB>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<RB>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let sent = Instant::now();
        request
            .headers_mut()
            .insert(AUTHORIZATION, self.token.header());
        let response = self.inner.call(request);
        let token = self.token.clone();
        Box::pin(async move {
            let response = response.await.map_err(Into::into)?;
            if response.status() == StatusCode::UNAUTHORIZED {
                token.unauthorized(sent);
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(file: &TokenFile) -> String {
        file.header().to_str().unwrap().to_owned()
    }

    #[test]
    fn a_replaced_file_is_read_at_the_next_request_and_a_401_forces_a_read() {
        let dir = std::env::temp_dir().join(format!("kpvs-token-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        fs::write(&path, "one\n").unwrap();
        let file = TokenFile::open(&path).unwrap();
        assert_eq!(bearer(&file), "Bearer one");
        // The kubelet's way: a new file renamed over the old (a new inode).
        fs::write(dir.join("token.tmp"), "two").unwrap();
        fs::rename(dir.join("token.tmp"), &path).unwrap();
        assert_eq!(bearer(&file), "Bearer two");
        // An unreadable file keeps the last token.
        fs::remove_file(&path).unwrap();
        assert_eq!(bearer(&file), "Bearer two");
        // A 401 makes the next request read the file, even if unchanged.
        fs::write(&path, "three").unwrap();
        assert_eq!(bearer(&file), "Bearer three");
        let sent = Instant::now();
        file.unauthorized(sent);
        assert!(file.cached.lock().unwrap().read_at.is_none());
        assert_eq!(bearer(&file), "Bearer three");
        // A 401 to a request sent before the last read changes nothing.
        file.unauthorized(sent);
        assert!(file.cached.lock().unwrap().read_at.is_some());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_empty_file_is_refused_at_the_start() {
        let dir = std::env::temp_dir().join(format!("kpvs-token-empty-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("token"), " \n").unwrap();
        assert!(TokenFile::open(dir.join("token")).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
