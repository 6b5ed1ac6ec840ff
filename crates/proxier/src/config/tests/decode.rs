//! Decoding of configuration files: kubeadm's, lenient cases, fatal cases.

use std::{net::SocketAddr, time::Duration};

use super::*;
use crate::config::{
    GoDuration, NodePortAddresses,
    file::{self, KubeProxyConfiguration},
};

fn decode(text: &str) -> Result<(KubeProxyConfiguration, Vec<String>), ConfigError> {
    file::decode(text, "config.conf")
}

fn decode_error(text: &str) -> String {
    decode(text).unwrap_err().to_string()
}

#[test]
fn kubeadm_file_decodes_strictly() {
    let (config, warnings) = decode(KUBEADM).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    // The file's own values, before any default.
    assert_eq!(config.mode, "ipvs");
    assert_eq!(
        config.client_connection.kubeconfig,
        "/var/lib/kube-proxy/kubeconfig.conf"
    );
    assert_eq!(config.client_connection.qps, 0.0);
    assert_eq!(config.cluster_cidr, "10.244.0.0/16");
    assert_eq!(config.bind_address, "0.0.0.0");
    assert_eq!(config.ipvs.sync_period, GoDuration::ZERO);
    assert_eq!(config.iptables.masquerade_bit, None);
    assert_eq!(config.ipvs.exclude_cidrs, None);
    assert_eq!(config.logging.options.json.info_buffer_size.0, "0");
}

#[test]
fn kubeadm_file_resolves_to_kube_proxy_defaults() {
    let path = kubeadm_path();
    let (settings, warnings) =
        run(&[&format!("--config={path}"), "--hostname-override=Node-1"]).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(settings.node_name, "node-1");
    assert_eq!(
        settings.kubeconfig.as_deref(),
        Some(std::path::Path::new("/var/lib/kube-proxy/kubeconfig.conf"))
    );
    assert_eq!(settings.master, None);
    // qps: 0 and burst: 0 take kube-proxy's defaults.
    assert_eq!(settings.qps, 5.0);
    assert_eq!(settings.burst, 10);
    assert_eq!(settings.bind_address, None);
    assert_eq!(
        settings.healthz_bind_address,
        Some("0.0.0.0:10256".parse::<SocketAddr>().unwrap())
    );
    assert_eq!(
        settings.metrics_bind_address,
        Some("127.0.0.1:10249".parse::<SocketAddr>().unwrap())
    );
    assert!(!settings.bind_address_hard_fail);
    assert_eq!(settings.sync_period, Duration::from_secs(30));
    assert_eq!(settings.min_sync_period, Duration::ZERO);
    assert_eq!(settings.config_sync_period, Duration::from_secs(15 * 60));
    assert_eq!(settings.oom_score_adj, Some(-999));
    let proxy = &settings.proxy;
    assert_eq!(proxy.scheduler, "rr");
    assert_eq!(proxy.masquerade_bit, 14);
    assert!(!proxy.masquerade_all);
    assert!(!proxy.strict_arp);
    assert_eq!(proxy.cluster_cidrs, vec!["10.244.0.0/16".parse().unwrap()]);
    assert_eq!(proxy.node_port_addresses, NodePortAddresses::All);
    assert!(proxy.exclude_cidrs.is_empty());
    assert_eq!(
        (proxy.tcp_timeout, proxy.tcp_fin_timeout, proxy.udp_timeout),
        (0, 0, 0)
    );
    assert_eq!(proxy.hostname_override.as_deref(), Some("node-1"));
    // /configz: kube-proxy's names, the effective values.
    let configz = &settings.configz;
    assert_eq!(configz["kind"], "KubeProxyConfiguration");
    assert_eq!(configz["mode"], "ipvs");
    assert_eq!(configz["hostnameOverride"], "node-1");
    assert_eq!(configz["ipvs"]["syncPeriod"], "30s");
    assert_eq!(configz["ipvs"]["minSyncPeriod"], "0s");
    assert_eq!(configz["ipvs"]["scheduler"], "rr");
    assert_eq!(configz["ipvs"]["excludeCIDRs"], serde_json::Value::Null);
    assert_eq!(configz["configSyncPeriod"], "15m0s");
    assert_eq!(configz["iptables"]["masqueradeBit"], 14);
    assert_eq!(configz["conntrack"]["tcpEstablishedTimeout"], "24h0m0s");
    assert_eq!(configz["healthzBindAddress"], "0.0.0.0:10256");
    assert_eq!(configz["metricsBindAddress"], "127.0.0.1:10249");
    assert_eq!(configz["clusterCIDR"], "10.244.0.0/16");
    assert_eq!(configz["oomScoreAdj"], -999);
    assert_eq!(configz["detectLocalMode"], "ClusterCIDR");
    assert_eq!(configz["logging"]["flushFrequency"], "5s");
}

#[test]
fn every_field_decodes_strictly() {
    // Fields kubeadm leaves out (omitempty), set.
    let text = config_text(
        "featureGates:\n  SomeGate: true\nwindowsRunAsService: false\n\
         logging:\n  format: json\n  flushFrequency: 5s\n  verbosity: 4\n  vmodule:\n  - filePattern: proxier*\n    verbosity: 6\n  \
         options:\n    text:\n      splitStream: true\n      infoBufferSize: 64Ki\n    json:\n      infoBufferSize: 0\n\
         iptables:\n  snatNodeInternalIP: false\n",
    );
    let (config, warnings) = decode(&text).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(config.feature_gates.get("SomeGate"), Some(&true));
    assert_eq!(config.logging.vmodule[0].file_pattern, "proxier*");
    assert_eq!(config.logging.options.text.info_buffer_size.0, "64Ki");
    assert_eq!(
        config.logging.flush_frequency.duration,
        GoDuration(5_000_000_000)
    );
}

#[test]
fn unknown_fields_decode_leniently() {
    let (config, warnings) = decode(&config_text(
        "ipvs:\n  syncPeriod: 10s\n  fooBar: 1\nextra:\n  nested: x\n",
    ))
    .unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = &warnings[0];
    assert!(
        warning.contains("Using lenient decoding as strict decoding failed"),
        "{warning}"
    );
    assert!(warning.contains("config.conf"), "{warning}");
    assert!(warning.contains("\"ipvs.fooBar\""), "{warning}");
    assert!(warning.contains("\"extra\""), "{warning}");
    // The known values are still applied.
    assert_eq!(config.ipvs.sync_period, "10s".parse().unwrap());

    let (settings, warnings) =
        run_file("unknown", "ipvs:\n  scheduler: lc\n  typo: 1\n", &[]).unwrap();
    assert_eq!(settings.proxy.scheduler, "lc");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("Using lenient decoding")),
        "{warnings:?}"
    );
}

#[test]
fn duplicate_fields_decode_leniently_last_wins() {
    let (config, warnings) = decode(&config_text(
        "ipvs:\n  scheduler: lc\n  scheduler: wrr\nclusterCIDR: 10.0.0.0/8\n",
    ))
    .unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = &warnings[0];
    assert!(
        warning.contains("Using lenient decoding as strict decoding failed"),
        "{warning}"
    );
    assert!(
        warning.contains("duplicate field \"scheduler\""),
        "{warning}"
    );
    assert!(warning.contains("line 6"), "{warning}");
    assert_eq!(config.ipvs.scheduler, "wrr");
    assert_eq!(config.cluster_cidr, "10.0.0.0/8");

    let (config, warnings) = decode(&config_text("mode: ipvs\nbindAddress: 10.0.0.1\n")).unwrap();
    assert!(
        warnings[0].contains("duplicate field \"mode\""),
        "{warnings:?}"
    );
    assert_eq!(config.bind_address, "10.0.0.1");
}

#[test]
fn malformed_yaml_is_fatal_with_file_and_line() {
    let err = decode(&config_text("ipvs:\n  syncPeriod: [30s\nmode: ipvs\n")).unwrap_err();
    assert!(matches!(err, ConfigError::Decode { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("config.conf"), "{text}");
    assert!(text.contains("line"), "{text}");

    let text = decode_error("kind: KubeProxyConfiguration\n  bad: indentation\n: :\n");
    assert!(
        text.contains("config.conf") && text.contains("line"),
        "{text}"
    );

    // Through the command line, the error names the real path.
    let path = temp_file("malformed", "broken.conf", "kind: [\n");
    let err = run(&[&format!("--config={}", path.display())]).unwrap_err();
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    let err = run(&["--config=/nonexistent/kube-proxy.conf"]).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
    assert!(
        err.to_string().contains("/nonexistent/kube-proxy.conf"),
        "{err}"
    );
}

#[test]
fn wrong_kind_or_api_version_is_fatal() {
    let text =
        decode_error("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n");
    assert!(
        text.contains("kind") && text.contains("KubeletConfiguration"),
        "{text}"
    );
    let text = decode_error(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha2\nkind: KubeProxyConfiguration\n",
    );
    assert!(
        text.contains("apiVersion") && text.contains("v1alpha2"),
        "{text}"
    );
    let text = decode_error("kind: KubeProxyConfiguration\nmode: ipvs\n");
    assert!(text.contains("apiVersion"), "{text}");
    let text = decode_error("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nmode: ipvs\n");
    assert!(text.contains("Kind") && text.contains("missing"), "{text}");
    let text = decode_error("");
    assert!(text.contains("config.conf"), "{text}");
}

#[test]
fn wrong_types_name_the_field() {
    for (body, field) in [
        ("ipvs:\n  syncPeriod: 5\n", "ipvs.syncPeriod"),
        ("ipvs: {syncPeriod: 5}\n", "ipvs.syncPeriod"),
        ("ipvs:\n  tcpTimeout: 1 hour\n", "ipvs.tcpTimeout"),
        ("clientConnection:\n  qps: \"x\"\n", "clientConnection.qps"),
        (
            "clientConnection:\n  burst: many\n",
            "clientConnection.burst",
        ),
        (
            "iptables:\n  masqueradeBit: [14]\n",
            "iptables.masqueradeBit",
        ),
        ("oomScoreAdj: low\n", "oomScoreAdj"),
        ("ipvs:\n  excludeCIDRs: 10.0.0.0/8\n", "ipvs.excludeCIDRs"),
        ("nodePortAddresses: {a: b}\n", "nodePortAddresses"),
        ("ipvs: 5\n", "ipvs"),
        ("configSyncPeriod: {}\n", "configSyncPeriod"),
    ] {
        let err = decode(&config_text(body)).unwrap_err();
        assert!(matches!(err, ConfigError::Decode { .. }), "{body}: {err:?}");
        let text = err.to_string();
        assert!(text.contains(field), "{body}: {text}");
        assert!(text.contains("config.conf"), "{body}: {text}");
        assert!(text.contains("line"), "{body}: {text}");
    }
}

#[test]
fn null_and_empty_values_are_zero() {
    let (config, warnings) = decode(&config_text(
        "ipvs:\nclusterCIDR:\nhostnameOverride: null\nclientConnection: null\nconntrack: {maxPerCore: null}\n",
    ))
    .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(config.ipvs, Default::default());
    assert_eq!(config.cluster_cidr, "");
    assert_eq!(config.hostname_override, "");
}

#[test]
fn json_files_decode() {
    let json = "{\n\t\"apiVersion\": \"kubeproxy.config.k8s.io/v1alpha1\",\n\t\"kind\": \"KubeProxyConfiguration\",\n\
                \t\"mode\": \"ipvs\",\n\t\"ipvs\": {\"scheduler\": \"lc\", \"syncPeriod\": \"1m0s\", \"excludeCIDRs\": [\"10.0.0.0/8\"]},\n\
                \t\"clusterCIDR\": \"10.244.0.0/16,fd00:10::/64\"\n}\n";
    let (config, warnings) = decode(json).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(config.ipvs.scheduler, "lc");
    assert_eq!(config.ipvs.sync_period, GoDuration(60_000_000_000));
    assert_eq!(
        config.ipvs.exclude_cidrs,
        Some(vec!["10.0.0.0/8".to_owned()])
    );

    let err = decode("{\"apiVersion\": \"kubeproxy.config.k8s.io/v1alpha1\", \"kind\": \"KubeProxyConfiguration\", \"ipvs\": {\"syncPeriod\": \"30s\"")
        .unwrap_err();
    assert!(matches!(err, ConfigError::Decode { .. }), "{err:?}");
}

#[test]
fn written_config_reads_back_to_the_same_settings() {
    let out = temp_file("write", "written.yaml", "");
    let (settings, _) = run(&[
        &format!("--config={}", kubeadm_path()),
        "--hostname-override=node-1",
    ])
    .unwrap();
    let (invocation, _) = invoke(&[
        &format!("--config={}", kubeadm_path()),
        "--hostname-override=node-1",
        &format!("--write-config-to={}", out.display()),
    ])
    .unwrap();
    assert_eq!(invocation, Invocation::Exit);
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.contains("syncPeriod: 30s"), "{written}");
    let (mut again, warnings) = run(&[&format!("--config={}", out.display())]).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    // Only the file watched for changes differs.
    assert_eq!(again.config_file.as_deref(), Some(out.as_path()));
    again.config_file = settings.config_file.clone();
    assert_eq!(again, settings);
}
