//! The proxier: Kubernetes Services and EndpointSlices to IPVS, ipsets,
//! iptables and the `kube-ipvs0` interface, like kube-proxy
//! `--proxy-mode=ipvs`.
//!
//! # Layout
//!
//! Data flows one way: sources → cluster model → [`plan`] (desired kernel
//! state, a pure function) → reconciler (diff against what the kernel
//! holds) → kernel writers.
//!
//! * [`plan`]: the desired kernel state of a node ([`plan::KernelPlan`]).

pub mod plan;
