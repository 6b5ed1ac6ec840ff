//! The proxier: Kubernetes Services and EndpointSlices to IPVS, ipsets,
//! iptables and the `kube-ipvs0` interface, like kube-proxy
//! `--proxy-mode=ipvs`.
//!
//! # Layout
//!
//! Data flows one way: [`source`] → [`model`] → [`plan`] (desired kernel
//! state, a pure function of the snapshot, the node and the [`config`]) →
//! [`reconcile`] (diff against what the kernel holds, send only changes) →
//! [`kernel`] writers.
//!
//! * [`config`]: kube-proxy's flags and KubeProxyConfiguration.
//! * [`source`]: where Services and EndpointSlices come from (YAML
//!   manifests).
//! * [`model`]: the cluster snapshot with kube-proxy's semantics.
//! * [`plan`]: the desired kernel state of a node ([`plan::KernelPlan`]).
//! * [`reconcile`]: the cache of what was written, the diff, graceful
//!   real-server removal, warm restart.
//! * [`kernel`]: thin writers over IPVS, ipset, rtnetlink, iptables and
//!   sysctl.

pub mod config;
pub mod kernel;
pub mod model;
pub mod plan;
pub mod reconcile;
pub mod source;
