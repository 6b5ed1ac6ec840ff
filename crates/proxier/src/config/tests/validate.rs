//! kube-proxy's validation rules, each from a file (naming the field) and
//! from the flags (naming the flag); warned-about modes.

use super::*;

/// The error of a file with `body`, which must name `field` and the file.
fn file_error(test: &str, body: &str, field: &str) {
    let err = run_file(test, body, &[]).unwrap_err();
    assert!(
        matches!(err, ConfigError::InvalidField { .. }),
        "{body}: {err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(field), "{body}: {text}");
    assert!(text.contains("config.conf"), "{body}: {text}");
}

#[test]
fn file_values_are_validated() {
    for (i, (body, field)) in [
        ("ipvs:\n  syncPeriod: -1s\n", "ipvs.syncPeriod"),
        ("ipvs:\n  minSyncPeriod: -1s\n", "ipvs.minSyncPeriod"),
        (
            "ipvs:\n  syncPeriod: 5s\n  minSyncPeriod: 10s\n",
            "ipvs.minSyncPeriod",
        ),
        (
            "ipvs:\n  syncPeriod: 5s\n  minSyncPeriod: 10s\n",
            "ipvs.syncPeriod",
        ),
        ("ipvs:\n  tcpTimeout: -1s\n", "ipvs.tcpTimeout"),
        ("ipvs:\n  tcpFinTimeout: -1s\n", "ipvs.tcpFinTimeout"),
        ("ipvs:\n  udpTimeout: -1s\n", "ipvs.udpTimeout"),
        (
            "ipvs:\n  excludeCIDRs: [10.0.0.0/8, nope]\n",
            "ipvs.excludeCIDRs",
        ),
        ("ipvs:\n  excludeCIDRs: [10.0.0.1]\n", "ipvs.excludeCIDRs"),
        ("configSyncPeriod: -1m\n", "configSyncPeriod"),
        ("bindAddress: nope\n", "bindAddress"),
        ("healthzBindAddress: 1.2.3.4:0\n", "healthzBindAddress"),
        ("healthzBindAddress: 1.2.3.4:70000\n", "healthzBindAddress"),
        ("healthzBindAddress: \"[::1]\"\n", "healthzBindAddress"),
        (
            "metricsBindAddress: localhost:10249\n",
            "metricsBindAddress",
        ),
        ("iptables:\n  masqueradeBit: 32\n", "iptables.masqueradeBit"),
        ("iptables:\n  masqueradeBit: -1\n", "iptables.masqueradeBit"),
        ("oomScoreAdj: 1001\n", "oomScoreAdj"),
        ("oomScoreAdj: -1001\n", "oomScoreAdj"),
        (
            "nodePortAddresses: [primary, 10.0.0.0/8]\n",
            "nodePortAddresses",
        ),
        ("nodePortAddresses: [10.0.0.0/33]\n", "nodePortAddresses"),
        ("clusterCIDR: 10.0.0.0/8,10.1.0.0/16\n", "clusterCIDR"),
        (
            "clusterCIDR: 10.0.0.0/8,fd00::/64,10.1.0.0/16\n",
            "clusterCIDR",
        ),
        ("clusterCIDR: nope/8\n", "clusterCIDR"),
        ("clientConnection:\n  burst: -1\n", "clientConnection.burst"),
        ("detectLocalMode: Foo\n", "detectLocalMode"),
    ]
    .into_iter()
    .enumerate()
    {
        file_error(&format!("validate-{i}"), body, field);
    }
}

#[test]
fn file_mode_is_validated() {
    let text = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: userspace\n";
    let path = temp_file("mode", "config.conf", text);
    let err = run(&[
        &format!("--config={}", path.display()),
        "--hostname-override=n",
    ])
    .unwrap_err();
    assert!(
        matches!(&err, ConfigError::InvalidField { field: "mode", .. }),
        "{err:?}"
    );
}

#[test]
fn flag_values_are_validated() {
    for args in [
        &["--ipvs-sync-period=-1s"][..],
        &["--ipvs-min-sync-period=-1s"],
        &["--ipvs-sync-period=5s", "--ipvs-min-sync-period=10s"],
        &["--ipvs-tcp-timeout=-1s"],
        &["--ipvs-tcpfin-timeout", "-5s"],
        &["--ipvs-udp-timeout=-1ns"],
        &["--ipvs-exclude-cidrs=10.0.0.0/8,nope"],
        &["--config-sync-period=-1s"],
        &["--bind-address=nope"],
        &["--healthz-bind-address=1.2.3.4:0"],
        &["--metrics-bind-address=localhost:10249"],
        &["--iptables-masquerade-bit=32"],
        &["--oom-score-adj=-1001"],
        &["--nodeport-addresses=primary,10.0.0.0/8"],
        &["--cluster-cidr=10.0.0.0/8,10.1.0.0/16"],
        &["--cluster-cidr=a,b,c"],
        &["--kube-api-burst=-1"],
        &["--proxy-mode=userspace"],
        &["--detect-local-mode=Foo"],
        &["--healthz-port=70000"],
    ] {
        let mut all = vec!["--hostname-override=node-1"];
        all.extend_from_slice(args);
        let err = run(&all).unwrap_err();
        assert!(
            matches!(err, ConfigError::Invalid { .. }),
            "{args:?}: {err:?}"
        );
        // The error names the (last) flag given.
        let flag = args
            .iter()
            .rev()
            .find(|a| a.starts_with("--"))
            .and_then(|a| a.split('=').next())
            .unwrap();
        let text = err.to_string();
        let names_it = text.contains(flag)
            || (flag == "--ipvs-min-sync-period" && text.contains("--ipvs-sync-period"));
        assert!(names_it, "{args:?}: {text}");
    }
}

#[test]
fn valid_edges_are_accepted() {
    let (settings, _) = run_file(
        "edges",
        "ipvs:\n  syncPeriod: 5s\n  minSyncPeriod: 5s\n  tcpTimeout: 15m\n  tcpFinTimeout: 1m30.9s\n  udpTimeout: 500ms\n\
         iptables:\n  masqueradeBit: 0\noomScoreAdj: 1000\nclusterCIDR: 10.0.0.0/8,fd00::/64\n\
         nodePortAddresses: [primary]\nhealthzBindAddress: \"::1\"\nmetricsBindAddress: 0.0.0.0\n",
        &[],
    )
    .unwrap();
    assert_eq!(settings.proxy.tcp_timeout, 900);
    assert_eq!(settings.proxy.tcp_fin_timeout, 90);
    assert_eq!(settings.proxy.udp_timeout, 0);
    assert_eq!(settings.proxy.masquerade_mark(), 1);
    assert_eq!(settings.oom_score_adj, Some(1000));
    assert_eq!(settings.proxy.cluster_cidrs.len(), 2);
    assert_eq!(
        settings.proxy.node_port_addresses,
        crate::config::NodePortAddresses::Primary
    );
    // A bare IP gets the default port.
    assert_eq!(
        settings.healthz_bind_address,
        Some("[::1]:10256".parse().unwrap())
    );
    assert_eq!(
        settings.metrics_bind_address,
        Some("0.0.0.0:10249".parse().unwrap())
    );
}

#[test]
fn other_modes_warn_and_run_ipvs() {
    for (mode, needle) in [
        ("\"\"", "runs IPVS"),
        ("iptables", "not supported"),
        ("nftables", "not supported"),
    ] {
        let text = format!(
            "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: {mode}\n"
        );
        let path = temp_file(&format!("modes-{}", mode.len()), "config.conf", &text);
        let (settings, warnings) = run(&[
            &format!("--config={}", path.display()),
            "--hostname-override=n",
        ])
        .unwrap();
        assert_eq!(warnings.len(), 1, "{mode}: {warnings:?}");
        assert!(
            warnings[0].contains("mode") && warnings[0].contains(needle),
            "{mode}: {warnings:?}"
        );
        assert_eq!(settings.configz["mode"], "ipvs");
    }
    let (_, warnings) = run(&["--hostname-override=n", "--proxy-mode=nftables"]).unwrap();
    assert!(
        warnings.iter().any(|w| w.contains("--proxy-mode")),
        "{warnings:?}"
    );
}

#[test]
fn other_local_modes_warn_and_detect_nothing() {
    let (settings, warnings) = run_file(
        "local-mode",
        "clusterCIDR: 10.244.0.0/16\ndetectLocalMode: NodeCIDR\n",
        &[],
    )
    .unwrap();
    assert!(settings.proxy.cluster_cidrs.is_empty());
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("detectLocalMode") && w.contains("NodeCIDR")),
        "{warnings:?}"
    );
    let (settings, warnings) = run_file(
        "local-mode-cidr",
        "clusterCIDR: 10.244.0.0/16\ndetectLocalMode: ClusterCIDR\n",
        &[],
    )
    .unwrap();
    assert_eq!(settings.proxy.cluster_cidrs.len(), 1);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn unused_file_settings_warn() {
    let (_, warnings) = run_file(
        "unused",
        "featureGates:\n  Foo: true\nenableProfiling: true\nconntrack:\n  maxPerCore: 0\nlogging:\n  verbosity: 4\n",
        &[],
    )
    .unwrap();
    for needle in ["featureGates", "enableProfiling", "conntrack", "logging"] {
        assert!(
            warnings.iter().any(|w| w.contains(needle)),
            "{needle}: {warnings:?}"
        );
    }
}
