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
    table.entries[0].service.stats = Some(stats);
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
