//! `ipvsadm` on the ipvs-netlink library: the same command line and the
//! same output as ipvsadm 1.31, byte for byte, for what it covers.
//!
//! ```text
//! ipvsadm -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe engine] [-b flags] [-o]
//! ipvsadm -D virtual-service
//! ipvsadm -C
//! ipvsadm -R                   (rules from stdin, as -S writes them)
//! ipvsadm -S [-n]
//! ipvsadm -a|e virtual-service -r server-address [-g|-i|-m] [-w weight] [-x upper] [-y lower]
//!         [--tun-type ipip|gue|gre] [--tun-port port] [--tun-nocsum|--tun-csum|--tun-remcsum]
//! ipvsadm -d virtual-service -r server-address
//! ipvsadm -L|l [virtual-service] [-n] [--stats|--rate|--thresholds|--persistent-conn] [--exact] [--nosort]
//! ipvsadm -L --timeout
//! ipvsadm -Z [virtual-service]
//! ipvsadm --set tcp tcpfin udp
//! virtual-service: -t|-u|--sctp-service address:port | -f fwmark [-6]
//! ```
//!
//! Where it differs from ipvsadm:
//!
//! * `-R` parses all of its input first and applies nothing if a line is
//!   wrong (naming the line); then it sends every command in pipelined
//!   batches ([`IpvsHandle::execute`]), where ipvsadm does a round trip per
//!   line on a new socket. Failed commands are reported with their line and
//!   the others still apply, as with ipvsadm.
//! * Addresses and ports are always numeric (`-n` is implied, and names
//!   are not resolved on input).
//! * Not supported: `-c` (connections), `--daemon`, `--start-daemon`,
//!   `--stop-daemon`, `--tun-info`.
//! * Exit status: 2 for a command line ipvsadm would refuse, 1 when the
//!   kernel refuses a command (ipvsadm exits with 255).

mod options;
mod parse;
mod restore;

use std::{
    io::{self, BufWriter, Read, Write},
    process::ExitCode,
};

use ipvs_netlink::{Command, Info, IpvsError, IpvsHandle, ListFormat, Table, TableEntry};

use crate::parse::{Action, Listing, parse};

/// How the tool failed.
#[derive(Debug, thiserror::Error)]
enum Failure {
    /// A bad command line (exit status 2).
    #[error("{0}\nTry `ipvsadm -h' or 'ipvsadm --help' for more information.")]
    Usage(#[from] parse::ParseError),
    /// Bad restore input (exit status 2).
    #[error("{0}")]
    Restore(#[from] restore::RestoreError),
    /// The kernel refused (exit status 1).
    #[error("{0}")]
    Ipvs(#[from] IpvsError),
    /// Some restored commands failed; each was reported (exit status 1).
    #[error("{failed} of {total} commands failed")]
    Partial {
        /// Commands that failed.
        failed: usize,
        /// Commands sent.
        total: usize,
    },
    /// Reading stdin or writing stdout failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Io(err)) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{err}");
            match err {
                Failure::Usage(_) | Failure::Restore(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

async fn run(args: &[String]) -> Result<(), Failure> {
    // Like ipvsadm, no arguments lists the table.
    let action = if args.is_empty() {
        Action::List(Listing {
            service: None,
            format: ListFormat::Plain,
            sort: true,
            exact: false,
        })
    } else {
        parse(args)?
    };
    let mut out = BufWriter::new(io::stdout().lock());
    match action {
        Action::Help => out.write_all(USAGE.as_bytes())?,
        Action::Version => writeln!(
            out,
            "ipvsadm v1.31 compatible (ipvs-netlink {})",
            env!("CARGO_PKG_VERSION")
        )?,
        Action::List(listing) => list(&mut out, &listing).await?,
        Action::ListTimeouts => {
            let timeouts = IpvsHandle::connect().await?.timeouts().await?;
            writeln!(
                out,
                "Timeout (tcp tcpfin udp): {} {} {}",
                timeouts.tcp, timeouts.tcp_fin, timeouts.udp
            )?;
        }
        Action::Save => {
            let mut table = IpvsHandle::connect().await?.table().await?;
            table.sort_like_ipvsadm();
            write!(out, "{}", table.display(ListFormat::Save))?;
        }
        Action::Restore => restore().await?,
        Action::Apply(command) => apply(command).await?,
    }
    out.flush()?;
    Ok(())
}

/// `-L`: the whole table or one service.
async fn list(out: &mut impl Write, listing: &Listing) -> Result<(), Failure> {
    let ipvs = IpvsHandle::connect().await?;
    let mut table = match listing.service {
        Some(key) => {
            let service = ipvs
                .services()
                .get(key)
                .execute()
                .await?
                .ok_or(IpvsError::ServiceNotFound(key))?;
            let real_servers = ipvs.real_servers(key).list().execute().await?;
            Table::new(
                Info::default(),
                vec![TableEntry::new(service, real_servers)],
            )
        }
        None => ipvs.table().await?,
    };
    if listing.sort {
        table.sort_like_ipvsadm();
    }
    let mut display = table.display(listing.format);
    if listing.service.is_some() {
        display = display.without_version_header();
    }
    if listing.exact {
        display = display.exact();
    }
    write!(out, "{display}")?;
    Ok(())
}

/// `-R`: every line parsed, then one pipelined batch.
async fn restore() -> Result<(), Failure> {
    let mut input = String::new();
    io::stdin().read_to_string(&mut input)?;
    let restored = restore::parse_input(&input)?;
    let commands: Vec<Command> = restored.iter().map(|r| r.command.clone()).collect();
    let ipvs = IpvsHandle::connect().await?;
    let results = ipvs.execute(&commands).await?;
    let mut failed = 0;
    for (entry, result) in restored.iter().zip(&results) {
        if let Err(err) = result {
            failed += 1;
            eprintln!("line {}: {err}", entry.line);
        }
    }
    if failed > 0 {
        return Err(Failure::Partial {
            failed,
            total: commands.len(),
        });
    }
    Ok(())
}

/// One mutation.
async fn apply(command: Command) -> Result<(), Failure> {
    let ipvs = IpvsHandle::connect().await?;
    for result in ipvs.execute(std::slice::from_ref(&command)).await? {
        result?;
    }
    Ok(())
}

const USAGE: &str = "\
Usage:
  ipvsadm -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]
  ipvsadm -D virtual-service
  ipvsadm -C
  ipvsadm -R
  ipvsadm -S [-n]
  ipvsadm -a|e virtual-service -r server-address [options]
  ipvsadm -d virtual-service -r server-address
  ipvsadm -L|l [virtual-service] [options]
  ipvsadm -Z [virtual-service]
  ipvsadm --set tcp tcpfin udp
  ipvsadm -h

virtual-service:
  --tcp-service|-t  service-address   service-address is host[:port]
  --udp-service|-u  service-address   service-address is host[:port]
  --sctp-service    service-address   service-address is host[:port]
  --fwmark-service|-f fwmark          fwmark is an integer greater than zero

Options:
  --ipv6         -6                   fwmark entry uses IPv6
  --scheduler    -s scheduler         the default scheduler is wlc.
  --pe            engine              alternate persistence engine
  --persistent   -p [timeout]         persistent service
  --netmask      -M netmask           persistent granularity mask
  --real-server  -r server-address    server-address is host (and port)
  --gatewaying   -g                   gatewaying (direct routing) (default)
  --ipip         -i                   ipip encapsulation (tunneling)
  --masquerading -m                   masquerading (NAT)
  --tun-type      type                one of ipip|gue|gre (default ipip)
  --tun-port      port                tunnel destination port
  --tun-nocsum                        tunnel encapsulation without checksum
  --tun-csum                          tunnel encapsulation with checksum
  --tun-remcsum                       tunnel encapsulation with remote checksum
  --weight       -w weight            capacity of real server
  --u-threshold  -x uthreshold        upper threshold of connections
  --l-threshold  -y lthreshold        lower threshold of connections
  --timeout                           output of timeout (tcp tcpfin udp)
  --stats                             output of statistics information
  --rate                              output of rate information
  --exact                             expand numbers (display exact values)
  --thresholds                        output of thresholds information
  --persistent-conn                   output of persistent connection info
  --nosort                            disable sorting output of service/server entries
  --sort                              does nothing, for backwards compatibility
  --ops          -o                   one-packet scheduling
  --numeric      -n                   numeric output (always on here)
  --sched-flags  -b flags             scheduler flags (comma-separated)
";
