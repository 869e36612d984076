//! Fleet rollouts at the index: one plan, stages across the shards.
//!
//! Stage 0 is the canary when the plan has two or more stages: only the
//! canary shard (the first registered) runs it, on its share of its own
//! users. Every later stage runs on every shard, each at its own subnet's
//! pace, on the same share of its users. Each shard runs the stages as one
//! rollout of its own that holds at the end of the stage the index allowed
//! (`gate`), so the index moves the fleet on stage by stage: O(1) calls per
//! stage per shard to start or lift the hold. A shard pushes its progress
//! to the index one-way when something the judgement needs changes (a
//! stage's pass ends, the rollout ends or halts, failures grow:
//! `fleet::progress`), so the index does not poll to notice; it still reads
//! at most [`MAX_POLLS_PER_TICK`] shards a tick, round-robin, for their
//! counters and for a push that was lost. An index tick costs the same with
//! ten shards as with two.
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
use factory_api::fleet::{FleetRollout, FleetRolloutState, FleetShardRow, ShardProgress};
use factory_api::rollout::{
    ActiveRollout, RolloutPlan, RolloutStatus, RolloutSummary, StageCounters, StagePhase, StagePlan,
};

/// Between index ticks when the plan names no interval.
pub const DEFAULT_TICK_NS: u64 = 1_000_000_000;

/// Shares are in basis points.
const FULL_BPS: u16 = 10_000;
/// Attempts before a stage's failure rate is judged mid-stage (the shards' default).
const DEFAULT_MIN_SAMPLE: u32 = 20;

/// Shards whose status one index tick reads, at most (round-robin): what
/// keeps a tick's cost flat in the number of shards. Two: a two-shard fleet
/// reads both every tick, as it did when every shard was read.
pub const MAX_POLLS_PER_TICK: usize = 2;

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

/// The calls of one index tick (none unless running), polls from cursor 0.
pub fn actions(r: &FleetRollout) -> Vec<Action> {
    plan_tick(r, 0).0
}

/// The calls of one index tick, and the poll cursor for the next: every
/// start or lift due (O(1) per stage per shard), and status reads of at
/// most [`MAX_POLLS_PER_TICK`] shards still working on the stage, taken
/// round-robin from `cursor` (a shard's row index).
pub fn plan_tick(r: &FleetRollout, cursor: usize) -> (Vec<Action>, usize) {
    if r.state != FleetRolloutState::Running {
        return (vec![], cursor);
    }
    let k = r.stage;
    let mut calls = Vec::new();
    let mut pollable = Vec::new();
    for (i, row) in r.shards.iter().enumerate() {
        if row.first_stage > k || row.finished {
            continue;
        }
        let allowed = k - row.first_stage;
        match row.local_id {
            None => calls.push(Action::Start {
                shard: row.shard,
                plan: Box::new(shard_plan(&r.plan, row.first_stage)),
                allowed,
            }),
            Some(local_id) if row.allowed_stage != Some(k) => calls.push(Action::Lift {
                shard: row.shard,
                local_id,
                allowed,
            }),
            Some(_) if row_done(row, k) => {}
            Some(local_id) => pollable.push((i, row.shard, local_id)),
        }
    }
    let n = r.shards.len().max(1);
    let start = cursor % n;
    pollable.sort_by_key(|(i, _, _)| (i + n - start) % n);
    let mut next = cursor;
    for (i, shard, local_id) in pollable.into_iter().take(MAX_POLLS_PER_TICK) {
        calls.push(Action::Poll { shard, local_id });
        next = i + 1;
    }
    (calls, next)
}

/// The row's part of fleet stage `k` is done: finished, past it, or its pass
/// over it complete under a hold the index set at `k`.
fn row_done(row: &FleetShardRow, k: u8) -> bool {
    row.finished
        || row.current_stage.is_some_and(|c| c > k)
        || (row.current_stage == Some(k) && row.stage_complete && row.allowed_stage == Some(k))
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
    apply_started_at(r, shard, local_id, stage);
}

/// The shard started its rollout `local_id`, held after fleet stage `stage`
/// (the stage the call was made for: a push may have moved the fleet on
/// while the call was out).
pub fn apply_started_at(r: &mut FleetRollout, shard: Principal, local_id: u64, stage: u8) {
    if let Some(row) = row_mut(r, shard) {
        row.local_id = Some(local_id);
        row.allowed_stage = Some(stage);
        row.stage_complete = false;
        row.last_error = None;
    }
}

pub fn apply_lifted(r: &mut FleetRollout, shard: Principal) {
    let stage = r.stage;
    apply_lifted_at(r, shard, stage);
}

/// The shard now runs through fleet stage `stage`; a late answer never
/// lowers the hold recorded.
pub fn apply_lifted_at(r: &mut FleetRollout, shard: Principal, stage: u8) {
    if let Some(row) = row_mut(r, shard) {
        if row.allowed_stage.is_some_and(|a| a >= stage) {
            return;
        }
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

impl Polled {
    /// The same snapshot a shard pushes (`fleet::progress`).
    pub fn into_progress(self) -> Option<ShardProgress> {
        use factory_api::rollout::RolloutState;
        match self {
            Polled::Active(a) => {
                let cur = usize::from(a.current_stage);
                Some(ShardProgress {
                    rollout_id: a.id,
                    stage_complete: a.current_stage_enumerated
                        && a.stages.get(cur).is_some_and(|s| {
                            s.counters.pending() == 0 || s.phase == StagePhase::Done
                        }),
                    current_stage: a.current_stage,
                    stages: a.stages.into_iter().map(|s| s.counters).collect(),
                    ended: None,
                    halted: match a.state {
                        RolloutState::Halted { reason, .. } => Some(reason),
                        _ => None,
                    },
                })
            }
            Polled::Ended(h) => Some(ShardProgress {
                rollout_id: h.id,
                current_stage: u8::try_from(h.stages.len().saturating_sub(1)).unwrap_or(u8::MAX),
                stages: h.stages.into_iter().map(|s| s.counters).collect(),
                stage_complete: true,
                ended: Some(h.end),
                halted: None,
            }),
            Polled::Missing => None,
        }
    }
}

/// Records what a poll read. Returns a reason when the shard halted by
/// itself (e.g. its target was revoked there).
pub fn apply_polled(r: &mut FleetRollout, shard: Principal, p: Polled) -> Option<String> {
    match p.into_progress() {
        Some(progress) => apply_progress(r, shard, &progress),
        None => {
            if let Some(row) = row_mut(r, shard) {
                row.last_error = Some("the shard does not know this rollout".into());
            }
            None
        }
    }
}

/// How far a report (or a row) has got: an older one never overwrites a
/// newer (a poll answered before a push, a duplicate delivered late).
type Rank = (bool, Option<u8>, u64, bool);

fn done_count(stages: &[StageCounters]) -> u64 {
    stages
        .iter()
        .map(|c| c.upgraded + c.skipped + c.failed)
        .sum()
}

fn row_rank(row: &FleetShardRow) -> Rank {
    (
        row.finished,
        row.current_stage,
        done_count(&row.stages),
        row.stage_complete,
    )
}

/// Records a shard's report of its rollout, pushed by the shard or read by
/// a poll. One for another rollout of the shard, or older than what the row
/// holds, changes nothing; so does a duplicate. Returns a reason when the
/// shard halted (or its rollout ended) by itself.
pub fn apply_progress(r: &mut FleetRollout, shard: Principal, p: &ShardProgress) -> Option<String> {
    let row = row_mut(r, shard)?;
    if row.local_id != Some(p.rollout_id) || row.finished {
        return None;
    }
    let offset = usize::from(row.first_stage);
    let completed = matches!(p.ended, Some(factory_api::rollout::RolloutEnd::Completed));
    let rank: Rank = (
        completed,
        Some(p.current_stage.saturating_add(row.first_stage)),
        done_count(&p.stages),
        p.stage_complete || p.ended.is_some(),
    );
    if rank < row_rank(row) {
        return None;
    }
    for (i, c) in p.stages.iter().enumerate() {
        if let Some(slot) = row.stages.get_mut(offset + i) {
            *slot = c.clone();
        }
    }
    row.current_stage = rank.1;
    row.stage_complete = rank.3;
    row.finished = completed;
    row.last_error = None;
    match (&p.ended, &p.halted) {
        (Some(end), _) if !completed => Some(format!("shard {shard}'s rollout ended: {end:?}")),
        (_, Some(reason)) => Some(format!("shard {shard} halted: {reason}")),
        _ => None,
    }
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
        .map(|k| r.shards.iter().filter_map(|row| row.stages.get(k)).sum())
        .collect();
    if r.state != FleetRolloutState::Running {
        return Judgement::Nothing;
    }
    let k = r.stage;
    let Some(stage) = stages.get(usize::from(k)) else {
        return Judgement::Nothing;
    };
    let scope: Vec<&FleetShardRow> = r.shards.iter().filter(|row| row.first_stage <= k).collect();
    let all_done = scope.iter().all(|row| row_done(row, k));
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
