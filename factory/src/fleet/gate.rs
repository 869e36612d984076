//! At a shard: its part of a fleet rollout, held at the end of the stage
//! the index allowed. The shard's scheduler asks `held_stage` before it
//! advances a rollout; a rollout the shard's admins started themselves (or
//! any rollout of a standalone factory) is never held.

use crate::error::FactoryError;
use crate::rollout::control;
use crate::state::FactoryState;
use crate::storable::candid_storable;
use candid::{CandidType, Deserialize, Principal};
use factory_api::ShardRolloutArgs;
use ic_stable_structures::Memory;

/// The hold the index set on one of the shard's rollouts.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct FleetGate {
    pub rollout_id: Option<u64>,
    pub allowed_stage: u8,
}
candid_storable!(FleetGate);

/// The last stage rollout `rollout_id` may run, if the index holds it.
pub fn held_stage<M: Memory>(s: &FactoryState<M>, rollout_id: u64) -> Option<u8> {
    let gate = s.fleet.gate();
    (s.fleet.index().is_some() && gate.rollout_id == Some(rollout_id)).then_some(gate.allowed_stage)
}

/// `shard_rollout`: starts the shard's part (its stages held after
/// `allowed_stage`), or lets the running one go further. Both in one
/// message, so the shard's scheduler never sees a rollout without its hold.
pub fn shard_rollout<M: Memory>(
    s: &mut FactoryState<M>,
    index: Principal,
    args: ShardRolloutArgs,
    now_ns: u64,
) -> Result<u64, FactoryError> {
    let id = match (args.plan, args.rollout_id) {
        (Some(plan), _) => control::start_rollout(s, index, plan, now_ns)?,
        (None, Some(id)) => {
            if s.sched.active_plan().map(|a| a.id) != Some(id) {
                return Err(FactoryError::NoActiveRollout);
            }
            id
        }
        (None, None) => {
            return Err(FactoryError::InvalidArgument(
                "shard_rollout needs a plan or a rollout id".into(),
            ))
        }
    };
    let gate = s.fleet.gate();
    // A lift never lowers the hold (a late duplicate changes nothing).
    let allowed = match gate.rollout_id {
        Some(g) if g == id => gate.allowed_stage.max(args.allowed_stage),
        _ => args.allowed_stage,
    };
    s.fleet.set_gate(FleetGate {
        rollout_id: Some(id),
        allowed_stage: allowed,
    });
    Ok(id)
}
