//! One timer tick: bounded work whatever the fleet size.
//!
//! 1. reconcile runs of an earlier factory epoch (their tasks died with the
//!    previous module) once their calls have settled (`settle`): back to the
//!    queue's front; until then they keep their in-flight slots;
//! 2. move up to `RETRIES_PER_TICK` due retries into the queue;
//! 3. halt if the target was revoked; pause / resume on the factory's cycles;
//! 4. enumerate at most `SCAN_KEYS_PER_TICK` users into the current stage,
//!    only while the rollout holds fewer canisters than its window;
//! 5. judge the stage (halt, advance, complete);
//! 6. start up to min(max_starts_per_tick, max_in_flight − in flight) jobs.
//!
//! Each started job is a worker that, once its canister is done, takes the
//! next one itself (no wait for a tick), so ticks only top up the workers.

use super::enumerate::{enumerate, EnumReport};
use super::model::*;
use super::settle;
use super::stages::{self, Decision};
use super::take::{self, Job, IDLE_MAX_IN_FLIGHT};
use super::transitions::{discard, is_orphan, place, with_sched, Place};
use crate::state::FactoryState;
use ic_stable_structures::Memory;

pub const RECONCILE_PER_TICK: usize = 100;
pub const RETRIES_PER_TICK: usize = 500;
/// Between ticks when no rollout is active (on-demand work only).
pub const IDLE_TICK_NS: u64 = 1_000_000_000;
/// How often a rollout paused for cycles looks at the balance again.
pub const LOW_CYCLES_TICK_NS: u64 = 60_000_000_000;

#[derive(Clone, Debug, Default)]
pub struct TickReport {
    pub reconciled: u32,
    pub retries_moved: u32,
    pub enumerated: EnumReport,
    pub decision: Option<Decision>,
    pub jobs: Vec<Job>,
    /// When to tick again; None: nothing left to do until a request arrives.
    pub next_tick_ns: Option<u64>,
}

pub fn tick<M: Memory>(s: &mut FactoryState<M>, now: u64, balance: u128) -> TickReport {
    let mut report = TickReport {
        reconciled: reconcile_stale(s, now),
        retries_moved: move_due_retries(s, now),
        ..Default::default()
    };
    stages::check_target(s);
    stages::watch_cycles(s, balance);
    report.enumerated = enumerate(s, now);
    let mut decision = stages::evaluate(s, now);
    // The next stage's first canisters, in this same tick; a stage with
    // nothing to do ends here too, so an empty rollout completes instead of
    // waiting for a tick nothing would arm. Bounded by the number of stages.
    while let Decision::Advanced { .. } = decision {
        let more = enumerate(s, now);
        report.enumerated.keys_scanned += more.keys_scanned;
        report.enumerated.records_read += more.records_read;
        report.enumerated.enqueued += more.enqueued;
        report.enumerated.skipped += more.skipped;
        decision = stages::evaluate(s, now);
    }
    report.decision = Some(decision);
    let starts = s
        .sched
        .active_plan()
        .map_or(IDLE_MAX_IN_FLIGHT, |a| a.plan.max_starts_per_tick);
    for _ in 0..starts {
        match take::take_next(s, now) {
            Some(job) => report.jobs.push(job),
            None => break,
        }
    }
    s.sched.update(|sc| {
        sc.totals.ticks += 1;
        sc.totals.workers_started += report.jobs.len() as u64;
    });
    report.next_tick_ns = next_tick(s, now);
    report
}

/// Runs of an earlier epoch whose calls have settled go back to the front of
/// the queue, remembering how far they got. At most `RECONCILE_PER_TICK` are
/// looked at; the unsettled ones stay in flight.
fn reconcile_stale<M: Memory>(s: &mut FactoryState<M>, now: u64) -> u32 {
    let epoch = s.epoch();
    let stale: Vec<RunKey> = s
        .sched
        .running
        .keys()
        .take_while(|k| k.epoch < epoch)
        .take(RECONCILE_PER_TICK)
        .collect();
    with_sched(s, |s, sc| {
        let mut n = 0;
        for key in stale {
            let Some(mut item) = s.sched.items.get(&key.canister) else {
                s.sched.running.remove(&key);
                continue;
            };
            let ItemState::Running(run) = &item.state else {
                s.sched.running.remove(&key);
                continue;
            };
            if !settle::settled(run, sc.upgraded_at_ns, now) {
                continue;
            }
            // An earlier interrupted run that got as far as its install is
            // kept: this one (interrupted again, before its own install)
            // would hide that the module may have landed.
            let earlier = item
                .interrupted
                .take()
                .filter(|r| r.phase >= JobPhase::Installing && r.phase > run.phase);
            item.interrupted = Some(earlier.unwrap_or_else(|| run.clone()));
            sc.totals.reconciled += 1;
            n += 1;
            place(s, sc, key.canister, item, Place::Queue);
        }
        n
    })
}

fn move_due_retries<M: Memory>(s: &mut FactoryState<M>, now: u64) -> u32 {
    let due: Vec<(RetryKey, candid::Principal)> = s
        .sched
        .retries
        .iter()
        .take_while(|e| e.key().ready_at_ns <= now)
        .take(RETRIES_PER_TICK)
        .map(|e| e.into_pair())
        .collect();
    let n = due.len() as u32;
    with_sched(s, |s, sc| {
        for (key, canister) in due {
            match s.sched.items.get(&canister) {
                Some(item) if item.state == ItemState::Waiting(key) && is_orphan(sc, &item) => {
                    discard(s, sc, canister, item);
                }
                Some(item) if item.state == ItemState::Waiting(key) => {
                    place(s, sc, canister, item, Place::Queue);
                }
                _ => {
                    s.sched.retries.remove(&key);
                }
            }
        }
    });
    n
}

/// The next tick's delay, if there is anything a tick could do.
/// Whether the scheduler has work a tick would advance.
pub fn wants_tick<M: Memory>(s: &FactoryState<M>, now: u64) -> bool {
    next_tick(s, now).is_some()
}

fn next_tick<M: Memory>(s: &FactoryState<M>, now: u64) -> Option<u64> {
    let sc = s.sched.sched.get();
    let progress = sc.rollout.as_ref();
    let interval = s
        .sched
        .active_plan()
        .map_or(IDLE_TICK_NS, |a| a.plan.tick_interval_ns);
    let running = progress.is_some_and(|p| p.state == RolloutState::Running);
    let startable = s
        .sched
        .queue
        .first_key_value()
        .is_some_and(|(k, _)| k.priority < priority::ROLLOUT || running);
    let enumerating = running && progress.is_some_and(|p| !p.pass_done);
    // A finished pass with nothing pending: a tick ends the stage (or the rollout).
    let judgeable = running
        && progress.is_some_and(|p| {
            p.pass_done
                && p.stages
                    .get(usize::from(p.stage))
                    .is_some_and(|c| c.pending() == 0)
        });
    let enumerating = enumerating || judgeable;
    if startable || enumerating || !s.sched.running.is_empty() {
        // In flight: this epoch's runs, or stale ones left to reconcile.
        return Some(interval);
    }
    let retry = s
        .sched
        .retries
        .first_key_value()
        .map(|(k, _)| k.ready_at_ns.saturating_sub(now).max(interval));
    let low_cycles = progress
        .is_some_and(|p| matches!(p.state, RolloutState::Paused(PauseReason::LowCycles { .. })))
        .then_some(LOW_CYCLES_TICK_NS);
    match (retry, low_cycles) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
