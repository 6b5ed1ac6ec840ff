//! kube-proxy's names and the rule of what is ours, in one place below
//! the planner, the reconciler and `--cleanup` (which all use them):
//!
//! * [`ipsets`]: kube-proxy's ipsets (names, types, comments; the IPv6
//!   names).
//! * [`iptables`]: kube-proxy's chains in each table and the jumps to them
//!   from the built-in chains.
//! * [`owned`]: which IPVS virtual servers are this proxier's (the ipsets
//!   claim them) and which are never deleted (`--ipvs-exclude-cidrs`).

pub mod ipsets;
pub mod iptables;
pub mod owned;
