//! `provision` at the index: place the owner, then forward to their shard.
//!
//! The placement is written before the forward is sent (in the same message
//! that decides it), so a retried or racing `provision` of the same owner
//! goes to the same shard, whose own provisioning is idempotent per owner:
//! it returns the same canister, or `ProvisioningInProgress` while the first
//! call still runs. One canister per owner across the fleet follows.

use crate::config::ProvisioningMode;
use crate::error::FactoryError;
use crate::fleet::shards::Shards;
use crate::provision::check_recovery;
use crate::state::FactoryState;
use candid::Principal;
use factory_api::methods::Method;
use factory_api::ShardProvisionArgs;
use ic_stable_structures::Memory;
use std::cell::RefCell;

pub async fn provision<S: Shards, M: Memory>(
    state: &RefCell<FactoryState<M>>,
    shards: &S,
    index: Principal,
    owner: Principal,
    recovery: Principal,
) -> Result<Principal, FactoryError> {
    check_recovery(recovery, index)?;
    let placement = place(&mut state.borrow_mut(), owner)?;
    if let Some(canister_id) = placement.canister_id {
        return Ok(canister_id);
    }
    let args = ShardProvisionArgs { owner, recovery };
    let canister_id: Principal = shards
        .call(placement.shard, Method::ShardProvision, (args,))
        .await?;
    state.borrow_mut().fleet.placed(owner, canister_id);
    Ok(canister_id)
}

/// The index's own gate (its provisioning mode and allowlist), then the
/// owner's shard. Shards apply their own rate limit and cycles reserve.
fn place<M: Memory>(
    s: &mut FactoryState<M>,
    owner: Principal,
) -> Result<crate::fleet::store::Placement, FactoryError> {
    if let Some(p) = s.fleet.placement(&owner) {
        return Ok(p);
    }
    match s.config.get().provisioning {
        ProvisioningMode::Open => {}
        ProvisioningMode::AllowListOnly if s.allowlist.contains_key(&owner) => {}
        ProvisioningMode::AllowListOnly => return Err(FactoryError::NotAllowlisted),
        ProvisioningMode::Closed => return Err(FactoryError::ProvisioningClosed),
        // Paid provisioning is a standalone factory's for now: the payment
        // would have to reach the shard that creates the canister.
        ProvisioningMode::Paid => {
            return Err(FactoryError::WrongRole {
                endpoint: "provision (paid mode)".into(),
                role: s.fleet.role(),
            })
        }
    }
    s.fleet.place(owner)
}
