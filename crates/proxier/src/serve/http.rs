//! The tiny HTTP/1 server shared by the health, health-check and metrics
//! servers: open a listener (retrying every 5 s like kube-proxy's
//! `wait.Until(…, 5*time.Second, …)` unless hard-fail), then answer every
//! request of every connection with one synchronous handler.
//!
//! A wildcard IPv4 address (`0.0.0.0`) listens on `[::]` first, as Go's
//! `net.Listen("tcp", "0.0.0.0:port")` does on Linux (one dual-stack
//! socket), and falls back to `0.0.0.0` when the host has no IPv6.
//!
//! Connections are bounded as [`super::limits`] says, so a flood of idle
//! or slow clients cannot exhaust the process's file descriptors or keep a
//! probe from being answered.

use std::{
    collections::{BTreeMap, HashMap},
    convert::Infallible,
    io,
    net::{Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    Request, Response, StatusCode,
    body::Incoming,
    header::{CONTENT_TYPE, HeaderName, HeaderValue},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    net::TcpListener,
    sync::OwnedSemaphorePermit,
    task::{self, AbortHandle, JoinSet},
};
use tracing::{debug, warn};

use super::{ServeError, limits::Limits};

/// The body of every response: a complete byte buffer.
pub type Body = Full<Bytes>;

/// A request handler: the response of a request, computed on the spot.
pub type Handler = Arc<dyn Fn(&Request<Incoming>) -> Response<Body> + Send + Sync>;

/// How long kube-proxy waits before it tries a failed listen again.
pub const BIND_RETRY: Duration = Duration::from_secs(5);

/// `X-Content-Type-Options`, set to `nosniff` on every kube-proxy answer.
pub const NOSNIFF: HeaderName = HeaderName::from_static("x-content-type-options");

/// Opens a listening socket on `addr` (see the module docs for `0.0.0.0`).
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    if addr.ip().is_unspecified() && addr.is_ipv4() {
        let dual = SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), addr.port());
        match listen_exact(dual) {
            Ok(listener) => return Ok(listener),
            Err(err) if err.kind() == io::ErrorKind::AddrInUse => return Err(err),
            Err(err) => debug!("listen on {dual}: {err}; trying {addr}"),
        }
    }
    listen_exact(addr)
}

fn listen_exact(addr: SocketAddr) -> io::Result<TcpListener> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    TcpListener::from_std(listener)
}

/// Opens the listener of server `what`; on failure logs a warning and
/// tries again every [`BIND_RETRY`], or returns the error if `hard_fail`
/// (kube-proxy's `bindAddressHardFail`).
pub async fn bind(
    addr: SocketAddr,
    what: &str,
    hard_fail: bool,
) -> Result<TcpListener, ServeError> {
    bind_every(addr, what, hard_fail, BIND_RETRY).await
}

/// [`bind`] retrying every `retry`.
pub async fn bind_every(
    addr: SocketAddr,
    what: &str,
    hard_fail: bool,
    retry: Duration,
) -> Result<TcpListener, ServeError> {
    loop {
        match listen(addr) {
            Ok(listener) => return Ok(listener),
            Err(source) => {
                let err = ServeError::Bind {
                    what: what.to_string(),
                    addr,
                    source,
                };
                if hard_fail {
                    return Err(err);
                }
                warn!("{err}; retrying in {retry:?}");
                tokio::time::sleep(retry).await;
            }
        }
    }
}

/// Serves `handler` on `listener` with the default [`Limits`] until the
/// returned future is dropped; dropping it closes the listener and every
/// open connection.
pub async fn serve(listener: TcpListener, handler: Handler) {
    serve_with(listener, handler, Limits::default()).await
}

/// [`serve`] within `limits`: a connection beyond the listener's bound or
/// the shared budget closes the listener's oldest connection (see
/// [`super::limits`]).
pub async fn serve_with(listener: TcpListener, handler: Handler, limits: Limits) {
    let mut connections = JoinSet::new();
    let mut open = Connections::default();
    let mut backoff = Duration::from_millis(5);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    backoff = Duration::from_millis(5);
                    let permit = open.admit(&limits);
                    let connection = connection(stream, handler.clone(), &limits);
                    let task = connections.spawn(async move {
                        if let Err(err) = connection.await {
                            debug!("connection from {peer}: {err}");
                        }
                    });
                    open.insert(task, permit);
                }
                Err(err) => {
                    // Like Go's http.Server on a temporary accept error
                    // (EMFILE …): wait, doubling up to 1 s, and go on.
                    warn!("accept: {err}; retrying in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            },
            Some(done) = connections.join_next_with_id(), if !connections.is_empty() => {
                let id = match &done {
                    Ok((id, ())) => *id,
                    Err(err) => err.id(),
                };
                open.remove(id);
            }
        }
    }
}

/// One connection served within `limits`: hyper's HTTP/1 with a header
/// timeout and size bound, ended after the connection's lifetime.
fn connection(
    stream: tokio::net::TcpStream,
    handler: Handler,
    limits: &Limits,
) -> impl Future<Output = Result<(), String>> + Send + 'static {
    let service = service_fn(move |request| {
        let handler = handler.clone();
        async move {
            // One request a turn: the proxier runs on one thread, and hyper
            // answers up to 16 pipelined requests of a connection before it
            // yields; yielding here (to after the I/O driver's next poll)
            // lets a new client, a probe, in between the requests of a
            // flood.
            tokio::task::yield_now().await;
            Ok::<_, Infallible>(handler(&request))
        }
    });
    let served = http1::Builder::new()
        .timer(TokioTimer::new())
        .title_case_headers(true)
        .header_read_timeout(limits.header_read)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .serve_connection(TokioIo::new(stream), service);
    let lifetime = limits.lifetime;
    async move {
        match tokio::time::timeout(lifetime, served).await {
            Ok(result) => result.map_err(|err| err.to_string()),
            Err(_) => Err(format!("closed after {lifetime:?}")),
        }
    }
}

/// A listener's open connections, oldest first, each with its permit of
/// the shared budget.
#[derive(Default)]
struct Connections {
    order: BTreeMap<u64, (AbortHandle, Option<OwnedSemaphorePermit>)>,
    seq_of: HashMap<task::Id, u64>,
    next: u64,
}

impl Connections {
    /// Room for one more connection, closing the oldest ones as needed to
    /// stay within the listener's bound and the shared budget: a permit of
    /// the budget, or none while the listener holds fewer than its
    /// [`Limits::guaranteed`] connections (so a flood of one listener never
    /// leaves another without a connection).
    fn admit(&mut self, limits: &Limits) -> Option<OwnedSemaphorePermit> {
        loop {
            let held = self.order.len();
            if held < limits.per_listener {
                if held < limits.guaranteed {
                    return None;
                }
                if let Some(permit) = limits.budget.try_take() {
                    return Some(permit);
                }
            }
            if !self.evict_oldest() {
                return None;
            }
        }
    }

    fn insert(&mut self, task: AbortHandle, permit: Option<OwnedSemaphorePermit>) {
        self.seq_of.insert(task.id(), self.next);
        self.order.insert(self.next, (task, permit));
        self.next += 1;
    }

    fn remove(&mut self, id: task::Id) {
        if let Some(seq) = self.seq_of.remove(&id) {
            self.order.remove(&seq);
        }
    }

    /// Closes the oldest connection (its permit is back at once); false
    /// when there is none.
    fn evict_oldest(&mut self) -> bool {
        let Some((_, (task, _permit))) = self.order.pop_first() else {
            return false;
        };
        self.seq_of.remove(&task.id());
        task.abort();
        true
    }
}

/// A response with a status, a `Content-Type` and a body.
pub fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Plain text with `nosniff`, as Go handlers that set both headers answer.
pub fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = respond(status, "text/plain; charset=utf-8", body);
    response
        .headers_mut()
        .insert(NOSNIFF, HeaderValue::from_static("nosniff"));
    response
}

/// JSON with `nosniff`.
pub fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = respond(status, "application/json", body);
    response
        .headers_mut()
        .insert(NOSNIFF, HeaderValue::from_static("nosniff"));
    response
}

/// Go's `http.NotFound`: `404 page not found\n` as plain text.
pub fn not_found() -> Response<Body> {
    text(StatusCode::NOT_FOUND, "404 page not found\n")
}
