//! One index tick of a fleet rollout: the calls `rollout::actions` asks
//! for, their answers recorded as they come, then the fleet-wide judgement.
//! Each answer is applied to the stored rollout as it is now (an admin may
//! have paused or cancelled it during the await), never to a stale copy.

use crate::error::FactoryError;
use crate::fleet::rollout::{self, Action, Judgement, Polled};
use crate::fleet::shards::Shards;
use crate::state::FactoryState;
use candid::Principal;
use factory_api::methods::Method;
use factory_api::rollout::{HistoryPage, HistoryQuery, RolloutStatus};
use factory_api::{FleetRollout, FleetRolloutState, RolloutPlan, ShardProgress, ShardRolloutArgs};
use ic_stable_structures::Memory;
use std::cell::RefCell;

/// How many of a shard's recent rollouts a poll reads to find an ended one.
const HISTORY_PAGE: u32 = 10;

/// Runs one tick; true while the rollout still runs (tick again). The
/// shards are called at once, not one after the other: a tick takes one
/// cross-subnet round trip whatever the number of shards, so every shard of
/// a stage starts in the same tick. Completion comes by the shards' pushes
/// (`on_progress`); the tick reads at most `rollout::MAX_POLLS_PER_TICK`
/// shards, so its cost does not grow with them.
pub async fn tick<S: Shards, M: Memory>(state: &RefCell<FactoryState<M>>, shards: &S) -> bool {
    let Some(r) = state.borrow().fleet.rollout() else {
        return false;
    };
    let (id, stage) = (r.id, r.stage);
    let (actions, cursor) = rollout::plan_tick(&r, state.borrow().fleet.poll_cursor());
    state.borrow_mut().fleet.set_poll_cursor(cursor);
    let calls = actions
        .into_iter()
        .map(|action| run_action(state, shards, id, stage, action));
    let shard_halted = futures::future::join_all(calls)
        .await
        .into_iter()
        .flatten()
        .next();
    let judged = state
        .borrow_mut()
        .fleet
        .update_rollout(id, |r| rollout::judge(r, shard_halted));
    if judged == Some(Judgement::Halted) {
        broadcast(state, shards, Method::PauseRollout).await;
    }
    state
        .borrow()
        .fleet
        .rollout()
        .is_some_and(|r| r.id == id && r.state == FleetRolloutState::Running)
}

/// One shard's call of this tick, its answer recorded as it comes; the
/// reason, if the shard halted by itself.
async fn run_action<S: Shards, M: Memory>(
    state: &RefCell<FactoryState<M>>,
    shards: &S,
    id: u64,
    stage: u8,
    action: Action,
) -> Option<String> {
    match action {
        Action::Start {
            shard,
            plan,
            allowed,
        } => {
            let result = call_rollout(shards, shard, Some(*plan), None, allowed).await;
            record(state, id, shard, result, |r, shard, local_id| {
                rollout::apply_started_at(r, shard, local_id, stage)
            });
            None
        }
        Action::Lift {
            shard,
            local_id,
            allowed,
        } => {
            let result = call_rollout(shards, shard, None, Some(local_id), allowed).await;
            record(state, id, shard, result, |r, shard, _| {
                rollout::apply_lifted_at(r, shard, stage)
            });
            None
        }
        Action::Poll { shard, local_id } => match poll(shards, shard, local_id).await {
            Ok(p) => state
                .borrow_mut()
                .fleet
                .update_rollout(id, |r| rollout::apply_polled(r, shard, p))
                .flatten(),
            Err(e) => {
                record(state, id, shard, Err::<(), _>(e), |_, _, _| {});
                None
            }
        },
    }
}

/// A shard's pushed report (`shard_progress`), applied and judged at once, so
/// a stage's end is acted on without waiting for a poll. Sync: the caller
/// pauses every shard on `Halted` and arms a tick on `Advanced`.
pub fn on_progress<M: Memory>(
    s: &mut FactoryState<M>,
    shard: Principal,
    p: &ShardProgress,
) -> Judgement {
    let Some(id) = s.fleet.rollout().map(|r| r.id) else {
        return Judgement::Nothing;
    };
    s.fleet
        .update_rollout(id, |r| {
            let halted = rollout::apply_progress(r, shard, p);
            rollout::judge(r, halted)
        })
        .unwrap_or(Judgement::Nothing)
}

async fn call_rollout<S: Shards>(
    shards: &S,
    shard: Principal,
    plan: Option<RolloutPlan>,
    rollout_id: Option<u64>,
    allowed_stage: u8,
) -> Result<u64, FactoryError> {
    let args = ShardRolloutArgs {
        plan,
        rollout_id,
        allowed_stage,
    };
    shards.call(shard, Method::ShardRollout, (args,)).await
}

fn record<T, M: Memory, F: FnOnce(&mut FleetRollout, Principal, T)>(
    state: &RefCell<FactoryState<M>>,
    id: u64,
    shard: Principal,
    result: Result<T, FactoryError>,
    ok: F,
) {
    state
        .borrow_mut()
        .fleet
        .update_rollout(id, |r| match result {
            Ok(v) => ok(r, shard, v),
            Err(e) => rollout::apply_error(r, shard, &e),
        });
}

/// The shard's status, and its history when the rollout is no longer active.
async fn poll<S: Shards>(
    shards: &S,
    shard: Principal,
    local_id: u64,
) -> Result<Polled, FactoryError> {
    let status: RolloutStatus = shards.call(shard, Method::RolloutStatus, ()).await?;
    if status.active.as_ref().is_some_and(|a| a.id == local_id) {
        return Ok(rollout::polled(local_id, &status, &[]));
    }
    let query = HistoryQuery {
        before: None,
        limit: HISTORY_PAGE,
    };
    let page: HistoryPage = shards.call(shard, Method::RolloutHistory, (query,)).await?;
    Ok(rollout::polled(local_id, &status, &page.rollouts))
}

/// Sends `method` (pause, resume or cancel) at once to every shard that has
/// a part still going; a shard already in that state (or done) answers an error
/// that changes nothing, recorded on its row.
pub async fn broadcast<S: Shards, M: Memory>(
    state: &RefCell<FactoryState<M>>,
    shards: &S,
    method: Method,
) {
    let Some(r) = state.borrow().fleet.rollout() else {
        return;
    };
    let id = r.id;
    let calls = r
        .shards
        .iter()
        .filter(|row| row.local_id.is_some() && !row.finished)
        .map(|row| async move {
            let result: Result<(), FactoryError> = shards.call(row.shard, method, ()).await;
            if let Err(e) = result {
                record(state, id, row.shard, Err::<(), _>(e), |_, _, _| {});
            }
        });
    futures::future::join_all(calls).await;
}
