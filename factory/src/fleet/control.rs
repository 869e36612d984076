//! Admin commands on the fleet rollout at the index: start, pause, resume,
//! cancel. Each changes the index's record at once (audited); the api then
//! carries pause, resume and cancel to every shard (`rollout_driver::broadcast`).

use crate::audit::AuditAction;
use crate::error::FactoryError;
use crate::fleet::rollout::new_rollout;
use crate::rollout::plan::Normalize;
use crate::state::FactoryState;
use candid::Principal;
use factory_api::{FleetRolloutState, RolloutPlan};
use ic_stable_structures::Memory;
use wasm_registry::ReleaseState;

/// A command on the running fleet rollout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Pause,
    Resume,
    Cancel,
}

pub fn start<M: Memory>(
    s: &mut FactoryState<M>,
    caller: Principal,
    plan: RolloutPlan,
    now_ns: u64,
) -> Result<u64, FactoryError> {
    let target_version = plan.target_version.clone();
    let result = start_checked(s, caller, plan, now_ns);
    let id = *result.as_ref().unwrap_or(&0);
    let error = result.as_ref().err().map(ToString::to_string);
    let action = AuditAction::RolloutStarted { id, target_version };
    s.audit(now_ns, caller, action, error);
    result
}

fn start_checked<M: Memory>(
    s: &mut FactoryState<M>,
    caller: Principal,
    plan: RolloutPlan,
    now_ns: u64,
) -> Result<u64, FactoryError> {
    let previous = s.fleet.rollout();
    if let Some(r) = &previous {
        if is_active(&r.state) {
            return Err(FactoryError::RolloutActive { id: r.id });
        }
    }
    // The shards check the plan again; refusing it here keeps a bad plan
    // from reaching any of them.
    plan.clone().normalize()?;
    let version = wasm_registry::parse_version(&plan.target_version)?;
    let release = s
        .registry
        .release(&version)
        .ok_or_else(|| FactoryError::UnknownTarget {
            version: plan.target_version.clone(),
        })?;
    if release.state != ReleaseState::Approved {
        return Err(FactoryError::TargetNotApproved {
            version: release.version,
            state: release.state,
        });
    }
    let id = previous.map_or(1, |r| r.id + 1);
    let r = new_rollout(id, plan, &s.fleet.shard_ids(), caller, now_ns)?;
    s.fleet.set_rollout(r);
    Ok(id)
}

fn is_active(state: &FleetRolloutState) -> bool {
    matches!(
        state,
        FleetRolloutState::Running | FleetRolloutState::Paused | FleetRolloutState::Halted { .. }
    )
}

pub fn command<M: Memory>(
    s: &mut FactoryState<M>,
    caller: Principal,
    command: Command,
    now_ns: u64,
) -> Result<(), FactoryError> {
    let r = s
        .fleet
        .rollout()
        .filter(|r| is_active(&r.state))
        .ok_or(FactoryError::NoActiveRollout)?;
    let id = r.id;
    let result = s
        .fleet
        .update_rollout(id, |r| {
            let next = match (command, &r.state) {
                (Command::Pause, FleetRolloutState::Running) => FleetRolloutState::Paused,
                (Command::Resume, FleetRolloutState::Paused) => FleetRolloutState::Running,
                (Command::Resume, FleetRolloutState::Halted { stage, .. }) => {
                    r.halt_overridden = Some(*stage);
                    FleetRolloutState::Running
                }
                (Command::Cancel, _) => FleetRolloutState::Cancelled,
                (_, state) => {
                    return Err(FactoryError::RolloutState {
                        state: format!("{state:?}"),
                    })
                }
            };
            r.state = next;
            Ok(())
        })
        .unwrap_or(Err(FactoryError::NoActiveRollout));
    let error = result.as_ref().err().map(ToString::to_string);
    let action = match command {
        Command::Pause => AuditAction::RolloutPaused { id },
        Command::Resume => AuditAction::RolloutResumed { id },
        Command::Cancel => AuditAction::RolloutCancelled { id },
    };
    s.audit(now_ns, caller, action, error);
    result
}
