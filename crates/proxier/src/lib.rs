//! The proxier: Kubernetes Services and EndpointSlices to IPVS, ipsets,
//! iptables and the `kube-ipvs0` interface.
//!
//! Not written yet: it builds on `ipvs-netlink` and `ipset-netlink`, which
//! come first.
