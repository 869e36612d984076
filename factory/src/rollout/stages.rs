//! Stage decisions: halt when a stage's failure rate passes its threshold,
//! advance when a stage is done, complete after the last one; pause when the
//! factory runs low on cycles and resume when it no longer does.

use super::control::end_rollout;
use super::model::*;
use crate::state::FactoryState;
use ic_stable_structures::Memory;

/// What `evaluate` decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Nothing,
    Halted,
    Advanced { to_stage: u8 },
    Completed,
}

/// Judges the current stage of a running rollout. Mid-stage once
/// `min_sample` upgrades were attempted, always when the stage ends.
pub fn evaluate<M: Memory>(s: &mut FactoryState<M>, now: u64) -> Decision {
    let Some(active) = s.sched.active_plan() else {
        return Decision::Nothing;
    };
    let stages = active.plan.stages.clone();
    // A shard's part of a fleet rollout waits at the stage its index allowed.
    let held = crate::fleet::gate::held_stage(s, active.id);
    let decision = s.sched.update(|sc| {
        let Some(p) = sc.rollout.as_mut() else {
            return Decision::Nothing;
        };
        if p.state != RolloutState::Running {
            return Decision::Nothing;
        }
        let i = usize::from(p.stage);
        let (Some(stage), Some(c)) = (stages.get(i), p.stages.get_mut(i)) else {
            return Decision::Nothing;
        };
        let complete = p.pass_done && c.pending() == 0;
        let over = c.failure_bps() > u64::from(stage.max_failure_bps)
            && p.halt_overridden != Some(p.stage);
        if over && (complete || c.attempted() >= u64::from(stage.min_sample)) {
            p.state = RolloutState::Halted {
                stage: p.stage,
                // Upgrades in flight at the halt still finish, so the final
                // counts can be higher: say these are the figures at the halt.
                reason: format!(
                    "stage {:?}: when it halted, {} of {} attempted upgrades had failed ({} > {} allowed)",
                    stage.name,
                    c.failed,
                    c.attempted(),
                    percent(c.failure_bps()),
                    percent(u64::from(stage.max_failure_bps))
                ),
            };
            return Decision::Halted;
        }
        if !complete || (i + 1 < stages.len() && held.is_some_and(|last| p.stage >= last)) {
            return Decision::Nothing;
        }
        c.finished_ns = Some(now);
        if i + 1 >= stages.len() {
            return Decision::Completed;
        }
        p.stage += 1;
        p.cursor = None;
        p.cursor_index = 0;
        p.pass_done = false;
        if let Some(next) = p.stages.get_mut(i + 1) {
            next.started_ns = Some(now);
        }
        Decision::Advanced { to_stage: p.stage }
    });
    if let Decision::Advanced { .. } = decision {
        // The next stage may upgrade differently (its snapshot policy).
        s.admission.new_stage();
    }
    if decision == Decision::Completed {
        end_rollout(s, RolloutEnd::Completed, now);
    }
    decision
}

pub use factory_api::rollout::percent;

/// The target must stay approved; a revoked or deprecated one halts.
pub fn check_target<M: Memory>(s: &mut FactoryState<M>) {
    let Some(active) = s.sched.active_plan() else {
        return;
    };
    let target = active.plan.target_version.clone();
    let state = wasm_registry::parse_version(&target)
        .ok()
        .and_then(|v| s.registry.release(&v))
        .map(|r| r.state);
    if state == Some(wasm_registry::ReleaseState::Approved) {
        return;
    }
    s.sched.update(|sc| {
        if let Some(p) = sc.rollout.as_mut() {
            if p.state == RolloutState::Running {
                p.state = RolloutState::Halted {
                    stage: p.stage,
                    reason: format!(
                        "target {target} is no longer approved ({})",
                        state.map_or("missing".to_string(), |s| s.to_string())
                    ),
                };
            }
        }
    });
}

pub fn pause_for_cycles(sc: &mut Sched, balance: u128, needed: u128) {
    if let Some(p) = sc.rollout.as_mut() {
        if p.state == RolloutState::Running {
            p.state = RolloutState::Paused(PauseReason::LowCycles { balance, needed });
        }
    }
}

/// Pauses a running rollout when the factory is below `needed`, resumes one
/// it paused itself once the balance is back.
pub fn watch_cycles<M: Memory>(s: &mut FactoryState<M>, balance: u128) {
    let Some(plan) = s.sched.active_plan() else {
        return;
    };
    let needed = s
        .config
        .get()
        .cycles_reserve
        .saturating_add(plan.plan.top_up.amount);
    let state = s
        .sched
        .sched
        .get()
        .rollout
        .as_ref()
        .map(|p| p.state.clone());
    match state {
        Some(RolloutState::Running) if balance < needed => {
            s.sched.update(|sc| pause_for_cycles(sc, balance, needed));
        }
        Some(RolloutState::Paused(PauseReason::LowCycles { .. })) if balance >= needed => {
            s.sched.update(|sc| {
                if let Some(p) = sc.rollout.as_mut() {
                    p.state = RolloutState::Running;
                }
            });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentages_read_as_the_flags_are_given() {
        assert_eq!(super::percent(10_000), "100%");
        assert_eq!(super::percent(1_000), "10%");
        assert_eq!(super::percent(1_250), "12.5%");
        assert_eq!(super::percent(1), "0.01%");
        assert_eq!(super::percent(0), "0%");
    }
}
