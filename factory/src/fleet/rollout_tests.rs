//! The fleet rollout's decisions, tick by tick, against simulated shards.

use super::*;
use factory_api::rollout::{RolloutEnd, RolloutState, StageStatus};

fn p(n: u8) -> Principal {
    Principal::from_slice(&[n; 10])
}

fn stage(name: &str, fleet_bps: u16, max_failure_bps: u16) -> StagePlan {
    StagePlan {
        name: name.into(),
        fleet_bps,
        max_failure_bps,
        min_sample: Some(1),
    }
}

fn plan(stages: Vec<StagePlan>) -> RolloutPlan {
    RolloutPlan {
        target_version: "2.0.0".into(),
        stages,
        max_in_flight: 10,
        max_starts_per_tick: None,
        tick_interval_ns: Some(0),
        retry: None,
        filter: None,
        snapshot: None,
        admission: None,
        top_up: None,
        allow_downgrade: None,
        supersede: None,
    }
}

fn three_stages() -> FleetRollout {
    let stages = vec![
        stage("canary", 1_000, 2_000),
        stage("half", 5_000, 2_000),
        stage("all", 10_000, 2_000),
    ];
    new_rollout(1, plan(stages), &[p(1), p(2), p(3)], p(9), 0).expect("rollout")
}

fn counters(upgraded: u64, failed: u64, pending: u64) -> StageCounters {
    StageCounters {
        upgraded,
        failed,
        queued: pending,
        ..Default::default()
    }
}

/// A shard's active rollout, at local stage `cur` of `n`, with `c` there.
fn active(id: u64, n: usize, cur: u8, c: StageCounters, enumerated: bool) -> Polled {
    let stages = (0..n)
        .map(|i| StageStatus {
            name: format!("s{i}"),
            fleet_bps: 0,
            max_failure_bps: 10_000,
            phase: StagePhase::Running,
            pending: 0,
            counters: if i == usize::from(cur) {
                c.clone()
            } else {
                StageCounters::default()
            },
            failure_bps: 0,
        })
        .collect();
    let plan = factory_api::rollout::Plan {
        target_version: "2.0.0".into(),
        stages: vec![],
        max_in_flight: 1,
        max_starts_per_tick: 1,
        tick_interval_ns: 0,
        retry: factory_api::rollout::RetryPolicy {
            max_attempts: 1,
            initial_backoff_ns: 0,
            max_backoff_ns: 0,
        },
        from_versions: vec![],
        exclude_versions: vec![],
        canisters: vec![],
        exclude_canisters: vec![],
        snapshot: factory_api::rollout::SnapshotPolicy::Never,
        top_up: factory_api::rollout::TopUpPolicy {
            below: 0,
            amount: 0,
        },
        admission: factory_api::rollout::AdmissionPolicy::default(),
        allow_downgrade: false,
    };
    Polled::Active(Box::new(ActiveRollout {
        id,
        plan,
        state: RolloutState::Running,
        current_stage: cur,
        stages,
        failure_reasons: vec![],
        started_by: p(9),
        started_ns: 0,
        current_stage_enumerated: enumerated,
        eligible_estimate: 0,
        per_hour: 0,
        eta_ns: None,
    }))
}

fn ended(id: u64, stages: Vec<StageCounters>) -> Polled {
    Polled::Ended(Box::new(RolloutSummary {
        id,
        target_version: "2.0.0".into(),
        started_by: p(9),
        started_ns: 0,
        ended_ns: 1,
        end: RolloutEnd::Completed,
        last_state: RolloutState::Running,
        stages: stages
            .into_iter()
            .map(|counters| factory_api::rollout::StageSummary {
                name: "s".into(),
                counters,
            })
            .collect(),
        reasons: vec![],
    }))
}

fn shards_of(actions: &[Action]) -> Vec<Principal> {
    actions
        .iter()
        .map(|a| match a {
            Action::Start { shard, .. }
            | Action::Lift { shard, .. }
            | Action::Poll { shard, .. } => *shard,
        })
        .collect()
}

#[test]
fn the_canary_runs_on_one_shard_then_every_shard_joins() {
    let mut r = three_stages();
    // Tick 1: only the canary shard starts, holding after its stage 0.
    let a = actions(&r);
    assert_eq!(shards_of(&a), vec![p(1)]);
    let Action::Start { plan, allowed, .. } = &a[0] else {
        panic!("{a:?}")
    };
    assert_eq!(*allowed, 0);
    assert_eq!(plan.stages.len(), 3);
    assert!(plan.stages.iter().all(|s| s.max_failure_bps == 10_000));
    assert_eq!(plan.supersede, Some(true));
    apply_started(&mut r, p(1), 11);
    assert_eq!(judge(&mut r, None), Judgement::Nothing);
    // The canary finishes its share: the fleet moves to stage 1.
    assert_eq!(
        actions(&r),
        vec![Action::Poll {
            shard: p(1),
            local_id: 11
        }]
    );
    let halted = apply_polled(&mut r, p(1), active(11, 3, 0, counters(5, 0, 0), true));
    assert_eq!(halted, None);
    assert_eq!(judge(&mut r, None), Judgement::Advanced);
    assert_eq!(r.stage, 1);
    // Tick 2: the canary shard is let go on; the others start at stage 1,
    // their plan without the canary stage.
    let a = actions(&r);
    assert_eq!(a.len(), 3);
    assert_eq!(
        a[0],
        Action::Lift {
            shard: p(1),
            local_id: 11,
            allowed: 1
        }
    );
    for x in &a[1..] {
        let Action::Start { plan, allowed, .. } = x else {
            panic!("{x:?}")
        };
        assert_eq!((*allowed, plan.stages.len()), (0, 2));
        assert_eq!(plan.stages[0].fleet_bps, 5_000);
    }
}

#[test]
fn failures_are_judged_fleet_wide_and_halt_everything() {
    let mut r = three_stages();
    apply_started(&mut r, p(1), 11);
    apply_polled(&mut r, p(1), active(11, 3, 0, counters(2, 0, 0), true));
    assert_eq!(judge(&mut r, None), Judgement::Advanced);
    apply_lifted(&mut r, p(1));
    apply_started(&mut r, p(2), 21);
    apply_started(&mut r, p(3), 31);
    // Each shard alone is under 20 %... (1 of 6 = 16 %)
    apply_polled(&mut r, p(1), active(11, 3, 1, counters(5, 1, 3), false));
    apply_polled(&mut r, p(2), active(21, 2, 0, counters(6, 0, 3), false));
    assert_eq!(judge(&mut r, None), Judgement::Nothing);
    // ... and summed over the fleet it passes: 4 of 16 = 25 %.
    apply_polled(&mut r, p(3), active(31, 2, 0, counters(1, 3, 3), false));
    assert_eq!(judge(&mut r, None), Judgement::Halted);
    assert!(matches!(
        r.state,
        FleetRolloutState::Halted { stage: 1, .. }
    ));
    assert_eq!(r.totals[1].failed, 4);
    assert!(actions(&r).is_empty(), "a halted rollout calls nobody");
    // Resumed past the halt, the same figures no longer halt it.
    r.state = FleetRolloutState::Running;
    r.halt_overridden = Some(1);
    assert_eq!(judge(&mut r, None), Judgement::Nothing);
}

#[test]
fn a_shard_halting_by_itself_halts_the_fleet() {
    let mut r = three_stages();
    apply_started(&mut r, p(1), 11);
    let mut polled = active(11, 3, 0, counters(1, 0, 4), false);
    if let Polled::Active(a) = &mut polled {
        a.state = RolloutState::Halted {
            stage: 0,
            reason: "target revoked".into(),
        };
    }
    let why = apply_polled(&mut r, p(1), polled);
    assert!(why.as_deref().is_some_and(|w| w.contains("target revoked")));
    assert_eq!(judge(&mut r, why), Judgement::Halted);
}

#[test]
fn the_rollout_completes_when_every_shard_finished() {
    let plan = plan(vec![]);
    let mut r = new_rollout(1, plan, &[p(1), p(2)], p(9), 0).expect("rollout");
    // One stage: no canary, both shards start at once.
    assert_eq!(shards_of(&actions(&r)), vec![p(1), p(2)]);
    apply_started(&mut r, p(1), 11);
    apply_started(&mut r, p(2), 21);
    apply_polled(&mut r, p(1), ended(11, vec![counters(4, 0, 0)]));
    assert_eq!(judge(&mut r, None), Judgement::Nothing);
    apply_polled(&mut r, p(2), ended(21, vec![counters(3, 0, 0)]));
    assert_eq!(judge(&mut r, None), Judgement::Completed);
    assert_eq!(r.totals[0].upgraded, 7);
    assert!(actions(&r).is_empty());
}

#[test]
fn a_failed_call_is_recorded_and_retried_next_tick() {
    let mut r = three_stages();
    apply_error(&mut r, p(1), &FactoryError::NoActiveRollout);
    assert!(r.shards[0].last_error.is_some());
    assert!(matches!(actions(&r)[0], Action::Start { .. }));
    assert!(new_rollout(1, plan(vec![]), &[], p(9), 0).is_err());
}

fn report(id: u64, stage: u8, c: StageCounters, complete: bool) -> ShardProgress {
    ShardProgress {
        rollout_id: id,
        stages: vec![c],
        current_stage: stage,
        stage_complete: complete,
        ended: None,
        halted: None,
    }
}

fn ten_started() -> FleetRollout {
    let ids: Vec<Principal> = (1..=10).map(p).collect();
    let mut r = new_rollout(1, plan(vec![]), &ids, p(99), 0).expect("rollout");
    for (i, &s) in ids.iter().enumerate() {
        apply_started(&mut r, s, 100 + i as u64);
    }
    r
}

fn polls_of(actions: &[Action]) -> Vec<Principal> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Poll { shard, .. } => Some(*shard),
            _ => None,
        })
        .collect()
}

#[test]
fn a_tick_reads_at_most_two_shards_round_robin() {
    let mut r = ten_started();
    let mut cursor = 0;
    let mut seen = Vec::new();
    for _ in 0..5 {
        let (a, next) = plan_tick(&r, cursor);
        assert_eq!(a.len(), MAX_POLLS_PER_TICK, "{a:?}");
        seen.extend(polls_of(&a));
        cursor = next;
    }
    seen.sort();
    assert_eq!(
        seen,
        (1..=10).map(p).collect::<Vec<_>>(),
        "every shard once in 5 ticks"
    );
    // Shards whose stage is done (by a push) are not read again.
    for i in 0..9u8 {
        let done = report(100 + u64::from(i), 0, counters(5, 0, 0), true);
        apply_progress(&mut r, p(i + 1), &done);
    }
    let (a, _) = plan_tick(&r, 0);
    assert_eq!(polls_of(&a), vec![p(10)]);
}

#[test]
fn a_pushed_report_counts_once_and_an_older_one_changes_nothing() {
    let mut r = ten_started();
    let newer = report(100, 0, counters(8, 1, 0), true);
    assert_eq!(apply_progress(&mut r, p(1), &newer), None);
    let row = r.shards[0].clone();
    assert_eq!(apply_progress(&mut r, p(1), &newer), None);
    assert_eq!(r.shards[0], row, "a duplicate changes nothing");
    // A poll answered before the push, delivered after it.
    apply_progress(&mut r, p(1), &report(100, 0, counters(3, 0, 5), false));
    assert_eq!(r.shards[0], row, "an older report changes nothing");
    // A report about another rollout of that shard changes nothing either.
    apply_progress(&mut r, p(1), &report(7, 0, counters(50, 0, 0), true));
    assert_eq!(r.shards[0], row);
    assert_eq!(r.shards[0].stages[0].upgraded, 8);
    assert!(r.shards[0].stage_complete);
}

#[test]
fn pushed_ends_complete_the_rollout_without_a_poll() {
    let mut r = new_rollout(1, plan(vec![]), &[p(1), p(2)], p(9), 0).expect("rollout");
    apply_started(&mut r, p(1), 11);
    apply_started(&mut r, p(2), 21);
    for (shard, id) in [(p(1), 11), (p(2), 21)] {
        let mut end = report(id, 0, counters(4, 0, 0), true);
        end.ended = Some(RolloutEnd::Completed);
        assert_eq!(apply_progress(&mut r, shard, &end), None);
    }
    assert_eq!(judge(&mut r, None), Judgement::Completed);
    assert_eq!(r.totals[0].upgraded, 8);
    // A shard's rollout that ended otherwise halts the fleet.
    let mut r = new_rollout(2, plan(vec![]), &[p(1)], p(9), 0).expect("rollout");
    apply_started(&mut r, p(1), 11);
    let mut end = report(11, 0, counters(1, 0, 0), true);
    end.ended = Some(RolloutEnd::Cancelled { by: p(9) });
    let why = apply_progress(&mut r, p(1), &end);
    assert_eq!(judge(&mut r, why), Judgement::Halted);
}

#[test]
fn a_start_answered_after_the_fleet_moved_on_keeps_its_own_stage() {
    let mut r = three_stages();
    apply_started(&mut r, p(1), 11);
    apply_progress(&mut r, p(1), &report(11, 0, counters(2, 0, 0), true));
    assert_eq!(judge(&mut r, None), Judgement::Advanced);
    // The others' starts were made for stage 1; a lift for stage 1 is due
    // at the canary, and a late answer for stage 0 does not undo it.
    apply_lifted_at(&mut r, p(1), 1);
    apply_lifted_at(&mut r, p(1), 0);
    assert_eq!(r.shards[0].allowed_stage, Some(1));
    apply_started_at(&mut r, p(2), 21, 1);
    assert_eq!(r.shards[1].allowed_stage, Some(1));
    assert!(!plan_tick(&r, 0)
        .0
        .iter()
        .any(|a| matches!(a, Action::Lift { shard, .. } if *shard == p(2))));
}
