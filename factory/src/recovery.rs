//! Flow 5: recovery through the factory. The recovery principal is a
//! controller of its canister, so it never needs the factory; these are the
//! conveniences the factory adds, each audited.

use crate::audit::AuditAction;
use crate::error::FactoryError;
use crate::runtime::{Ctx, Env, Management};
use crate::upgrade::{upgrade_one, UpgradeRequest};
use crate::users::{Outcome, UserRecord};
use candid::Principal;
use ic_stable_structures::Memory;

/// Replaces the recovery principal among the canister's controllers (others
/// that the recovery principal added itself are kept).
pub async fn rotate_recovery<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    caller: Principal,
    canister_id: Principal,
    new_recovery: Principal,
) -> Result<(), FactoryError> {
    let factory = ctx.env.self_id();
    crate::provision::check_recovery(new_recovery, factory)?;
    let record = ctx.with(|s| s.lock_canister(canister_id, "rotate_recovery", ctx.env.now_ns()))?;
    let result = async {
        let status = ctx.mgmt.canister_status(canister_id).await?;
        let mut controllers: Vec<Principal> = status
            .controllers
            .into_iter()
            .filter(|c| *c != record.recovery && *c != new_recovery)
            .collect();
        if !controllers.contains(&factory) {
            controllers.push(factory);
        }
        controllers.push(new_recovery);
        ctx.mgmt.set_controllers(canister_id, controllers).await?;
        Ok(())
    }
    .await;
    let action = AuditAction::RecoveryRotated {
        canister_id,
        new_recovery,
    };
    finish(
        ctx,
        caller,
        &record,
        action,
        "rotate_recovery",
        &result,
        |r| r.recovery = new_recovery,
    );
    result
}

/// The factory removes itself from the controllers and forgets the canister;
/// the owner keeps it, with the recovery principal as its controller.
pub async fn detach<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    caller: Principal,
    canister_id: Principal,
) -> Result<(), FactoryError> {
    let factory = ctx.env.self_id();
    let record = ctx.with(|s| s.lock_canister(canister_id, "detach", ctx.env.now_ns()))?;
    let result = async {
        let status = ctx.mgmt.canister_status(canister_id).await?;
        let mut controllers: Vec<Principal> = status
            .controllers
            .into_iter()
            .filter(|c| *c != factory)
            .collect();
        if !controllers.contains(&record.recovery) {
            controllers.push(record.recovery);
        }
        ctx.mgmt.set_controllers(canister_id, controllers).await?;
        Ok(())
    }
    .await;
    let now = ctx.env.now_ns();
    ctx.with(|s| {
        let error = result.as_ref().err().map(ToString::to_string);
        s.audit(now, caller, AuditAction::Detached { canister_id }, error);
        if result.is_ok() {
            s.remove_user(&record.owner);
        } else {
            s.unlock_canister(record.owner, |_| {});
        }
    });
    result
}

/// Loads the snapshot taken before the last upgrade (code and data as they
/// were), then starts the canister again whatever happened.
pub async fn restore_snapshot<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    caller: Principal,
    canister_id: Principal,
) -> Result<(), FactoryError> {
    let record =
        ctx.with(|s| s.lock_canister(canister_id, "restore_snapshot", ctx.env.now_ns()))?;
    let result = match record.snapshot_id.clone() {
        None => Err(FactoryError::NoSnapshot),
        Some(snapshot_id) => {
            let loaded = async {
                ctx.mgmt.stop_canister(canister_id).await?;
                ctx.mgmt.load_snapshot(canister_id, snapshot_id).await?;
                Ok::<_, FactoryError>(())
            }
            .await;
            let started = ctx.mgmt.start_canister(canister_id).await;
            loaded.and(started.map_err(FactoryError::from))
        }
    };
    // The snapshot may predate more than one upgrade (a second restore loads
    // the same one): what runs now is told by the module, not the record.
    let installed = match &result {
        Ok(()) => ctx
            .mgmt
            .canister_status(canister_id)
            .await
            .ok()
            .and_then(|s| s.module_hash),
        Err(_) => None,
    };
    let restored_version = ctx.with(|s| {
        installed
            .as_deref()
            .and_then(|hash| release_of_module(s, hash, record.previous_version.as_deref()))
            .or_else(|| record.previous_version.clone())
            .or_else(|| record.version.clone())
    });
    let action = AuditAction::SnapshotRestored { canister_id };
    finish(
        ctx,
        caller,
        &record,
        action,
        "restore_snapshot",
        &result,
        |r| {
            // The snapshot holds the module that ran before the last upgrade.
            r.version = restored_version;
            r.previous_version = None;
        },
    );
    result
}

/// The release whose module has this hash: `hint` if it is one, else the
/// newest such release (releases are a short list).
pub fn release_of_module<M: Memory>(
    s: &crate::state::FactoryState<M>,
    module_hash: &[u8],
    hint: Option<&str>,
) -> Option<String> {
    let matches = |r: &wasm_registry::Release| r.sha256.0[..] == *module_hash;
    if let Some(hint) = hint {
        let hinted = wasm_registry::parse_version(hint)
            .ok()
            .and_then(|v| s.registry.release(&v));
        if hinted.as_ref().is_some_and(matches) {
            return Some(hint.to_string());
        }
    }
    let mut after: Option<semver::Version> = None;
    let mut found = None;
    loop {
        let page = s
            .registry
            .list_releases(after.as_ref(), wasm_registry::MAX_PAGE_SIZE);
        let Some(last) = page.last() else {
            return found;
        };
        after = semver::Version::parse(&last.version).ok();
        for r in &page {
            if matches(r) {
                found = Some(r.version.clone());
            }
        }
        if after.is_none() || page.len() < wasm_registry::MAX_PAGE_SIZE {
            return found;
        }
    }
}

/// Upgrades (keeping stable data) back to the version that ran before the
/// last upgrade, if it is still installable (approved or deprecated).
pub async fn reinstall_last_good<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    caller: Principal,
    canister_id: Principal,
) -> Result<String, FactoryError> {
    let record =
        ctx.with(|s| s.lock_canister(canister_id, "reinstall_last_good", ctx.env.now_ns()))?;
    let release = record
        .previous_version
        .as_deref()
        .ok_or(FactoryError::NoLastGoodVersion)
        .and_then(|v| {
            let version = wasm_registry::parse_version(v)?;
            let release = ctx
                .with(|s| s.registry.release(&version))
                .ok_or(FactoryError::NoLastGoodVersion)?;
            match release.state {
                wasm_registry::ReleaseState::Approved | wasm_registry::ReleaseState::Deprecated => {
                    Ok(release)
                }
                _ => Err(FactoryError::NoLastGoodVersion),
            }
        });
    let result = match &release {
        Ok(release) => upgrade_one(
            ctx,
            UpgradeRequest {
                canister_id,
                owner: record.owner,
                release,
                snapshot: true,
                replace_snapshot: record.snapshot_id.clone(),
            },
        )
        .await
        .map(|u| (release.version.clone(), u.snapshot_id)),
        Err(e) => Err(e.clone()),
    };
    let version = result.as_ref().map(|(v, _)| v.clone()).unwrap_or_default();
    let action = AuditAction::ReinstalledLastGood {
        canister_id,
        version: version.clone(),
    };
    let outcome = result.as_ref().map(|_| ()).map_err(Clone::clone);
    let snapshot = result.as_ref().ok().and_then(|(_, s)| s.clone());
    finish(
        ctx,
        caller,
        &record,
        action,
        "reinstall_last_good",
        &outcome,
        |r| {
            r.previous_version = r.version.take();
            r.version = Some(version.clone());
            r.snapshot_id = snapshot;
        },
    );
    outcome.map(|_| version)
}

/// Audits, records the outcome, applies `on_success`, unlocks. A refusal
/// before anything was tried (no snapshot, no earlier version) is audited
/// but leaves the last outcome alone: it tells how the last real action on
/// the canister ended, and a refused request must not overwrite it.
fn finish<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    caller: Principal,
    record: &UserRecord,
    action: AuditAction,
    name: &str,
    result: &Result<(), FactoryError>,
    on_success: impl FnOnce(&mut UserRecord),
) {
    let now = ctx.env.now_ns();
    let error = result.as_ref().err().map(ToString::to_string);
    ctx.with(|s| {
        s.audit(now, caller, action, error.clone());
        s.unlock_canister(record.owner, |r| {
            let from = r.version.clone();
            if result.is_ok() {
                on_success(r);
            }
            if nothing_tried(result) {
                return;
            }
            r.last_outcome = Some(Outcome {
                action: name.to_string(),
                from_version: from,
                to_version: r.version.clone(),
                at_ns: now,
                error,
            });
        });
    });
}

fn nothing_tried(result: &Result<(), FactoryError>) -> bool {
    matches!(
        result,
        Err(FactoryError::NoSnapshot | FactoryError::NoLastGoodVersion)
    )
}
