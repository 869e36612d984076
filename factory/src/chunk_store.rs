//! The factory's own IC chunk store: every install is `install_chunked_code`
//! with `store_canister = factory`, so no module bytes travel per install.
//!
//! A module's chunks are uploaded from the registry on approval, or lazily
//! before an install if the store lost them; the IC can only clear a chunk
//! store as a whole, so clearing drops everything and needed modules come back
//! lazily.

use crate::error::FactoryError;
use crate::runtime::{Ctx, Env, Management};
use ic_stable_structures::Memory;
use wasm_registry::Release;

/// Makes sure the release's module is in the chunk store.
pub async fn ensure_stored<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    release: &Release,
) -> Result<(), FactoryError> {
    let hash = release.sha256.0;
    if ctx.with(|s| s.chunk_store.contains_key(&hash)) {
        return Ok(());
    }
    for (index, expected) in release.chunk_hashes.iter().enumerate() {
        let chunk = ctx.with(|s| s.registry.module_chunk(&release.sha256, index as u32))?;
        let stored = ctx.mgmt.upload_chunk(ctx.env.self_id(), chunk).await?;
        if stored != expected.0 {
            return Err(FactoryError::InvalidArgument(format!(
                "chunk {index} of {} was stored under another hash",
                release.version
            )));
        }
    }
    ctx.with(|s| s.chunk_store.insert(hash, ()));
    Ok(())
}

/// Clears the chunk store once it holds a module no live release needs.
pub async fn clear_unneeded<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
) -> Result<bool, FactoryError> {
    let stale = ctx.with(|s| {
        s.chunk_store
            .keys()
            .any(|h| !s.registry.is_module_needed(&wasm_registry::Sha256(h)))
    });
    if !stale {
        return Ok(false);
    }
    ctx.mgmt.clear_chunk_store(ctx.env.self_id()).await?;
    ctx.with(|s| s.chunk_store.clear_new());
    Ok(true)
}
