//! The planner's configuration: defaults, flag-named errors, node ports.

use crate::config::*;

#[test]
fn defaults_are_kube_proxys() {
    let config = ProxyConfig::default();
    assert_eq!(config.scheduler, "rr");
    assert_eq!(config.masquerade_mark(), 0x4000);
    assert_eq!(config.bind_mode, BindMode::Address);
    assert_eq!(config.node_port_addresses, NodePortAddresses::All);
    assert!(config.validate().is_ok());
}

#[test]
fn errors_name_the_flag() {
    let err = parse_cidrs("--cluster-cidr", &["10.244.0.0/16,nope/8"]).unwrap_err();
    assert!(err.to_string().contains("--cluster-cidr"), "{err}");
    assert!(err.to_string().contains("nope/8"), "{err}");
    let err = parse_cidrs("--ipvs-exclude-cidrs", &["10.0.0.1"]).unwrap_err();
    assert!(err.to_string().contains("--ipvs-exclude-cidrs"), "{err}");
    let config = ProxyConfig {
        masquerade_bit: 32,
        ..ProxyConfig::default()
    };
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--iptables-masquerade-bit")
    );
    let config = ProxyConfig {
        cluster_cidrs: parse_cidrs("--cluster-cidr", &["10.0.0.0/8", "10.1.0.0/16"]).unwrap(),
        ..ProxyConfig::default()
    };
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--cluster-cidr")
    );
}

#[test]
fn node_port_addresses() {
    assert_eq!(
        parse_node_port_addresses::<&str>(&[]).unwrap(),
        NodePortAddresses::All
    );
    assert_eq!(
        parse_node_port_addresses(&["primary"]).unwrap(),
        NodePortAddresses::Primary
    );
    assert_eq!(
        parse_node_port_addresses(&["10.0.0.0/8,fd00::/64"]).unwrap(),
        NodePortAddresses::Cidrs(vec![
            "10.0.0.0/8".parse().unwrap(),
            "fd00::/64".parse().unwrap()
        ])
    );
    assert!(parse_node_port_addresses(&["primary,10.0.0.0/8"]).is_err());
    let config = ProxyConfig {
        exclude_cidrs: parse_cidrs("--ipvs-exclude-cidrs", &["10.96.0.0/12"]).unwrap(),
        ..ProxyConfig::default()
    };
    assert!(config.is_excluded("10.100.0.1".parse().unwrap()));
    assert!(!config.is_excluded("10.200.0.1".parse().unwrap()));
}
