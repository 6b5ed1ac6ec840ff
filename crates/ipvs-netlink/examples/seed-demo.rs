//! The seeds' example: ClusterIP 10.96.197.40:8000 (TCP, rr) in front of
//! three backends on port 80, created with one pipelined batch.
//!
//! ```text
//! seed-demo        # create it (replacing nothing: fails if it exists)
//! ```
//!
//! `examples/demo.sh` at the top of the repository runs it in the test VM
//! and prints our listing beside `ipvsadm -Ln`.

use std::process::ExitCode;

use ipvs_netlink::{
    Command, ForwardMethod, IpvsHandle, RealServer, Scheduler, ServiceKey, VirtualService,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let key = ServiceKey::tcp("10.96.197.40:8000".parse().expect("address"));
    let mut batch = vec![Command::AddService(VirtualService::new(key, Scheduler::RR))];
    for backend in ["10.244.1.2:80", "10.244.2.3:80", "10.244.3.4:80"] {
        let rs = RealServer::new(backend.parse().expect("address"), ForwardMethod::Masq, 1);
        batch.push(Command::AddRealServer(key, rs));
    }
    let ipvs = match IpvsHandle::connect().await {
        Ok(ipvs) => ipvs,
        Err(err) => {
            eprintln!("seed-demo: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut status = ExitCode::SUCCESS;
    match ipvs.execute(&batch).await {
        Ok(results) => {
            for (command, result) in batch.iter().zip(results) {
                match result {
                    Ok(()) => println!("ok: {}", command.describe()),
                    Err(err) => {
                        eprintln!("seed-demo: {err}");
                        status = ExitCode::FAILURE;
                    }
                }
            }
        }
        Err(err) => {
            eprintln!("seed-demo: {err}");
            return ExitCode::FAILURE;
        }
    }
    status
}
