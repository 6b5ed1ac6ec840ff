//! Tests of the HTTP side over real sockets on 127.0.0.1 (ephemeral
//! ports), with a raw HTTP/1.1 client so status lines, headers and bodies
//! are checked byte for byte. Expected bodies and metric descriptions are
//! written from kube-proxy's Go source (file and function named at each
//! test), not from this program's output.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use super::health::{Clock, Stamp};

mod healthz;
mod limits;
mod metrics;
mod process;
mod service_health;

/// 2024-01-02T03:04:05Z as seconds since the epoch (2024-01-01T00:00:00Z
/// is 1704067200; + 1 day + 3 h 4 min 5 s).
const T0: u64 = 1_704_164_645;

/// A clock that moves only when told.
struct ManualClock {
    now: Mutex<Stamp>,
}

impl ManualClock {
    /// At `T0` plus `nanos` nanoseconds.
    fn at_t0(nanos: u32) -> Arc<Self> {
        Arc::new(ManualClock {
            now: Mutex::new(Stamp {
                mono: Instant::now(),
                wall: UNIX_EPOCH + Duration::new(T0, nanos),
            }),
        })
    }

    fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap();
        now.mono += by;
        now.wall += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Stamp {
        *self.now.lock().unwrap()
    }
}

/// One HTTP answer.
#[derive(Debug)]
struct Reply {
    /// The status line, e.g. `HTTP/1.1 200 OK`.
    status_line: String,
    /// Header lines as sent (name and value).
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn code(&self) -> u16 {
        self.status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0)
    }

    /// The value of a header, by its exact (case-sensitive) name.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// `GET path` with `Connection: close`, read to the end.
async fn get(addr: SocketAddr, path: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).expect("utf-8 answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    Reply {
        status_line,
        headers,
        body: body.to_string(),
    }
}

/// A listener on an ephemeral loopback port.
async fn loopback() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
