//! The connection limits of the shared HTTP server ([`crate::serve::limits`])
//! against hostile clients on real loopback sockets: idle floods, slowloris,
//! oversized heads, and one listener's flood against another's budget.
//! The oracle is the sockets themselves: a client sees its connection
//! closed (EOF) or its request answered.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use hyper::StatusCode;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    task::JoinHandle,
};

use super::{get, loopback};
use crate::serve::{
    http::{self, Handler},
    limits::{Budget, Limits},
};

fn limits(per_listener: usize, budget: &Budget) -> Limits {
    Limits {
        per_listener,
        budget: budget.clone(),
        guaranteed: 2,
        header_read: Duration::from_millis(300),
        max_header_bytes: 8192,
        lifetime: Duration::from_secs(30),
    }
}

async fn server(limits: Limits) -> (SocketAddr, JoinHandle<()>) {
    let (listener, addr) = loopback().await;
    let handler: Handler = Arc::new(|_| http::text(StatusCode::OK, "ok"));
    (
        addr,
        tokio::spawn(http::serve_with(listener, handler, limits)),
    )
}

/// Whether the server closed `stream` within `wait` (EOF or reset).
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(wait, stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// Opens `n` connections that send nothing.
async fn idle(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        streams.push(TcpStream::connect(addr).await.unwrap());
        // Let the accept loop take each in turn.
        tokio::task::yield_now().await;
    }
    streams
}

/// 200 idle connections against a bound of 8: a normal request is still
/// answered at once, and the server holds no more than 8 of the idle ones
/// (the others it closed, oldest first).
#[tokio::test]
async fn an_idle_flood_evicts_the_oldest_and_a_probe_is_answered() {
    let budget = Budget::new(1000);
    let (addr, task) = server(limits(8, &budget)).await;
    let mut flood = idle(addr, 200).await;
    let started = Instant::now();
    let reply = get(addr, "/healthz").await;
    assert_eq!(reply.code(), 200);
    assert!(started.elapsed() < Duration::from_secs(1));
    let mut open = 0;
    for stream in flood.iter_mut() {
        if !closed_within(stream, Duration::from_millis(20)).await {
            open += 1;
        }
    }
    assert!(open <= 8, "{open} idle connections still open");
    // The newest ones are those kept.
    assert!(!closed_within(flood.last_mut().unwrap(), Duration::from_millis(20)).await);
    task.abort();
}

/// Headers trickled a byte at a time are cut off at the header timeout.
#[tokio::test]
async fn slowloris_is_cut_off_at_the_header_timeout() {
    let budget = Budget::new(100);
    let (addr, task) = server(limits(8, &budget)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let mut cut = false;
    for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaa" {
        if stream.write_all(&[*byte]).await.is_err() {
            cut = true;
            break;
        }
        if closed_within(&mut stream, Duration::from_millis(50)).await {
            cut = true;
            break;
        }
    }
    assert!(cut, "the trickling connection was not closed");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250),
        "closed too early: {took:?}"
    );
    assert!(took < Duration::from_secs(3), "closed too late: {took:?}");
    task.abort();
}

/// A 1 MiB header is refused with `431` (or the connection is closed),
/// never buffered whole; the server answers the next client.
#[tokio::test]
async fn an_oversized_head_is_refused() {
    let budget = Budget::new(100);
    let (addr, task) = server(limits(8, &budget)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    // The server may close before all is written.
    let _ = stream.write_all(big.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "answer: {answer:.80}"
    );
    assert_eq!(get(addr, "/").await.code(), 200);
    task.abort();
}

/// One listener's flood spends the shared budget; another listener still
/// answers from its guaranteed connections, and the flooded one serves
/// its own newest client by closing its oldest.
#[tokio::test]
async fn a_flood_of_one_listener_leaves_another_its_connections() {
    let budget = Budget::new(6);
    let (flooded, flooded_task) = server(limits(100, &budget)).await;
    let (other, other_task) = server(limits(100, &budget)).await;
    let _flood = idle(flooded, 50).await;
    assert_eq!(budget.available(), 0);
    assert_eq!(get(other, "/").await.code(), 200);
    assert_eq!(get(flooded, "/").await.code(), 200);
    flooded_task.abort();
    other_task.abort();
}
