//! The partial diffs against the full ones over the incremental
//! planner's seeded random histories ([`crate::plan::history`]): after
//! each step, with a cache equal to the plan before it, the diffs
//! restricted to the keys the planner reported equal the full diffs to
//! the plan after it.

use std::collections::{BTreeMap, BTreeSet};

use ipvs_netlink::ServiceKey;

use super::{
    KnownService, diff_bindings, diff_bindings_keys, diff_ipsets, diff_ipsets_keys, diff_ipvs,
    diff_ipvs_keys, synced_services,
};
use crate::catalogue::owned::ExcludeCidrs;
use crate::{
    kernel::{Bindings, SetState},
    plan::{self, KernelPlan, PlanChanges},
    types::BindMode,
};

/// The reconciler's cache after writing `plan` exactly.
fn cache_of(
    plan: &KernelPlan,
) -> (
    BTreeMap<ServiceKey, KnownService>,
    Bindings,
    BTreeMap<String, SetState>,
) {
    let services = synced_services(plan);
    let bindings = Bindings {
        addresses: plan.bind_addrs.clone(),
        routes: BTreeSet::new(),
    };
    let sets = plan
        .ipsets
        .iter()
        .map(|(name, set)| {
            let state = SetState {
                set_type: Some(set.set_type),
                family: (!set.set_type.is_bitmap()).then_some(set.family),
                entries: set.entries.clone(),
            };
            (name.clone(), state)
        })
        .collect();
    (services, bindings, sets)
}

/// With a cache equal to `before`, the diffs restricted to `changes` are
/// the full diffs to `after`.
fn check_partial_diffs(before: &KernelPlan, after: &KernelPlan, changes: &PlanChanges, what: &str) {
    let PlanChanges::Some(keys) = changes else {
        return;
    };
    let (services, bindings, sets) = cache_of(before);
    let (queued, exclude) = (BTreeSet::new(), ExcludeCidrs::default());
    assert_eq!(
        diff_ipvs_keys(&services, after, &keys.services, &queued, &exclude),
        diff_ipvs(&services, after, &queued, &exclude),
        "{what}: IPVS"
    );
    let mode = BindMode::Address;
    assert_eq!(
        diff_bindings_keys(&bindings, &after.bind_addrs, &keys.bind_addrs, mode),
        diff_bindings(&bindings, &after.bind_addrs, mode),
        "{what}: bindings"
    );
    assert_eq!(
        diff_ipsets_keys(&sets, after, &keys.ipset_entries),
        diff_ipsets(&sets, after),
        "{what}: ipsets"
    );
}

#[test]
fn partial_diffs_equal_the_full_diffs_over_random_histories() {
    let mut tally = plan::Tally::default();
    for seed in 0..400 {
        // The same histories as the planner's test, without its reference
        // planning.
        plan::history(seed, 40, &mut tally, false, &mut check_partial_diffs);
    }
    assert_eq!(tally.steps, 16_000);
    assert!(tally.partial > tally.steps / 3, "{tally:?}");
}
