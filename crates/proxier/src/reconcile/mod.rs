//! The reconciler: the cache of what was written, the diff, graceful
//! real-server removal, warm restart.
//!
//! [`Reconciler`] owns the kernel writers ([`crate::kernel`], behind the
//! traits of [`crate::kernel::seam`]: the real ones by default, in-memory
//! ones in the host tests of the orchestration) and a [`KnownState`]
//! cache. [`Reconciler::start`] sets kube-proxy's sysctls, dumps the
//! kernel once and adopts it (warm restart: a plan equal to the kernel
//! sends nothing, no weight flaps), then probes the scheduler and sets the
//! IPVS timeouts; [`Reconciler::sync`] diffs a plan against the cache and
//! sends only the changes, pipelined; [`Reconciler::sync_changes`] does
//! the same for the keys a [`crate::plan::PlanChanges`] lists only (one
//! endpoint change costs O(that change), not O(plan); the diffs restricted
//! to keys are [`diff_ipvs_keys`], [`diff_bindings_keys`] and
//! [`diff_ipsets_keys`]); [`Reconciler::resync`] re-dumps
//! first, so drift made by anyone else is repaired;
//! [`Reconciler::process_graceful`] deletes quiesced real servers whose
//! connections are gone. Nothing is ever flushed and re-added (the
//! kernel's destination trash list makes that quadratic).
//!
//! # Ownership of IPVS services
//!
//! The proxier deletes a stale service only if it owns it. It owns:
//!
//! 1. the services it created;
//! 2. the services of a plan (a dumped service with a planned key is
//!    adopted and made to match);
//! 3. at start and at each resync, the dumped services that kube-proxy's
//!    ipsets (as the previous run of this proxier, or kube-proxy itself,
//!    left them) name: `ip,proto:port` in a `KUBE-*` hash:ip,port set
//!    (cluster IPs, external IPs, load balancers, SCTP node ports), or
//!    proto and port in a `KUBE-NODE-PORT-[LOCAL-]TCP|UDP` bitmap *and*
//!    the address one of the node's (the bitmaps hold ports only: a
//!    foreign `192.0.2.7:30080` is not claimed because 30080 is one of our
//!    NodePorts). This is how services removed while the proxier was down
//!    are still cleaned;
//! 4. across a resync, what it owned before.
//!
//! Everything else — firewall-mark services, services created with
//! `ipvsadm` on addresses and ports kube-proxy's sets do not list — is
//! foreign and never touched. An owned service whose address is inside
//! `--ipvs-exclude-cidrs` is never deleted either (it may still be
//! updated while it is in the plan).
//!
//! # Graceful removal
//!
//! Like kube-proxy: a real server that leaves the plan while its service
//! stays is deleted at once if it is UDP/SCTP or has no active and no
//! inactive connections (live counters, one destination dump per
//! service); otherwise it gets weight 0 and is queued. The queue is
//! checked by [`Reconciler::process_graceful`]; an endpoint that comes
//! back while queued gets its weight back and leaves the queue. A deleted
//! service is deleted at once with all its real servers.
//!
//! # iptables
//!
//! Written only when a family's rules differ from the last successful
//! write (so the first sync after a start writes once, 3 forks per
//! family: save, restore, save); the resync checks with one
//! `iptables-save` per family that the jumps, the chains and the chains'
//! rules are still as written, and rewrites them otherwise. A failing or
//! hung `iptables-restore` (bounded by `-w 5` and a timeout) is reported
//! after the IPVS, VIP and ipset changes are applied, and retried by the
//! next sync.

mod diff;
mod graceful;
#[cfg(test)]
mod random_histories;
mod reconciler;
mod recover;
mod report;
mod state;
#[cfg(test)]
pub(crate) mod tests;

pub use diff::{
    BindDiff, IpvsDiff, SetDiff, diff_bindings, diff_bindings_keys, diff_ipsets, diff_ipsets_keys,
    diff_ipvs, diff_ipvs_keys, graceful_commands,
};
pub use graceful::GracefulQueue;
pub use reconciler::{Reconciler, ReconcilerOptions, StartError};
pub use recover::{Failure, recover};
pub use report::{Counters, SyncError, SyncReport};
pub use state::{Cached, KnownService, KnownState, RealServerSettings, synced_services};
