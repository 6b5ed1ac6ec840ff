//! Kernel tests: the library against a real IPVS, cross-checked with the
//! real `ipvsadm`. They need root and the `ip_vs` modules, so they are
//! ignored in a plain `cargo test`; `tests/run` runs them inside the test VM
//! with `--ignored --test-threads=1` (they share the kernel's one table).

use std::{
    net::SocketAddr,
    process::{Command as Process, Stdio},
};

use ipvs_netlink::{
    Command, DaemonState, Family, ForwardMethod, IpvsError, IpvsHandle, ListFormat, Netmask,
    RealServer, Scheduler, ServiceFlags, ServiceKey, SyncDaemon, TableEntry, Timeouts, Tunnel,
    TunnelType, VirtualService,
};

const NEEDS: &str = "kernel: needs root and IPVS (the test VM); run tests/run";

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

/// Runs `ipvsadm` and returns its standard output; panics with its error
/// output when it fails.
fn ipvsadm(args: &[&str]) -> String {
    let out = Process::new("ipvsadm")
        .args(args)
        .stderr(Stdio::piped())
        .output()
        .expect("ipvsadm must be installed (tests/run installs it)");
    assert!(
        out.status.success(),
        "ipvsadm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("ipvsadm prints UTF-8")
}

/// A handle on an empty table.
async fn clean() -> IpvsHandle {
    assert!(
        std::env::var_os("KPVS_IN_VM").is_some()
            || std::path::Path::new("/proc/net/ip_vs").exists(),
        "no IPVS here: run the kernel tests with tests/run (they boot a VM)"
    );
    let ipvs = IpvsHandle::connect().await.expect("connect");
    ipvs.services().flush().execute().await.expect("flush");
    ipvs
}

/// `ipvsadm -Sn` (save format) of the live table, sorted by ipvsadm.
fn saved() -> String {
    ipvsadm(&["-S", "-n"])
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn services_round_trip_every_kind() {
    let _ = NEEDS;
    let ipvs = clean().await;
    let services = [
        VirtualService::new(ServiceKey::tcp(sa("10.96.0.1:443")), Scheduler::RR),
        VirtualService::new(ServiceKey::udp(sa("10.96.0.10:53")), Scheduler::WLC)
            .persistent(300)
            .with_netmask(Netmask::Ipv4("255.255.255.0".parse().unwrap()))
            .with_flags(ServiceFlags::PERSISTENT | ServiceFlags::ONE_PACKET),
        VirtualService::new(ServiceKey::sctp(sa("10.0.0.3:3868")), Scheduler::SH)
            .with_flags(ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT),
        VirtualService::new(ServiceKey::fwmark(Family::Inet, 100), Scheduler::MH)
            .with_flags(ServiceFlags::MH_PORT),
        VirtualService::new(ServiceKey::fwmark(Family::Inet6, 200), Scheduler::WRR).persistent(360),
        VirtualService::new(ServiceKey::tcp(sa("[fd00::1]:80")), Scheduler::LC)
            .persistent(60)
            .with_netmask(Netmask::Ipv6Prefix(64)),
        VirtualService::new(ServiceKey::udp(sa("[fd00::2]:53")), Scheduler::SED),
        VirtualService::new(ServiceKey::tcp(sa("10.96.0.2:80")), Scheduler::new("lblcr")),
        VirtualService::new(ServiceKey::tcp(sa("10.96.0.3:80")), Scheduler::new("dh")),
        VirtualService::new(ServiceKey::tcp(sa("10.96.0.4:80")), Scheduler::new("nq")),
        VirtualService::new(ServiceKey::tcp(sa("10.96.0.5:80")), Scheduler::new("fo")),
        VirtualService::new(ServiceKey::tcp(sa("10.96.0.6:80")), Scheduler::new("ovf")),
        VirtualService::new(ServiceKey::tcp(sa("10.96.0.7:80")), Scheduler::new("lblc")),
    ];
    for service in &services {
        ipvs.services()
            .add(service.clone())
            .execute()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let dumped = ipvs.services().list().execute().await.expect("dump");
    assert_eq!(dumped.len(), services.len());
    for want in &services {
        let got = dumped
            .iter()
            .find(|s| s.key == want.key)
            .unwrap_or_else(|| panic!("{} missing from the dump", want.key));
        assert!(got.same_config(want), "dumped {got:?}\nwanted {want:?}");
        let one = ipvs
            .services()
            .get(want.key)
            .execute()
            .await
            .expect("get")
            .expect("exists");
        assert!(one.same_config(want), "get {one:?}\nwanted {want:?}");
    }
    // The real tool reads the same table back.
    let save = saved();
    for line in [
        "-A -t 10.96.0.1:443 -s rr",
        "-A -u 10.96.0.10:53 -s wlc -p 300 -M 255.255.255.0 -o",
        "-A --sctp-service 10.0.0.3:3868 -s sh -b sh-fallback,sh-port",
        "-A -f 100 -s mh -b mh-port",
        "-A -f 200 -6 -s wrr -p 360",
        "-A -t [fd00::1]:80 -s lc -p 60 -M 64",
        "-A -u [fd00::2]:53 -s sed",
        "-A -t 10.96.0.2:80 -s lblcr",
    ] {
        assert!(
            save.lines().any(|l| l == line),
            "ipvsadm -Sn lacks {line:?}:\n{save}"
        );
    }
    ipvs.services().flush().execute().await.expect("flush");
    assert!(
        ipvs.services()
            .list()
            .execute()
            .await
            .expect("dump")
            .is_empty()
    );
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn real_servers_every_forward_method() {
    let ipvs = clean().await;
    let udp = ServiceKey::udp(sa("10.96.0.10:53"));
    let v6 = ServiceKey::tcp(sa("[fd00::1]:80"));
    let mark = ServiceKey::fwmark(Family::Inet, 7);
    ipvs.services()
        .add(VirtualService::new(udp, Scheduler::WRR))
        .execute()
        .await
        .unwrap();
    ipvs.services()
        .add(VirtualService::new(v6, Scheduler::RR))
        .execute()
        .await
        .unwrap();
    ipvs.services()
        .add(VirtualService::new(mark, Scheduler::RR))
        .execute()
        .await
        .unwrap();
    let servers = [
        (
            udp,
            RealServer::new(sa("10.244.1.2:53"), ForwardMethod::Masq, 1),
        ),
        (
            udp,
            RealServer::new(sa("10.244.1.3:53"), ForwardMethod::DirectRoute, 5)
                .with_thresholds(100, 10),
        ),
        (
            udp,
            RealServer::new(
                sa("10.244.1.4:53"),
                ForwardMethod::Tunnel(Tunnel::new(TunnelType::Gue, 6080, 0)),
                2,
            ),
        ),
        (
            udp,
            RealServer::new(
                sa("10.244.1.5:53"),
                ForwardMethod::Tunnel(Tunnel::new(TunnelType::Ipip, 0, 0)),
                3,
            ),
        ),
        (
            v6,
            RealServer::new(sa("[fd00::10]:8080"), ForwardMethod::Masq, 2),
        ),
        (
            mark,
            RealServer::new(sa("10.244.2.1:0"), ForwardMethod::DirectRoute, 4),
        ),
    ];
    for (key, rs) in &servers {
        ipvs.real_servers(*key)
            .add(rs.clone())
            .execute()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    for key in [udp, v6, mark] {
        let got = ipvs.real_servers(key).list().execute().await.expect("dump");
        let want: Vec<_> = servers
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, r)| r)
            .collect();
        assert_eq!(got.len(), want.len(), "{key}: {got:?}");
        for w in want {
            let g = got.iter().find(|g| g.addr == w.addr).expect("dumped");
            assert!(g.same_config(w), "dumped {g:?}\nwanted {w:?}");
        }
    }
    let save = saved();
    for line in [
        "-a -u 10.96.0.10:53 -r 10.244.1.2:53 -m -w 1",
        // ipvsadm -S leaves thresholds out; checked below.
        "-a -u 10.96.0.10:53 -r 10.244.1.3:53 -g -w 5",
        "-a -u 10.96.0.10:53 -r 10.244.1.4:53 -i -w 2 --tun-type gue --tun-port 6080 --tun-nocsum",
        "-a -u 10.96.0.10:53 -r 10.244.1.5:53 -i -w 3 --tun-type ipip",
        "-a -t [fd00::1]:80 -r [fd00::10]:8080 -m -w 2",
        "-a -f 7 -r 10.244.2.1:0 -g -w 4",
    ] {
        assert!(
            save.lines().any(|l| l == line),
            "ipvsadm -Sn lacks {line:?}:\n{save}"
        );
    }
    let thresholds = ipvsadm(&["-Ln", "--thresholds"]);
    assert!(
        thresholds
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["->", "10.244.1.3:53", "100", "10", "0", "0"]),
        "{thresholds}"
    );
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn updates_weight_scheduler_and_deletes() {
    let ipvs = clean().await;
    let key = ServiceKey::tcp(sa("10.96.197.40:8000"));
    let mut service = VirtualService::new(key, Scheduler::RR);
    ipvs.services()
        .add(service.clone())
        .execute()
        .await
        .unwrap();
    let mut rs = RealServer::new(sa("10.244.1.2:80"), ForwardMethod::Masq, 1);
    ipvs.real_servers(key)
        .add(rs.clone())
        .execute()
        .await
        .unwrap();
    ipvs.real_servers(key)
        .add(RealServer::new(sa("10.244.1.3:80"), ForwardMethod::Masq, 1))
        .execute()
        .await
        .unwrap();

    service.scheduler = Scheduler::WRR;
    service = service.persistent(10800);
    ipvs.services()
        .update(service.clone())
        .execute()
        .await
        .unwrap();
    rs.weight = 0;
    ipvs.real_servers(key)
        .update(rs.clone())
        .execute()
        .await
        .unwrap();

    let got = ipvs
        .services()
        .get(key)
        .execute()
        .await
        .unwrap()
        .expect("exists");
    assert!(got.same_config(&service), "{got:?}");
    assert!(saved().contains("-A -t 10.96.197.40:8000 -s wrr -p 10800"));
    let servers = ipvs.real_servers(key).list().execute().await.unwrap();
    let weights: Vec<_> = servers.iter().map(|r| (r.addr, r.weight)).collect();
    assert!(weights.contains(&(sa("10.244.1.2:80"), 0)), "{weights:?}");
    assert!(weights.contains(&(sa("10.244.1.3:80"), 1)), "{weights:?}");

    ipvs.real_servers(key)
        .del(sa("10.244.1.2:80"))
        .execute()
        .await
        .unwrap();
    assert_eq!(
        ipvs.real_servers(key).list().execute().await.unwrap().len(),
        1
    );
    ipvs.services().del(key).execute().await.unwrap();
    assert!(ipvs.services().get(key).execute().await.unwrap().is_none());
    assert_eq!(saved(), "");
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn timeouts_info_and_zero() {
    let ipvs = clean().await;
    let before = ipvs.timeouts().await.unwrap();
    ipvs.set_timeouts(&Timeouts::new(900, 120, 300))
        .await
        .unwrap();
    assert_eq!(ipvs.timeouts().await.unwrap(), Timeouts::new(900, 120, 300));
    assert_eq!(
        ipvsadm(&["-L", "--timeout"]).trim(),
        "Timeout (tcp tcpfin udp): 900 120 300"
    );
    // 0 keeps a value, as with ipvsadm --set.
    ipvs.set_timeouts(&Timeouts::new(0, 60, 0)).await.unwrap();
    assert_eq!(ipvs.timeouts().await.unwrap(), Timeouts::new(900, 60, 300));
    ipvs.set_timeouts(&before).await.unwrap();

    let info = ipvs.info().await.unwrap();
    let header = ipvsadm(&["-Ln"])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let (a, b, c) = info.version_triple();
    assert_eq!(
        header,
        format!(
            "IP Virtual Server version {a}.{b}.{c} (size={})",
            info.conn_table_size
        )
    );

    let key = ServiceKey::tcp(sa("10.96.0.1:443"));
    ipvs.services()
        .add(VirtualService::new(key, Scheduler::RR))
        .execute()
        .await
        .unwrap();
    ipvs.zero(Some(&key)).await.unwrap();
    ipvs.zero(None).await.unwrap();
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn errors_have_meaning() {
    let ipvs = clean().await;
    let key = ServiceKey::tcp(sa("10.96.0.1:443"));
    let rs = RealServer::new(sa("10.244.0.1:6443"), ForwardMethod::Masq, 1);
    ipvs.services()
        .add(VirtualService::new(key, Scheduler::RR))
        .execute()
        .await
        .unwrap();
    ipvs.real_servers(key)
        .add(rs.clone())
        .execute()
        .await
        .unwrap();

    let dup = ipvs
        .services()
        .add(VirtualService::new(key, Scheduler::RR))
        .execute()
        .await;
    assert!(
        matches!(dup, Err(IpvsError::ServiceExists(k)) if k == key),
        "{dup:?}"
    );
    assert_eq!(
        dup.unwrap_err().to_string(),
        "service TCP 10.96.0.1:443 already exists"
    );

    let missing = ServiceKey::udp(sa("10.9.9.9:1"));
    let del = ipvs.services().del(missing).execute().await;
    assert!(
        matches!(del, Err(IpvsError::ServiceNotFound(k)) if k == missing),
        "{del:?}"
    );

    let bad = VirtualService::new(ServiceKey::tcp(sa("10.9.9.9:1")), Scheduler::new("nosuch"));
    let sched = ipvs.services().add(bad.clone()).execute().await;
    assert!(
        matches!(&sched, Err(IpvsError::UnknownScheduler { name, .. }) if name == "nosuch"),
        "{sched:?}"
    );
    assert!(sched.unwrap_err().to_string().contains("nosuch"));

    let dup_rs = ipvs.real_servers(key).add(rs.clone()).execute().await;
    assert!(
        matches!(dup_rs, Err(IpvsError::RealServerExists { .. })),
        "{dup_rs:?}"
    );
    let gone = ipvs
        .real_servers(key)
        .del(sa("10.244.9.9:1"))
        .execute()
        .await;
    assert!(
        matches!(gone, Err(IpvsError::RealServerNotFound { .. })),
        "{gone:?}"
    );
    let no_svc = ipvs.real_servers(missing).add(rs.clone()).execute().await;
    assert!(
        matches!(no_svc, Err(IpvsError::ServiceNotFound(_))),
        "{no_svc:?}"
    );
    // Nothing above changed the table.
    assert_eq!(ipvs.services().list().execute().await.unwrap().len(), 1);
}

#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn batch_reports_each_command() {
    let ipvs = clean().await;
    let mut batch = Vec::new();
    for i in 0..300u32 {
        let key = ServiceKey::tcp(SocketAddr::new(
            [10, 97, (i / 256) as u8, (i % 256) as u8].into(),
            80,
        ));
        batch.push(Command::AddService(VirtualService::new(key, Scheduler::RR)));
        for j in 1..=5u8 {
            let rs = RealServer::new(
                SocketAddr::new([10, 245, (i % 256) as u8, j].into(), 8080),
                ForwardMethod::Masq,
                1,
            );
            batch.push(Command::AddRealServer(key, rs));
        }
    }
    // Failures in the middle: a duplicate service, a real server of a
    // missing service, an unknown scheduler.
    let dup = ServiceKey::tcp(sa("10.97.0.7:80"));
    let missing = ServiceKey::tcp(sa("10.98.0.1:80"));
    batch.insert(
        100,
        Command::AddService(VirtualService::new(dup, Scheduler::RR)),
    );
    batch.insert(
        500,
        Command::AddRealServer(
            missing,
            RealServer::new(sa("10.1.1.1:1"), ForwardMethod::Masq, 1),
        ),
    );
    batch.push(Command::AddService(VirtualService::new(
        ServiceKey::udp(sa("10.98.0.2:53")),
        Scheduler::new("nosuch"),
    )));
    let results = ipvs.execute(&batch).await.expect("batch");
    assert_eq!(results.len(), batch.len());
    let failed: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        failed,
        vec![100, 500, batch.len() - 1],
        "{:?}",
        results.iter().filter(|r| r.is_err()).collect::<Vec<_>>()
    );
    assert!(matches!(results[100], Err(IpvsError::ServiceExists(k)) if k == dup));
    assert!(matches!(results[500], Err(IpvsError::ServiceNotFound(k)) if k == missing));
    assert!(matches!(
        results[batch.len() - 1],
        Err(IpvsError::UnknownScheduler { .. })
    ));

    let table = ipvs.table().await.unwrap();
    assert_eq!(table.entries.len(), 300);
    assert!(table.entries.iter().all(|e| e.real_servers.len() == 5));
    assert_eq!(saved().lines().count(), 300 * 6);
    // Deleting in one batch too.
    let deletes: Vec<_> = table
        .entries
        .iter()
        .map(|e| Command::DeleteService(e.service.key))
        .collect();
    assert!(
        ipvs.execute(&deletes)
            .await
            .unwrap()
            .iter()
            .all(Result::is_ok)
    );
    assert_eq!(saved(), "");
}

/// A varied table (IPv6, fwmark, persistence, tunnels, flags), listed by our
/// formatter and by the real `ipvsadm`: byte for byte the same.
#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn listing_matches_ipvsadm() {
    let ipvs = clean().await;
    for cmd in [
        "-A -t 10.96.197.40:8000 -s rr",
        "-a -t 10.96.197.40:8000 -r 10.244.1.2:80 -m -w 1",
        "-a -t 10.96.197.40:8000 -r 10.244.1.3:80 -m -w 0",
        "-a -t 10.96.197.40:8000 -r 10.244.1.4:80 -m -w 65535",
        "-A -u 10.96.0.10:53 -s wlc -p 300 -M 255.255.255.0 -o",
        "-a -u 10.96.0.10:53 -r 10.244.2.2:53 -i --tun-type gue --tun-port 6080 --tun-nocsum",
        "-a -u 10.96.0.10:53 -r 10.244.2.3:53 -i -w 4 -x 1000 -y 10",
        "-A --sctp-service 10.0.0.3:3868 -s sh -b sh-fallback,sh-port",
        "-a --sctp-service 10.0.0.3:3868 -r 10.244.2.4:3868 -m -w 1",
        "-A -f 100 -s mh -b mh-port",
        "-a -f 100 -r 10.244.2.1 -g -w 3",
        "-A -f 200 -6 -s wrr -p",
        "-a -f 200 -6 -r fd00::20 -g -w 1",
        "-A -t [fd00::1]:80 -s lc -p 60 -M 64",
        "-a -t [fd00::1]:80 -r [fd00::10]:8080 -m -w 2",
        "-a -t [fd00::1]:80 -r [2001:db8:ffff:ffff:ffff:ffff:ffff:fff1]:65535 -m -w 7",
        "-A -u [fd00::2]:53 -s rr -o",
        "-A -t 10.96.0.1:443 -s sed -p 10800",
        "-a -t 10.96.0.1:443 -r 127.0.0.1:6443",
        "-a -t 10.96.0.1:443 -r 192.168.255.255:65535 -m -w 100",
        "-A -t 192.168.0.1:1 -s nq",
        "-A -t 9.9.9.9:65535 -s dh",
    ] {
        ipvsadm(&cmd.split(' ').collect::<Vec<_>>());
    }
    let mut table = ipvs.table().await.unwrap();
    table.sort_like_ipvsadm();
    assert_eq!(
        table.display(ListFormat::Plain).to_string(),
        ipvsadm(&["-Ln"])
    );
    assert_eq!(
        table.display(ListFormat::Stats).to_string(),
        ipvsadm(&["-Ln", "--stats"])
    );
}

/// The `ipvsadm` example binary (`examples/ipvsadm/`), which `cargo test`
/// builds next to this test binary's directory.
fn example_path() -> std::path::PathBuf {
    example("ipvsadm")
}

/// The example program `name`, built next to this test binary's directory.
fn example(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} missing: build it with cargo test --no-run (tests/run does)",
        path.display()
    );
    path
}

/// Runs our `ipvsadm` with `args` (split on spaces) and `stdin`; returns
/// its exit code, stdout and stderr.
fn ours_with_input(args: &str, stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Process::new(example_path())
        .args(args.split(' ').filter(|a| !a.is_empty()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the ipvsadm example");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("UTF-8"),
        String::from_utf8(out.stderr).expect("UTF-8"),
    )
}

/// Our `ipvsadm` with `args`, which must succeed; its stdout.
fn ours(args: &str) -> String {
    let (code, out, err) = ours_with_input(args, "");
    assert_eq!(code, 0, "ours {args}: {err}");
    out
}

/// Runs the real `ipvsadm` for each line of `script`.
fn real_script(script: &str) {
    for line in script.lines().filter(|l| !l.is_empty()) {
        ipvsadm(&line.split(' ').collect::<Vec<_>>());
    }
}

/// Every kind of service and real server ipvsadm can make (without
/// persistence engines, whose modules the test VM does not load).
const VARIED_TABLE: &str = "\
-A -t 10.96.197.40:8000 -s rr
-a -t 10.96.197.40:8000 -r 10.244.1.2:80 -m -w 1
-a -t 10.96.197.40:8000 -r 10.244.1.3:80 -m -w 0 -x 50 -y 5
-a -t 10.96.197.40:8000 -r 10.244.1.4:80 -m -w 65535
-A -u 10.96.0.10:53 -s wlc -p 300 -M 255.255.255.0 -o
-a -u 10.96.0.10:53 -r 10.244.2.2:53 -i --tun-type gue --tun-port 6080 --tun-nocsum
-a -u 10.96.0.10:53 -r 10.244.2.5:53 -i --tun-type gue --tun-port 6081 --tun-remcsum
-a -u 10.96.0.10:53 -r 10.244.2.6:53 -i --tun-type gre --tun-csum
-a -u 10.96.0.10:53 -r 10.244.2.3:53 -i -w 4 -x 1000 -y 10
-A --sctp-service 10.0.0.3:3868 -s sh -b sh-fallback,sh-port
-a --sctp-service 10.0.0.3:3868 -r 10.244.2.4:3868 -m -w 1
-A -f 100 -s mh -b mh-port
-a -f 100 -r 10.244.2.1 -g -w 3
-A -f 200 -6 -s wrr -p
-a -f 200 -6 -r fd00::20 -g -w 1
-A -f 4294967295 -s lblc
-A -t [fd00::1]:80 -s lc -p 60 -M 64
-a -t [fd00::1]:80 -r [fd00::10]:8080 -m -w 2
-a -t [fd00::1]:80 -r [2001:db8:ffff:ffff:ffff:ffff:ffff:fff1]:65535 -m -w 7
-A -u [fd00::2]:53 -s rr -o
-A -t 10.96.0.1:443 -s sed -p 10800
-a -t 10.96.0.1:443 -r 127.0.0.1:6443
-a -t 10.96.0.1:443 -r 192.168.255.255:65535 -m -w 100
-A -t 192.168.0.1:1 -s nq
-A -t 9.9.9.9:65535 -s dh
-A -t 10.96.0.2:0 -s lblcr -p 1
-a -t 10.96.0.2:0 -r 10.244.3.1 -g -w 2
-A -u 10.96.0.3:5353 -s fo
-a -u 10.96.0.3:5353 -r 10.244.3.2:53 -m -w 9
-A -t 10.96.0.4:80 -s ovf -p 86400 -M 255.255.0.0
-a -t 10.96.0.4:80 -r 10.244.3.3:8080 -m -w 1 -x 10
";

/// Every listing of our `ipvsadm` against the real one on the same table,
/// then `-R` of the real `-Sn` output, read back by the real tool.
#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn ipvsadm_example_lists_and_restores_like_ipvsadm() {
    clean().await;
    real_script(VARIED_TABLE);
    let save = saved();
    assert_eq!(save.lines().count(), VARIED_TABLE.lines().count(), "{save}");
    for args in [
        "-Ln",
        "-L -n",
        "-l -n",
        "-Ln --stats",
        "-Ln --rate",
        "-Ln --thresholds",
        "-Ln --persistent-conn",
        "-Ln --stats --exact",
        "-Ln --nosort",
        "-Ln -t 10.96.0.1:443",
        "-Ln -f 200 -6 --thresholds",
        "-Sn",
        "--save -n",
        "-L --timeout",
    ] {
        let real = ipvsadm(&args.split(' ').collect::<Vec<_>>());
        assert!(real.lines().count() >= 1, "{args}: {real}");
        assert_eq!(ours(args), real, "ipvsadm {args}");
    }
    // The listings really list the table.
    assert_eq!(
        ours("-Ln").lines().count(),
        3 + VARIED_TABLE.lines().count()
    );

    // ipvsadm saves marks above INT_MAX as negative numbers (`-f -1`),
    // which neither tool reads back; the rest round-trips.
    ipvsadm(&["-D", "-f", "4294967295"]);
    let save = saved();
    assert!(save.starts_with("-A -t 192.168.0.1:1 -s nq\n"), "{save}");
    // Ours restores what the real one saved.
    ipvsadm(&["-C"]);
    assert_eq!(saved(), "");
    let (code, out, err) = ours_with_input("-R", &save);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert_eq!(saved(), save);
    // The real one restores what ours saved.
    let ours_save = ours("-Sn");
    ipvsadm(&["-C"]);
    let mut child = Process::new("ipvsadm")
        .arg("-R")
        .stdin(Stdio::piped())
        .spawn()
        .expect("ipvsadm -R");
    std::io::Write::write_all(
        &mut child.stdin.take().expect("stdin"),
        ours_save.as_bytes(),
    )
    .expect("write");
    assert!(child.wait().expect("wait").success());
    assert_eq!(saved(), save);
}

/// Bad restore input applies nothing; kernel failures are reported by line
/// while the other lines apply.
#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn ipvsadm_example_restore_errors() {
    clean().await;
    let input = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1 -m -w 99999\n";
    let (code, _, err) = ours_with_input("-R", input);
    assert_eq!(code, 2);
    assert_eq!(err.trim(), "line 2: illegal weight `99999' specified");
    assert_eq!(saved(), "");

    let input = "-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.1:80 -s wrr\n\
                 -a -t 10.0.0.1:80 -r 10.1.0.1 -m\n-a -t 10.0.0.2:80 -r 10.1.0.1 -m\n";
    let (code, _, err) = ours_with_input("-R", input);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        [
            "line 2: service TCP 10.0.0.1:80 already exists",
            "line 4: service TCP 10.0.0.2:80 does not exist",
            "2 of 4 commands failed",
        ]
    );
    assert_eq!(
        saved(),
        "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 1\n"
    );
}

/// The same edits through our `ipvsadm` and through the real one give the
/// same table, as the real one lists it.
#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn ipvsadm_example_edits_like_ipvsadm() {
    let edits = "\
-A -t 10.96.0.1:443 -s rr
-a -t 10.96.0.1:443 -r 10.244.0.1:6443 -m
-a -t 10.96.0.1:443 -r 10.244.0.2:6443 -m -w 5 -x 100 -y 20
-a -t 10.96.0.1:443 -r 10.244.0.3:6443
-A -u 10.96.0.10:53 -s wrr -p 120 -M 255.255.255.0
-a -u 10.96.0.10:53 -r 10.244.1.1:53 -i --tun-type gue --tun-port 5555 --tun-csum
-a -u 10.96.0.10:53 -r 10.244.1.2 -g -w 3
-A -f 7 -6 -s sh -b sh-port
-a -f 7 -6 -r fd00::7 -g -w 2
-A -t [fd00::1]:80 -s lc
-a -t [fd00::1]:80 -r [fd00::10]:8080 -m
-E -t 10.96.0.1:443 -s wlc -p 600
-e -t 10.96.0.1:443 -r 10.244.0.1:6443 -m -w 0 -x 7 -y 3
-e -u 10.96.0.10:53 -r 10.244.1.1:53 -i --tun-type gre --tun-nocsum -w 4
-E -f 7 -6 -s mh -b mh-fallback,mh-port -p 30 -M 64
-d -t 10.96.0.1:443 -r 10.244.0.2:6443
-d -u 10.96.0.10:53 -r 10.244.1.2
-D -t [fd00::1]:80
";
    clean().await;
    real_script(edits);
    let want = (
        saved(),
        ipvsadm(&["-Ln", "--thresholds"]),
        ipvsadm(&["-Ln"]),
    );
    assert_eq!(want.0.lines().count(), 7, "{}", want.0);
    ipvsadm(&["-C"]);
    for line in edits.lines() {
        ours(line);
    }
    let got = (
        saved(),
        ipvsadm(&["-Ln", "--thresholds"]),
        ipvsadm(&["-Ln"]),
    );
    assert_eq!(got, want);

    // Refusals: the kernel's (exit 1) and the command line's (exit 2).
    let (code, _, err) = ours_with_input("-A -t 10.96.0.1:443 -s rr", "");
    assert_eq!(
        (code, err.trim()),
        (1, "service TCP 10.96.0.1:443 already exists")
    );
    let (code, _, err) = ours_with_input("-d -t 10.96.0.1:443 -r 10.9.9.9", "");
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = ours_with_input("-a -t 10.96.0.1:443", "");
    assert_eq!(code, 2, "{err}");
    assert_eq!(saved(), want.0);
    // -C through ours.
    ours("-C");
    assert_eq!(saved(), "");
}

/// `--set` through our `ipvsadm`, read back by the real one.
#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn ipvsadm_example_sets_timeouts() {
    let ipvs = clean().await;
    let before = ipvs.timeouts().await.unwrap();
    ours("--set 901 121 301");
    assert_eq!(
        ipvsadm(&["-L", "--timeout"]),
        "Timeout (tcp tcpfin udp): 901 121 301\n"
    );
    // 0 leaves a value as it is.
    ours("--set 0 61 0");
    assert_eq!(
        ipvsadm(&["-L", "--timeout"]),
        "Timeout (tcp tcpfin udp): 901 61 301\n"
    );
    assert_eq!(ours("-L --timeout"), ipvsadm(&["-L", "--timeout"]));
    ipvs.set_timeouts(&before).await.unwrap();
}

/// The sub-handles and request builders do what the flat methods do, as
/// `ipvsadm -Sn` sees it; `replace()` updates what exists.
#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn sub_handles_and_requests() {
    let ipvs = clean().await;
    let key = ServiceKey::tcp(sa("10.96.5.5:80"));
    let services = ipvs.services();
    services
        .add(VirtualService::new(key, Scheduler::RR))
        .execute()
        .await
        .unwrap();
    let again = services
        .add(VirtualService::new(key, Scheduler::WRR))
        .execute()
        .await;
    assert!(
        matches!(again, Err(IpvsError::ServiceExists(k)) if k == key),
        "{again:?}"
    );
    services
        .add(VirtualService::new(key, Scheduler::WRR))
        .replace()
        .execute()
        .await
        .unwrap();
    let got = services.get(key).execute().await.unwrap().expect("exists");
    assert_eq!(got.scheduler, Scheduler::WRR);

    let real_servers = ipvs.real_servers(key);
    let rs = |addr: &str, weight| RealServer::new(sa(addr), ForwardMethod::Masq, weight);
    real_servers
        .add(rs("10.244.5.1:80", 1))
        .execute()
        .await
        .unwrap();
    real_servers
        .add(rs("10.244.5.1:80", 4))
        .replace()
        .execute()
        .await
        .unwrap();
    real_servers
        .add(rs("10.244.5.2:80", 1))
        .execute()
        .await
        .unwrap();
    real_servers
        .update(rs("10.244.5.2:80", 0))
        .execute()
        .await
        .unwrap();
    assert_eq!(
        saved(),
        "-A -t 10.96.5.5:80 -s wrr\n\
         -a -t 10.96.5.5:80 -r 10.244.5.1:80 -m -w 4\n\
         -a -t 10.96.5.5:80 -r 10.244.5.2:80 -m -w 0\n"
    );
    real_servers
        .del(sa("10.244.5.1:80"))
        .execute()
        .await
        .unwrap();
    let listed = real_servers.list().execute().await.unwrap();
    assert_eq!(
        listed.iter().map(|r| r.addr).collect::<Vec<_>>(),
        [sa("10.244.5.2:80")]
    );
    let missing = real_servers.del(sa("10.244.5.1:80")).execute().await;
    assert!(
        matches!(missing, Err(IpvsError::RealServerNotFound { .. })),
        "{missing:?}"
    );

    // A batch: one result per command, the failing one in its place.
    let other = ServiceKey::udp(sa("10.96.5.6:53"));
    let results = ipvs
        .batch()
        .add_service(VirtualService::new(other, Scheduler::RR))
        .add_real_server(
            other,
            RealServer::new(sa("10.244.5.3:53"), ForwardMethod::Masq, 1),
        )
        .delete_service(ServiceKey::tcp(sa("10.96.5.7:80")))
        .delete_service(key)
        .execute()
        .await
        .unwrap();
    assert_eq!(results.len(), 4);
    assert!(
        results[0].is_ok() && results[1].is_ok() && results[3].is_ok(),
        "{results:?}"
    );
    assert!(
        matches!(results[2], Err(IpvsError::ServiceNotFound(_))),
        "{results:?}"
    );
    assert_eq!(
        services
            .list()
            .execute()
            .await
            .unwrap()
            .iter()
            .map(|s| s.key)
            .collect::<Vec<_>>(),
        [other]
    );
    assert_eq!(
        saved(),
        "-A -u 10.96.5.6:53 -s rr\n-a -u 10.96.5.6:53 -r 10.244.5.3:53 -m -w 1\n"
    );
    services.flush().execute().await.unwrap();
    assert_eq!(saved(), "");
}

/// The sync daemons: started, listed and stopped by the library, cross-
/// checked with `ipvsadm --start-daemon`, `-L --daemon` and
/// `--stop-daemon` both ways.
#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn sync_daemons_like_ipvsadm() {
    let ipvs = clean().await;
    let daemons = ipvs.daemons();
    for state in [DaemonState::Master, DaemonState::Backup] {
        let _ = daemons.del(state).execute().await;
    }
    assert_eq!(ipvsadm(&["-L", "--daemon"]), "");
    assert!(daemons.list().execute().await.unwrap().is_empty());

    // Started here, seen by ipvsadm (the kernel fills in the defaults).
    daemons
        .add(SyncDaemon::new(DaemonState::Master, "lo", 7))
        .execute()
        .await
        .unwrap();
    let listed = ipvsadm(&["-L", "--daemon"]);
    assert_eq!(
        listed,
        "master sync daemon (mcast=lo, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n"
    );
    let again = daemons
        .add(SyncDaemon::new(DaemonState::Master, "lo", 8))
        .execute()
        .await;
    assert!(
        matches!(again, Err(IpvsError::DaemonRunning(DaemonState::Master))),
        "{again:?}"
    );

    // Started by ipvsadm, read back here; every line printed the same way.
    ipvsadm(&[
        "--start-daemon",
        "backup",
        "--mcast-interface",
        "lo",
        "--syncid",
        "9",
        "--sync-maxlen",
        "1400",
        "--mcast-group",
        "224.0.0.82",
        "--mcast-port",
        "8849",
        "--mcast-ttl",
        "2",
    ]);
    let ours = daemons.list().execute().await.unwrap();
    let want_backup = SyncDaemon::new(DaemonState::Backup, "lo", 9)
        .with_max_len(1400)
        .with_multicast("224.0.0.82".parse().unwrap(), 8849, 2);
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert_eq!(ours[1], want_backup);
    let printed: String = ours.iter().map(|d| format!("{d}\n")).collect();
    assert_eq!(printed, ipvsadm(&["-L", "--daemon"]));

    // Stopped here, gone for ipvsadm; a second stop is refused.
    daemons.del(DaemonState::Backup).execute().await.unwrap();
    assert!(ipvsadm(&["-L", "--daemon"]).starts_with("master sync daemon"));
    let stopped = daemons.del(DaemonState::Backup).execute().await;
    assert!(
        matches!(
            stopped,
            Err(IpvsError::DaemonNotRunning(DaemonState::Backup))
        ),
        "{stopped:?}"
    );
    // A batch stops the master.
    let results = ipvs
        .batch()
        .stop_daemon(DaemonState::Master)
        .execute()
        .await
        .unwrap();
    assert!(results[0].is_ok(), "{results:?}");
    assert_eq!(ipvsadm(&["-L", "--daemon"]), "");
}

/// The weight of `server` in service `service` as `ipvsadm -Ln` prints
/// it, polled until it is `want` (at most 20 s; the checker runs every
/// 100 ms).
fn wait_for_weight(service: &str, server: &str, want: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let listing = ipvsadm(&["-Ln", "-t", service]);
        let weight = listing
            .lines()
            .find(|l| l.contains(server))
            .and_then(|l| l.split_whitespace().nth(3))
            .and_then(|w| w.parse::<u32>().ok());
        if weight == Some(want) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{server} never got weight {want}:\n{listing}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The health-checker example: a real server whose port stops answering
/// gets weight 0, and its weight back when it answers again; one that never
/// answers stays at 0; `ipvsadm -Ln` is the oracle.
#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn health_checker_example_drains_and_restores() {
    let ipvs = clean().await;
    let key = ServiceKey::tcp(sa("10.96.7.7:80"));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let live = format!("127.0.0.1:{port}");
    // Nothing listens on port 1.
    let dead = "127.0.0.2:1";
    ipvs.batch()
        .add_service(VirtualService::new(key, Scheduler::WRR))
        .add_real_server(
            key,
            RealServer::new(sa(&live), ForwardMethod::DirectRoute, 3),
        )
        .add_real_server(
            key,
            RealServer::new(sa(dead), ForwardMethod::DirectRoute, 2),
        )
        .execute()
        .await
        .unwrap()
        .into_iter()
        .for_each(|r| r.unwrap());
    let mut checker = Process::new(example("health-checker"))
        .args([
            "--interval-ms",
            "100",
            "--timeout-ms",
            "200",
            "tcp",
            "10.96.7.7:80",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the health-checker example");
    wait_for_weight("10.96.7.7:80", dead, 0);
    wait_for_weight("10.96.7.7:80", &live, 3);
    drop(listener);
    wait_for_weight("10.96.7.7:80", &live, 0);
    let listener = std::net::TcpListener::bind(&live).unwrap();
    wait_for_weight("10.96.7.7:80", &live, 3);
    wait_for_weight("10.96.7.7:80", dead, 0);
    checker.kill().unwrap();
    let out = checker.wait_with_output().unwrap();
    drop(listener);
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        printed,
        format!(
            "checking the real servers of TCP 10.96.7.7:80\n\
             down {dead} (weight 2 -> 0)\n\
             down {live} (weight 3 -> 0)\n\
             up {live} (weight 0 -> 3)\n"
        )
    );
    ipvs.services().flush().execute().await.unwrap();
}

/// The desired-state sync: from a table made by ipvsadm, only the
/// differences are sent, and `ipvsadm -Sn` shows the wanted table; a second
/// sync changes nothing; `only_listed` leaves other services alone.
#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn sync_sends_only_the_differences() {
    let ipvs = clean().await;
    real_script(
        "-A -t 10.96.8.1:80 -s rr\n\
         -a -t 10.96.8.1:80 -r 10.244.8.1:80 -m -w 1\n\
         -a -t 10.96.8.1:80 -r 10.244.8.2:80 -m -w 1\n\
         -A -t 10.96.8.2:80 -s rr\n\
         -a -t 10.96.8.2:80 -r 10.244.8.3:80 -m -w 1\n\
         -A -u 10.96.8.3:53 -s rr\n",
    );
    let rs = |addr: &str, weight| RealServer::new(sa(addr), ForwardMethod::Masq, weight);
    let entry = |key: ServiceKey, scheduler, servers: Vec<RealServer>| {
        TableEntry::new(VirtualService::new(key, scheduler), servers)
    };
    let web = ServiceKey::tcp(sa("10.96.8.1:80"));
    let api = ServiceKey::tcp(sa("10.96.8.2:80"));
    let new = ServiceKey::tcp(sa("10.96.8.4:443"));
    let desired = vec![
        entry(
            web,
            Scheduler::RR,
            vec![rs("10.244.8.1:80", 5), rs("10.244.8.4:80", 1)],
        ),
        entry(api, Scheduler::WRR, vec![rs("10.244.8.3:80", 1)]),
        entry(new, Scheduler::RR, vec![rs("10.244.8.5:443", 1)]),
    ];
    let stats = ipvs.sync(desired.clone()).execute().await.unwrap();
    assert_eq!(
        (
            stats.services_added,
            stats.services_updated,
            stats.services_deleted
        ),
        (1, 1, 1),
        "{stats:?}"
    );
    assert_eq!(
        (
            stats.real_servers_added,
            stats.real_servers_updated,
            stats.real_servers_deleted
        ),
        (2, 1, 1),
        "{stats:?}"
    );
    let want = "-A -t 10.96.8.1:80 -s rr\n\
                -a -t 10.96.8.1:80 -r 10.244.8.1:80 -m -w 5\n\
                -a -t 10.96.8.1:80 -r 10.244.8.4:80 -m -w 1\n\
                -A -t 10.96.8.2:80 -s wrr\n\
                -a -t 10.96.8.2:80 -r 10.244.8.3:80 -m -w 1\n\
                -A -t 10.96.8.4:443 -s rr\n\
                -a -t 10.96.8.4:443 -r 10.244.8.5:443 -m -w 1\n";
    assert_eq!(saved(), want);
    let again = ipvs.sync(desired.clone()).execute().await.unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(saved(), want);

    // Someone else's service survives a sync of only the listed ones.
    ipvsadm(&["-A", "-u", "10.96.8.9:53", "-s", "rr"]);
    let stats = ipvs
        .sync(desired[..1].to_vec())
        .only_listed()
        .execute()
        .await
        .unwrap();
    assert!(stats.is_empty(), "{stats:?}");
    assert!(saved().contains("-A -u 10.96.8.9:53 -s rr\n"));
    ipvs.services().flush().execute().await.unwrap();
}

/// The blocking client, with no runtime: commands, dumps, the sync and
/// the daemons, checked with ipvsadm.
#[test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
fn blocking_client_without_a_runtime() {
    use ipvs_netlink::{SyncScope, blocking::IpvsClient};
    let mut ipvs = IpvsClient::connect().expect("connect");
    ipvs.run(Command::Flush).unwrap();
    let key = ServiceKey::tcp(sa("10.96.9.1:80"));
    let results = ipvs
        .execute(&[
            Command::AddService(VirtualService::new(key, Scheduler::RR)),
            Command::AddRealServer(
                key,
                RealServer::new(sa("10.244.9.1:80"), ForwardMethod::Masq, 2),
            ),
            Command::AddService(VirtualService::new(key, Scheduler::RR)),
        ])
        .unwrap();
    assert!(results[0].is_ok() && results[1].is_ok(), "{results:?}");
    assert!(
        matches!(results[2], Err(IpvsError::ServiceExists(_))),
        "{results:?}"
    );
    assert_eq!(
        saved(),
        "-A -t 10.96.9.1:80 -s rr\n-a -t 10.96.9.1:80 -r 10.244.9.1:80 -m -w 2\n"
    );
    assert_eq!(ipvs.services().unwrap().len(), 1);
    assert_eq!(ipvs.real_servers(&key).unwrap()[0].weight, 2);
    assert!(
        ipvs.service(&ServiceKey::tcp(sa("10.96.9.2:80")))
            .unwrap()
            .is_none()
    );
    let desired = [TableEntry::new(
        VirtualService::new(key, Scheduler::WRR),
        vec![RealServer::new(sa("10.244.9.2:80"), ForwardMethod::Masq, 1)],
    )];
    let stats = ipvs.sync(&desired, SyncScope::WholeTable).unwrap();
    assert_eq!(
        (
            stats.services_updated,
            stats.real_servers_added,
            stats.real_servers_deleted
        ),
        (1, 1, 1)
    );
    assert_eq!(
        saved(),
        "-A -t 10.96.9.1:80 -s wrr\n-a -t 10.96.9.1:80 -r 10.244.9.2:80 -m -w 1\n"
    );
    assert_eq!(ipvs.table().unwrap().to_string(), ipvsadm(&["-Ln"]));
    ipvs.run(Command::StartDaemon(SyncDaemon::new(
        DaemonState::Backup,
        "lo",
        3,
    )))
    .unwrap();
    assert_eq!(ipvs.daemons().unwrap()[0].sync_id, 3);
    assert!(ipvsadm(&["-L", "--daemon"]).starts_with("backup sync daemon (mcast=lo, syncid=3"));
    ipvs.run(Command::StopDaemon(DaemonState::Backup)).unwrap();
    ipvs.run(Command::Flush).unwrap();
    assert_eq!(saved(), "");
}

/// The error a user gets when the module is not loaded, and that the
/// library works again once it is. Unloads ip_vs, so it runs last.
#[tokio::test]
#[ignore = "kernel: needs root and IPVS (the test VM); run tests/run"]
async fn zz_not_loaded_says_what_to_do() {
    let kroot = std::env::var("KPVS_VM_KROOT").expect("runs in the test VM (KPVS_VM_KROOT)");
    let modules: Vec<String> = std::fs::read_to_string("/proc/modules")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').next())
        .filter(|m| m.starts_with("ip_vs") || *m == "xt_ipvs")
        .map(str::to_string)
        .collect();
    let modprobe = |args: &[&str]| {
        let st = Process::new("modprobe")
            .arg("-d")
            .arg(&kroot)
            .args(args)
            .status()
            .unwrap();
        assert!(st.success(), "modprobe {args:?}");
    };
    clean().await;
    let names: Vec<&str> = modules.iter().map(String::as_str).collect();
    modprobe(&[&["-r"][..], &names].concat());
    let err = IpvsHandle::connect()
        .await
        .expect_err("no IPVS family without ip_vs");
    modprobe(&[&["-a"][..], &names].concat());
    assert!(matches!(err, IpvsError::NotLoaded), "{err:?}");
    assert!(err.to_string().contains("modprobe ip_vs"), "{err}");
    let ipvs = IpvsHandle::connect().await.expect("loaded again");
    assert!(ipvs.services().list().execute().await.unwrap().is_empty());
}
