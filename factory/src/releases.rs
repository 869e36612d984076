//! Flow 2: admins publish releases into the registry. Each step is audited;
//! an approval that makes a release installable copies its module into the
//! factory's chunk store, and a revocation clears chunks no release needs.

use crate::audit::AuditAction;
use crate::chunk_store;
use crate::error::FactoryError;
use crate::runtime::{Ctx, Env, Management};
use candid::Principal;
use ic_stable_structures::Memory;
use wasm_registry::{parse_version, BeginUpload, Release, ReleaseState, UploadChunk, UploadStatus};

pub fn begin<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    caller: Principal,
    args: BeginUpload,
) -> Result<UploadStatus, FactoryError> {
    let now = ctx.env.now_ns();
    let version = args.version.clone();
    ctx.with(|s| {
        let result = s.registry.begin_upload(args, caller, now);
        let error = result.as_ref().err().map(ToString::to_string);
        s.audit(now, caller, AuditAction::ReleaseBegun { version }, error);
        result.map_err(Into::into)
    })
}

/// Not audited: a release has many chunks; begin and commit are.
pub fn upload_chunk<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    args: UploadChunk,
) -> Result<wasm_registry::Sha256, FactoryError> {
    let now = ctx.env.now_ns();
    ctx.with(|s| s.registry.upload_chunk(args, now).map_err(Into::into))
}

pub fn commit<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    caller: Principal,
    version: String,
) -> Result<Release, FactoryError> {
    let now = ctx.env.now_ns();
    audited(
        ctx,
        caller,
        AuditAction::ReleaseCommitted {
            version: version.clone(),
        },
        |s| {
            let v = parse_version(&version)?;
            Ok(s.registry.commit_upload(&v, now)?)
        },
    )
}

pub fn abort<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    caller: Principal,
    version: String,
) -> Result<(), FactoryError> {
    audited(
        ctx,
        caller,
        AuditAction::ReleaseAborted {
            version: version.clone(),
        },
        |s| {
            let v = parse_version(&version)?;
            Ok(s.registry.abort_upload(&v)?)
        },
    )
}

/// Returns the release's state after this approval; once `Approved`, its
/// module is put into the chunk store so installs need no upload.
pub async fn approve<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    caller: Principal,
    version: String,
) -> Result<ReleaseState, FactoryError> {
    let now = ctx.env.now_ns();
    let state = audited(
        ctx,
        caller,
        AuditAction::ReleaseApproved {
            version: version.clone(),
        },
        |s| {
            let v = parse_version(&version)?;
            Ok(s.registry.approve(&v, caller, now)?)
        },
    )?;
    if state == ReleaseState::Approved {
        let release = ctx.with(|s| {
            parse_version(&version)
                .ok()
                .and_then(|v| s.registry.release(&v))
        });
        if let Some(release) = release {
            // The approval stands even if this fails: installs upload lazily.
            let _ = chunk_store::ensure_stored(ctx, &release).await;
        }
    }
    Ok(state)
}

pub fn deprecate<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    caller: Principal,
    version: String,
    reason: String,
) -> Result<(), FactoryError> {
    let now = ctx.env.now_ns();
    audited(
        ctx,
        caller,
        AuditAction::ReleaseDeprecated {
            version: version.clone(),
        },
        |s| {
            let v = parse_version(&version)?;
            Ok(s.registry.deprecate(&v, caller, now, reason)?)
        },
    )
}

pub async fn revoke<E: Env, G: Management, M: Memory>(
    ctx: &Ctx<'_, E, G, M>,
    caller: Principal,
    version: String,
    reason: String,
) -> Result<(), FactoryError> {
    let now = ctx.env.now_ns();
    audited(
        ctx,
        caller,
        AuditAction::ReleaseRevoked {
            version: version.clone(),
        },
        |s| {
            let v = parse_version(&version)?;
            Ok(s.registry.revoke(&v, caller, now, reason)?)
        },
    )?;
    // The revocation stands even if clearing fails; the next one retries.
    let _ = chunk_store::clear_unneeded(ctx).await;
    Ok(())
}

fn audited<E: Env, G: Management, M: Memory, T>(
    ctx: &Ctx<'_, E, G, M>,
    caller: Principal,
    action: AuditAction,
    f: impl FnOnce(&mut crate::state::FactoryState<M>) -> Result<T, FactoryError>,
) -> Result<T, FactoryError> {
    let now = ctx.env.now_ns();
    ctx.with(|s| {
        let result = f(s);
        let error = result.as_ref().err().map(ToString::to_string);
        s.audit(now, caller, action, error);
        result
    })
}
