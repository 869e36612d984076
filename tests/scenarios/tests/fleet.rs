//! Issue 16: one fleet of factories, an index and its shards, each on its
//! own emulated subnet: every index ↔ shard call crosses subnets (an extra
//! round a hop, the 2 MiB payload limit), and each shard installs from its
//! own chunk store on its own subnet.

use candid::Principal;
use factory_client::{ClientError, FactoryError, ProvisionArgs, ReleaseState, ShardProvisionArgs};
use ic_emulator::management_types::CanisterStatusType;
use scenarios::outcome::{classify_factory, factory_error, Observed};
use scenarios::shards::ShardedWorld;
use scenarios::{principal, recovery_of, user};
use std::collections::BTreeSet;

/// Users in the placement scenario: small in CI, `FLEET_USERS=300` for the
/// issue's size.
fn fleet_users() -> u64 {
    std::env::var("FLEET_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(36)
}

fn refused(e: ClientError) -> FactoryError {
    match e {
        ClientError::Factory(e) => e,
        other => panic!("expected a typed refusal, got {other}"),
    }
}

#[test]
fn fleet_placement_is_balanced_sticky_and_one_canister_per_owner() {
    let w = ShardedWorld::new(3);
    w.publish("1.0.0");
    let n = fleet_users();
    let mut canisters = BTreeSet::new();
    for i in 0..n {
        assert!(
            canisters.insert(w.provision(i)),
            "user {i}: a canister twice"
        );
    }
    // Sticky: asking again returns the same canister and creates nothing.
    assert_eq!(w.provision(0), w.provision(0));

    let shards = w.admin().list_shards().expect("list_shards");
    let loads: Vec<u64> = shards.iter().map(|s| s.users).collect();
    assert_eq!(loads.iter().sum::<u64>(), n);
    let (max, min) = (loads.iter().max().copied(), loads.iter().min().copied());
    let (max, min) = (max.unwrap_or(0) as f64, min.unwrap_or(0) as f64);
    println!(
        "fleet placement: {n} users over {} shards: {loads:?}",
        shards.len()
    );
    assert!(min > 0.0 && max / min <= 1.2, "unbalanced: {loads:?}");

    // Each shard holds exactly the owners the index placed on it, each with
    // one ready canister that it and the owner's recovery principal control.
    let mut seen = BTreeSet::new();
    for view in &shards {
        let users = w.shard_users(view.canister_id);
        assert_eq!(users.len() as u64, view.users, "shard {}", view.canister_id);
        for u in users {
            let canister = u.canister_id.expect("a canister");
            assert!(canisters.contains(&canister));
            assert_eq!(u.version.as_deref(), Some("1.0.0"));
            let mut controllers = w.emu.get_controllers(canister);
            controllers.sort();
            let mut expected = vec![view.canister_id, u.recovery];
            expected.sort();
            assert_eq!(controllers, expected, "{canister}");
            assert!(seen.insert(u.owner), "{} on two shards", u.owner);
        }
    }
    assert_eq!(seen.len() as u64, n);
    // The owner is served by their shard directly.
    let home = shards
        .iter()
        .find(|s| {
            w.shard_users(s.canister_id)
                .iter()
                .any(|u| u.owner == user(0))
        })
        .expect("user 0 placed");
    let mine = w
        .client_of(home.canister_id, user(0))
        .my_canister()
        .expect("my_canister at the shard");
    assert_eq!(mine.owner, user(0));
}

#[test]
fn fleet_provision_retried_while_its_forward_is_in_flight_creates_one_canister() {
    let w = ShardedWorld::new(2);
    w.publish("1.0.0");
    let args = candid::encode_one(ProvisionArgs {
        recovery: recovery_of(7),
    })
    .expect("encodes");
    // Both calls are in the index's queue before either is answered.
    let ids: Vec<_> = (0..2)
        .map(|_| {
            w.emu
                .submit_call(w.index, user(7), "provision", args.clone())
                .expect("submitted")
        })
        .collect();
    let mut created = BTreeSet::new();
    for id in ids {
        let reply = w.emu.await_call(id).expect("replied");
        match candid::decode_one::<Result<Principal, FactoryError>>(&reply).expect("decodes") {
            Ok(c) => {
                created.insert(c);
            }
            Err(FactoryError::ProvisioningInProgress) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    let canister = w.provision(7);
    created.insert(canister);
    assert_eq!(created.len(), 1, "{created:?}");
    let total: usize = w.shards.iter().map(|&s| w.shard_users(s).len()).sum();
    assert_eq!(total, 1, "one owner, one canister, one shard");
    let loads: Vec<u64> = w.shard_loads();
    assert_eq!(loads.iter().sum::<u64>(), 1, "{loads:?}");
}

#[test]
fn fleet_shard_refuses_strangers_and_installs_only_what_the_index_approved() {
    let w = ShardedWorld::new(1);
    w.publish("1.0.0");
    let shard = w.shards[0];
    let stranger = principal(999_999);
    // Owners come through the index only.
    let direct = w.client_of(shard, stranger).provision(recovery_of(1));
    assert!(matches!(
        direct.map_err(refused),
        Err(FactoryError::Unauthorized { ref endpoint }) if endpoint == "provision"
    ));
    // Nobody but the index forwards owners, not even the shard's admins.
    let forward = candid::encode_one(ShardProvisionArgs {
        owner: user(1),
        recovery: recovery_of(1),
    })
    .expect("encodes");
    for caller in [stranger, w.admin, w.operator] {
        let r = w
            .emu
            .update_call(shard, caller, "shard_provision", forward.clone());
        assert!(
            matches!(classify_factory(&r), Observed::Unauthorized { ref endpoint } if endpoint == "shard_provision"),
            "{caller}: {r:?}"
        );
    }
    // Releases come from the index only: the shard's own admin cannot add one.
    let begin = w
        .client_of(shard, w.admin)
        .begin_release(factory_client::BeginUpload {
            version: "6.6.6".into(),
            sha256: factory_client::Sha256([0; 32]),
            size: 4,
            min_upgrade_from: None,
            notes: String::new(),
            app_arg: None,
        });
    assert!(matches!(
        begin.map_err(refused),
        Err(FactoryError::Unauthorized { .. })
    ));

    // 2.0.0 approved at the index but not pushed: the shard does not have it.
    w.admin()
        .publish_release(
            "2.0.0",
            &scenarios::World::user_module("2.0.0"),
            &factory_client::PublishOptions {
                notes: "2".into(),
                approve: true,
                ..Default::default()
            },
            |_, _| {},
        )
        .expect("published at the index");
    let canister = w.provision(1);
    let ask = w
        .client_of(shard, user(1))
        .request_upgrade(canister, Some("2.0.0".into()));
    assert!(ask.is_err(), "a release the shard never got: {ask:?}");

    // Revoked at the index and pushed: the shard refuses it for good.
    w.admin().revoke_release("2.0.0", "broken").expect("revoke");
    let rows = w
        .admin()
        .push_release("2.0.0")
        .expect("push the revocation");
    assert_eq!(rows[0].result, Ok(ReleaseState::Revoked));
    let upgrade = w
        .client_of(shard, user(1))
        .request_upgrade(canister, Some("2.0.0".into()));
    assert!(upgrade.is_err(), "{upgrade:?}");

    // 1.0.0 revoked too: pushed, the shard holds it revoked.
    w.admin().revoke_release("1.0.0", "also").expect("revoke");
    w.admin().push_release("1.0.0").expect("push");
    let on_shard = w
        .client_of(shard, w.admin)
        .get_release("1.0.0")
        .expect("get_release at the shard");
    assert_eq!(on_shard.state, ReleaseState::Revoked);

    // The index's fleet endpoints: admins only; another role says so.
    let r = w.client(stranger).list_shards();
    assert!(matches!(
        r.map_err(refused),
        Err(FactoryError::Unauthorized { .. })
    ));
    let r = w.client_of(shard, w.admin).list_shards();
    assert!(matches!(
        r.map_err(refused),
        Err(FactoryError::WrongRole { .. })
    ));
    let r = w.emu.update_call(
        shard,
        w.admin,
        "push_release",
        candid::encode_one("1.0.0").expect("enc"),
    );
    assert!(matches!(
        r.as_ref().ok().and_then(|b| factory_error(b)),
        Some(FactoryError::WrongRole { .. })
    ));
}

fn fleet_plan(target: &str, stages: Vec<factory_client::StagePlan>) -> factory_client::RolloutPlan {
    let mut p = scenarios::rollout_helpers::plan(target, 10);
    p.stages = stages;
    p
}

fn stage(name: &str, fleet_bps: u16, max_failure_bps: u16) -> factory_client::StagePlan {
    factory_client::StagePlan {
        name: name.into(),
        fleet_bps,
        max_failure_bps,
        min_sample: Some(3),
    }
}

/// Owners on `shard` running `version`.
fn on_version(w: &ShardedWorld, shard: Principal, version: &str) -> BTreeSet<Principal> {
    w.shard_users(shard)
        .into_iter()
        .filter(|u| u.version.as_deref() == Some(version))
        .map(|u| u.owner)
        .collect()
}

#[test]
fn fleet_rollout_canary_touches_only_the_canary_shards_share() {
    let w = ShardedWorld::new(3);
    w.publish("1.0.0");
    let n = 30;
    for i in 0..n {
        w.provision(i);
    }
    w.publish("2.0.0");
    let plan = fleet_plan(
        "2.0.0",
        vec![stage("canary", 3_000, 10_000), stage("all", 10_000, 10_000)],
    );
    let id = w
        .admin()
        .start_rollout(plan)
        .expect("start the fleet rollout");
    let canary_shard = w.shards[0];
    let others = &w.shards[1..];
    // While the fleet is in its canary stage no other shard upgrades anything.
    let rounds = w.drive("the canary stage", 300, |w| {
        for &s in others {
            assert!(
                on_version(w, s, "2.0.0").is_empty(),
                "shard {s} upgraded during the canary"
            );
        }
        w.fleet_status().is_some_and(|r| r.stage >= 1)
    });
    let r = w.fleet_status().expect("a fleet rollout");
    assert_eq!(r.id, id);
    let row = &r.shards[0];
    assert_eq!(row.shard, canary_shard);
    let local_id = row.local_id.expect("the canary shard's rollout");
    // Exactly the canary shard's share, by the interface's stage hash.
    let owners: Vec<Principal> = w
        .shard_users(canary_shard)
        .iter()
        .map(|u| u.owner)
        .collect();
    let share: BTreeSet<Principal> = owners
        .iter()
        .copied()
        .filter(|o| factory_client::rollout::membership::bucket(local_id, o) < 3_000)
        .collect();
    assert!(!share.is_empty() && share.len() < owners.len(), "{share:?}");
    assert_eq!(on_version(&w, canary_shard, "2.0.0"), share);
    println!(
        "fleet canary: {} of {} on the canary shard in {rounds} rounds",
        share.len(),
        owners.len()
    );

    w.drive("the whole fleet", 600, |w| {
        w.fleet_status()
            .is_some_and(|r| r.state == factory_client::FleetRolloutState::Completed)
    });
    let r = w.fleet_status().expect("a fleet rollout");
    for &s in &w.shards {
        assert_eq!(on_version(&w, s, "1.0.0").len(), 0, "shard {s} left behind");
    }
    let upgraded: u64 = r.totals.iter().map(|t| t.upgraded).sum();
    let skipped: u64 = r.totals.iter().map(|t| t.skipped).sum();
    assert_eq!(upgraded, n, "{:?}", r.totals);
    assert_eq!(skipped, 0);
    assert!(r.shards.iter().all(|row| row.finished), "{:?}", r.shards);
}

#[test]
fn fleet_broken_release_halts_every_shard() {
    let w = ShardedWorld::new(3);
    w.publish("1.0.0");
    let n = 30;
    let mut canisters = Vec::new();
    for i in 0..n {
        canisters.push(w.provision(i));
    }
    let broken = canister_artifacts::variants::with_trapping_post_upgrade(
        &canister_artifacts::artifacts().user_canister.wasm_gz,
        "2.0.0",
    )
    .expect("a trapping module");
    w.publish_module("2.0.0", &broken);
    // One stage, so every shard starts at once; 10 % failures allowed fleet-wide.
    let mut plan = fleet_plan("2.0.0", vec![stage("all", 10_000, 1_000)]);
    // One upgrade at a time per shard, no retries: the halt must come
    // before every shard has failed every canister.
    plan.max_in_flight = 1;
    plan.retry = Some(factory_client::RetryPolicy {
        max_attempts: 1,
        initial_backoff_ns: 1_000_000_000,
        max_backoff_ns: 1_000_000_000,
    });
    w.admin().start_rollout(plan).expect("start");
    w.drive("the halt", 300, |w| {
        w.fleet_status()
            .is_some_and(|r| matches!(r.state, factory_client::FleetRolloutState::Halted { .. }))
    });
    // Every shard that started is paused, and stays so.
    w.drive("every shard paused", 50, |w| {
        w.shards.iter().all(|&s| {
            let st = w.client_of(s, w.admin).rollout_status().expect("status");
            st.active
                .is_none_or(|a| matches!(a.state, factory_client::RolloutState::Paused(_)))
                && st.in_flight == 0
        })
    });
    let failed_at_halt: u64 = w.fleet_status().expect("rollout").totals[0].failed;
    for _ in 0..50 {
        w.emu.advance_time(std::time::Duration::from_secs(1));
        w.emu.tick();
    }
    let r = w.fleet_status().expect("rollout");
    assert!(matches!(
        r.state,
        factory_client::FleetRolloutState::Halted { .. }
    ));
    let failed: u64 = w
        .shards
        .iter()
        .map(|&s| {
            let st = w.client_of(s, w.admin).rollout_status().expect("status");
            st.active.map_or(0, |a| {
                a.stages.iter().map(|x| x.counters.failed).sum::<u64>()
            })
        })
        .sum();
    assert!(
        failed >= failed_at_halt && failed < n,
        "halted early: {failed} of {n} failed"
    );
    // Nothing is left stopped, and every canister still runs 1.0.0.
    for &s in &w.shards {
        assert_eq!(on_version(&w, s, "2.0.0").len(), 0);
    }
    for (i, c) in canisters.into_iter().enumerate() {
        let status = w
            .emu
            .canister_status(c, Some(recovery_of(i as u64)))
            .expect("canister_status");
        assert_eq!(status.status, CanisterStatusType::Running, "{c}");
    }
    println!("fleet halt: {failed} of {n} upgrades failed before every shard paused");
}

#[test]
fn fleet_index_creates_a_shard_on_a_chosen_subnet_and_upgrades_every_shard_one_at_a_time() {
    let w = ShardedWorld::with_spare_subnets(1, 1);
    let module = canister_artifacts::artifacts().factory.wasm_gz.clone();
    let spare = w.subnets[2];
    // A subnet the CMC does not know: refused and refunded, nothing created.
    let before = w.emu.cycle_balance(w.index);
    let bogus = principal(424_242);
    let refused = w
        .admin()
        .create_shard(module.clone(), Some(1_000), None, Some(bogus))
        .map_err(refused);
    assert!(
        matches!(refused, Err(FactoryError::ManagementCall { ref message, .. }) if message.contains("refunded")),
        "{refused:?}"
    );
    let lost = before - w.emu.cycle_balance(w.index);
    assert!(
        lost < 10_000_000_000,
        "a refusal costs a penalty, not the shard's cycles: {lost}"
    );
    assert_eq!(w.admin().list_shards().expect("list").len(), 1);

    // Through the CMC's subnet_selection, paid from the index's cycles.
    let before = w.emu.cycle_balance(w.index);
    let created = w
        .admin()
        .create_shard(module.clone(), Some(1_000), None, Some(spare))
        .expect("create_shard");
    assert_eq!(created.capacity, 1_000);
    assert_eq!(w.emu.get_subnet(created.canister_id), Some(spare));
    let paid = before - w.emu.cycle_balance(w.index);
    assert!(
        paid >= factory_client::fleet::DEFAULT_SHARD_CYCLES,
        "the index paid {paid}"
    );
    // The index controls the shard it created.
    assert_eq!(w.emu.get_controllers(created.canister_id), vec![w.index]);
    w.publish("1.0.0");
    // Both shards take users: the new one is the least loaded; each user's
    // canister lives on its shard's subnet.
    let a = w.provision(1);
    let b = w.provision(2);
    assert_ne!(a, b);
    let subnets: BTreeSet<_> = [a, b].iter().map(|&c| w.emu.get_subnet(c)).collect();
    assert_eq!(subnets, BTreeSet::from([Some(w.subnets[1]), Some(spare)]));
    let placed: Vec<u64> = w.shard_loads();
    assert_eq!(placed, vec![1, 1]);

    // The registered shard was deployed by its operator: the index must be
    // one of its controllers to upgrade it.
    let first = w.shards[0];
    let rows = w
        .admin()
        .upgrade_shards(module.clone())
        .expect("upgrade_shards");
    let row = |s: Principal| {
        rows.iter()
            .find(|r| r.shard == s)
            .expect("a row")
            .result
            .clone()
    };
    assert_eq!(row(created.canister_id), Ok(()));
    assert!(row(first).is_err(), "the index does not control it yet");
    w.emu
        .set_controllers(first, Some(w.operator), vec![w.operator, w.index])
        .expect("operator adds the index");
    let rows = w.admin().upgrade_shards(module).expect("upgrade_shards");
    assert!(rows.iter().all(|r| r.result == Ok(())), "{rows:?}");
    // Upgraded and running again; users still served, data intact.
    for s in [first, created.canister_id] {
        let status = w.emu.canister_status(s, Some(w.index)).expect("status");
        assert_eq!(status.status, CanisterStatusType::Running);
    }
    let mut served = BTreeSet::new();
    for s in [first, created.canister_id] {
        for u in w.shard_users(s) {
            let mine = w
                .client_of(s, u.owner)
                .my_canister()
                .expect("served by its shard");
            served.insert(mine.canister_id.expect("a canister"));
        }
    }
    assert_eq!(served, BTreeSet::from([a, b]));
}

/// The canary-then-all plan the fault scenarios use: 30 % of the canary
/// shard, then everything; failures judged but tolerated.
fn two_stage_plan() -> factory_client::RolloutPlan {
    fleet_plan(
        "2.0.0",
        vec![stage("canary", 3_000, 10_000), stage("all", 10_000, 10_000)],
    )
}

fn upgraded(r: &factory_client::FleetRollout) -> u64 {
    r.totals.iter().map(|t| t.upgraded).sum()
}

fn completed(w: &ShardedWorld) -> bool {
    w.fleet_status()
        .is_some_and(|r| r.state == factory_client::FleetRolloutState::Completed)
}

#[test]
fn fleet_index_upgraded_mid_rollout_resumes() {
    let w = ShardedWorld::new(3);
    w.publish("1.0.0");
    let members = w.provision_members(24);
    w.publish("2.0.0");
    let id = w.admin().start_rollout(two_stage_plan()).expect("start");
    w.drive("the canary under way", 300, |w| {
        w.fleet_status().is_some_and(|r| upgraded(&r) > 0)
    });
    let before = w.fleet_status().expect("a fleet rollout");
    w.upgrade_index();
    let (_, history) = w
        .emu
        .canister_history(w.index)
        .expect("the index's history");
    let last = history.last().and_then(|c| c.details.clone());
    assert!(
        matches!(
            last,
            Some(ic_emulator::management_types::ChangeDetails::CodeDeployment(ref d))
                if d.mode == ic_emulator::management_types::CodeDeploymentMode::Upgrade
        ),
        "the index was not upgraded: {last:?}"
    );
    // The plan, its state and each shard's part survive the upgrade.
    let after = w.fleet_status().expect("a fleet rollout after the upgrade");
    assert_eq!((after.id, &after.plan), (id, &before.plan));
    assert_eq!(after.state, factory_client::FleetRolloutState::Running);
    assert!(upgraded(&after) >= upgraded(&before));
    let rounds = w.drive("the whole fleet after the upgrade", 600, completed);
    let r = w.fleet_status().expect("rollout");
    assert_eq!(upgraded(&r), members.len() as u64, "{:?}", r.totals);
    assert!(r.shards.iter().all(|row| row.finished), "{:?}", r.shards);
    w.assert_fleet(&members, "2.0.0", "after the index's upgrade mid-rollout");
    println!("fleet index upgrade: resumed and completed in {rounds} rounds after the upgrade");
}

#[test]
fn fleet_shard_unreachable_for_50_rounds_loses_nothing_and_catches_up() {
    let w = ShardedWorld::new(3);
    w.publish("1.0.0");
    let members = w.provision_members(24);
    w.publish("2.0.0");
    w.admin()
        .start_rollout(fleet_plan("2.0.0", vec![stage("all", 10_000, 10_000)]))
        .expect("start");
    w.drive("every shard started", 100, |w| {
        w.fleet_status()
            .is_some_and(|r| r.shards.iter().all(|row| row.local_id.is_some()))
    });
    // The shard is stopped by its operator: the index's calls and its
    // owners' calls are refused until it starts again.
    let down = w.shards[2];
    let down_owners = w.shard_users(down);
    w.emu
        .stop_canister(down, Some(w.operator))
        .expect("stop the shard");
    let mut reported = false;
    for _ in 0..50 {
        w.emu.advance_time(std::time::Duration::from_secs(1));
        w.emu.tick();
        let r = w.fleet_status().expect("rollout");
        let row = r.shards.iter().find(|row| row.shard == down).expect("row");
        reported |= row.last_error.is_some();
        assert!(!row.finished, "a stopped shard finished");
    }
    assert!(reported, "the index reports the unreachable shard");
    // The others went on and are done.
    for &s in &w.shards[..2] {
        assert_eq!(on_version(&w, s, "1.0.0").len(), 0, "shard {s} held up");
    }
    assert!(!completed(&w), "the fleet waits for the stopped shard");
    w.emu
        .start_canister(down, Some(w.operator))
        .expect("start the shard");
    let rounds = w.drive("the stopped shard catches up", 300, completed);
    assert_eq!(on_version(&w, down, "1.0.0").len(), 0);
    assert_eq!(
        w.shard_users(down).len(),
        down_owners.len(),
        "the shard lost owners"
    );
    let r = w.fleet_status().expect("rollout");
    assert_eq!(upgraded(&r), members.len() as u64, "{:?}", r.totals);
    w.assert_fleet(&members, "2.0.0", "after a shard was unreachable");
    println!("fleet unreachable shard: caught up {rounds} rounds after it started again");
}

#[test]
fn fleet_tick_trapped_after_an_await_does_not_stop_the_fleet_rollout() {
    let w = ShardedWorld::new(2);
    w.publish("1.0.0");
    let members = w.provision_members(12);
    w.publish("2.0.0");
    w.admin()
        .start_rollout(fleet_plan("2.0.0", vec![stage("all", 10_000, 10_000)]))
        .expect("start");
    // The index's only open call context is its fleet tick awaiting a shard:
    // the next message it runs is that reply's callback, and it traps.
    w.drive("a fleet tick awaiting a shard", 100, |w| {
        w.emu.open_call_contexts(w.index) > 0
    });
    w.emu
        .inject_fault(w.index, ic_emulator::Fault::TrapNextMessage)
        .expect("arm the trap");
    // Without the fix no fleet tick ran again; the watchdog (a minute)
    // re-arms it now.
    let rounds = w.drive("the fleet rollout after the trap", 400, completed);
    w.assert_fleet(&members, "2.0.0", "after a trapped fleet tick");
    println!("fleet tick trap: completed {rounds} rounds after the trap");
}

/// The index takes a progress report (`shard_progress`, one-way from a
/// shard) only from one of its registered shards, and one about no rollout
/// of its changes nothing.
#[test]
fn fleet_index_takes_progress_reports_only_from_its_shards() {
    let w = ShardedWorld::new(1);
    w.publish("1.0.0");
    let canister = w.provision(1);
    let report = factory_client::ShardProgress {
        rollout_id: 1,
        stages: vec![],
        current_stage: 0,
        stage_complete: true,
        ended: None,
        halted: None,
    };
    let arg = candid::encode_one(report).expect("encodes");
    let call = |sender: Principal| {
        classify_factory(
            &w.emu
                .update_call(w.index, sender, "shard_progress", arg.clone()),
        )
    };
    assert_eq!(call(w.shards[0]), Observed::Allowed, "its shard");
    for (who, sender) in [
        ("an admin", w.admin),
        ("a stranger", principal(4_242)),
        ("a stranger canister", canister),
        ("the operator", w.operator),
    ] {
        assert!(
            matches!(call(sender), Observed::Unauthorized { .. }),
            "{who} may not report progress"
        );
    }
    assert_eq!(call(Principal::anonymous()), Observed::AnonymousCaller);
    assert!(w.fleet_status().is_none(), "no rollout came of it");
}
