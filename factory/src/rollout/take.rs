//! Starting the next canister: the front of the queue, if the caps, the
//! rollout's state and its stage allow. Synchronous: it decides the release
//! to install, takes the canister's lock and marks it in flight, so the
//! counts are exact before the first call goes out.

use super::model::*;
use super::plan::{AdmissionPolicy, SnapshotPolicy, TopUpPolicy, DEFAULT_TOP_UP};
use super::reasons;
use super::transitions::{discard, place, Place};
use crate::error::FactoryError;
use crate::state::FactoryState;
use crate::users::{Lock, Outcome, Phase, UserRecord};
use candid::Principal;
use ic_stable_structures::Memory;
use wasm_registry::{PathError, Release};

/// The lock an upgrade holds on its canister.
pub const UPGRADE_LOCK: &str = "upgrade";
/// In flight when no rollout is active (on-demand upgrades only).
pub const IDLE_MAX_IN_FLIGHT: u32 = 50;
/// Queue entries `take_next` may settle without starting one (skips, busy
/// canisters), so one call stays cheap whatever the queue holds.
pub const MAX_SETTLED_PER_TAKE: u32 = 32;
/// A canister busy with a recovery action is tried again after this.
pub const BUSY_RETRY_NS: u64 = 10_000_000_000;

/// Longest error text kept in a user's record.
pub const MAX_OUTCOME_ERROR: usize = 200;

/// One canister's upgrade, as the async sequence needs it.
#[derive(Clone, Debug)]
pub struct Job {
    pub canister: Principal,
    pub owner: Principal,
    pub token: u64,
    pub release: Release,
    pub snapshot: bool,
    pub replace_snapshot: Option<Vec<u8>>,
    pub top_up: TopUpPolicy,
    pub reserve: u128,
    /// Only make sure the canister runs (out of tries while maybe stopped).
    pub restart_only: bool,
    /// The run a factory upgrade interrupted, if any.
    pub interrupted: Option<Running>,
}

/// The in-flight cap now: the active plan's, or the idle one.
pub fn cap<M: Memory>(s: &FactoryState<M>) -> u32 {
    s.sched
        .active_plan()
        .map_or(IDLE_MAX_IN_FLIGHT, |a| a.plan.max_in_flight)
}

/// Runs in flight: every entry of `running`, including runs of an earlier
/// module whose calls may still be outstanding (`settle`).
pub fn in_flight<M: Memory>(s: &FactoryState<M>) -> u32 {
    u32::try_from(s.sched.running.len()).unwrap_or(u32::MAX)
}

/// In flight allowed now: the admission window (the subnet's observed
/// service rate, `admission`) under the plan's hard ceiling.
pub fn limit<M: Memory>(s: &FactoryState<M>) -> u32 {
    if fixed(s) {
        cap(s)
    } else {
        s.admission.limit(cap(s))
    }
}

/// Whether a run may stop its canister now (`Admission::may_stop`); always
/// under a fixed plan.
pub fn may_stop<M: Memory>(s: &mut FactoryState<M>, now: u64) -> bool {
    if fixed(s) {
        return true;
    }
    let ceiling = cap(s);
    s.admission.may_stop(now, ceiling)
}

fn fixed<M: Memory>(s: &FactoryState<M>) -> bool {
    s.sched
        .active_plan()
        .is_some_and(|a| a.plan.admission == Some(AdmissionPolicy::Fixed))
}

/// Whether one more upgrade may start now: under a fixed plan, a free slot
/// under `max_in_flight`; else the admission window and its pacing.
fn admits<M: Memory>(s: &mut FactoryState<M>, now: u64) -> bool {
    let (n, ceiling) = (in_flight(s), cap(s));
    if fixed(s) {
        n < ceiling
    } else {
        s.admission.may_start(n, ceiling, now)
    }
}

/// Starts the next startable canister, or None.
pub fn take_next<M: Memory>(s: &mut FactoryState<M>, now: u64) -> Option<Job> {
    // Before the scheduler's record is read and written back: most calls
    // (every tick, every completion at the rate's limit) start nothing.
    if !admits(s, now) {
        return None;
    }
    let mut sc = s.sched.sched.get().clone();
    let job = take(s, &mut sc, now);
    s.sched.sched.set(sc);
    job
}

fn take<M: Memory>(s: &mut FactoryState<M>, sc: &mut Sched, now: u64) -> Option<Job> {
    let epoch = s.epoch();
    for _ in 0..MAX_SETTLED_PER_TAKE {
        let (key, canister) = s.sched.queue.first_key_value()?;
        let Some(item) = s.sched.items.get(&canister) else {
            s.sched.queue.remove(&key);
            continue;
        };
        let active = sc.rollout.as_ref().map(|p| (p.id, p.stage, &p.state));
        let of_active = matches!((item.rollout, active), (Some(r), Some((id, ..))) if r.id == id);
        if key.priority == priority::ROLLOUT {
            match active {
                Some((_, stage, RolloutState::Running)) if of_active && key.stage <= stage => {}
                // Paused, halted, or a later stage: nothing behind it may start.
                _ if of_active => return None,
                _ => {
                    discard(s, sc, canister, item);
                    continue;
                }
            }
        }
        match start(s, sc, canister, item, now, epoch) {
            Some(job) => {
                let n = in_flight(s);
                s.admission.on_started(job.canister, n);
                return Some(job);
            }
            None => continue,
        }
    }
    None
}

/// Settles or starts one queued item.
fn start<M: Memory>(
    s: &mut FactoryState<M>,
    sc: &mut Sched,
    canister: Principal,
    mut item: Item,
    now: u64,
    epoch: u64,
) -> Option<Job> {
    let Some(mut record) = s
        .user_by_canister(&canister)
        .filter(|r| r.phase == Phase::Ready)
    else {
        // Detached, or not installed yet: nothing to upgrade.
        place(s, sc, canister, item, Place::Done(Final::Skipped));
        return None;
    };
    if s.reclaim.is_reclaimed(&canister) {
        // Dormant and uninstalled: skipped, with the reason on its record;
        // a revive brings back the release it had, and a later rollout or
        // on-demand upgrade takes it from there.
        let why = "skipped: reclaimed as dormant (revive it first)";
        reasons::record(s, why.into(), why);
        outcome(&mut record, &item, now, Some(why.into()));
        s.put_user(record);
        place(s, sc, canister, item, Place::Done(Final::Skipped));
        return None;
    }
    if record.is_locked(epoch)
        && record
            .lock
            .as_ref()
            .is_some_and(|l| l.action != UPGRADE_LOCK)
    {
        let ready_at_ns = now.saturating_add(BUSY_RETRY_NS);
        place(s, sc, canister, item, Place::Retry { ready_at_ns });
        return None;
    }
    // A reconciled run's step is decided again: the registry may have
    // changed; if its install happened, the status check finds it there.
    let step = if item.restart_only {
        Ok(item.target.clone())
    } else {
        next_step(s, &item, &record)
    };
    let release = match step.and_then(|v| release(s, &v)) {
        Ok(release) => release,
        Err(Settle::Skip) => {
            place(s, sc, canister, item, Place::Done(Final::Skipped));
            return None;
        }
        Err(Settle::Fail(e)) => {
            let message = e.to_string();
            reasons::record(s, reasons::group(&e), &message);
            outcome(&mut record, &item, now, Some(message.clone()));
            s.put_user(record);
            item.last_error = Some(reasons::truncate(message, MAX_OUTCOME_ERROR));
            place(s, sc, canister, item, Place::Done(Final::Failed));
            return None;
        }
    };
    record.lock = Some(Lock {
        action: UPGRADE_LOCK.into(),
        since_ns: now,
        epoch,
    });
    // An interrupted run's snapshot already replaced the recorded one.
    let replace_snapshot = item
        .interrupted
        .as_ref()
        .and_then(|r| r.snapshot_id.clone())
        .or_else(|| record.snapshot_id.clone());
    s.put_user(record);
    let token = sc.seq();
    let run = Running {
        epoch,
        since_ns: now,
        token,
        step: release.version.clone(),
        phase: JobPhase::Checking,
        snapshot_id: None,
    };
    let (snapshot, top_up) = policies(s, &item, key_stage(&item));
    let job = Job {
        canister,
        owner: item.owner,
        token,
        release,
        snapshot,
        replace_snapshot,
        top_up,
        reserve: s.config.get().cycles_reserve,
        restart_only: item.restart_only,
        interrupted: item.interrupted.clone(),
    };
    place(s, sc, canister, item, Place::Run(run));
    Some(job)
}

enum Settle {
    Skip,
    Fail(FactoryError),
}

/// The release to install next on the way to the item's target: the target,
/// or a step the registry requires first.
fn next_step<M: Memory>(
    s: &FactoryState<M>,
    item: &Item,
    record: &UserRecord,
) -> Result<String, Settle> {
    let Some(from) = record.version.as_deref() else {
        return Err(Settle::Skip);
    };
    let from = wasm_registry::parse_version(from).map_err(|e| Settle::Fail(e.into()))?;
    let to = wasm_registry::parse_version(&item.target).map_err(|e| Settle::Fail(e.into()))?;
    let allow_downgrade = !item.on_demand
        && s.sched
            .active_plan()
            .is_some_and(|a| a.plan.allow_downgrade && item.rollout.is_some_and(|r| r.id == a.id));
    match s.registry.next_step(&from, &to, allow_downgrade) {
        Ok(v) => Ok(v.to_string()),
        Err(PathError::SameVersion { .. }) | Err(PathError::Downgrade { .. }) => Err(Settle::Skip),
        Err(e) => Err(Settle::Fail(e.into())),
    }
}

fn release<M: Memory>(s: &FactoryState<M>, version: &str) -> Result<Release, Settle> {
    let v = wasm_registry::parse_version(version).map_err(|e| Settle::Fail(e.into()))?;
    s.registry.release(&v).ok_or_else(|| {
        Settle::Fail(FactoryError::UnknownTarget {
            version: version.into(),
        })
    })
}

/// Snapshot and top-up policy: the rollout's for its items, the defaults
/// for on-demand ones.
fn policies<M: Memory>(s: &FactoryState<M>, item: &Item, stage: u8) -> (bool, TopUpPolicy) {
    match s.sched.active_plan() {
        Some(a) if item.rollout.is_some_and(|r| r.id == a.id) => (
            snapshots_in_stage(a.plan.snapshot, stage, a.plan.stages.len()),
            a.plan.top_up,
        ),
        _ => (true, DEFAULT_TOP_UP),
    }
}

fn key_stage(item: &Item) -> u8 {
    item.rollout.map_or(0, |r| r.stage)
}

/// Whether an upgrade in `stage` (of `stages`) takes a snapshot first.
/// `CanaryStages`: every stage but the last, the one that completes the
/// fleet; so a one-stage plan takes none. The snapshot is taken after the
/// stop, never of a running canister: the interface spec's
/// `take_canister_snapshot` asks that the canister be stopped first, since a
/// snapshot with calls outstanding restores a state awaiting callbacks that
/// will never come (management-canister.md, `take_canister_snapshot` note).
pub fn snapshots_in_stage(policy: SnapshotPolicy, stage: u8, stages: usize) -> bool {
    match policy {
        SnapshotPolicy::Never => false,
        SnapshotPolicy::ReplacePrevious => true,
        SnapshotPolicy::CanaryStages => usize::from(stage) + 1 < stages,
    }
}

/// Writes the attempt's outcome into the user's record.
pub fn outcome(record: &mut UserRecord, item: &Item, now: u64, error: Option<String>) {
    // Kept short: the record is read and written on every action.
    let error = error.map(|e| reasons::truncate(e, MAX_OUTCOME_ERROR));
    record.last_outcome = Some(Outcome {
        action: if item.on_demand {
            "on_demand_upgrade".into()
        } else {
            "rollout_upgrade".into()
        },
        from_version: record.version.clone(),
        to_version: Some(item.target.clone()),
        at_ns: now,
        error,
    });
}
