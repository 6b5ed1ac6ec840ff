use super::*;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn apply(line: &str) -> Command {
    match parse(&line.split(' ').collect::<Vec<_>>()) {
        Ok(Action::Apply(command)) => command,
        other => panic!("{line}: {other:?}"),
    }
}

fn refused(line: &str) -> String {
    parse(&line.split(' ').collect::<Vec<_>>())
        .expect_err(line)
        .to_string()
}

#[test]
fn service_defaults_are_ipvsadm_s() {
    let key = ServiceKey::tcp(sa("10.0.0.1:80"));
    assert_eq!(
        apply("-A -t 10.0.0.1:80"),
        Command::AddService(VirtualService::new(key, Scheduler::WLC))
    );
    // A bare -p is 360 s; a port-0 service must be persistent.
    let zero = ServiceKey::udp(sa("10.0.0.1:0"));
    assert_eq!(
        apply("-E -u 10.0.0.1 -s rr -p -M 255.255.0.0 -o"),
        Command::UpdateService(
            VirtualService::new(zero, Scheduler::RR)
                .persistent(360)
                .with_netmask(Netmask::Ipv4(Ipv4Addr::new(255, 255, 0, 0)))
                .with_flags(ServiceFlags::ONE_PACKET)
        )
    );
    assert_eq!(
        refused("-A -t 10.0.0.1"),
        "Zero port specified for non-persistent service"
    );
    assert_eq!(
        refused("-A -t 10.0.0.1:80 -o"),
        "One-Packet Scheduling is only for UDP virtual services"
    );
}

#[test]
fn fwmark_ipv6_and_sched_flags() {
    let key = ServiceKey::fwmark(Family::Inet6, 200);
    assert_eq!(
        apply("-A -f 200 -6 -s mh -p 60 -M 64 -b mh-port,mh-fallback"),
        Command::AddService(
            VirtualService::new(key, Scheduler::MH)
                .persistent(60)
                .with_netmask(Netmask::Ipv6Prefix(64))
                .with_flags(ServiceFlags::MH_PORT | ServiceFlags::MH_FALLBACK)
        )
    );
    assert_eq!(refused("-A -6 -f 200"), "-6 used before -f");
    assert_eq!(
        refused("-A -f 1 -s rr -b sh-port"),
        "incompatible scheduler flag `sh-port'"
    );
    assert_eq!(
        refused("-A -t [fd00::1]:80 -p -M 129"),
        "illegal ipv6 netmask specified"
    );
    assert_eq!(refused("-A -f 0"), "invalid fwmark value `0' specified");
}

#[test]
fn real_server_defaults_and_ports() {
    let key = ServiceKey::tcp(sa("10.0.0.1:80"));
    // Gatewaying is the default and keeps the virtual port.
    assert_eq!(
        apply("-a -t 10.0.0.1:80 -r 10.1.0.1:8080"),
        Command::AddRealServer(
            key,
            RealServer::new(sa("10.1.0.1:80"), ForwardMethod::DirectRoute, 1)
        )
    );
    assert_eq!(
        apply("-e -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 0 -x 100 -y 10"),
        Command::UpdateRealServer(
            key,
            RealServer::new(sa("10.1.0.1:8080"), ForwardMethod::Masq, 0).with_thresholds(100, 10)
        )
    );
    // Without a port, the real server takes the service's.
    assert_eq!(
        apply("-d -t 10.0.0.1:80 -r 10.1.0.1"),
        Command::DeleteRealServer(key, sa("10.1.0.1:80"))
    );
    let v6 = ServiceKey::fwmark(Family::Inet6, 7);
    assert_eq!(
        apply("-a -f 7 -6 -r fd00::20 -g -w 3"),
        Command::AddRealServer(
            v6,
            RealServer::new(sa("[fd00::20]:0"), ForwardMethod::DirectRoute, 3)
        )
    );
    assert_eq!(
        refused("-a -t 10.0.0.1:80 -r [fd00::1]:80 -m"),
        "Different address family is allowed only for tunneling servers"
    );
}

#[test]
fn tunnel_options() {
    let key = ServiceKey::udp(sa("10.0.0.1:53"));
    assert_eq!(
        apply("-a -u 10.0.0.1:53 -r 10.1.0.1 -i --tun-type gue --tun-port 6080 --tun-csum"),
        Command::AddRealServer(
            key,
            RealServer::new(
                sa("10.1.0.1:53"),
                ForwardMethod::Tunnel(Tunnel::new(TunnelType::Gue, 6080, Tunnel::CSUM)),
                1
            )
        )
    );
    assert_eq!(
        refused("-a -u 10.0.0.1:53 -r 10.1.0.1 -i --tun-type gue"),
        "You need to supply the 'tun-port' option for the 'gue' tunnel type"
    );
    assert_eq!(
        refused("-a -u 10.0.0.1:53 -r 10.1.0.1 -m --tun-type gre"),
        "Tunnel options conflict with forward method"
    );
    assert_eq!(
        refused("-a -u 10.0.0.1:53 -r 10.1.0.1 -i --tun-type gre --tun-csum --tun-nocsum"),
        "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gre' tunnel type"
    );
}

#[test]
fn command_option_table() {
    assert_eq!(
        refused("-A -t 10.0.0.1:80 -r 10.1.0.1"),
        "Illegal 'real-server' option with the 'add-service' command"
    );
    assert_eq!(
        refused("-a -t 10.0.0.1:80"),
        "You need to supply the 'real-server' option for the 'add-server' command"
    );
    assert_eq!(
        refused("-L --timeout --daemon"),
        "The option 'daemon' conflicts with the 'timeout' option in the 'list' command"
    );
    assert_eq!(
        refused("-A -D -t 10.0.0.1:80"),
        "multiple commands specified"
    );
    assert_eq!(
        refused("-A -t 10.0.0.1:80 -s rr -s wrr"),
        "multiple 'scheduler' options specified"
    );
    assert_eq!(
        refused("-a -t 10.0.0.1:80 -r 10.1.0.1 -w 65536"),
        "illegal weight `65536' specified"
    );
    assert_eq!(
        refused("-A -t host.example:80"),
        "illegal virtual server address[:port] `host.example:80' specified"
    );
    assert_eq!(refused("-S -n extra"), "unexpected argument extra");
}

#[test]
fn listings_and_settings() {
    assert_eq!(
        parse(&["-L", "-n", "--rate", "--exact"]),
        Ok(Action::List(Listing {
            service: None,
            format: ListFormat::Rate,
            sort: true,
            exact: true,
        }))
    );
    assert_eq!(
        parse(&["-Ln", "-u", "10.0.0.1:53", "--nosort"]),
        Ok(Action::List(Listing {
            service: Some(ServiceKey::udp(sa("10.0.0.1:53"))),
            format: ListFormat::Plain,
            sort: false,
            exact: false,
        }))
    );
    assert_eq!(parse(&["-L", "--timeout"]), Ok(Action::ListTimeouts));
    // --stats wins over --rate, as in ipvsadm's print_title.
    assert!(matches!(
        parse(&["-L", "--rate", "--stats"]),
        Ok(Action::List(Listing {
            format: ListFormat::Stats,
            ..
        }))
    ));
    assert_eq!(parse(&["-Sn"]), Ok(Action::Save));
    assert_eq!(
        apply("--set 900 120 300"),
        Command::SetTimeouts(Timeouts::new(900, 120, 300))
    );
    assert_eq!(
        refused("--set 900 120"),
        "--set option requires 3 timeout values"
    );
    assert_eq!(apply("-C"), Command::Flush);
    assert_eq!(apply("-Z"), Command::Zero(None));
}
