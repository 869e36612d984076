//! Fleet rollouts at the index: one plan, stages across the shards.
//!
//! Stage 0 is the canary when the plan has two or more stages: only the
//! canary shard (the first registered) runs it, on its share of its own
//! users. Every later stage runs on every shard, each at its own subnet's
//! pace, on the same share of its users. Each shard runs the stages as one
//! rollout of its own that holds at the end of the stage the index allowed
//! (`gate`), so the index moves the fleet on stage by stage: O(1) calls per
//! stage per shard to start or lift the hold, plus one status read per shard
//! per index tick (never per canister).
//!
//! The failure threshold is judged here, fleet-wide: a stage's failures
//! summed over every shard against its attempts. The shards' own plans never
//! halt by themselves (threshold 100 %); when the fleet's stage passes its
//! threshold, or a shard halts for another reason (its target revoked), the
//! index pauses every shard.
//!
//! Everything here is pure: `actions` says which calls to make, `apply_*`
//! record their answers, `judge` moves the rollout on.

use crate::error::FactoryError;
use candid::Principal;
use factory_api::fleet::{FleetRollout, FleetRolloutState, FleetShardRow};
use factory_api::rollout::{
    ActiveRollout, RolloutPlan, RolloutStatus, RolloutSummary, StageCounters, StagePhase, StagePlan,
};

/// Between index ticks when the plan names no interval.
pub const DEFAULT_TICK_NS: u64 = 1_000_000_000;

/// Shares are in basis points.
const FULL_BPS: u16 = 10_000;
/// Attempts before a stage's failure rate is judged mid-stage (the shards' default).
const DEFAULT_MIN_SAMPLE: u32 = 20;

/// The plan's stages, or the one stage "all" an empty list means.
pub fn stages_of(plan: &RolloutPlan) -> Vec<StagePlan> {
    if plan.stages.is_empty() {
        return vec![StagePlan {
            name: "all".into(),
            fleet_bps: FULL_BPS,
            max_failure_bps: FULL_BPS,
            min_sample: None,
        }];
    }
    plan.stages.clone()
}

/// A new fleet rollout over `shards` (in registration order).
pub fn new_rollout(
    id: u64,
    plan: RolloutPlan,
    shards: &[Principal],
    by: Principal,
    now_ns: u64,
) -> Result<FleetRollout, FactoryError> {
    if shards.is_empty() {
        return Err(FactoryError::InvalidArgument(
            "the index has no shards: add one first".into(),
        ));
    }
    let stages = stages_of(&plan);
    let canary = stages.len() >= 2;
    let rows = shards
        .iter()
        .enumerate()
        .map(|(i, &shard)| FleetShardRow {
            shard,
            first_stage: if canary && i > 0 { 1 } else { 0 },
            local_id: None,
            allowed_stage: None,
            stages: vec![StageCounters::default(); stages.len()],
            current_stage: None,
            stage_complete: false,
            finished: false,
            last_error: None,
        })
        .collect();
    Ok(FleetRollout {
        id,
        plan,
        state: FleetRolloutState::Running,
        stage: 0,
        totals: vec![StageCounters::default(); stages.len()],
        shards: rows,
        started_by: by,
        started_ns: now_ns,
        halt_overridden: None,
    })
}

/// The plan a shard runs: the fleet's stages from its first one on, never
/// halting by itself, replacing whatever the shard ran before.
pub fn shard_plan(plan: &RolloutPlan, first_stage: u8) -> RolloutPlan {
    let stages = stages_of(plan)
        .into_iter()
        .skip(usize::from(first_stage))
        .map(|s| StagePlan {
            max_failure_bps: FULL_BPS,
            ..s
        })
        .collect();
    RolloutPlan {
        stages,
        supersede: Some(true),
        ..plan.clone()
    }
}

/// One call the index makes to a shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start the shard's rollout, holding after its local stage `allowed`.
    Start {
        shard: Principal,
        plan: Box<RolloutPlan>,
        allowed: u8,
    },
    /// Let the shard's rollout run through its local stage `allowed`.
    Lift {
        shard: Principal,
        local_id: u64,
        allowed: u8,
    },
    /// Read the shard's rollout status.
    Poll { shard: Principal, local_id: u64 },
}

/// The calls of one index tick (none unless running).
pub fn actions(r: &FleetRollout) -> Vec<Action> {
    if r.state != FleetRolloutState::Running {
        return vec![];
    }
    r.shards
        .iter()
        .filter(|row| row.first_stage <= r.stage && !row.finished)
        .map(|row| {
            let allowed = r.stage - row.first_stage;
            match row.local_id {
                None => Action::Start {
                    shard: row.shard,
                    plan: Box::new(shard_plan(&r.plan, row.first_stage)),
                    allowed,
                },
                Some(local_id) if row.allowed_stage != Some(r.stage) => Action::Lift {
                    shard: row.shard,
                    local_id,
                    allowed,
                },
                Some(local_id) => Action::Poll {
                    shard: row.shard,
                    local_id,
                },
            }
        })
        .collect()
}

fn row_mut(r: &mut FleetRollout, shard: Principal) -> Option<&mut FleetShardRow> {
    r.shards.iter_mut().find(|row| row.shard == shard)
}

/// Records a call that failed; the next tick tries again.
pub fn apply_error(r: &mut FleetRollout, shard: Principal, error: &FactoryError) {
    if let Some(row) = row_mut(r, shard) {
        row.last_error = Some(error.to_string());
    }
}

pub fn apply_started(r: &mut FleetRollout, shard: Principal, local_id: u64) {
    let stage = r.stage;
    if let Some(row) = row_mut(r, shard) {
        row.local_id = Some(local_id);
        row.allowed_stage = Some(stage);
        row.stage_complete = false;
        row.last_error = None;
    }
}

pub fn apply_lifted(r: &mut FleetRollout, shard: Principal) {
    let stage = r.stage;
    if let Some(row) = row_mut(r, shard) {
        row.allowed_stage = Some(stage);
        row.stage_complete = false;
        row.last_error = None;
    }
}

/// What a poll read: the shard's active rollout, or (once it ended) its
/// summary from the shard's history.
pub enum Polled {
    Active(Box<ActiveRollout>),
    Ended(Box<RolloutSummary>),
    /// Neither active nor in the recent history (should not happen).
    Missing,
}

/// Picks the shard's rollout `local_id` out of its status and history.
pub fn polled(local_id: u64, status: &RolloutStatus, history: &[RolloutSummary]) -> Polled {
    match &status.active {
        Some(a) if a.id == local_id => Polled::Active(Box::new(a.clone())),
        _ => history
            .iter()
            .find(|h| h.id == local_id)
            .map(|h| Polled::Ended(Box::new(h.clone())))
            .unwrap_or(Polled::Missing),
    }
}

/// Records what a poll read. Returns a reason when the shard halted by
/// itself (e.g. its target was revoked there).
pub fn apply_polled(r: &mut FleetRollout, shard: Principal, p: Polled) -> Option<String> {
    let mut halted = None;
    if let Some(row) = row_mut(r, shard) {
        row.last_error = None;
        let offset = usize::from(row.first_stage);
        match p {
            Polled::Active(a) => {
                for (i, s) in a.stages.iter().enumerate() {
                    if let Some(slot) = row.stages.get_mut(offset + i) {
                        *slot = s.counters.clone();
                    }
                }
                let cur = usize::from(a.current_stage);
                row.current_stage = Some(a.current_stage + row.first_stage);
                row.stage_complete = a.current_stage_enumerated
                    && a.stages
                        .get(cur)
                        .is_some_and(|s| s.counters.pending() == 0 || s.phase == StagePhase::Done);
                if let factory_api::rollout::RolloutState::Halted { reason, .. } = &a.state {
                    halted = Some(format!("shard {shard} halted: {reason}"));
                }
            }
            Polled::Ended(h) => {
                for (i, s) in h.stages.iter().enumerate() {
                    if let Some(slot) = row.stages.get_mut(offset + i) {
                        *slot = s.counters.clone();
                    }
                }
                row.finished = matches!(h.end, factory_api::rollout::RolloutEnd::Completed);
                row.stage_complete = true;
                if !row.finished {
                    halted = Some(format!("shard {shard}'s rollout ended: {:?}", h.end));
                }
            }
            Polled::Missing => {
                row.last_error = Some("the shard does not know this rollout".into());
            }
        }
    }
    halted
}

fn sum(rows: &[&StageCounters]) -> StageCounters {
    let mut t = StageCounters::default();
    for c in rows {
        t.queued += c.queued;
        t.retrying += c.retrying;
        t.in_flight += c.in_flight;
        t.upgraded += c.upgraded;
        t.skipped += c.skipped;
        t.failed += c.failed;
    }
    t
}

/// What `judge` decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judgement {
    Nothing,
    /// Pause every shard.
    Halted,
    Advanced,
    Completed,
}

/// Sums the counters and judges the current stage fleet-wide.
pub fn judge(r: &mut FleetRollout, shard_halted: Option<String>) -> Judgement {
    let stages = stages_of(&r.plan);
    r.totals = (0..stages.len())
        .map(|k| {
            sum(&r
                .shards
                .iter()
                .filter_map(|row| row.stages.get(k))
                .collect::<Vec<_>>())
        })
        .collect();
    if r.state != FleetRolloutState::Running {
        return Judgement::Nothing;
    }
    let k = r.stage;
    let Some(stage) = stages.get(usize::from(k)) else {
        return Judgement::Nothing;
    };
    let scope: Vec<&FleetShardRow> = r.shards.iter().filter(|row| row.first_stage <= k).collect();
    let done = |row: &&FleetShardRow| {
        row.finished
            || row.current_stage.is_some_and(|c| c > k)
            || (row.current_stage == Some(k) && row.stage_complete && row.allowed_stage == Some(k))
    };
    let all_done = scope.iter().all(done);
    let total = r.totals.get(usize::from(k)).cloned().unwrap_or_default();
    let min_sample = u64::from(stage.min_sample.unwrap_or(DEFAULT_MIN_SAMPLE));
    let over =
        total.failure_bps() > u64::from(stage.max_failure_bps) && r.halt_overridden != Some(k);
    if let Some(reason) = shard_halted {
        r.state = FleetRolloutState::Halted { stage: k, reason };
        return Judgement::Halted;
    }
    if over && (all_done || total.attempted() >= min_sample) {
        r.state = FleetRolloutState::Halted {
            stage: k,
            reason: format!(
                "stage {:?}: {} of {} attempted upgrades failed across {} shards ({} bps > {} allowed)",
                stage.name,
                total.failed,
                total.attempted(),
                scope.len(),
                total.failure_bps(),
                stage.max_failure_bps
            ),
        };
        return Judgement::Halted;
    }
    if !all_done {
        return Judgement::Nothing;
    }
    if usize::from(k) + 1 >= stages.len() {
        if r.shards.iter().all(|row| row.finished) {
            r.state = FleetRolloutState::Completed;
            return Judgement::Completed;
        }
        return Judgement::Nothing;
    }
    r.stage += 1;
    Judgement::Advanced
}

#[cfg(test)]
#[path = "rollout_tests.rs"]
mod tests;
