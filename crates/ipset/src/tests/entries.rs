use crate::{
    Entry, EntryError, Family, SetType,
    sync::{diff, temporary_name},
};

#[test]
fn parse_and_display_round_trip() {
    let cases = [
        (SetType::HashIp, "10.0.0.1"),
        (SetType::HashIp, "fd00::1"),
        (SetType::HashIpPort, "10.0.0.1,tcp:80"),
        (SetType::HashIpPort, "fd00::1,udp:53"),
        (SetType::HashIpPort, "10.0.0.3,sctp:30000"),
        (SetType::HashIpPortIp, "10.0.0.1,tcp:80,10.0.0.1"),
        (SetType::HashIpPortNet, "10.0.0.1,tcp:80,10.1.0.0/16"),
        (SetType::HashIpPortNet, "10.0.0.1,tcp:80,10.2.3.4"),
        (SetType::HashNet, "10.0.0.0/8"),
        (SetType::HashNet, "fd00::/64"),
        (SetType::HashNet, "172.16.0.1"),
        (SetType::BitmapPort, "30080"),
    ];
    for (set_type, text) in cases {
        let entry = Entry::parse(set_type, text).expect(text);
        assert_eq!(entry.to_string(), text);
        assert_eq!(entry.set_type(), set_type);
    }
}

#[test]
fn from_str_guesses_the_shape() {
    let cases = [
        ("10.0.0.1", SetType::HashIp),
        ("10.0.0.0/8", SetType::HashNet),
        ("30080", SetType::BitmapPort),
        ("10.0.0.1,tcp:80", SetType::HashIpPort),
        ("10.0.0.1,tcp:80,10.0.0.2", SetType::HashIpPortIp),
        ("10.0.0.1,udp:80,10.0.0.0/24", SetType::HashIpPortNet),
    ];
    for (text, set_type) in cases {
        let entry: Entry = text.parse().expect(text);
        assert_eq!(entry.set_type(), set_type, "{text}");
    }
}

#[test]
fn normalises_like_the_kernel() {
    // Host bits are cleared, /32 is not printed, a bare port means tcp.
    assert_eq!(
        Entry::parse(SetType::HashNet, "10.1.2.3/16")
            .unwrap()
            .to_string(),
        "10.1.0.0/16"
    );
    assert_eq!(
        Entry::parse(SetType::HashNet, "10.1.2.3/32")
            .unwrap()
            .to_string(),
        "10.1.2.3"
    );
    assert_eq!(
        Entry::parse(SetType::HashIpPort, "10.0.0.1,80")
            .unwrap()
            .to_string(),
        "10.0.0.1,tcp:80"
    );
    assert_eq!(
        Entry::parse(SetType::HashNet, "0.0.0.0/0")
            .unwrap()
            .to_string(),
        "0.0.0.0/0"
    );
}

#[test]
fn rejects_bad_entries() {
    let bad = [
        (SetType::HashIp, "10.0.0.256"),
        (SetType::HashIpPort, "10.0.0.1,icmp:8"),
        (SetType::HashIpPort, "10.0.0.1,tcp:70000"),
        (SetType::HashNet, "10.0.0.0/33"),
        (SetType::HashIpPortIp, "10.0.0.1,tcp:80,fd00::1"),
        (SetType::BitmapPort, "10.0.0.1"),
        (SetType::HashIp, "10.0.0.1,tcp:80"),
        (SetType::HashIp, ""),
    ];
    for (set_type, text) in bad {
        assert!(Entry::parse(set_type, text).is_err(), "{text}");
    }
    assert_eq!(
        Entry::parse(SetType::HashIp, "10.0.0.1,tcp:80").unwrap_err(),
        EntryError::Syntax {
            entry: "10.0.0.1,tcp:80".into(),
            set_type: SetType::HashIp
        }
    );
}

#[test]
fn attributes_round_trip() {
    for text in [
        "10.0.0.1,tcp:80,10.1.0.0/16",
        "fd00::1,udp:53",
        "30080",
        "10.0.0.0/8",
    ] {
        let entry: Entry = text.parse().unwrap();
        let attrs = entry.to_attributes(Some(3));
        assert_eq!(
            Entry::from_attributes(entry.set_type(), &attrs).unwrap(),
            entry
        );
    }
}

#[test]
fn families_and_types_parse() {
    assert_eq!("inet6".parse::<Family>().unwrap(), Family::Inet6);
    assert!("inet5".parse::<Family>().is_err());
    for t in SetType::ALL {
        assert_eq!(t.name().parse::<SetType>().unwrap(), t);
    }
}

#[test]
fn diff_is_minimal() {
    let e = |s: &str| s.parse::<Entry>().unwrap();
    let (del, add) = diff(
        &[e("1.1.1.1"), e("2.2.2.2")],
        &[e("2.2.2.2"), e("3.3.3.3"), e("3.3.3.3")],
    );
    assert_eq!(del, vec![e("1.1.1.1")]);
    assert_eq!(add, vec![e("3.3.3.3")]);
    assert_eq!(
        temporary_name("KUBE-LOAD-BALANCER-SOURCE-CIDR"),
        "KUBE-LOAD-BALANCER-SOURCE-C-tmp"
    );
    assert!(temporary_name("KUBE-LOAD-BALANCER-SOURCE-CIDR").len() <= 31);
}
