use super::*;
use crate::{ForwardMethod, Scheduler, Stats, Tunnel, TunnelType};

fn info() -> Info {
    Info::new(0x010201, 4096)
}

fn rs(addr: &str, forward: ForwardMethod, weight: u32, active: u32, inactive: u32) -> RealServer {
    let mut rs = RealServer::new(addr.parse().unwrap(), forward, weight);
    rs.active_conns = active;
    rs.inactive_conns = inactive;
    rs
}

fn sample() -> Table {
    let tcp = VirtualService::new(
        ServiceKey::tcp("10.96.0.1:443".parse().unwrap()),
        Scheduler::RR,
    );
    let udp = VirtualService::new(
        ServiceKey::udp("10.96.0.10:53".parse().unwrap()),
        Scheduler::WRR,
    )
    .persistent(10800)
    .with_netmask(Netmask::Ipv4(Ipv4Addr::new(255, 255, 255, 0)));
    let v6 = VirtualService::new(
        ServiceKey::tcp("[2001:db8::1]:80".parse().unwrap()),
        Scheduler::SH,
    )
    .with_flags(ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT);
    let fwm = VirtualService::new(ServiceKey::fwmark(Family::Inet, 7), Scheduler::MH)
        .with_flags(ServiceFlags::MH_PORT | ServiceFlags::ONE_PACKET);
    let fwm6 = VirtualService::new(ServiceKey::fwmark(Family::Inet6, 8), Scheduler::WLC)
        .persistent(300)
        .with_netmask(Netmask::Ipv6Prefix(64))
        .with_pe_name("sip");
    Table::new(
        info(),
        vec![
            TableEntry::new(
                tcp,
                vec![
                    rs("192.168.0.10:6443", ForwardMethod::Masq, 1, 2, 3),
                    rs("192.168.0.11:6443", ForwardMethod::DirectRoute, 100, 0, 0),
                ],
            ),
            TableEntry::new(
                udp,
                vec![rs(
                    "10.244.1.5:53",
                    ForwardMethod::Tunnel(Tunnel::new(TunnelType::Ipip, 0, 0)),
                    0,
                    0,
                    12,
                )],
            ),
            TableEntry::new(
                v6,
                vec![rs("[2001:db8::2]:8080", ForwardMethod::Local, 1, 0, 0)],
            ),
            TableEntry::new(fwm, vec![]),
            TableEntry::new(fwm6, vec![]),
        ],
    )
}

#[test]
fn plain_listing() {
    let expected = concat!(
        "IP Virtual Server version 1.2.1 (size=4096)\n",
        "Prot LocalAddress:Port Scheduler Flags\n",
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
        "TCP  10.96.0.1:443 rr\n",
        "  -> 192.168.0.10:6443            Masq    1      2          3         \n",
        "  -> 192.168.0.11:6443            Route   100    0          0         \n",
        "UDP  10.96.0.10:53 wrr persistent 10800 mask 255.255.255.0\n",
        "  -> 10.244.1.5:53                Tunnel  0      0          12        \n",
        "TCP  [2001:db8::1]:80 sh (sh-fallback,sh-port)\n",
        "  -> [2001:db8::2]:8080           Local   1      0          0         \n",
        "FWM  7 mh (mh-port) ops\n",
        "FWM  8 IPv6 wlc persistent 300 mask 64 pe sip\n",
    );
    assert_eq!(sample().to_string(), expected);
}

#[test]
fn stats_listing() {
    let mut table = sample();
    table.entries.truncate(1);
    let stats = Stats {
        conns: 5,
        in_packets: 123_456_789,
        out_packets: 99_999_999,
        in_bytes: 12_345_678_901,
        out_bytes: 123_456_789_012_345,
        ..Stats::default()
    };
    table.entries[0].service.stats = Some(Box::new(stats));
    let expected = concat!(
        "IP Virtual Server version 1.2.1 (size=4096)\n",
        "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n",
        "  -> RemoteAddress:Port\n",
        "TCP  10.96.0.1:443                       5  123456K 99999999   12345M     123T\n",
        "  -> 192.168.0.10:6443                   0        0        0        0        0\n",
        "  -> 192.168.0.11:6443                   0        0        0        0        0\n",
    );
    assert_eq!(table.display(ListFormat::Stats).to_string(), expected);
}

#[test]
fn large_numbers() {
    assert_eq!(large_number(0), "        0");
    assert_eq!(large_number(99_999_999), " 99999999");
    assert_eq!(large_number(100_000_000), "  100000K");
    assert_eq!(large_number(1_000_000_000), "    1000M");
    assert_eq!(large_number(99_999_999_999), "   99999M");
    assert_eq!(large_number(100_000_000_000), "     100G");
    assert_eq!(large_number(u64::MAX), "18446744T");
}

#[test]
fn glibc_ipv6_spelling() {
    assert_eq!(ipv6_like_glibc("::1".parse().unwrap()), "::1");
    assert_eq!(ipv6_like_glibc("::".parse().unwrap()), "::");
    assert_eq!(
        ipv6_like_glibc("::ffff:10.0.0.1".parse().unwrap()),
        "::ffff:10.0.0.1"
    );
    assert_eq!(ipv6_like_glibc("::10.0.0.1".parse().unwrap()), "::10.0.0.1");
    assert_eq!(
        ipv6_like_glibc("2001:db8:0:1::".parse().unwrap()),
        "2001:db8:0:1::"
    );
}

#[test]
fn ipvsadm_sort_order() {
    let svc = |key: &str| {
        TableEntry::new(
            VirtualService::new(ServiceKey::tcp(key.parse().unwrap()), Scheduler::RR),
            vec![],
        )
    };
    let mut table = Table::new(
        info(),
        vec![
            svc("10.0.0.1:80"),
            TableEntry::new(
                VirtualService::new(ServiceKey::fwmark(Family::Inet, 1), Scheduler::RR),
                vec![],
            ),
            svc("192.168.0.1:80"),
            svc("10.0.0.1:22"),
            TableEntry::new(
                VirtualService::new(
                    ServiceKey::udp("10.0.0.1:53".parse().unwrap()),
                    Scheduler::RR,
                ),
                vec![],
            ),
        ],
    );
    table.sort_like_ipvsadm();
    let keys: Vec<String> = table
        .entries
        .iter()
        .map(|e| e.service.key.to_string())
        .collect();
    // 192.168.0.1 - 10.0.0.1 wraps negative in C `int`, so it sorts first;
    // fwmark services (mark > 0) come after every address service.
    assert_eq!(
        keys,
        [
            "TCP 192.168.0.1:80",
            "TCP 10.0.0.1:22",
            "TCP 10.0.0.1:80",
            "UDP 10.0.0.1:53",
            "FWM 1"
        ]
    );
}

/// The table of a real `ipvsadm -Ln` / `ipvsadm -Ln --stats` run (ipvsadm
/// 1.31, kernel 6.1), built by hand in a scrambled order and sorted.
fn captured_table() -> Table {
    let svc = |key: ServiceKey, sched: Scheduler| VirtualService::new(key, sched);
    let masq = |addr: &str, w| rs(addr, ForwardMethod::Masq, w, 0, 0);
    let route = |addr: &str, w| rs(addr, ForwardMethod::DirectRoute, w, 0, 0);
    let tunnel = |addr: &str, w| rs(addr, ForwardMethod::Tunnel(Tunnel::default()), w, 0, 0);
    let entries = vec![
        TableEntry::new(
            svc(
                ServiceKey::udp("[fd00::2]:53".parse().unwrap()),
                Scheduler::RR,
            )
            .with_flags(ServiceFlags::ONE_PACKET),
            vec![],
        ),
        TableEntry::new(
            svc(ServiceKey::fwmark(Family::Inet6, 200), Scheduler::WRR).persistent(360),
            vec![route("[fd00::20]:0", 1)],
        ),
        TableEntry::new(
            svc(
                ServiceKey::tcp("10.96.197.40:8000".parse().unwrap()),
                Scheduler::RR,
            ),
            vec![
                masq("10.244.1.4:80", 1),
                masq("10.244.1.2:80", 1),
                masq("10.244.1.3:80", 1),
            ],
        ),
        TableEntry::new(
            svc(
                ServiceKey::tcp("10.96.0.1:443".parse().unwrap()),
                Scheduler::SED,
            )
            .persistent(10800),
            vec![
                masq("192.168.255.255:65535", 100),
                route("127.0.0.1:443", 1),
            ],
        ),
        TableEntry::new(
            svc(ServiceKey::fwmark(Family::Inet, 100), Scheduler::MH)
                .with_flags(ServiceFlags::MH_PORT),
            vec![route("10.244.2.1:0", 3)],
        ),
        TableEntry::new(
            svc(
                ServiceKey::sctp("10.0.0.3:3868".parse().unwrap()),
                Scheduler::SH,
            )
            .with_flags(ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT),
            vec![masq("10.244.2.4:3868", 1)],
        ),
        TableEntry::new(
            svc(
                ServiceKey::udp("10.96.0.10:53".parse().unwrap()),
                Scheduler::WLC,
            )
            .persistent(300)
            .with_netmask(Netmask::Ipv4(Ipv4Addr::new(255, 255, 255, 0)))
            .with_flags(ServiceFlags::ONE_PACKET),
            vec![tunnel("10.244.2.3:53", 4), tunnel("10.244.2.2:53", 1)],
        ),
        TableEntry::new(
            svc(
                ServiceKey::tcp("[fd00::1]:80".parse().unwrap()),
                Scheduler::LC,
            )
            .persistent(60)
            .with_netmask(Netmask::Ipv6Prefix(64)),
            vec![
                masq("[2001:db8:ffff:ffff:ffff:ffff:ffff:fff1]:65535", 65535),
                masq("[fd00::10]:8080", 2),
            ],
        ),
    ];
    let mut table = Table::new(info(), entries);
    table.sort_like_ipvsadm();
    table
}

#[test]
fn matches_a_captured_ipvsadm_listing() {
    let expected = concat!(
        "IP Virtual Server version 1.2.1 (size=4096)\n",
        "Prot LocalAddress:Port Scheduler Flags\n",
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
        "TCP  10.96.0.1:443 sed persistent 10800\n",
        "  -> 127.0.0.1:443                Route   1      0          0         \n",
        "  -> 192.168.255.255:65535        Masq    100    0          0         \n",
        "TCP  10.96.197.40:8000 rr\n",
        "  -> 10.244.1.2:80                Masq    1      0          0         \n",
        "  -> 10.244.1.3:80                Masq    1      0          0         \n",
        "  -> 10.244.1.4:80                Masq    1      0          0         \n",
        "UDP  10.96.0.10:53 wlc persistent 300 mask 255.255.255.0 ops\n",
        "  -> 10.244.2.2:53                Tunnel  1      0          0         \n",
        "  -> 10.244.2.3:53                Tunnel  4      0          0         \n",
        "SCTP 10.0.0.3:3868 sh (sh-fallback,sh-port)\n",
        "  -> 10.244.2.4:3868              Masq    1      0          0         \n",
        "TCP  [fd00::1]:80 lc persistent 60 mask 64\n",
        "  -> [fd00::10]:8080              Masq    2      0          0         \n",
        "  -> [2001:db8:ffff:ffff:ffff:ffff:ffff:fff1]:65535 Masq    65535  0          0         \n",
        "UDP  [fd00::2]:53 rr ops\n",
        "FWM  100 mh (mh-port)\n",
        "  -> 10.244.2.1:0                 Route   3      0          0         \n",
        "FWM  200 IPv6 wrr persistent 360\n",
        "  -> [fd00::20]:0                 Route   1      0          0         \n",
    );
    assert_eq!(captured_table().to_string(), expected);
}

#[test]
fn matches_a_captured_ipvsadm_stats_listing() {
    let zeros = "        0        0        0        0        0\n";
    let lines = [
        "IP Virtual Server version 1.2.1 (size=4096)\n".to_owned(),
        "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
            .to_owned(),
        "  -> RemoteAddress:Port\n".to_owned(),
        format!("TCP  10.96.0.1:443               {zeros}"),
        format!("  -> 127.0.0.1:443               {zeros}"),
        format!("  -> 192.168.255.255:65535       {zeros}"),
        format!("TCP  10.96.197.40:8000           {zeros}"),
        format!("  -> 10.244.1.2:80               {zeros}"),
        format!("  -> 10.244.1.3:80               {zeros}"),
        format!("  -> 10.244.1.4:80               {zeros}"),
        format!("UDP  10.96.0.10:53               {zeros}"),
        format!("  -> 10.244.2.2:53               {zeros}"),
        format!("  -> 10.244.2.3:53               {zeros}"),
        format!("SCTP 10.0.0.3:3868               {zeros}"),
        format!("  -> 10.244.2.4:3868             {zeros}"),
        format!("TCP  [fd00::1]:80                {zeros}"),
        format!("  -> [fd00::10]:8080             {zeros}"),
        format!("  -> [2001:db8:ffff:ffff:ffff:ffff:ffff:fff1]:65535{zeros}"),
        format!("UDP  [fd00::2]:53                {zeros}"),
        format!("FWM  100                         {zeros}"),
        format!("  -> 10.244.2.1:0                {zeros}"),
        format!("FWM  200 IPv6                    {zeros}"),
        format!("  -> [fd00::20]:0                {zeros}"),
    ];
    assert_eq!(
        captured_table().display(ListFormat::Stats).to_string(),
        lines.concat()
    );
}

#[test]
fn single_service_listing_has_no_version_header() {
    let table = Table::new(info(), sample().entries.into_iter().take(1).collect());
    let out = table
        .display(ListFormat::Plain)
        .without_version_header()
        .to_string();
    assert!(out.starts_with("Prot LocalAddress:Port Scheduler Flags\n"));
}

/// The first service of `sample()` with rates, counters and thresholds set.
fn rated() -> Table {
    let mut table = sample();
    table.entries.truncate(1);
    let entry = &mut table.entries[0];
    entry.service.stats = Some(Box::new(Stats {
        conns: 5,
        cps: 5,
        in_pps: 123_456_789,
        in_bps: 1_000_000_000,
        out_bps: 7,
        ..Stats::default()
    }));
    entry.real_servers[0].stats = Some(Box::new(Stats {
        cps: 123_456_789,
        in_pps: 1,
        out_pps: 2,
        in_bps: 100_000_000,
        out_bps: 3,
        ..Stats::default()
    }));
    entry.real_servers[0].upper_threshold = 1000;
    entry.real_servers[0].lower_threshold = 10;
    entry.real_servers[0].persistent_conns = 4;
    table
}

// The expected texts below were written from ipvsadm 1.31's printf formats
// (`print_title`, `print_service_entry`), not from this formatter.

#[test]
fn rate_listing() {
    let expected = concat!(
        "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n",
        "  -> RemoteAddress:Port\n",
        "TCP  10.96.0.1:443                       5  123456K        0    1000M        7\n",
        // Real servers print CPS/InPPS/OutPPS with %8llu, unabbreviated.
        "  -> 192.168.0.10:6443            123456789        1        2  100000K        3\n",
        "  -> 192.168.0.11:6443                   0        0        0        0        0\n",
    );
    let out = rated()
        .display(ListFormat::Rate)
        .without_version_header()
        .to_string();
    assert_eq!(out, expected);
}

#[test]
fn exact_numbers() {
    let out = rated()
        .display(ListFormat::Rate)
        .without_version_header()
        .exact()
        .to_string();
    let service = out.lines().nth(2).unwrap();
    assert_eq!(
        service,
        "TCP  10.96.0.1:443                       5 123456789        0 1000000000        7"
    );
}

#[test]
fn thresholds_and_persistent_conn_listings() {
    let thresholds = concat!(
        "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n",
        "  -> RemoteAddress:Port\n",
        "TCP  10.96.0.1:443 rr\n",
        "  -> 192.168.0.10:6443            1000       10         2          3         \n",
        "  -> 192.168.0.11:6443            0          0          0          0         \n",
    );
    let table = rated();
    let out = table.display(ListFormat::Thresholds).to_string();
    assert_eq!(out.split_once('\n').unwrap().1, thresholds);
    let persistent = concat!(
        "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n",
        "  -> RemoteAddress:Port\n",
        "TCP  10.96.0.1:443 rr\n",
        "  -> 192.168.0.10:6443            1         4           2          3         \n",
        "  -> 192.168.0.11:6443            100       0           0          0         \n",
    );
    let out = table.display(ListFormat::PersistentConn).to_string();
    assert_eq!(out.split_once('\n').unwrap().1, persistent);
}

#[test]
fn save_rules() {
    let expected = concat!(
        "-A -t 10.96.0.1:443 -s rr\n",
        "-a -t 10.96.0.1:443 -r 192.168.0.10:6443 -m -w 1\n",
        "-a -t 10.96.0.1:443 -r 192.168.0.11:6443 -g -w 100\n",
        "-A -u 10.96.0.10:53 -s wrr -p 10800 -M 255.255.255.0\n",
        "-a -u 10.96.0.10:53 -r 10.244.1.5:53 -i -w 0 --tun-type ipip\n",
        "-A -t [2001:db8::1]:80 -s sh -b sh-fallback,sh-port\n",
        // ipvsadm saves the local method as -g.
        "-a -t [2001:db8::1]:80 -r [2001:db8::2]:8080 -g -w 1\n",
        "-A -f 7 -s mh -o -b mh-port\n",
        "-A -f 8 -6 -s wlc -p 300 -M 64 --pe sip\n",
    );
    assert_eq!(sample().display(ListFormat::Save).to_string(), expected);
}

#[test]
fn save_tunnel_options() {
    let svc = VirtualService::new(
        ServiceKey::udp("10.0.0.1:53".parse().unwrap()),
        Scheduler::RR,
    );
    let tunnel = |addr: &str, kind, port, flags| {
        rs(
            addr,
            ForwardMethod::Tunnel(Tunnel::new(kind, port, flags)),
            2,
            0,
            0,
        )
    };
    let table = Table::new(
        info(),
        vec![TableEntry::new(
            svc,
            vec![
                tunnel("10.1.0.1:53", TunnelType::Gue, 6080, 0),
                tunnel("10.1.0.2:53", TunnelType::Gue, 6081, Tunnel::CSUM),
                tunnel("10.1.0.3:53", TunnelType::Gre, 0, Tunnel::REMCSUM),
            ],
        )],
    );
    let expected = concat!(
        "-A -u 10.0.0.1:53 -s rr\n",
        "-a -u 10.0.0.1:53 -r 10.1.0.1:53 -i -w 2 --tun-type gue --tun-port 6080 --tun-nocsum\n",
        "-a -u 10.0.0.1:53 -r 10.1.0.2:53 -i -w 2 --tun-type gue --tun-port 6081 --tun-csum\n",
        "-a -u 10.0.0.1:53 -r 10.1.0.3:53 -i -w 2 --tun-type gre --tun-remcsum\n",
    );
    assert_eq!(table.display(ListFormat::Save).to_string(), expected);
}
