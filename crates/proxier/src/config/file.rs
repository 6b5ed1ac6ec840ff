//! The kube-proxy configuration file: `KubeProxyConfiguration`
//! (`kubeproxy.config.k8s.io/v1alpha1`), its types with kube-proxy's JSON
//! field names, and its decoding.
//!
//! [`decode`] follows kube-proxy's `loadConfig`: a strict decode first; if
//! it fails only because of an unknown or a duplicate field, the file is
//! decoded leniently (unknown fields dropped, the last duplicate wins) and a
//! warning `Using lenient decoding as strict decoding failed` carries the
//! strict error. Anything else (bad YAML, a wrong type, a wrong `apiVersion`
//! or `kind`) is fatal, with the file, the field path and the line. JSON
//! files are read by the same YAML parser.
//!
//! Like Go's JSON decoding, `null` (or an empty value) leaves a field at its
//! zero value, and missing fields are zero; the defaults are applied later
//! ([`super::resolve`]). The types serialize back to the same names, for
//! `/configz` and `--write-config-to`.

use std::{collections::BTreeMap, fmt, path::Path};

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use serde_saphyr::{DuplicateKeyPolicy, Options};

use super::{ConfigError, GoDuration};
use crate::model::Warning;

/// The `apiVersion` kube-proxy reads.
pub const API_VERSION: &str = "kubeproxy.config.k8s.io/v1alpha1";
/// The `kind` kube-proxy reads.
pub const KIND: &str = "KubeProxyConfiguration";

/// Go's decoding of JSON `null` into a non-pointer field: the zero value.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `KubeProxyConfiguration` v1alpha1, every field of kube-proxy 1.35.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KubeProxyConfiguration {
    /// `apiVersion`: [`API_VERSION`].
    #[serde(deserialize_with = "nullable")]
    pub api_version: String,
    /// `kind`: [`KIND`].
    #[serde(deserialize_with = "nullable")]
    pub kind: String,
    /// `featureGates` (not used by this proxier).
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub feature_gates: BTreeMap<String, bool>,
    /// `clientConnection`.
    #[serde(deserialize_with = "nullable")]
    pub client_connection: ClientConnection,
    /// `logging` (accepted; logging is set with `RUST_LOG`).
    #[serde(deserialize_with = "nullable")]
    pub logging: Logging,
    /// `hostnameOverride`: the node name, if not the host name.
    #[serde(deserialize_with = "nullable")]
    pub hostname_override: String,
    /// `bindAddress`: the node's primary IP if not unspecified.
    #[serde(deserialize_with = "nullable")]
    pub bind_address: String,
    /// `healthzBindAddress`: `IP:port` of the health server.
    #[serde(deserialize_with = "nullable")]
    pub healthz_bind_address: String,
    /// `metricsBindAddress`: `IP:port` of the metrics server.
    #[serde(deserialize_with = "nullable")]
    pub metrics_bind_address: String,
    /// `bindAddressHardFail`: a bind failure is fatal.
    #[serde(deserialize_with = "nullable")]
    pub bind_address_hard_fail: bool,
    /// `enableProfiling` (not supported).
    #[serde(deserialize_with = "nullable")]
    pub enable_profiling: bool,
    /// `showHiddenMetricsForVersion` (not supported).
    #[serde(deserialize_with = "nullable")]
    pub show_hidden_metrics_for_version: String,
    /// `mode`: only `ipvs` is run.
    #[serde(deserialize_with = "nullable")]
    pub mode: String,
    /// `iptables`: `masqueradeBit` and `masqueradeAll` apply to IPVS too.
    #[serde(deserialize_with = "nullable")]
    pub iptables: Iptables,
    /// `ipvs`.
    #[serde(deserialize_with = "nullable")]
    pub ipvs: Ipvs,
    /// `nftables` (another mode's).
    #[serde(deserialize_with = "nullable")]
    pub nftables: Nftables,
    /// `winkernel` (Windows').
    #[serde(deserialize_with = "nullable")]
    pub winkernel: Winkernel,
    /// `detectLocalMode`: only `ClusterCIDR` (the default) is supported.
    #[serde(deserialize_with = "nullable")]
    pub detect_local_mode: String,
    /// `detectLocal` (for the unsupported local modes).
    #[serde(deserialize_with = "nullable")]
    pub detect_local: DetectLocal,
    /// `clusterCIDR`: comma-separated, at most one per family.
    #[serde(rename = "clusterCIDR", deserialize_with = "nullable")]
    pub cluster_cidr: String,
    /// `nodePortAddresses`: CIDRs or `primary`; `null`: all addresses.
    pub node_port_addresses: Option<Vec<String>>,
    /// `oomScoreAdj`.
    pub oom_score_adj: Option<i32>,
    /// `conntrack` (not supported).
    #[serde(deserialize_with = "nullable")]
    pub conntrack: Conntrack,
    /// `configSyncPeriod`.
    #[serde(deserialize_with = "nullable")]
    pub config_sync_period: GoDuration,
    /// `portRange` (unused by kube-proxy too).
    #[serde(deserialize_with = "nullable")]
    pub port_range: String,
    /// `windowsRunAsService` (Windows').
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub windows_run_as_service: bool,
}

/// `clientConnection` (component-base `ClientConnectionConfiguration`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClientConnection {
    /// `kubeconfig`: empty for in-cluster.
    #[serde(deserialize_with = "nullable")]
    pub kubeconfig: String,
    /// `acceptContentTypes` (not used).
    #[serde(deserialize_with = "nullable")]
    pub accept_content_types: String,
    /// `contentType` (not used: JSON is always sent).
    #[serde(deserialize_with = "nullable")]
    pub content_type: String,
    /// `qps`.
    #[serde(deserialize_with = "nullable")]
    pub qps: f32,
    /// `burst`.
    #[serde(deserialize_with = "nullable")]
    pub burst: i32,
}

/// `logging` (component-base `LoggingConfiguration`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Logging {
    /// `format`.
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub format: String,
    /// `flushFrequency`: nanoseconds or a duration string.
    #[serde(deserialize_with = "nullable")]
    pub flush_frequency: FlushFrequency,
    /// `verbosity`.
    #[serde(deserialize_with = "nullable")]
    pub verbosity: u32,
    /// `vmodule`.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub vmodule: Vec<VModule>,
    /// `options`.
    #[serde(deserialize_with = "nullable")]
    pub options: LoggingOptions,
}

/// One `logging.vmodule` item.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct VModule {
    /// `filePattern`.
    #[serde(deserialize_with = "nullable")]
    pub file_pattern: String,
    /// `verbosity`.
    #[serde(deserialize_with = "nullable")]
    pub verbosity: u32,
}

/// `logging.options`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LoggingOptions {
    /// `text`.
    #[serde(deserialize_with = "nullable")]
    pub text: LogOutput,
    /// `json`.
    #[serde(deserialize_with = "nullable")]
    pub json: LogOutput,
}

/// `logging.options.text` / `.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LogOutput {
    /// `splitStream`.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub split_stream: bool,
    /// `infoBufferSize`: a quantity.
    #[serde(deserialize_with = "nullable")]
    pub info_buffer_size: Quantity,
}

/// A Kubernetes quantity (`"0"`, `64Ki`), kept as text; a number is
/// accepted too, like Go's `resource.Quantity`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity(pub String);

impl Default for Quantity {
    fn default() -> Self {
        Quantity("0".to_owned())
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity such as \"0\" or 64Ki")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                Ok(Quantity(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `logging.flushFrequency` (component-base `TimeOrMetaDuration`): integer
/// nanoseconds, or a duration string; printed back the way it came.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FlushFrequency {
    /// The duration.
    pub duration: GoDuration,
    /// Whether it is printed as a string (`5s`) rather than nanoseconds.
    pub as_string: bool,
}

impl Serialize for FlushFrequency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.as_string {
            self.duration.serialize(serializer)
        } else {
            serializer.serialize_i64(self.duration.0)
        }
    }
}

impl<'de> Deserialize<'de> for FlushFrequency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = FlushFrequency;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("nanoseconds or a Go duration string such as 5s")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FlushFrequency, E> {
                Ok(FlushFrequency {
                    duration: v.parse().map_err(E::custom)?,
                    as_string: true,
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FlushFrequency, E> {
                Ok(FlushFrequency {
                    duration: GoDuration(v),
                    as_string: false,
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FlushFrequency, E> {
                let nanos = i64::try_from(v).map_err(|_| E::custom("duration out of range"))?;
                self.visit_i64(nanos)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `iptables`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Iptables {
    /// `masqueradeBit`: the fwmark bit for SNAT (IPVS mode too).
    pub masquerade_bit: Option<i32>,
    /// `masqueradeAll`: SNAT all Service traffic (IPVS mode too).
    #[serde(deserialize_with = "nullable")]
    pub masquerade_all: bool,
    /// `localhostNodePorts` (iptables mode only).
    pub localhost_node_ports: Option<bool>,
    /// `snatNodeInternalIP` (newer kube-proxy, iptables mode; not used).
    #[serde(rename = "snatNodeInternalIP", skip_serializing_if = "Option::is_none")]
    pub snat_node_internal_ip: Option<bool>,
    /// `syncPeriod` (iptables mode only).
    #[serde(deserialize_with = "nullable")]
    pub sync_period: GoDuration,
    /// `minSyncPeriod` (iptables mode only).
    #[serde(deserialize_with = "nullable")]
    pub min_sync_period: GoDuration,
}

/// `ipvs`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Ipvs {
    /// `syncPeriod`: the full resync interval.
    #[serde(deserialize_with = "nullable")]
    pub sync_period: GoDuration,
    /// `minSyncPeriod`: least time between two syncs.
    #[serde(deserialize_with = "nullable")]
    pub min_sync_period: GoDuration,
    /// `scheduler`: empty means `rr`.
    #[serde(deserialize_with = "nullable")]
    pub scheduler: String,
    /// `excludeCIDRs`.
    #[serde(rename = "excludeCIDRs")]
    pub exclude_cidrs: Option<Vec<String>>,
    /// `strictARP`.
    #[serde(rename = "strictARP", deserialize_with = "nullable")]
    pub strict_arp: bool,
    /// `tcpTimeout`: 0 leaves the kernel's.
    #[serde(deserialize_with = "nullable")]
    pub tcp_timeout: GoDuration,
    /// `tcpFinTimeout`: 0 leaves the kernel's.
    #[serde(deserialize_with = "nullable")]
    pub tcp_fin_timeout: GoDuration,
    /// `udpTimeout`: 0 leaves the kernel's.
    #[serde(deserialize_with = "nullable")]
    pub udp_timeout: GoDuration,
}

/// `nftables`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Nftables {
    /// `masqueradeBit`.
    pub masquerade_bit: Option<i32>,
    /// `masqueradeAll`.
    #[serde(deserialize_with = "nullable")]
    pub masquerade_all: bool,
    /// `syncPeriod`.
    #[serde(deserialize_with = "nullable")]
    pub sync_period: GoDuration,
    /// `minSyncPeriod`.
    #[serde(deserialize_with = "nullable")]
    pub min_sync_period: GoDuration,
}

/// `winkernel`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Winkernel {
    /// `networkName`.
    #[serde(deserialize_with = "nullable")]
    pub network_name: String,
    /// `sourceVip`.
    #[serde(deserialize_with = "nullable")]
    pub source_vip: String,
    /// `enableDSR`.
    #[serde(rename = "enableDSR", deserialize_with = "nullable")]
    pub enable_dsr: bool,
    /// `rootHnsEndpointName`.
    #[serde(deserialize_with = "nullable")]
    pub root_hns_endpoint_name: String,
    /// `forwardHealthCheckVip`.
    #[serde(deserialize_with = "nullable")]
    pub forward_health_check_vip: bool,
}

/// `conntrack`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Conntrack {
    /// `maxPerCore`.
    pub max_per_core: Option<i32>,
    /// `min`.
    pub min: Option<i32>,
    /// `tcpEstablishedTimeout`.
    pub tcp_established_timeout: Option<GoDuration>,
    /// `tcpCloseWaitTimeout`.
    pub tcp_close_wait_timeout: Option<GoDuration>,
    /// `tcpBeLiberal`.
    #[serde(deserialize_with = "nullable")]
    pub tcp_be_liberal: bool,
    /// `udpTimeout`.
    #[serde(deserialize_with = "nullable")]
    pub udp_timeout: GoDuration,
    /// `udpStreamTimeout`.
    #[serde(deserialize_with = "nullable")]
    pub udp_stream_timeout: GoDuration,
}

/// `detectLocal`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DetectLocal {
    /// `bridgeInterface`.
    #[serde(deserialize_with = "nullable")]
    pub bridge_interface: String,
    /// `interfaceNamePrefix`.
    #[serde(deserialize_with = "nullable")]
    pub interface_name_prefix: String,
}

/// `apiVersion` and `kind` only, read first.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Head {
    #[serde(deserialize_with = "nullable")]
    api_version: String,
    #[serde(deserialize_with = "nullable")]
    kind: String,
}

/// Reads and decodes a configuration file; the second value holds the
/// warnings (the lenient-decoding one).
pub fn load(path: &Path) -> Result<(KubeProxyConfiguration, Vec<String>), ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: file.clone(),
        message: e.to_string(),
    })?;
    decode(&text, &file)
}

/// One decoding pass: the value or the error with its field path, and the
/// paths of the fields that were not recognised.
struct Pass {
    result: Result<KubeProxyConfiguration, (serde_saphyr::Error, String)>,
    unknown: Vec<String>,
}

/// serde-saphyr's options: plain messages (no source snippet).
fn parse_options(duplicates: DuplicateKeyPolicy) -> Options {
    let mut options = Options::default();
    options.duplicate_keys = duplicates;
    options.with_snippet = false;
    options
}

/// `ipvs.fooBar` for serde_ignored's path (without its `?` for the
/// `Option` every field goes through).
fn field_path(path: &serde_ignored::Path<'_>) -> String {
    path.to_string()
        .split('.')
        .filter(|part| *part != "?")
        .collect::<Vec<_>>()
        .join(".")
}

fn decode_pass(text: &str, duplicates: DuplicateKeyPolicy) -> Pass {
    let options = parse_options(duplicates);
    let mut unknown = Vec::new();
    let mut track = serde_path_to_error::Track::new();
    let result = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        let de = serde_path_to_error::Deserializer::new(de, &mut track);
        serde_ignored::deserialize(de, |path| unknown.push(field_path(&path)))
    });
    Pass {
        result: result.map_err(|e| (e, track.path().to_string())),
        unknown,
    }
}

/// `file: path: message` for a decoding error.
fn decode_error(file: &str, (error, path): (serde_saphyr::Error, String)) -> ConfigError {
    let message = Warning::clean(&error.without_snippet().to_string());
    let path = Warning::clean(&path);
    ConfigError::Decode {
        path: file.to_owned(),
        message: if path.is_empty() || path == "." {
            message
        } else {
            format!("{path}: {message}")
        },
    }
}

/// Decodes a configuration; `file` names it in errors and warnings.
pub fn decode(
    text: &str,
    file: &str,
) -> Result<(KubeProxyConfiguration, Vec<String>), ConfigError> {
    let fatal = |message: String| ConfigError::Decode {
        path: file.to_owned(),
        message,
    };
    let head: Head =
        serde_saphyr::from_str_with_options(text, parse_options(DuplicateKeyPolicy::LastWins))
            .map_err(|e| fatal(Warning::clean(&e.without_snippet().to_string())))?;
    if head.kind.is_empty() {
        return Err(fatal("kind: Object 'Kind' is missing".to_owned()));
    }
    if head.kind != KIND {
        return Err(fatal(format!("kind: {:?} is not {KIND:?}", head.kind)));
    }
    if head.api_version != API_VERSION {
        return Err(fatal(format!(
            "apiVersion: {:?} is not {API_VERSION:?}",
            head.api_version
        )));
    }

    let strict = decode_pass(text, DuplicateKeyPolicy::Error);
    let (config, strict_error, unknown) = match strict.result {
        Ok(config) if strict.unknown.is_empty() => return Ok((config, Vec::new())),
        Ok(config) => (config, None, strict.unknown),
        Err((error, path)) => {
            let serde_saphyr::Error::DuplicateMappingKey { key, location } =
                error.without_snippet()
            else {
                return Err(decode_error(file, (error, path)));
            };
            let duplicate = format!(
                "duplicate field {:?} at line {}, column {}",
                key.as_deref().unwrap_or_default(),
                location.line(),
                location.column()
            );
            let lenient = decode_pass(text, DuplicateKeyPolicy::LastWins);
            let config = lenient.result.map_err(|e| decode_error(file, e))?;
            (config, Some(duplicate), lenient.unknown)
        }
    };
    let mut errors: Vec<String> = strict_error.into_iter().collect();
    errors.extend(unknown.iter().map(|path| format!("unknown field {path:?}")));
    let warning = format!(
        "{file}: Using lenient decoding as strict decoding failed: {}",
        errors.join(", ")
    );
    Ok((config, vec![warning]))
}
