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
//! * [`types`]: value types several layers take ([`types::Cidr`],
//!   [`types::BindMode`]).
//! * [`cluster`]: the Services and EndpointSlices as they are kept
//!   ([`cluster::objects`]), [`cluster::Snapshot`] and [`cluster::Delta`],
//!   [`cluster::ServiceName`] and kube-proxy's label selectors.
//! * [`catalogue`]: kube-proxy's names (ipsets, chains, jumps) and the rule
//!   of which IPVS virtual servers are ours ([`catalogue::owned`]).
//! * [`config`]: kube-proxy's command line ([`config::cli`]) and
//!   `KubeProxyConfiguration` file ([`config::file`]) resolved into the
//!   run's [`config::Settings`] with kube-proxy's precedence, defaults and
//!   validation; the planner's subset ([`config::ProxyConfig`]).
//! * [`source`]: where Services, EndpointSlices and Nodes come from: the
//!   API server ([`source::kube`], kube-rs watchers with kube-proxy's
//!   selectors) or YAML ([`source::manifests`]), both feeding one
//!   [`source::store::ClusterStore`] that tracks changes per Service.
//! * [`model`]: the cluster with kube-proxy's semantics: one
//!   [`model::ServicePort`] per Service port and family, its endpoints, and
//!   kube-proxy's endpoint selection ([`model::topology`]); invalid objects
//!   become [`model::Warning`]s.
//! * [`plan`]: the desired kernel state of a node ([`plan::KernelPlan`]),
//!   built by the pure [`plan::plan`] (virtual servers, bind addresses,
//!   ipsets, [`plan::iptables`] rules as [`plan::rules`]), kept up to date
//!   one Service at a time by [`plan::IncrementalPlanner`] (which says what
//!   changed: [`plan::PlanChanges`]), and printed by [`plan::print`]
//!   (`ipvsadm -Ln`, `ipset save`, `iptables-restore`).
//! * [`kernel`]: thin writers over IPVS, ipset, rtnetlink, iptables and
//!   sysctl, each behind a trait of [`kernel::seam`] so that the reconciler
//!   and the daemon run over in-memory writers in host tests.
//! * [`reconcile`]: the cache of what was written, the full and the
//!   partial diff ([`reconcile::Reconciler::sync_changes`]), graceful
//!   real-server removal, warm restart.
//! * [`cleanup`]: `--cleanup`, removing what this proxier (or kube-proxy in
//!   IPVS mode) left on the node and nothing else.
//! * [`serve`]: the HTTP side: `/healthz` and `/livez`, the per-Service
//!   health-check node ports, and the metrics server (`/metrics` with the
//!   `kubeproxy_*` and `process_*` metrics, `/proxyMode`, `/configz`).
//! * [`daemon`]: the `run` loop (store in, per-Service replanning, syncs
//!   with a bounded frequency, periodic resync, graceful checks, health and
//!   metrics).
//!
//! # Layers
//!
//! A module uses only the modules of its own layer and of the layers
//! below it, and no two modules use each other, tests included.
//! `tests/layers.py` reads this list (bottom first) and checks every
//! `crate::` and `super::` path of the code against it.
//!
//! 1. [`types`]: shared value types.
//! 2. [`cluster`], [`catalogue`]: the kept objects and what names them;
//!    kube-proxy's names and what is ours.
//! 3. [`model`]: kube-proxy's view of the objects.
//! 4. [`config`]: the configuration (its warnings are the model's).
//! 5. [`source`]: the sources and the store.
//! 6. [`plan`]: the desired kernel state and its iptables rules.
//! 7. [`kernel`]: the writers (they take the plan's rules).
//! 8. [`reconcile`]: plans against the kernel, through the writers.
//! 9. [`cleanup`]: what `--cleanup` removes.
//! 10. [`serve`]: healthz, health-check node ports, metrics.
//! 11. [`daemon`]: the `run` loop over all of them.
//!
//! The binary (`main.rs`) sits above them all.

pub mod catalogue;
pub mod cleanup;
pub mod cluster;
pub mod config;
pub mod daemon;
pub mod kernel;
pub mod model;
pub mod plan;
pub mod reconcile;
pub mod serve;
pub mod source;
pub mod types;
