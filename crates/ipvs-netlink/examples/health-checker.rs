//! A health checker, as another tool's author would write one on this
//! library's public API: every interval it tries a TCP connection to each
//! real server of one virtual service; a real server that stops answering
//! gets weight 0 (no new connections, established ones stay, like
//! keepalived's `inhibit_on_failure`), and gets its weight back when it
//! answers again.
//!
//! ```text
//! health-checker [--interval-ms N] [--timeout-ms N] [--rounds N] tcp|udp|sctp ADDR:PORT
//! ```
//!
//! Each change is printed as `down ADDR (weight W -> 0)` or `up ADDR
//! (weight 0 -> W)`. `--rounds` stops after that many rounds (default:
//! run until killed). A real server found at weight 0 that answers is
//! given weight 1, since its weight before is unknown.

use std::{collections::HashMap, net::SocketAddr, process::ExitCode, str::FromStr, time::Duration};

use ipvs_netlink::{IpvsError, IpvsHandle, RealServer, ServiceKey};
use tokio::{net::TcpStream, time};

/// What the command line asks for.
struct Options {
    service: ServiceKey,
    interval: Duration,
    timeout: Duration,
    rounds: Option<u64>,
}

const USAGE: &str = "usage: health-checker [--interval-ms N] [--timeout-ms N] [--rounds N] \
                     tcp|udp|sctp ADDR:PORT";

fn parse_args(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut interval = Duration::from_secs(1);
    let mut timeout = Duration::from_millis(500);
    let mut rounds = None;
    let mut positional = Vec::new();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let value = args.next().ok_or(format!("{name} needs a value"))?;
            u64::from_str(&value).map_err(|_| format!("{name}: {value:?} is not a number"))
        };
        match arg.as_str() {
            "--interval-ms" => interval = Duration::from_millis(number(&arg)?),
            "--timeout-ms" => timeout = Duration::from_millis(number(&arg)?),
            "--rounds" => rounds = Some(number(&arg)?),
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg:?}")),
            _ => positional.push(arg),
        }
    }
    let [protocol, addr] = positional.as_slice() else {
        return Err("expected a protocol and ADDR:PORT".into());
    };
    let addr = SocketAddr::from_str(addr).map_err(|_| format!("{addr:?} is not ADDR:PORT"))?;
    let service = match protocol.as_str() {
        "tcp" => ServiceKey::tcp(addr),
        "udp" => ServiceKey::udp(addr),
        "sctp" => ServiceKey::sctp(addr),
        other => return Err(format!("unknown protocol {other:?}")),
    };
    Ok(Options {
        service,
        interval,
        timeout,
        rounds,
    })
}

/// Whether something accepts TCP connections at `addr` within `timeout`.
async fn answers(addr: SocketAddr, timeout: Duration) -> bool {
    matches!(
        time::timeout(timeout, TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

/// One round: checks every real server of the service and changes the
/// weights that must change. `drained` remembers the weight of each real
/// server this checker set to 0.
async fn check(
    ipvs: &IpvsHandle,
    options: &Options,
    drained: &mut HashMap<SocketAddr, u32>,
) -> Result<(), IpvsError> {
    let real_servers = ipvs.real_servers(options.service);
    for server in real_servers.list().execute().await? {
        let up = answers(server.addr, options.timeout).await;
        let weight = match (up, server.weight) {
            (false, 0) | (true, 1..) => continue,
            (false, weight) => {
                drained.insert(server.addr, weight);
                0
            }
            (true, 0) => drained.remove(&server.addr).unwrap_or(1),
        };
        let word = if up { "up" } else { "down" };
        println!(
            "{word} {} (weight {} -> {weight})",
            server.addr, server.weight
        );
        let mut updated: RealServer = server.clone();
        updated.weight = weight;
        match real_servers.update(updated).execute().await {
            // Removed by someone else since the list: nothing to do.
            Err(IpvsError::RealServerNotFound { .. }) => {
                drained.remove(&server.addr);
            }
            other => other?,
        }
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(err) => {
            eprintln!("health-checker: {err}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let ipvs = match IpvsHandle::connect().await {
        Ok(ipvs) => ipvs,
        Err(err) => {
            eprintln!("health-checker: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("checking the real servers of {}", options.service);
    let mut drained = HashMap::new();
    let mut ticker = time::interval(options.interval);
    let mut round = 0;
    while options.rounds.is_none_or(|rounds| round < rounds) {
        ticker.tick().await;
        round += 1;
        if let Err(err) = check(&ipvs, &options, &mut drained).await {
            eprintln!("health-checker: {err}");
        }
    }
    ExitCode::SUCCESS
}
