//! Admin control of the one active rollout: start (or supersede), pause,
//! resume, cancel; and archiving a finished rollout into the history.

use super::model::*;
use super::plan::{Normalize, RolloutPlan};
use super::reasons;
use super::transitions::{discard, with_sched};
use crate::audit::AuditAction;
use crate::error::FactoryError;
use crate::state::FactoryState;
use candid::Principal;
use ic_stable_structures::Memory;
use std::cmp::Ordering;

pub fn start_rollout<M: Memory>(
    s: &mut FactoryState<M>,
    caller: Principal,
    plan: RolloutPlan,
    now: u64,
) -> Result<u64, FactoryError> {
    let target_version = plan.target_version.clone();
    let result = start(s, caller, plan, now);
    let id = *result.as_ref().unwrap_or(&0);
    let error = result.as_ref().err().map(ToString::to_string);
    let action = AuditAction::RolloutStarted { id, target_version };
    s.audit(now, caller, action, error);
    result
}

fn start<M: Memory>(
    s: &mut FactoryState<M>,
    caller: Principal,
    plan: RolloutPlan,
    now: u64,
) -> Result<u64, FactoryError> {
    let supersede = plan.supersede.unwrap_or(false);
    let plan = plan.normalize()?;
    let target = wasm_registry::parse_version(&plan.target_version)?;
    let release = s
        .registry
        .release(&target)
        .ok_or_else(|| FactoryError::UnknownTarget {
            version: plan.target_version.clone(),
        })?;
    if release.state != wasm_registry::ReleaseState::Approved {
        return Err(FactoryError::TargetNotApproved {
            version: release.version,
            state: release.state,
        });
    }
    let id = s.sched.sched.get().next_rollout_id + 1;
    if let Some(active) = s.sched.active_plan() {
        if !supersede {
            return Err(FactoryError::RolloutActive { id: active.id });
        }
        end_rollout(s, RolloutEnd::Superseded { by_rollout: id }, now);
    }
    let eligible_estimate = estimate(s, &plan, &target);
    s.sched.reasons.clear_new();
    let stages = plan
        .stages
        .iter()
        .enumerate()
        .map(|(i, _)| StageCounters {
            started_ns: (i == 0).then_some(now),
            ..Default::default()
        })
        .collect();
    s.sched.plan.set(PlanCell {
        active: Some(ActivePlan {
            id,
            plan,
            started_by: caller,
        }),
    });
    s.sched.update(|sc| {
        sc.next_rollout_id = id;
        sc.rollout = Some(Progress {
            id,
            state: RolloutState::Running,
            stage: 0,
            stages,
            cursor: None,
            cursor_index: 0,
            pass_done: false,
            halt_overridden: None,
            started_ns: now,
            eligible_estimate,
        });
    });
    // Another module, maybe another subnet load: learned anew, from one a
    // round (what an earlier rollout, fixed or not, left is stale).
    s.admission = crate::rollout::admission::Admission::new();
    Ok(id)
}

/// Canisters the rollout will likely touch, from the per-version counts (a
/// handful of entries, never a scan of the users).
fn estimate<M: Memory>(
    s: &FactoryState<M>,
    plan: &super::plan::Plan,
    target: &semver::Version,
) -> u64 {
    let total: u64 = s
        .version_counts
        .iter()
        .map(|e| e.into_pair())
        .filter(|(v, _)| plan.version_allowed(v))
        .filter(|(v, _)| match semver::Version::parse(v) {
            Ok(v) => match v.cmp_precedence(target) {
                Ordering::Less => true,
                Ordering::Equal => false,
                Ordering::Greater => plan.allow_downgrade,
            },
            Err(_) => true,
        })
        .map(|(_, n)| n)
        .sum();
    if plan.canisters.is_empty() {
        total
    } else {
        total.min(plan.canisters.len() as u64)
    }
}

pub fn pause<M: Memory>(
    s: &mut FactoryState<M>,
    caller: Principal,
    now: u64,
) -> Result<(), FactoryError> {
    let action = |id| AuditAction::RolloutPaused { id };
    change_state(s, caller, now, action, |state| match state {
        RolloutState::Running | RolloutState::Paused(PauseReason::LowCycles { .. }) => {
            Ok(RolloutState::Paused(PauseReason::Admin { by: caller }))
        }
        other => Err(state_error(other)),
    })
}

/// Resumes a paused rollout, or continues past a halted stage (the admin's
/// call: that stage's threshold is not applied again).
pub fn resume<M: Memory>(
    s: &mut FactoryState<M>,
    caller: Principal,
    now: u64,
) -> Result<(), FactoryError> {
    let mut overridden = None;
    let action = |id| AuditAction::RolloutResumed { id };
    change_state(s, caller, now, action, |state| match state {
        RolloutState::Paused(_) => Ok(RolloutState::Running),
        RolloutState::Halted { stage, .. } => {
            overridden = Some(*stage);
            Ok(RolloutState::Running)
        }
        other => Err(state_error(other)),
    })?;
    if let Some(stage) = overridden {
        s.sched.update(|sc| {
            if let Some(p) = sc.rollout.as_mut() {
                p.halt_overridden = Some(stage);
            }
        });
    }
    Ok(())
}

pub fn cancel<M: Memory>(
    s: &mut FactoryState<M>,
    caller: Principal,
    now: u64,
) -> Result<(), FactoryError> {
    let id = match s.sched.active_plan() {
        Some(a) => a.id,
        None => {
            s.audit(
                now,
                caller,
                AuditAction::RolloutCancelled { id: 0 },
                Some(FactoryError::NoActiveRollout.to_string()),
            );
            return Err(FactoryError::NoActiveRollout);
        }
    };
    end_rollout(s, RolloutEnd::Cancelled { by: caller }, now);
    s.audit(now, caller, AuditAction::RolloutCancelled { id }, None);
    Ok(())
}

fn state_error(state: &RolloutState) -> FactoryError {
    FactoryError::RolloutState {
        state: state_name(state).into(),
    }
}

pub fn state_name(state: &RolloutState) -> &'static str {
    match state {
        RolloutState::Running => "running",
        RolloutState::Paused(_) => "paused",
        RolloutState::Halted { .. } => "halted",
    }
}

fn change_state<M: Memory>(
    s: &mut FactoryState<M>,
    caller: Principal,
    now: u64,
    action: impl FnOnce(u64) -> AuditAction,
    f: impl FnOnce(&RolloutState) -> Result<RolloutState, FactoryError>,
) -> Result<(), FactoryError> {
    let id = s.sched.active_plan().map_or(0, |a| a.id);
    let result = s.sched.update(|sc| {
        let p = sc.rollout.as_mut().ok_or(FactoryError::NoActiveRollout)?;
        p.state = f(&p.state)?;
        Ok(())
    });
    let error = result.as_ref().err().map(ToString::to_string);
    s.audit(now, caller, action(id), error);
    result
}

/// Archives the active rollout and drops its queued canisters (at most the
/// plan's window). Canisters in flight finish; retries of the ended rollout
/// are dropped when they come due; canisters that may be stopped are still
/// reconciled.
pub fn end_rollout<M: Memory>(s: &mut FactoryState<M>, end: RolloutEnd, now: u64) {
    let Some(active) = s.sched.plan.get().active.clone() else {
        return;
    };
    let first = QueueKey {
        priority: priority::ROLLOUT,
        stage: 0,
        seq: 0,
    };
    let queued: Vec<Principal> = s.sched.queue.range(first..).map(|e| e.value()).collect();
    with_sched(s, |s, sc| {
        for canister in queued {
            if let Some(item) = s.sched.items.get(&canister) {
                discard(s, sc, canister, item);
            }
        }
        let Some(progress) = sc.rollout.take() else {
            return;
        };
        let summary = RolloutSummary {
            id: active.id,
            target_version: active.plan.target_version.clone(),
            started_by: active.started_by,
            started_ns: progress.started_ns,
            ended_ns: now,
            end,
            last_state: progress.state,
            stages: active
                .plan
                .stages
                .iter()
                .zip(progress.stages)
                .map(|(st, counters)| StageSummary {
                    name: st.name.clone(),
                    counters,
                })
                .collect(),
            reasons: reasons::list(s),
        };
        // A full stable memory is the only failure; the rollout ends anyway.
        let _ = s.sched.history.append(&summary);
    });
    s.sched.plan.set(PlanCell::default());
}
