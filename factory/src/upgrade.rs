//! Upgrading one user canister, the sequence every upgrade path shares:
//! stop → snapshot (optional) → `install_chunked_code` (upgrade) → start,
//! **always**, even after a failure → confirm the module hash.

use crate::chunk_store;
use crate::error::FactoryError;
use crate::guest::install_arg;
use crate::rollout::model::JobPhase;
use crate::runtime::{Ctx, Env, InstallChunked, InstallMode, Management};
use candid::Principal;
use ic_stable_structures::Memory;
use wasm_registry::Release;

/// What a successful upgrade leaves behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upgraded {
    /// The snapshot taken before installing, if one was asked for.
    pub snapshot_id: Option<Vec<u8>>,
    /// Its balance once confirmed on the new release (for the spend).
    pub cycles_after: u128,
}

pub struct UpgradeRequest<'r> {
    pub canister_id: Principal,
    pub owner: Principal,
    pub release: &'r Release,
    /// Take a snapshot first; `replace` is the previous one, replaced to stay
    /// within the IC's snapshot limit.
    pub snapshot: bool,
    pub replace_snapshot: Option<Vec<u8>>,
}

/// A failed upgrade, and whether the canister is known to run afterwards
/// (false: the final start failed too, so it may be left stopped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepFailure {
    pub error: FactoryError,
    pub running: bool,
}

pub async fn upgrade_one<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    req: UpgradeRequest<'_>,
) -> Result<Upgraded, FactoryError> {
    upgrade_steps(ctx, req, &mut |_, _| {})
        .await
        .map_err(|f| f.error)
}

/// The sequence, telling `on_phase` each step as it begins (with the new
/// snapshot's id once there is one) so a caller can persist how far it got.
pub async fn upgrade_steps<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    req: UpgradeRequest<'_>,
    on_phase: &mut dyn FnMut(JobPhase, Option<&[u8]>),
) -> Result<Upgraded, StepFailure> {
    let fail = |error: FactoryError, running| StepFailure { error, running };
    chunk_store::ensure_stored(ctx, req.release)
        .await
        .map_err(|e| fail(e, true))?;
    let canister = req.canister_id;
    on_phase(JobPhase::Stopping, None);
    if let Err(e) = ctx.mgmt.stop_canister(canister).await {
        // A stop that failed or timed out may leave it stopping: start it.
        on_phase(JobPhase::Starting, None);
        let started = ctx.mgmt.start_canister(canister).await;
        return Err(fail(e.into(), started.is_ok()));
    }
    let installed = install_stopped(ctx, &req, on_phase).await;
    on_phase(JobPhase::Starting, None);
    let started = ctx.mgmt.start_canister(canister).await;
    let upgraded = match (installed, started) {
        (Ok(u), Ok(())) => u,
        (Err(e), started) => return Err(fail(e, started.is_ok())),
        (Ok(_), Err(e)) => return Err(fail(e.into(), false)),
    };
    let mut upgraded = upgraded;
    on_phase(JobPhase::Confirming, None);
    let status = ctx
        .mgmt
        .canister_status(canister)
        .await
        .map_err(|e| fail(e.into(), true))?;
    if status.module_hash.as_deref() != Some(&req.release.sha256.0[..]) {
        return Err(fail(
            FactoryError::ModuleHashMismatch {
                canister_id: canister,
                version: req.release.version.clone(),
            },
            true,
        ));
    }
    upgraded.cycles_after = status.cycles;
    Ok(upgraded)
}

async fn install_stopped<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    req: &UpgradeRequest<'_>,
    on_phase: &mut dyn FnMut(JobPhase, Option<&[u8]>),
) -> Result<Upgraded, FactoryError> {
    let snapshot_id = if req.snapshot {
        on_phase(JobPhase::Snapshotting, None);
        Some(
            ctx.mgmt
                .take_snapshot(req.canister_id, req.replace_snapshot.clone())
                .await?,
        )
    } else {
        None
    };
    on_phase(JobPhase::Installing, snapshot_id.as_deref());
    let factory = ctx.env.self_id();
    ctx.mgmt
        .install_chunked_code(InstallChunked {
            mode: InstallMode::Upgrade,
            canister_id: req.canister_id,
            store_canister: factory,
            chunk_hashes: req.release.chunk_hashes.iter().map(|h| h.0).collect(),
            module_hash: req.release.sha256.0,
            arg: install_arg(req.owner, factory, req.release),
        })
        .await?;
    Ok(Upgraded {
        snapshot_id,
        cycles_after: 0,
    })
}
