//! Filling the queue for the current stage: a pass over the users from a
//! stable cursor, a bounded number of keys per tick, and only while the
//! rollout holds fewer canisters than its window — so the queue stays small
//! and a tick's work does not grow with the fleet.

use super::membership::{bucket, stage_of};
use super::model::*;
use super::plan::Plan;
use super::transitions::{discard, is_orphan, place_new, rewrite, with_sched, Place};
use crate::state::FactoryState;
use crate::users::{Phase, UserRecord};
use candid::Principal;
use ic_stable_structures::Memory;
use std::cmp::Ordering;
use std::ops::Bound;

/// Users (keys) a tick may look at; records are read only for the current
/// stage's members, at most the window's free room.
pub const SCAN_KEYS_PER_TICK: u32 = 1_000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnumReport {
    pub keys_scanned: u32,
    pub records_read: u32,
    pub enqueued: u32,
    pub skipped: u32,
}

pub fn enumerate<M: Memory>(s: &mut FactoryState<M>, now: u64) -> EnumReport {
    let mut report = EnumReport::default();
    let Some(active) = s.sched.active_plan().cloned() else {
        return report;
    };
    let Ok(target) = semver::Version::parse(&active.plan.target_version) else {
        return report;
    };
    with_sched(s, |s, sc| {
        let Some(p) = sc.rollout.as_ref() else { return };
        if p.state != RolloutState::Running || p.pass_done {
            return;
        }
        let held: u64 = p.stages.iter().map(StageCounters::pending).sum();
        let mut room = active.plan.window().saturating_sub(held);
        let r = RolloutRef {
            id: active.id,
            stage: p.stage,
        };
        let pass = Pass {
            plan: &active.plan,
            target: &target,
            r,
            now,
        };
        if active.plan.canisters.is_empty() {
            by_users(s, sc, &pass, &mut room, &mut report);
        } else {
            by_list(s, sc, &pass, &mut room, &mut report);
        }
    });
    report
}

struct Pass<'a> {
    plan: &'a Plan,
    target: &'a semver::Version,
    r: RolloutRef,
    now: u64,
}

fn by_users<M: Memory>(
    s: &mut FactoryState<M>,
    sc: &mut Sched,
    pass: &Pass,
    room: &mut u64,
    report: &mut EnumReport,
) {
    let start = sc
        .rollout
        .as_ref()
        .and_then(|p| p.cursor)
        .map_or(Bound::Unbounded, Bound::Excluded);
    let mut cursor = None;
    let mut exhausted = true;
    // Keys first (cheap), so the scan holds no borrow while writing.
    let keys: Vec<Principal> = s
        .users
        .keys_range((start, Bound::Unbounded))
        .take(SCAN_KEYS_PER_TICK as usize + 1)
        .collect();
    for (i, owner) in keys.into_iter().enumerate() {
        if i == SCAN_KEYS_PER_TICK as usize || *room == 0 {
            exhausted = false;
            break;
        }
        report.keys_scanned += 1;
        cursor = Some(owner);
        if stage_of(&pass.plan.stages, bucket(pass.r.id, &owner)) != pass.r.stage {
            continue;
        }
        report.records_read += 1;
        if let Some(record) = s.users.get(&owner) {
            consider(s, sc, pass, record, room, report);
        }
    }
    if let Some(p) = sc.rollout.as_mut() {
        if cursor.is_some() {
            p.cursor = cursor;
        }
        p.pass_done = exhausted;
    }
}

fn by_list<M: Memory>(
    s: &mut FactoryState<M>,
    sc: &mut Sched,
    pass: &Pass,
    room: &mut u64,
    report: &mut EnumReport,
) {
    let mut index = sc.rollout.as_ref().map_or(0, |p| p.cursor_index) as usize;
    let list = &pass.plan.canisters;
    let mut scanned = 0;
    while index < list.len() && scanned < SCAN_KEYS_PER_TICK && *room > 0 {
        scanned += 1;
        let canister = list[index];
        index += 1;
        report.keys_scanned += 1;
        let Some(owner) = s.owner_of_canister(&canister) else {
            continue;
        };
        if stage_of(&pass.plan.stages, bucket(pass.r.id, &owner)) != pass.r.stage {
            continue;
        }
        report.records_read += 1;
        if let Some(record) = s.users.get(&owner) {
            consider(s, sc, pass, record, room, report);
        }
    }
    if let Some(p) = sc.rollout.as_mut() {
        p.cursor_index = index as u32;
        p.pass_done = index >= list.len();
    }
}

/// Queues one member of the stage, or counts it skipped.
fn consider<M: Memory>(
    s: &mut FactoryState<M>,
    sc: &mut Sched,
    pass: &Pass,
    record: UserRecord,
    room: &mut u64,
    report: &mut EnumReport,
) {
    let (Some(canister), Phase::Ready) = (record.canister_id, &record.phase) else {
        return;
    };
    let Some(version) = record.version.as_deref() else {
        // Running a module no release is known for: never skipped silently.
        skip(sc, pass.r, report);
        return;
    };
    if !pass.plan.canister_allowed(&canister) || !pass.plan.version_allowed(version) {
        return;
    }
    let newer_or_same = match semver::Version::parse(version) {
        Ok(v) => match v.cmp_precedence(pass.target) {
            Ordering::Equal => true,
            Ordering::Greater => !pass.plan.allow_downgrade,
            Ordering::Less => false,
        },
        Err(_) => false,
    };
    let target = &pass.plan.target_version;
    if newer_or_same {
        skip(sc, pass.r, report);
        return;
    }
    if let Some(mut item) = s.sched.items.get(&canister) {
        if is_orphan(sc, &item) && matches!(item.state, ItemState::Running(_)) {
            // Still running for a rollout that ended: this one takes it over
            // in place (its run keeps its token, so its result is recorded,
            // and the lock released); once done, it is queued again for the
            // next step towards this target.
            item.target = target.clone();
            item.rollout = Some(pass.r);
            item.attempts = 0;
            item.last_error = None;
            if let Some(c) = sc.stage_mut(item.rollout) {
                *c.slot_mut(item.state.slot()) += 1;
            }
            rewrite(s, canister, &item);
        } else if is_orphan(sc, &item) {
            // Left by a rollout that ended: this one takes it over.
            discard(s, sc, canister, item.clone());
            item.target = target.clone();
            item.rollout = Some(pass.r);
            item.attempts = 0;
            item.last_error = None;
            place_new(s, sc, canister, item, Place::Queue);
        } else if &item.target == target && item.rollout.is_none_or(|r| r.id != pass.r.id) {
            // Held already (on demand, or a reconciliation) for the same
            // version: the stage counts it when it is done.
            item.rollout = Some(pass.r);
            if let Some(c) = sc.stage_mut(item.rollout) {
                *c.slot_mut(item.state.slot()) += 1;
            }
            rewrite(s, canister, &item);
        } else {
            // On its way to another version at a user's request.
            skip(sc, pass.r, report);
            return;
        }
        report.enqueued += 1;
        *room = room.saturating_sub(1);
        return;
    }
    let item = Item {
        owner: record.owner,
        target: target.clone(),
        rollout: Some(pass.r),
        on_demand: false,
        attempts: 0,
        state: ItemState::Queued(QueueKey {
            priority: priority::ROLLOUT,
            stage: pass.r.stage,
            seq: 0,
        }),
        queued_at_ns: pass.now,
        last_error: None,
        restart_only: false,
        must_start: false,
        interrupted: None,
    };
    place_new(s, sc, canister, item, Place::Queue);
    report.enqueued += 1;
    *room = room.saturating_sub(1);
}

fn skip(sc: &mut Sched, r: RolloutRef, report: &mut EnumReport) {
    if let Some(c) = sc.stage_mut(Some(r)) {
        c.skipped += 1;
    }
    sc.totals.skipped += 1;
    report.skipped += 1;
}
