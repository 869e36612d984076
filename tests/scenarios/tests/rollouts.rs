//! Issue 6 end to end: rollouts on the factory's timer, on the real release
//! wasm of both canisters, and upgrades on demand.

use canister_artifacts::{artifacts, variants};
use factory_api::rollout::membership::bucket;
use factory_api::{RolloutEnd, RolloutState, StageCounters};
use factory_client::{
    ClientError, FactoryArg, FactoryError, RateLimit, RolloutStatus, StagePhase, StagePlan,
    UpgradeAccepted,
};
use ic_emulator::management_types::CanisterStatusType;
use ic_emulator::Fault;
use scenarios::rollout_helpers::{canary_then_all, fixed_plan, history, plan, Member, STEP};
use scenarios::user_canister::UserError;
use scenarios::{recovery_of, roomy_config, World};
use std::time::Duration;

fn finished(s: &RolloutStatus) -> bool {
    s.active.is_none() && s.queued == 0 && s.retrying == 0 && s.in_flight == 0
}

fn halted(s: &RolloutStatus) -> bool {
    s.active
        .as_ref()
        .is_some_and(|a| matches!(a.state, RolloutState::Halted { .. }))
}

#[test]
fn five_hundred_canisters_upgrade_with_at_most_fifty_calls_in_flight() {
    let w = World::new();
    w.publish("1.0.0");
    let fleet = w.provision_fleet(0..500);
    let v2 = w.publish("2.0.0");
    let id = w.admin().start_rollout(fixed_plan("2.0.0", 50)).unwrap();

    let mut peak = 0;
    let rounds = w.drive("the rollout", 2_000, STEP, |w| {
        // From the emulator's side: the factory's calls to the management
        // canister not answered yet, after every round.
        let now = w.emu.management_calls_in_flight(w.factory).current;
        assert!(now <= 50, "{now} management calls in flight");
        peak = peak.max(now);
        finished(&w.rollout_status())
    });
    // The emulator's high-water mark also covers the middle of rounds
    // (provisioning above went in batches of 25).
    let all_time = w.emu.management_calls_in_flight(w.factory).max;
    assert!(all_time <= 50, "{all_time} in flight at once");
    assert_eq!(peak, 50, "the cap is used, not just respected");
    eprintln!("500 canisters upgraded in {rounds} rounds");

    for m in &fleet {
        w.assert_runs(m, &v2);
    }
    let page = history(&w);
    assert_eq!(page.total, 1);
    let done = &page.rollouts[0];
    assert_eq!((done.id, &done.end), (id, &RolloutEnd::Completed));
    assert_eq!(done.target_version, "2.0.0");
    assert_eq!(done.stages.len(), 1);
    let c = &done.stages[0].counters;
    assert_eq!(
        (c.upgraded, c.skipped, c.failed, c.pending()),
        (500, 0, 0, 0)
    );
    assert!(done.reasons.is_empty(), "{:?}", done.reasons);
    let totals = w.rollout_status().totals;
    assert_eq!(
        (totals.upgraded, totals.failed, totals.retries),
        (500, 0, 0)
    );
}

/// The members of the first rollout's stage covering `bps` of the fleet.
fn canary_of(fleet: &[Member], bps: u16) -> Vec<Member> {
    // Stage buckets are salted with the rollout's id; the first one's is 1.
    fleet
        .iter()
        .filter(|m| bucket(1, &m.owner) < bps)
        .copied()
        .collect()
}

#[test]
fn a_release_trapping_on_ten_percent_halts_at_the_canary() {
    let w = World::new();
    let v1 = w.publish("1.0.0");
    let fleet = w.provision_fleet(0..60);
    let v2 = w.publish("2.0.0");
    // 2.0.0's post_upgrade traps on every tenth canister, each time it runs.
    let trapping: Vec<Member> = fleet.iter().filter(|m| m.n % 10 == 0).copied().collect();
    let arm = |w: &World| {
        for m in &trapping {
            w.emu
                .inject_fault(m.canister, Fault::TrapNextPostUpgrade)
                .unwrap();
        }
    };
    let canary = canary_of(&fleet, 2_000);
    let failing = canary.iter().filter(|m| trapping.contains(m)).count() as u64;
    assert!(failing > 0 && failing < canary.len() as u64, "{canary:?}");

    let mut p = plan("2.0.0", 10);
    p.stages = canary_then_all(2_000, 500);
    let id = w.admin().start_rollout(p).unwrap();
    w.drive("the canary", 2_000, STEP, |w| {
        arm(w);
        halted(&w.rollout_status())
    });
    // Halted stays halted, however long it waits.
    w.run_rounds(50, Duration::from_secs(1), arm);

    let status = w.rollout_status();
    let active = status.active.clone().expect("halted, not ended");
    assert_eq!(active.id, id);
    match &active.state {
        RolloutState::Halted { stage, reason } => {
            assert_eq!(*stage, 0);
            assert!(reason.contains("canary"), "{reason}");
            assert!(
                reason.contains(&format!("{failing} of {}", canary.len())),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    let (canary_stage, rest) = (&active.stages[0], &active.stages[1]);
    assert_eq!(canary_stage.phase, StagePhase::Running);
    let c = &canary_stage.counters;
    let upgraded = canary.len() as u64 - failing;
    assert_eq!(
        (c.upgraded, c.failed, c.skipped, c.pending()),
        (upgraded, failing, 0, 0)
    );
    assert_eq!(rest.phase, StagePhase::Waiting);
    assert_eq!(
        rest.counters,
        StageCounters::default(),
        "nothing beyond the canary"
    );
    // Each failing canister was tried twice (the plan's max_attempts).
    assert_eq!(status.totals.retries, failing);
    assert_eq!(
        active.failure_reasons.len(),
        1,
        "{:?}",
        active.failure_reasons
    );
    let reason = &active.failure_reasons[0];
    assert_eq!(reason.count, failing);
    assert!(reason.reason.contains("install_chunked_code"), "{reason:?}");

    for m in &fleet {
        let succeeded = canary.contains(m) && !trapping.contains(m);
        w.assert_runs(m, if succeeded { &v2 } else { &v1 });
        if !canary.contains(m) {
            assert_eq!(w.code_changes(m).len(), 1, "user {} was touched", m.n);
        }
    }

    // A second plan is refused while this one is active; cancelling archives it.
    assert_eq!(
        w.admin().start_rollout(plan("2.0.0", 10)),
        Err(ClientError::Factory(FactoryError::RolloutActive { id }))
    );
    w.admin().cancel_rollout().unwrap();
    let page = history(&w);
    let ended = &page.rollouts[0];
    assert_eq!(ended.end, RolloutEnd::Cancelled { by: w.admin });
    assert!(matches!(
        ended.last_state,
        RolloutState::Halted { stage: 0, .. }
    ));
    assert_eq!(ended.stages[0].counters.failed, failing);
    assert_eq!(ended.stages[0].counters.upgraded, upgraded);
    assert_eq!(ended.stages[1].counters, StageCounters::default());
    assert_eq!(ended.reasons[0].count, failing);
    assert!(w.rollout_status().active.is_none());
}

#[test]
fn a_canister_that_never_stops_is_started_again_and_counted_failed() {
    let w = World::new();
    let v1 = w.publish("1.0.0");
    let fleet = w.provision_fleet(0..12);
    let v2 = w.publish("2.0.0");
    let stuck = fleet[3];
    w.emu
        .inject_fault(stuck.canister, Fault::NeverStop)
        .unwrap();

    let mut p = plan("2.0.0", 10);
    p.stages = vec![StagePlan {
        name: "all".into(),
        fleet_bps: 10_000,
        max_failure_bps: 1_000,
        min_sample: None,
    }];
    let id = w.admin().start_rollout(p).unwrap();
    // Ten seconds per round: the factory waits 300 s for a canister to stop.
    w.drive("the rollout", 500, Duration::from_secs(10), |w| {
        finished(&w.rollout_status())
    });

    for m in &fleet {
        w.assert_runs(m, if *m == stuck { &v1 } else { &v2 });
    }
    let st = w.admin().upgrade_status(stuck.canister).unwrap();
    assert_eq!(st.pending, None);
    let outcome = st.last_outcome.expect("recorded");
    assert_eq!(outcome.to_version.as_deref(), Some("2.0.0"));
    let error = outcome.error.expect("a reason");
    assert!(error.contains("stop_canister"), "{error}");

    let page = history(&w);
    let done = &page.rollouts[0];
    assert_eq!((done.id, &done.end), (id, &RolloutEnd::Completed));
    let c = &done.stages[0].counters;
    assert_eq!((c.upgraded, c.failed, c.skipped), (11, 1, 0));
    assert_eq!(done.reasons.len(), 1);
    assert_eq!(done.reasons[0].count, 1);
    assert!(
        done.reasons[0].reason.contains("stop_canister"),
        "{:?}",
        done.reasons
    );
    assert_eq!(w.rollout_status().totals.retries, 1, "tried twice");
}

#[test]
fn a_factory_upgraded_mid_rollout_resumes_and_finishes() {
    let w = World::new();
    w.publish("1.0.0");
    let fleet = w.provision_fleet(0..60);
    let v2 = w.publish("2.0.0");
    let id = w.admin().start_rollout(plan("2.0.0", 10)).unwrap();
    let upgraded_past = |n: u64| {
        move |w: &World| {
            let s = w.rollout_status();
            s.in_flight > 0 && s.totals.upgraded >= n
        }
    };
    w.drive("a fifth of the fleet", 2_000, STEP, upgraded_past(12));
    // Stopped and started again (no upgrade), the factory carries on.
    w.emu.stop_canister(w.factory, Some(w.operator)).unwrap();
    w.emu.start_canister(w.factory, Some(w.operator)).unwrap();
    w.drive("after a restart", 2_000, STEP, upgraded_past(24));

    // The operator stops the factory: what is in flight finishes, nothing new starts.
    w.emu.stop_canister(w.factory, Some(w.operator)).unwrap();
    let on_v2 = |w: &World| {
        fleet
            .iter()
            .filter(|m| w.status_of(m).0.as_deref() == Some(&v2.sha256.0[..]))
            .count()
    };
    let before = on_v2(&w);
    assert!(
        (24..60).contains(&before),
        "{before} upgraded before the stop"
    );
    for m in &fleet {
        assert_eq!(
            w.status_of(m).1,
            CanisterStatusType::Running,
            "user {}",
            m.n
        );
    }
    let next = variants::tagged(&artifacts().factory.wasm_gz, "factory-next").unwrap();
    w.emu
        .upgrade_canister(
            w.factory,
            next.clone(),
            candid::encode_one(None::<FactoryArg>).unwrap(),
            Some(w.operator),
        )
        .unwrap();
    // Stopped, nothing moves; started, the rollout resumes by itself.
    w.run_rounds(20, STEP, |_| {});
    assert_eq!(on_v2(&w), before);
    w.emu.start_canister(w.factory, Some(w.operator)).unwrap();
    let status = w.emu.canister_status(w.factory, Some(w.operator)).unwrap();
    assert_eq!(
        status.module_hash,
        Some(factory_client::module_hash(&next).0.to_vec())
    );
    w.drive("the rest", 2_000, STEP, |w| finished(&w.rollout_status()));

    for m in &fleet {
        w.assert_runs(m, &v2);
    }
    let page = history(&w);
    let done = &page.rollouts[0];
    assert_eq!((done.id, &done.end), (id, &RolloutEnd::Completed));
    let c = &done.stages[0].counters;
    assert_eq!((c.upgraded, c.failed, c.skipped), (60, 0, 0));
}

#[test]
fn a_factory_message_trapping_mid_rollout_leaves_no_canister_behind() {
    let w = World::new();
    w.publish("1.0.0");
    let fleet = w.provision_fleet(0..20);
    let v2 = w.publish("2.0.0");
    // Two in flight: the rollout needs many ticks, so a lost one would show.
    w.admin().start_rollout(fixed_plan("2.0.0", 2)).unwrap();
    w.drive("a few upgrades", 1_000, STEP, |w| {
        let s = w.rollout_status();
        s.in_flight == 2 && s.totals.upgraded >= 5
    });
    // The factory's next message (a timer, a tick or a worker's callback)
    // traps; the scheduler heals within its watchdog's interval.
    w.emu
        .inject_fault(w.factory, Fault::TrapNextMessage)
        .unwrap();
    w.drive("the rollout", 3_000, Duration::from_millis(100), |w| {
        finished(&w.rollout_status())
    });
    for m in &fleet {
        w.assert_runs(m, &v2);
    }
    let c = &history(&w).rollouts[0].stages[0].counters;
    assert_eq!((c.upgraded + c.skipped, c.failed), (20, 0));
}

#[test]
fn bad_plans_get_typed_errors() {
    let w = World::new();
    w.publish("1.0.0");
    assert!(matches!(
        w.admin().start_rollout(plan("9.9.9", 10)),
        Err(ClientError::Factory(FactoryError::UnknownTarget { .. }))
    ));
    assert!(matches!(
        w.admin().start_rollout(plan("1.0.0", 501)),
        Err(ClientError::Factory(FactoryError::InFlightOutOfRange {
            value: 501,
            max: 500
        }))
    ));
    assert!(matches!(
        w.client(scenarios::user(1))
            .start_rollout(plan("1.0.0", 10)),
        Err(ClientError::Factory(FactoryError::Unauthorized { .. }))
    ));
}

// ---- Upgrades on demand ----

fn last_code_change(w: &World, m: &Member) -> u64 {
    *w.code_changes(m).last().expect("installed")
}

#[test]
fn an_on_demand_request_jumps_the_rollout_queue_and_is_rate_limited() {
    let mut config = roomy_config();
    let window_ns = 600_000_000_000;
    config.user_upgrade_rate = RateLimit {
        capacity: 1,
        refill_period_ns: window_ns,
    };
    let w = World::with_config(config);
    w.publish("1.0.0");
    let fleet = w.provision_fleet(0..24);
    let v2 = w.publish("2.0.0");
    // One at a time, so "before" is strict: the request goes next.
    w.admin().start_rollout(plan("2.0.0", 1)).unwrap();
    w.drive("the first upgrade", 500, STEP, |w| {
        let s = w.rollout_status();
        s.in_flight == 1 && s.queued > 0
    });

    // The rollout's queued canisters, and a user whose turn is far off.
    let pending = |m: &Member| w.admin().upgrade_status(m.canister).unwrap();
    let queued: Vec<Member> = fleet
        .iter()
        .filter(|m| pending(m).pending.is_some_and(|p| p.state == "queued"))
        .copied()
        .collect();
    assert!(!queued.is_empty());
    let asker = *fleet
        .iter()
        .rev()
        .find(|m| {
            let s = pending(m);
            s.pending.is_none() && s.version.as_deref() == Some("1.0.0")
        })
        .expect("a user not reached yet");
    let accepted = w
        .client(asker.owner)
        .request_upgrade(asker.canister, None)
        .unwrap();
    assert_eq!(
        accepted,
        UpgradeAccepted {
            canister_id: asker.canister,
            from_version: "1.0.0".into(),
            target_version: "2.0.0".into(),
            already_pending: false,
        }
    );
    // Asked again (by the recovery principal) while pending: merged, not charged.
    let again = w
        .client(recovery_of(asker.n))
        .request_upgrade(asker.canister, None)
        .unwrap();
    assert!(again.already_pending);

    w.drive_until_idle("the rollout", 3_000, STEP);
    let asked = last_code_change(&w, &asker);
    for m in &queued {
        assert!(
            last_code_change(&w, m) > asked,
            "user {}, queued before the request, went first",
            m.n
        );
    }
    for m in &fleet {
        w.assert_runs(m, &v2);
    }
    let outcome = pending(&asker).last_outcome.expect("recorded");
    assert_eq!(outcome.action, "on_demand_upgrade");
    let c = &history(&w).rollouts[0].stages[0].counters;
    assert_eq!((c.upgraded + c.skipped, c.failed), (24, 0));

    // A second request inside the window is refused, saying when to retry.
    let v21 = w.publish("2.1.0");
    let retry_after_ns = match w.client(asker.owner).request_upgrade(asker.canister, None) {
        Err(ClientError::Factory(FactoryError::RateLimited { retry_after_ns })) => retry_after_ns,
        other => panic!("{other:?}"),
    };
    assert!(
        retry_after_ns > window_ns / 2 && retry_after_ns <= window_ns,
        "{retry_after_ns}"
    );
    w.emu.advance_time(Duration::from_nanos(retry_after_ns));
    let accepted = w
        .client(asker.owner)
        .request_upgrade(asker.canister, None)
        .unwrap();
    assert_eq!(
        (
            accepted.from_version.as_str(),
            accepted.target_version.as_str()
        ),
        ("2.0.0", "2.1.0")
    );
    w.drive_until_idle("the second request", 500, STEP);
    w.assert_runs(&asker, &v21);
    let totals = w.rollout_status().totals;
    assert_eq!(
        (totals.on_demand_accepted, totals.on_demand_rate_limited),
        (2, 1)
    );
}

#[test]
fn a_user_canister_s_one_way_request_upgrades_it() {
    let w = World::new();
    let v1 = w.publish("1.0.0");
    let fleet = w.provision_fleet(0..2);
    let v2 = w.publish("2.0.0");
    let (me, other) = (fleet[0], fleet[1]);

    // Only its owner may have it ask; the factory takes the request only
    // from a canister it manages.
    match w
        .user_canister(me.canister, other.owner)
        .request_upgrade(None)
    {
        Ok(Err(UserError::NotOwner { .. })) | Err(_) => {}
        unexpected => panic!("{unexpected:?}"),
    }
    let direct = w.emu.update_call(
        w.factory,
        me.owner,
        "request_upgrade_from_canister",
        candid::encode_one(None::<String>).unwrap(),
    );
    let refused = candid::decode_one::<Result<UpgradeAccepted, FactoryError>>(&direct.unwrap());
    assert!(matches!(
        refused,
        Ok(Err(FactoryError::Unauthorized { .. }))
    ));

    w.user_canister(me.canister, me.owner)
        .request_upgrade(None)
        .expect("not rejected")
        .expect("sent");
    w.drive("the upgrade", 500, STEP, |w| {
        w.status_of(&me).0.as_deref() == Some(&v2.sha256.0[..])
    });
    w.drive_until_idle("the factory", 500, STEP);
    w.assert_runs(&me, &v2);
    w.assert_runs(&other, &v1);
    let outcome = w
        .admin()
        .upgrade_status(me.canister)
        .unwrap()
        .last_outcome
        .expect("recorded");
    assert_eq!(outcome.action, "on_demand_upgrade");
    assert_eq!(outcome.error, None);
}
