//! The reclaim's calls, generic over the runtime: reclaim a dormant
//! canister, revive it, delete it after its keep period. Each holds the
//! canister's lock, never leaves a canister with code stopped, and is
//! audited whether it succeeds or not.

use super::drain::{drain_arg, DRAIN_MARGIN, DRAIN_WASM};
use super::record::Reclaimed;
use super::store::Total;
use crate::audit::AuditAction;
use crate::error::FactoryError;
use crate::runtime::{Ctx, Env, Management};
use crate::users::{Outcome, UserRecord};
use candid::Principal;
use factory_api::SpendKind;
use ic_stable_structures::Memory;

pub const RECLAIM_LOCK: &str = "reclaim";
pub const REVIVE_LOCK: &str = "revive";
pub const DELETE_LOCK: &str = "delete";

/// Reclaims a canister the tick found dormant: stop → snapshot and uninstall
/// (one atomic call) → record. Ok(false): it was active again meanwhile.
pub async fn reclaim_one<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    canister: Principal,
) -> Result<bool, FactoryError> {
    let factory = ctx.env.self_id();
    let now = ctx.env.now_ns();
    let (record, last_active) = ctx
        .with(|s| {
            let policy = s.config.get().reclaim;
            let last = s.reclaim.last_active(&canister).unwrap_or(now);
            let dormant = policy.is_some_and(|p| now.saturating_sub(last) >= p.inactive_after_ns);
            if !dormant || s.reclaim.is_reclaimed(&canister) {
                return Ok(None);
            }
            s.lock_canister(canister, RECLAIM_LOCK, now)
                .map(|r| Some((r, last)))
        })?
        .unzip();
    let (Some(record), Some(last_active)) = (record, last_active) else {
        return Ok(false);
    };
    let result = async {
        ctx.mgmt.stop_canister(canister).await?;
        let taken = ctx.mgmt.take_snapshot_and_uninstall(canister).await;
        let snapshot_id = match taken {
            Ok(id) => id,
            Err(e) => {
                // Nothing changed but the stop: it runs again.
                let _ = ctx.mgmt.start_canister(canister).await;
                return Err(FactoryError::from(e));
            }
        };
        let cycles = ctx
            .mgmt
            .canister_status(canister)
            .await
            .map_or(0, |st| st.cycles);
        Ok((snapshot_id, cycles))
    }
    .await;
    let now = ctx.env.now_ns();
    ctx.with(|s| {
        let error = result.as_ref().err().map(ToString::to_string);
        if let Ok((snapshot_id, cycles)) = &result {
            let stored = s.reclaim.put_reclaimed(
                canister,
                Reclaimed {
                    snapshot_id: snapshot_id.clone(),
                    last_active_ns: last_active,
                    reclaimed_at_ns: now,
                    cycles_at_reclaim: *cycles,
                },
            );
            debug_assert!(stored, "snapshot ids of the IC fit");
            // Not the keeper's any more: it is stopped and holds no code.
            s.keeper.remove(&canister);
        }
        let action = AuditAction::CanisterReclaimed {
            canister_id: canister,
            last_active_ns: last_active,
        };
        s.audit(now, factory, action, error.clone());
        unlock(s, &record, "reclaim", now, error);
    });
    result.map(|_| true)
}

/// Brings a reclaimed canister back with one call, by its owner or recovery
/// principal: load the snapshot (it holds the module as well as the data,
/// so nothing needs installing first) → start → confirm the module is back.
pub async fn revive<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    caller: Principal,
    canister: Principal,
) -> Result<(), FactoryError> {
    let now = ctx.env.now_ns();
    let (record, reclaimed) = ctx.with(|s| {
        let reclaimed = s.reclaim.get(&canister).ok_or(FactoryError::NotReclaimed {
            canister_id: canister,
        })?;
        let record = s.lock_canister(canister, REVIVE_LOCK, now)?;
        Ok::<_, FactoryError>((record, reclaimed))
    })?;
    let result = async {
        if reclaimed.snapshot_id.is_empty() {
            return Err(FactoryError::NoSnapshot);
        }
        ctx.mgmt
            .load_snapshot(canister, reclaimed.snapshot_id.clone())
            .await?;
        ctx.mgmt.start_canister(canister).await?;
        let status = ctx.mgmt.canister_status(canister).await?;
        if status.module_hash.is_none() {
            return Err(FactoryError::NoSnapshot);
        }
        Ok(())
    }
    .await;
    let now = ctx.env.now_ns();
    ctx.with(|s| {
        let error = result.as_ref().err().map(ToString::to_string);
        if result.is_ok() {
            // Off the deletion queue for good: a revived canister is never
            // deleted (unless it goes dormant and is reclaimed again).
            s.reclaim.revived(canister, now);
        }
        s.audit(
            now,
            caller,
            AuditAction::CanisterRevived {
                canister_id: canister,
            },
            error.clone(),
        );
        unlock(s, &record, "revive", now, error);
    });
    result
}

/// Deletes a reclaimed canister after its keep period: start it → install
/// the drain → `drain` (its cycles go to the factory) → stop (waits for that
/// deposit) → delete → forget the user. Ok(cycles returned); Ok(None): it
/// was revived meanwhile or the policy no longer deletes.
pub async fn delete_one<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    canister: Principal,
) -> Result<Option<u128>, FactoryError> {
    let factory = ctx.env.self_id();
    let now = ctx.env.now_ns();
    let record = ctx.with(|s| {
        let expired = match (s.config.get().reclaim, s.reclaim.get(&canister)) {
            (Some(p), Some(r)) => {
                p.delete_after_keep && now.saturating_sub(r.reclaimed_at_ns) >= p.keep_ns
            }
            _ => false,
        };
        if !expired {
            return Ok(None);
        }
        s.lock_canister(canister, DELETE_LOCK, now).map(Some)
    })?;
    let Some(record) = record else {
        return Ok(None);
    };
    let result = async {
        let before = ctx.mgmt.canister_status(canister).await?;
        let keep = before.freezing_limit.saturating_add(DRAIN_MARGIN);
        // A retry after a failed drain finds the drain installed already.
        let installed =
            before.module_hash.as_deref() == Some(&wasm_registry::Sha256::of(DRAIN_WASM).0[..]);
        ctx.mgmt.start_canister(canister).await?;
        let drained = async {
            if !installed {
                let arg = drain_arg(factory, keep);
                ctx.mgmt
                    .install_code(canister, DRAIN_WASM.to_vec(), arg)
                    .await?;
            }
            ctx.mgmt.drain(canister).await
        }
        .await;
        // Stopped whatever happened: a reclaimed canister stays stopped, and
        // the stop waits for the drain's deposit to complete.
        ctx.mgmt.stop_canister(canister).await?;
        drained?;
        let after = ctx.mgmt.canister_status(canister).await?;
        ctx.mgmt.delete_canister(canister).await?;
        Ok(before.cycles.saturating_sub(after.cycles))
    }
    .await;
    let now = ctx.env.now_ns();
    ctx.with(|s| {
        let error = result.as_ref().err().map(ToString::to_string);
        let returned = *result.as_ref().unwrap_or(&0);
        s.audit(
            now,
            factory,
            AuditAction::CanisterDeleted {
                canister_id: canister,
                cycles_returned: returned,
            },
            error.clone(),
        );
        if result.is_ok() {
            s.reclaim.forget(&canister);
            s.reclaim.add(Total::Deleted, 1);
            s.reclaim.add(Total::CyclesReturned, returned);
            s.keeper.spent(SpendKind::Reclaimed, returned, now);
            s.remove_user(&record.owner);
        } else {
            unlock(s, &record, "delete", now, error);
        }
    });
    result.map(Some)
}

fn unlock<M: Memory>(
    s: &mut crate::state::FactoryState<M>,
    record: &UserRecord,
    action: &str,
    now: u64,
    error: Option<String>,
) {
    s.unlock_canister(record.owner, |r| {
        r.last_outcome = Some(Outcome {
            action: action.to_string(),
            from_version: r.version.clone(),
            to_version: r.version.clone(),
            at_ns: now,
            error,
        });
    });
}
