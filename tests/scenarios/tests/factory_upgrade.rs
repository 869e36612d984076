//! Issue 20: the factory upgraded while it runs, as `dfx deploy` does.
//! By default `pre_upgrade` refuses while management calls are outstanding
//! (their replies would reach the new module); forced with
//! `skip_pre_upgrade`, the new module keeps the old calls' slots until they
//! have settled, so the cap holds, sampled every round on the emulator's side;
//! `FactoryClient::upgrade_factory` (stop, upgrade, start) is the safe path.

use canister_artifacts::{artifacts, variants};
use factory_api::RolloutEnd;
use factory_client::{FactoryArg, FactoryUpgradeArgs, RolloutStatus};
use ic_emulator::management_types::UpgradeFlags;
use ic_emulator::RejectResponse;
use scenarios::rollout_helpers::{fixed_plan, history, Member, STEP};
use scenarios::World;
use std::time::Duration;

const CAP: u32 = 4;
const USERS: u64 = 16;
/// After a forced upgrade the old calls' slots settle over minutes of IC
/// time (`factory::rollout::settle`): rounds of a second each.
const SECOND: Duration = Duration::from_secs(1);

fn finished(s: &RolloutStatus) -> bool {
    s.active.is_none() && s.queued == 0 && s.retrying == 0 && s.in_flight == 0
}

fn next_module(tag: &str) -> Vec<u8> {
    variants::tagged(&artifacts().factory.wasm_gz, tag).expect("tagged factory")
}

fn upgrade_arg() -> Vec<u8> {
    candid::encode_one(Some(FactoryArg::Upgrade(FactoryUpgradeArgs {}))).expect("encodes")
}

fn upgrade(w: &World, wasm: Vec<u8>, skip_pre_upgrade: bool) -> Result<(), RejectResponse> {
    let flags = UpgradeFlags {
        skip_pre_upgrade: Some(skip_pre_upgrade),
        wasm_memory_persistence: None,
    };
    w.emu
        .upgrade_canister_with_flags(w.factory, wasm, upgrade_arg(), Some(w.operator), flags)
}

fn module_of_factory(w: &World) -> Option<Vec<u8>> {
    w.emu
        .canister_status(w.factory, Some(w.operator))
        .expect("factory status")
        .module_hash
}

/// A fleet on 1.0.0 with a rollout to 2.0.0 at `CAP`, run until the factory
/// has `calls` management calls outstanding at the end of a round.
fn rollout_with_calls_in_flight(calls: usize) -> (World, Vec<Member>, factory_client::Release) {
    let w = World::new();
    w.publish("1.0.0");
    let fleet = w.provision_fleet(0..USERS);
    let v2 = w.publish("2.0.0");
    w.admin()
        .start_rollout(fixed_plan("2.0.0", CAP))
        .expect("starts");
    w.drive("calls in flight", 500, STEP, |w| {
        w.emu.management_calls_in_flight(w.factory).current >= calls
    });
    (w, fleet, v2)
}

/// Drives to the end, asserting after every round that the factory's calls
/// to the management canister (counted by the emulator) stay within the cap.
fn finish_within_cap(w: &World) -> u64 {
    let rounds = w.drive("the rollout", 3_000, SECOND, |w| {
        let now = w.emu.management_calls_in_flight(w.factory).current;
        assert!(
            now <= CAP as usize,
            "{now} management calls in flight, cap {CAP}"
        );
        finished(&w.rollout_status())
    });
    // (The emulator's all-time high-water mark covers the provisioning, in
    // batches above the cap, so it is not the rollout's.)
    rounds
}

fn assert_all_upgraded(w: &World, fleet: &[Member], v2: &factory_client::Release) {
    for m in fleet {
        w.assert_runs(m, v2);
        let user = w.admin().get_user(m.owner).expect("user");
        let outcome = user.last_outcome.expect("an outcome");
        assert_eq!(outcome.error, None, "user {}: {outcome:?}", m.n);
        assert!(!user.busy, "user {} still locked", m.n);
    }
    let page = history(w);
    let done = &page.rollouts[0];
    assert_eq!(done.end, RolloutEnd::Completed);
    let c = &done.stages[0].counters;
    assert_eq!((c.upgraded, c.failed, c.skipped), (USERS, 0, 0));
}

#[test]
fn a_running_factory_with_calls_in_flight_refuses_to_be_upgraded_and_goes_on() {
    let (w, fleet, v2) = rollout_with_calls_in_flight(1);
    let before = module_of_factory(&w);
    let e = upgrade(&w, next_module("factory-next"), false).expect_err("refused");
    assert!(
        e.reject_message.contains("stop the factory first")
            && e.reject_message.contains("factoryctl factory upgrade"),
        "{}",
        e.reject_message
    );
    assert_eq!(module_of_factory(&w), before, "the old module stays");
    finish_within_cap(&w);
    assert_all_upgraded(&w, &fleet, &v2);
}

#[test]
fn forced_past_pre_upgrade_the_factory_keeps_its_cap_and_finishes() {
    let (w, fleet, v2) = rollout_with_calls_in_flight(CAP as usize);
    let next = next_module("factory-next");
    upgrade(&w, next.clone(), true).expect("skip_pre_upgrade forces it");
    assert_eq!(
        module_of_factory(&w),
        Some(factory_client::module_hash(&next).0.to_vec())
    );
    let rounds = finish_within_cap(&w);
    eprintln!("finished {rounds} rounds (of a second) after the forced upgrade");
    assert_all_upgraded(&w, &fleet, &v2);
    assert!(w.rollout_status().totals.reconciled > 0);
}

#[test]
fn two_forced_upgrades_in_a_row_keep_the_cap_and_finish() {
    let (w, fleet, v2) = rollout_with_calls_in_flight(CAP as usize);
    upgrade(&w, next_module("factory-next"), true).expect("first");
    // The second module makes calls of its own, then is forced out too.
    w.drive("the second module's calls", 1_000, SECOND, |w| {
        let now = w.emu.management_calls_in_flight(w.factory).current;
        assert!(now <= CAP as usize, "{now} in flight");
        now > 0 && w.rollout_status().totals.reconciled > 0
    });
    upgrade(&w, next_module("factory-next-2"), true).expect("second");
    finish_within_cap(&w);
    assert_all_upgraded(&w, &fleet, &v2);
}

#[test]
fn upgrade_factory_stops_upgrades_and_starts_it_and_the_rollout_completes() {
    let (w, fleet, v2) = rollout_with_calls_in_flight(1);
    let next = next_module("factory-next");
    let client = w.client(w.operator);
    let done = client.upgrade_factory(&next).expect("upgraded");
    assert_eq!(done.module, factory_client::module_hash(&next));
    assert_ne!(done.previous_module, Some(done.module));
    // The operator controls the factory but is no admin of it.
    assert!(done.rollout.is_err(), "{:?}", done.rollout);
    assert!(
        w.rollout_status().active.is_some(),
        "the rollout is still active"
    );
    finish_within_cap(&w);
    assert_all_upgraded(&w, &fleet, &v2);
}
