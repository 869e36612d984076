//! The item state machine: every move of a canister between the queue, the
//! retry map, in flight and done goes through [`place`], which keeps the
//! position maps, the stage counters and the in-flight count exact.
//!
//! Functions take the state and a working copy of [`Sched`]; callers write
//! the copy back once (see [`with_sched`]).

use super::model::*;
use crate::state::FactoryState;
use candid::Principal;
use ic_stable_structures::Memory;

/// Where an item goes next.
#[derive(Clone, Debug)]
pub enum Place {
    Queue,
    Retry { ready_at_ns: u64 },
    Run(Running),
    Done(Final),
}

/// Runs `f` with a copy of the scheduler's global values, written back once.
pub fn with_sched<M: Memory, T>(
    s: &mut FactoryState<M>,
    f: impl FnOnce(&mut FactoryState<M>, &mut Sched) -> T,
) -> T {
    let mut sc = s.sched.sched.get().clone();
    let out = f(s, &mut sc);
    s.sched.sched.set(sc);
    out
}

/// Moves `item` (already held, in `item.state`) to `to`.
pub fn place<M: Memory>(
    s: &mut FactoryState<M>,
    sc: &mut Sched,
    canister: Principal,
    mut item: Item,
    to: Place,
) {
    unplace(s, canister, &item.state);
    if let Some(c) = sc.stage_mut(item.rollout) {
        let slot = c.slot_mut(item.state.slot());
        *slot = slot.saturating_sub(1);
    }
    put(s, sc, canister, &mut item, to);
}

/// Lets go of an item without an outcome (its rollout ended before it ran).
pub fn discard<M: Memory>(
    s: &mut FactoryState<M>,
    sc: &mut Sched,
    canister: Principal,
    item: Item,
) {
    unplace(s, canister, &item.state);
    if let Some(c) = sc.stage_mut(item.rollout) {
        let slot = c.slot_mut(item.state.slot());
        *slot = slot.saturating_sub(1);
    }
    s.sched.items.remove(&canister);
}

/// An item of a rollout that ended, with nothing else to do: no user asked
/// for it and the canister is known to run.
pub fn is_orphan(sc: &Sched, item: &Item) -> bool {
    let of_active =
        matches!((item.rollout, sc.rollout.as_ref()), (Some(r), Some(p)) if r.id == p.id);
    item.rollout.is_some()
        && !of_active
        && !item.on_demand
        && !item.must_start
        && !item.restart_only
        && item.interrupted.is_none()
}

/// Takes in a canister the scheduler did not hold.
pub fn place_new<M: Memory>(
    s: &mut FactoryState<M>,
    sc: &mut Sched,
    canister: Principal,
    mut item: Item,
    to: Place,
) {
    put(s, sc, canister, &mut item, to);
}

fn unplace<M: Memory>(s: &mut FactoryState<M>, canister: Principal, state: &ItemState) {
    match state {
        ItemState::Queued(k) => {
            s.sched.queue.remove(k);
        }
        ItemState::Waiting(k) => {
            s.sched.retries.remove(k);
        }
        ItemState::Running(r) => {
            s.sched.running.remove(&RunKey {
                epoch: r.epoch,
                canister,
            });
        }
    }
}

fn put<M: Memory>(
    s: &mut FactoryState<M>,
    sc: &mut Sched,
    canister: Principal,
    item: &mut Item,
    to: Place,
) {
    let state = match to {
        Place::Done(f) => {
            if let Some(c) = sc.stage_mut(item.rollout) {
                *c.final_mut(f) += 1;
            }
            let t = &mut sc.totals;
            *match f {
                Final::Upgraded => &mut t.upgraded,
                Final::Skipped => &mut t.skipped,
                Final::Failed => &mut t.failed,
            } += 1;
            s.sched.items.remove(&canister);
            return;
        }
        Place::Queue => {
            let key = QueueKey {
                priority: item.queue_priority(),
                stage: item.stage(),
                seq: sc.seq(),
            };
            s.sched.queue.insert(key, canister);
            ItemState::Queued(key)
        }
        Place::Retry { ready_at_ns } => {
            let key = RetryKey {
                ready_at_ns,
                seq: sc.seq(),
            };
            s.sched.retries.insert(key, canister);
            ItemState::Waiting(key)
        }
        Place::Run(r) => {
            s.sched.running.insert(
                RunKey {
                    epoch: r.epoch,
                    canister,
                },
                (),
            );
            ItemState::Running(r)
        }
    };
    if let Some(c) = sc.stage_mut(item.rollout) {
        *c.slot_mut(state.slot()) += 1;
    }
    item.state = state;
    s.sched.items.insert(canister, item.clone());
}

/// Rewrites an item in place (same position), e.g. a run's new phase.
pub fn rewrite<M: Memory>(s: &mut FactoryState<M>, canister: Principal, item: &Item) {
    s.sched.items.insert(canister, item.clone());
}
