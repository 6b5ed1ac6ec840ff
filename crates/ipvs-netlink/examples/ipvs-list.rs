//! Prints the live IPVS table like `ipvsadm -Ln` (or `ipvsadm -Ln --stats`).
//!
//! ```text
//! ipvs-list [--stats] [--nosort]
//! ```
//!
//! Like ipvsadm, services and real servers are sorted unless `--nosort` is
//! given, which keeps the kernel's dump order.

use std::process::ExitCode;

use ipvs_netlink::{IpvsHandle, ListFormat};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut format = ListFormat::Plain;
    let mut sort = true;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--stats" => format = ListFormat::Stats,
            "--nosort" => sort = false,
            "-h" | "--help" => {
                println!("usage: ipvs-list [--stats] [--nosort]");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("ipvs-list: unknown argument {other:?}");
                return ExitCode::from(2);
            }
        }
    }
    let result = async {
        let handle = IpvsHandle::connect().await?;
        handle.table().await
    }
    .await;
    match result {
        Ok(mut table) => {
            if sort {
                table.sort_like_ipvsadm();
            }
            print!("{}", table.display(format));
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("ipvs-list: {err}");
            ExitCode::FAILURE
        }
    }
}
