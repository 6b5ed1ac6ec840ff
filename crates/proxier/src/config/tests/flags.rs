//! The command line: pflag syntax, precedence with `--config`, defaults
//! without it, ignored and unknown flags, subcommands.

use std::{net::SocketAddr, path::Path, time::Duration};

use clap::{Args, CommandFactory};

use super::*;
use crate::config::{BindMode, NodePortAddresses};

fn addr(text: &str) -> Option<SocketAddr> {
    Some(text.parse().unwrap())
}

#[test]
fn file_replaces_flags() {
    let (settings, warnings) = run_file(
        "precedence",
        "ipvs:\n  scheduler: lc\nclusterCIDR: 10.244.0.0/16\n",
        &[
            "--ipvs-scheduler=wrr",
            "--cluster-cidr",
            "10.0.0.0/8",
            "--masquerade-all",
            "--kubeconfig=/x",
        ],
    )
    .unwrap();
    assert_eq!(settings.proxy.scheduler, "lc");
    assert_eq!(
        settings.proxy.cluster_cidrs,
        vec!["10.244.0.0/16".parse().unwrap()]
    );
    assert!(!settings.proxy.masquerade_all);
    assert_eq!(settings.kubeconfig, None);
    for flag in [
        "--ipvs-scheduler",
        "--cluster-cidr",
        "--masquerade-all",
        "--kubeconfig",
    ] {
        let named: Vec<_> = warnings
            .iter()
            .filter(|w| w.starts_with(flag) && w.contains("--config"))
            .collect();
        assert_eq!(named.len(), 1, "{flag}: {warnings:?}");
    }
    assert_eq!(warnings.len(), 4, "{warnings:?}");
}

#[test]
fn some_flags_apply_with_config() {
    let (settings, warnings) = run_file(
        "exceptions",
        "hostnameOverride: file-node\n",
        &[
            "--hostname-override=Node-A",
            "--master=https://10.0.0.1:6443",
        ],
    )
    .unwrap();
    // run_file passes --hostname-override=node-1 first; the last one wins.
    assert_eq!(settings.node_name, "node-a");
    assert_eq!(settings.configz["hostnameOverride"], "node-a");
    assert_eq!(settings.master.as_deref(), Some("https://10.0.0.1:6443"));
    assert!(warnings.is_empty(), "{warnings:?}");

    let path = temp_file(
        "exceptions-file",
        "config.conf",
        &config_text("hostnameOverride: File-Node\n"),
    );
    let (settings, _) = run(&[&format!("--config={}", path.display())]).unwrap();
    assert_eq!(settings.node_name, "file-node");
    assert_eq!(
        settings.proxy.hostname_override.as_deref(),
        Some("file-node")
    );

    let config = format!("--config={}", path.display());
    let (invocation, _) = invoke(&[&config, "--cleanup"]).unwrap();
    assert!(matches!(invocation, Invocation::Cleanup(s) if s.node_name == "file-node"));
    let (invocation, warnings) = invoke(&[&config, "--init-only"]).unwrap();
    assert!(
        matches!(&invocation, Invocation::InitOnly(s) if s.node_name == "file-node"),
        "{invocation:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("--init-only")),
        "{warnings:?}"
    );
    let (invocation, _) = invoke(&[&config, "--cleanup=false"]).unwrap();
    assert!(matches!(invocation, Invocation::Run(_)));
}

#[test]
fn empty_hostname_override_is_an_error() {
    let forms: [&[&str]; 3] = [
        &["--hostname-override="],
        &["--hostname-override=  "],
        &["--hostname-override", ""],
    ];
    for args in forms {
        let err = run(args).unwrap_err();
        assert!(err.to_string().contains("--hostname-override"), "{err}");
        let err = run_file("empty-override", "", args).unwrap_err();
        assert!(err.to_string().contains("--hostname-override"), "{err}");
    }
}

#[test]
fn node_name_defaults_to_the_host_name() {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let (settings, _) = run(&[]).unwrap();
    assert_eq!(settings.node_name, host.trim().to_lowercase());
    assert_eq!(settings.proxy.hostname_override, None);
    assert_eq!(settings.configz["hostnameOverride"], "");
}

#[test]
fn defaults_without_config() {
    let (settings, warnings) = run(&["--hostname-override=n"]).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(settings.kubeconfig, None);
    assert_eq!((settings.qps, settings.burst), (5.0, 10));
    assert_eq!(settings.healthz_bind_address, addr("0.0.0.0:10256"));
    assert_eq!(settings.metrics_bind_address, addr("127.0.0.1:10249"));
    assert_eq!(settings.sync_period, Duration::from_secs(30));
    assert_eq!(settings.min_sync_period, Duration::ZERO);
    assert_eq!(settings.config_sync_period, Duration::from_secs(900));
    assert_eq!(settings.oom_score_adj, Some(-999));
    assert_eq!(settings.graceful_period, Duration::from_secs(60));
    assert_eq!(settings.poll_period, Duration::from_secs(1));
    assert_eq!(settings.proxy.scheduler, "rr");
    assert_eq!(settings.proxy.masquerade_bit, 14);
    assert_eq!(settings.proxy.bind_mode, BindMode::Address);
    assert_eq!(
        settings.configz["apiVersion"],
        "kubeproxy.config.k8s.io/v1alpha1"
    );

    let (settings, _) = run(&["--hostname-override=n", "--bind-address=fd00::1"]).unwrap();
    assert_eq!(settings.bind_address, Some("fd00::1".parse().unwrap()));
    assert_eq!(settings.healthz_bind_address, addr("[::]:10256"));
    assert_eq!(settings.metrics_bind_address, addr("[::1]:10249"));
}

#[test]
fn flags_apply_without_config() {
    let (settings, warnings) = run(&[
        "--hostname-override=Node-B",
        "--kubeconfig=/etc/kube/proxy.conf",
        "--master",
        "https://api:6443",
        "--kube-api-qps=50",
        "--kube-api-burst",
        "100",
        "--bind-address=10.0.0.5",
        "--healthz-bind-address=127.0.0.1:10266",
        "--metrics-bind-address=0.0.0.0:9100",
        "--bind-address-hard-fail",
        "--proxy-mode=ipvs",
        "--iptables-masquerade-bit=15",
        "--masquerade-all=true",
        "--ipvs-sync-period=1m",
        "--ipvs-min-sync-period",
        "1s",
        "--ipvs-scheduler=wlc",
        "--ipvs-exclude-cidrs=10.200.0.0/16",
        "--ipvs-exclude-cidrs=10.201.0.0/16,10.202.0.0/16",
        "--ipvs-strict-arp",
        "--ipvs-tcp-timeout=15m",
        "--ipvs-tcpfin-timeout=2m",
        "--ipvs-udp-timeout=5m",
        "--detect-local-mode=ClusterCIDR",
        "--cluster-cidr=10.244.0.0/16,fd00:10::/64",
        "--nodeport-addresses=10.0.0.0/8",
        "--oom-score-adj",
        "-500",
        "--config-sync-period=30m",
        "--vip-bind-mode=route",
        "--node-ip=10.0.0.5,fd00::5",
        "--graceful-check-period=5s",
        "--manifests-poll-period=200ms",
        "--manifests=/tmp/m.yaml",
    ])
    .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(settings.node_name, "node-b");
    assert_eq!(
        settings.kubeconfig.as_deref(),
        Some(Path::new("/etc/kube/proxy.conf"))
    );
    assert_eq!(settings.master.as_deref(), Some("https://api:6443"));
    assert_eq!((settings.qps, settings.burst), (50.0, 100));
    assert_eq!(settings.bind_address, Some("10.0.0.5".parse().unwrap()));
    assert_eq!(settings.healthz_bind_address, addr("127.0.0.1:10266"));
    assert_eq!(settings.metrics_bind_address, addr("0.0.0.0:9100"));
    assert!(settings.bind_address_hard_fail);
    assert_eq!(settings.sync_period, Duration::from_secs(60));
    assert_eq!(settings.min_sync_period, Duration::from_secs(1));
    assert_eq!(settings.config_sync_period, Duration::from_secs(1800));
    assert_eq!(settings.oom_score_adj, Some(-500));
    assert_eq!(
        settings.node_ips,
        vec![
            "10.0.0.5".parse::<std::net::IpAddr>().unwrap(),
            "fd00::5".parse().unwrap()
        ]
    );
    assert_eq!(settings.graceful_period, Duration::from_secs(5));
    assert_eq!(settings.poll_period, Duration::from_millis(200));
    assert_eq!(
        settings.manifests.as_deref(),
        Some(Path::new("/tmp/m.yaml"))
    );
    let proxy = &settings.proxy;
    assert_eq!(proxy.masquerade_bit, 15);
    assert!(proxy.masquerade_all && proxy.strict_arp);
    assert_eq!(proxy.scheduler, "wlc");
    // pflag string slices: a repeated flag adds to the list.
    assert_eq!(proxy.exclude_cidrs.len(), 3, "{:?}", proxy.exclude_cidrs);
    assert_eq!(
        (proxy.tcp_timeout, proxy.tcp_fin_timeout, proxy.udp_timeout),
        (900, 120, 300)
    );
    assert_eq!(proxy.cluster_cidrs.len(), 2);
    assert_eq!(
        proxy.node_port_addresses,
        NodePortAddresses::Cidrs(vec!["10.0.0.0/8".parse().unwrap()])
    );
    assert_eq!(proxy.bind_mode, BindMode::Route);
}

#[test]
fn server_addresses_and_deprecated_ports() {
    let run_addr = |args: &[&str]| {
        let mut all = vec!["--hostname-override=n"];
        all.extend_from_slice(args);
        let (s, _) = run(&all).unwrap();
        (s.healthz_bind_address, s.metrics_bind_address)
    };
    assert_eq!(
        run_addr(&["--healthz-bind-address=10.0.0.1"]).0,
        addr("10.0.0.1:10256")
    );
    assert_eq!(run_addr(&["--healthz-bind-address="]).0, None);
    assert_eq!(run_addr(&["--metrics-bind-address="]).1, None);
    assert_eq!(run_addr(&["--healthz-port=0"]).0, None);
    assert_eq!(
        run_addr(&["--metrics-port=0"]),
        (addr("0.0.0.0:10256"), None)
    );
    assert_eq!(run_addr(&["--metrics-port=9999"]).1, addr("127.0.0.1:9999"));
    assert_eq!(
        run_addr(&["--healthz-bind-address=10.0.0.1", "--healthz-port=8080"]).0,
        addr("10.0.0.1:8080")
    );
    // An address with its own port keeps it.
    assert_eq!(
        run_addr(&[
            "--healthz-bind-address=10.0.0.1:9000",
            "--healthz-port=8080"
        ])
        .0,
        addr("10.0.0.1:9000")
    );
    // With --config the deprecated ports are ignored (and warned about).
    let (settings, warnings) =
        run_file("ports", "", &["--healthz-port=0", "--metrics-port=0"]).unwrap();
    assert_eq!(settings.healthz_bind_address, addr("0.0.0.0:10256"));
    assert_eq!(settings.metrics_bind_address, addr("127.0.0.1:10249"));
    assert_eq!(warnings.len(), 2, "{warnings:?}");
}

#[test]
fn ignored_flags_are_accepted_with_one_warning_each() {
    let flags = [
        "--feature-gates=Foo=true,Bar=false",
        "--kube-api-content-type=application/json",
        "--profiling",
        "--show-hidden-metrics-for-version=1.34",
        "--iptables-localhost-nodeports=false",
        "--iptables-sync-period=30s",
        "--iptables-min-sync-period",
        "1s",
        "--pod-bridge-interface=cbr0",
        "--pod-interface-name-prefix=veth",
        "--conntrack-max-per-core=0",
        "--conntrack-min=131072",
        "--conntrack-tcp-timeout-established=24h",
        "--conntrack-tcp-timeout-close-wait=1h",
        "--conntrack-tcp-be-liberal",
        "--conntrack-udp-timeout=30s",
        "--conntrack-udp-timeout-stream=2m",
        "--proxy-port-range=30000-32767",
        "--udp-timeout=250ms",
        "--boot-id-file=/proc/sys/kernel/random/boot_id",
        "--machine-id-file",
        "/etc/machine-id",
        "-v=4",
        "--vmodule=proxier*=5",
        "--logging-format=text",
        "--log-flush-frequency=5s",
        "--log-text-split-stream",
        "--log-text-info-buffer-size=0",
        "--log-json-split-stream=false",
        "--log-json-info-buffer-size=64Ki",
    ];
    let mut args = vec!["--hostname-override=n"];
    args.extend_from_slice(&flags);
    let (_, warnings) = run(&args).unwrap();
    let names: Vec<&str> = flags
        .iter()
        .filter(|f| f.starts_with('-'))
        .map(|f| f.split('=').next().unwrap())
        .map(|f| if f == "-v" { "--v" } else { f })
        .collect();
    assert_eq!(warnings.len(), names.len(), "{warnings:?}");
    for name in names {
        let count = warnings
            .iter()
            .filter(|w| w.starts_with(&format!("{name} ")))
            .count();
        assert_eq!(count, 1, "{name}: {warnings:?}");
    }
    // The klog spellings of -v.
    for v in [&["--v=2"][..], &["-v", "2"], &["--v", "2"]] {
        let mut args = vec!["--hostname-override=n"];
        args.extend_from_slice(v);
        let (_, warnings) = run(&args).unwrap();
        assert_eq!(warnings.len(), 1, "{v:?}: {warnings:?}");
    }
}

#[test]
fn unknown_flags_are_rejected() {
    for args in [
        &["--no-such-flag"][..],
        &["--cleanup-iptables"],
        &["--ipvs-scheduler"],
        &["--masquerade-all=maybe"],
        &["--ipvs-sync-period=5"],
        &["--ipvs-sync-period=30 s"],
        &["--kube-api-burst=ten"],
        &["--node-ip=not-an-ip"],
        &["--vip-bind-mode=tunnel"],
        &["--graceful-check-period=-1s"],
        &["stray"],
    ] {
        let err = parse(args).unwrap_err();
        assert_ne!(
            err.kind(),
            clap::error::ErrorKind::DisplayVersion,
            "{args:?}"
        );
    }
    let err = parse(&["--vip-bind-mode=tunnel"]).unwrap_err().to_string();
    assert!(
        err.contains("invalid value 'tunnel' for '--vip-bind-mode <MODE>'")
            && err.contains("[possible values: address, route]"),
        "{err}"
    );
    let err = parse(&["--ipvs-sync-period=5"]).unwrap_err();
    assert!(err.to_string().contains("--ipvs-sync-period"), "{err}");
    assert!(err.to_string().contains("missing unit"), "{err}");
}

#[test]
fn version_and_help() {
    assert_eq!(
        parse(&["--version"]).unwrap_err().kind(),
        clap::error::ErrorKind::DisplayVersion
    );
    assert_eq!(
        parse(&["--help"]).unwrap_err().kind(),
        clap::error::ErrorKind::DisplayHelp
    );
}

#[test]
fn pflag_syntax() {
    let strict_arp = |args: &[&str]| {
        let mut all = vec!["--hostname-override=n"];
        all.extend_from_slice(args);
        run(&all).unwrap().0.proxy.strict_arp
    };
    assert!(strict_arp(&["--ipvs-strict-arp"]));
    assert!(strict_arp(&["--ipvs-strict-arp=true"]));
    assert!(strict_arp(&["--ipvs-strict-arp=1"]));
    assert!(!strict_arp(&["--ipvs-strict-arp=false"]));
    assert!(!strict_arp(&["--ipvs-strict-arp", "--ipvs-strict-arp=F"]));
    // A repeated single-value flag: the last one wins.
    let (settings, _) = run(&[
        "--hostname-override=n",
        "--ipvs-scheduler=lc",
        "--ipvs-scheduler",
        "wrr",
    ])
    .unwrap();
    assert_eq!(settings.proxy.scheduler, "wrr");
    let (settings, _) = run(&[
        "run",
        "--hostname-override=n",
        "--ipvs-scheduler=lc",
        "--ipvs-scheduler=sh",
    ])
    .unwrap();
    assert_eq!(settings.proxy.scheduler, "sh");
    let (settings, _) = run(&[
        "--ipvs-scheduler=lc",
        "run",
        "--hostname-override=n",
        "--ipvs-scheduler=dh",
    ])
    .unwrap();
    assert_eq!(settings.proxy.scheduler, "dh");
}

#[test]
fn subcommands_and_manifests() {
    // tests/e2e/run.sh and bench/proxier-vm.sh lines.
    let (settings, _) = run(&[
        "run",
        "--manifests",
        "/tmp/e2e/m",
        "--hostname-override",
        "node-1",
        "--node-ip",
        "10.0.0.1",
        "--cluster-cidr",
        "10.244.0.0/16",
        "--ipvs-sync-period",
        "3s",
        "--graceful-check-period",
        "1s",
        "--manifests-poll-period",
        "200ms",
        "--vip-bind-mode",
        "route",
    ])
    .unwrap();
    assert_eq!(settings.manifests.as_deref(), Some(Path::new("/tmp/e2e/m")));
    assert_eq!(settings.sync_period, Duration::from_secs(3));
    assert_eq!(settings.proxy.bind_mode, BindMode::Route);

    let (invocation, _) = invoke(&[
        "plan",
        "--manifests",
        "examples/manifests/rich.yaml",
        "--node-ip",
        "192.168.1.10",
    ])
    .unwrap();
    let Invocation::Plan {
        settings,
        manifests,
    } = invocation
    else {
        panic!("{invocation:?}")
    };
    assert_eq!(manifests, Path::new("examples/manifests/rich.yaml"));
    assert_eq!(
        settings.node_ips,
        vec!["192.168.1.10".parse::<std::net::IpAddr>().unwrap()]
    );

    // Flags before the subcommand count too, and --manifests works without one.
    let (invocation, _) = invoke(&["--hostname-override=x", "--manifests=/m", "plan"]).unwrap();
    assert!(matches!(invocation, Invocation::Plan { .. }));
    let (settings, _) = run(&["--manifests=/m", "--hostname-override=x"]).unwrap();
    assert_eq!(settings.manifests.as_deref(), Some(Path::new("/m")));

    let err = invoke(&["plan", "--hostname-override=x"]).unwrap_err();
    assert!(err.to_string().contains("--manifests"), "{err}");
    let err = invoke(&["plan", "--manifests=/m", "--cleanup"]).unwrap_err();
    assert!(err.to_string().contains("--cleanup"), "{err}");
}

#[test]
fn kubeadm_command_line() {
    // The DaemonSet's command, with $(NODE_NAME) expanded.
    let config = format!("--config={}", kubeadm_path());
    let (settings, warnings) = run(&[&config, "--hostname-override=worker-1"]).unwrap();
    assert_eq!(settings.node_name, "worker-1");
    assert!(warnings.is_empty(), "{warnings:?}");
    // An empty file has no kind.
    let err = run(&["--config=/dev/null", "--hostname-override=worker-1"]).unwrap_err();
    assert!(err.to_string().contains("Kind"), "{err}");
}

#[test]
fn flag_tables_name_real_flags() {
    let command = Cli::command();
    let longs: Vec<String> = command
        .get_arguments()
        .filter_map(|a| a.get_long())
        .map(|l| format!("--{l}"))
        .collect();
    let all = Cli {
        command: None,
        kube_proxy: crate::config::cli::KubeProxyFlags {
            kubeconfig: Some(String::new()),
            kube_api_qps: Some(0.0),
            kube_api_burst: Some(0),
            bind_address: Some(String::new()),
            healthz_bind_address: Some(String::new()),
            metrics_bind_address: Some(String::new()),
            bind_address_hard_fail: Some(false),
            proxy_mode: Some(String::new()),
            iptables_masquerade_bit: Some(0),
            masquerade_all: Some(false),
            ipvs_sync_period: Some(Default::default()),
            ipvs_min_sync_period: Some(Default::default()),
            ipvs_scheduler: Some(String::new()),
            ipvs_exclude_cidrs: Some(Vec::new()),
            ipvs_strict_arp: Some(false),
            ipvs_tcp_timeout: Some(Default::default()),
            ipvs_tcpfin_timeout: Some(Default::default()),
            ipvs_udp_timeout: Some(Default::default()),
            detect_local_mode: Some(String::new()),
            cluster_cidr: Some(String::new()),
            nodeport_addresses: Some(Vec::new()),
            oom_score_adj: Some(0),
            config_sync_period: Some(Default::default()),
            healthz_port: Some(0),
            metrics_port: Some(0),
            ..Default::default()
        },
        ignored: Default::default(),
        own: Default::default(),
    };
    let replaced = all.kube_proxy.replaced_by_config();
    // The flags whose errors name a file's field instead.
    for (flag, _) in crate::config::resolve::FIELDS {
        assert!(replaced.contains(flag), "{flag}");
    }
    // Every kube-proxy flag but the six that --config does not replace.
    let kube_proxy_flags =
        crate::config::cli::KubeProxyFlags::augment_args(clap::Command::new("x"))
            .get_arguments()
            .count();
    assert_eq!(replaced.len(), kube_proxy_flags - 6);
    for flag in &replaced {
        assert!(longs.contains(&flag.to_string()), "{flag}");
    }
    let ignored = parse(&[]).unwrap().ignored;
    assert!(ignored.given().is_empty());
    let ignored_count = crate::config::cli::IgnoredFlags::augment_args(clap::Command::new("x"))
        .get_arguments()
        .count();
    let mut names = Vec::new();
    for arg in
        crate::config::cli::IgnoredFlags::augment_args(clap::Command::new("x")).get_arguments()
    {
        let long = format!("--{}", arg.get_long().unwrap());
        let cli = parse(&[&format!("{long}=x")]).unwrap();
        assert_eq!(cli.ignored.given(), vec![long.as_str()], "{long}");
        names.push(long);
    }
    assert_eq!(names.len(), ignored_count);
}
