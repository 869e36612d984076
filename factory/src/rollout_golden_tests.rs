//! The golden bytes of the rollout scheduler's stored records
//! (`rollout/store.rs`: the plan and global cells, the items map, the queue,
//! retry and running keys, the grouped reasons, the history log). Each value
//! sets every optional field and a non-default variant, so every field's
//! encoding is covered; `UPDATE_GOLDEN=1` re-records (see `golden`).

use crate::golden::check;
use crate::rollout::model::*;
use crate::rollout::plan::{Plan, Stage};
use candid::Principal;
use factory_api::{AdmissionPolicy, RetryPolicy, SnapshotPolicy, TopUpPolicy};

const T: u64 = 1_748_736_000_000_000_000;

fn p(byte: u8) -> Principal {
    Principal::from_slice(&[byte; 29])
}

fn counters() -> StageCounters {
    StageCounters {
        queued: 1,
        retrying: 2,
        in_flight: 3,
        upgraded: 40,
        skipped: 5,
        failed: 6,
        started_ns: Some(T),
        finished_ns: Some(T + 9),
    }
}

fn running() -> Running {
    Running {
        epoch: 4,
        since_ns: T,
        token: 77,
        step: "1.5.0".into(),
        phase: JobPhase::Snapshotting,
        snapshot_id: Some(vec![0, 1, 2, 3]),
    }
}

#[test]
fn golden_rollout_keys_decode() {
    check(
        "rollout_queue_key",
        &QueueKey {
            priority: priority::ON_DEMAND,
            stage: 1,
            seq: 0x0102_0304_0506_0708,
        },
    );
    check(
        "rollout_retry_key",
        &RetryKey {
            ready_at_ns: T,
            seq: 9,
        },
    );
    check(
        "rollout_run_key",
        &RunKey {
            epoch: 3,
            canister: p(5),
        },
    );
}

#[test]
fn golden_rollout_item_decodes() {
    check(
        "rollout_item",
        &Item {
            owner: p(1),
            target: "2.0.0".into(),
            rollout: Some(RolloutRef { id: 7, stage: 1 }),
            on_demand: true,
            attempts: 2,
            state: ItemState::Running(running()),
            queued_at_ns: T,
            last_error: Some("install_chunked_code: trapped".into()),
            restart_only: true,
            must_start: true,
            interrupted: Some(Running {
                phase: JobPhase::Installing,
                ..running()
            }),
        },
    );
}

#[test]
fn golden_rollout_plan_cell_decodes() {
    let plan = Plan {
        target_version: "2.0.0".into(),
        stages: vec![Stage {
            name: "canary".into(),
            fleet_bps: 100,
            max_failure_bps: 500,
            min_sample: 20,
        }],
        max_in_flight: 50,
        max_starts_per_tick: 10,
        tick_interval_ns: 1_000_000_000,
        retry: RetryPolicy {
            max_attempts: 3,
            initial_backoff_ns: 5,
            max_backoff_ns: 300,
        },
        from_versions: vec!["1.0.0".into()],
        exclude_versions: vec!["1.1.0".into()],
        canisters: vec![p(2)],
        exclude_canisters: vec![p(3)],
        snapshot: SnapshotPolicy::CanaryStages,
        top_up: TopUpPolicy {
            below: 200,
            amount: 500,
        },
        allow_downgrade: true,
        admission: Some(AdmissionPolicy::Fixed),
    };
    check(
        "rollout_plan_cell",
        &PlanCell {
            active: Some(ActivePlan {
                id: 7,
                plan,
                started_by: p(4),
            }),
        },
    );
}

#[test]
fn golden_rollout_sched_decodes() {
    check(
        "rollout_sched",
        &Sched {
            next_seq: 1_000,
            next_rollout_id: 8,
            upgraded_at_ns: Some(T),
            rollout: Some(Progress {
                id: 7,
                state: RolloutState::Halted {
                    stage: 1,
                    reason: "failure rate".into(),
                },
                stage: 1,
                stages: vec![counters(), StageCounters::default()],
                cursor: Some(p(6)),
                cursor_index: 12,
                pass_done: true,
                halt_overridden: Some(0),
                started_ns: T,
                eligible_estimate: 900,
            }),
            totals: Totals {
                upgraded: 1,
                skipped: 2,
                failed: 3,
                retries: 4,
                reconciled: 5,
                on_demand_accepted: 6,
                on_demand_rate_limited: 7,
                top_ups: 8,
                top_up_cycles: u128::from(u64::MAX) + 1,
                ticks: 9,
                workers_started: 10,
            },
        },
    );
}

#[test]
fn golden_rollout_reason_and_summary_decode() {
    check(
        "rollout_reason_count",
        &ReasonCount {
            count: 3,
            example: "post_upgrade trapped".into(),
        },
    );
    check(
        "rollout_summary",
        &RolloutSummary {
            id: 7,
            target_version: "2.0.0".into(),
            started_by: p(4),
            started_ns: T,
            ended_ns: T + 60,
            end: RolloutEnd::Cancelled { by: p(4) },
            last_state: RolloutState::Paused(PauseReason::LowCycles {
                balance: 1,
                needed: 2,
            }),
            stages: vec![StageSummary {
                name: "canary".into(),
                counters: counters(),
            }],
            reasons: vec![FailureReason {
                reason: "trap".into(),
                count: 3,
                example: "post_upgrade trapped".into(),
            }],
        },
    );
}
