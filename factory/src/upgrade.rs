//! Upgrading one user canister, the sequence every upgrade path shares:
//! stop → snapshot (optional) → `install_chunked_code` (upgrade) → start,
//! **always**, even after a failure → confirm the module hash.

use crate::chunk_store;
use crate::error::FactoryError;
use crate::runtime::{Ctx, Env, InstallChunked, InstallMode, Management};
use crate::user_canister_api::install_arg;
use candid::Principal;
use ic_stable_structures::Memory;
use wasm_registry::Release;

/// What a successful upgrade leaves behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upgraded {
    /// The snapshot taken before installing, if one was asked for.
    pub snapshot_id: Option<Vec<u8>>,
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

pub async fn upgrade_one<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    req: UpgradeRequest<'_>,
) -> Result<Upgraded, FactoryError> {
    chunk_store::ensure_stored(ctx, req.release).await?;
    let canister = req.canister_id;
    if let Err(e) = ctx.mgmt.stop_canister(canister).await {
        // A stop that failed or timed out may leave it stopping: start it.
        let _ = ctx.mgmt.start_canister(canister).await;
        return Err(e.into());
    }
    let installed = install_stopped(ctx, &req).await;
    let started = ctx.mgmt.start_canister(canister).await;
    let upgraded = installed?;
    started?;
    let status = ctx.mgmt.canister_status(canister).await?;
    if status.module_hash.as_deref() != Some(&req.release.sha256.0[..]) {
        return Err(FactoryError::ModuleHashMismatch {
            canister_id: canister,
            version: req.release.version.clone(),
        });
    }
    Ok(upgraded)
}

async fn install_stopped<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    req: &UpgradeRequest<'_>,
) -> Result<Upgraded, FactoryError> {
    let snapshot_id = if req.snapshot {
        Some(
            ctx.mgmt
                .take_snapshot(req.canister_id, req.replace_snapshot.clone())
                .await?,
        )
    } else {
        None
    };
    let factory = ctx.env.self_id();
    ctx.mgmt
        .install_chunked_code(InstallChunked {
            mode: InstallMode::Upgrade,
            canister_id: req.canister_id,
            store_canister: factory,
            chunk_hashes: req.release.chunk_hashes.iter().map(|h| h.0).collect(),
            module_hash: req.release.sha256.0,
            arg: install_arg(req.owner, factory, &req.release.version),
        })
        .await?;
    Ok(Upgraded { snapshot_id })
}
