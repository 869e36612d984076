//! Releases across the fleet: approved (or revoked) once at the index, then
//! copied into each shard's own registry, one shard at a time.
//!
//! A shard's registry takes releases only from its index (`auth`), so a
//! shard installs nothing the index has not approved. The copy reuses the
//! shard's release endpoints, so it is hash-verified on arrival (the shard's
//! `commit_release` checks the SHA-256) and resumable (`begin_release`
//! answers the chunks still missing): a push interrupted anywhere is finished
//! by the next one, and a push of a done release changes nothing. Approval
//! on the shard puts the module into the shard's own chunk store, on its
//! subnet, as `install_chunked_code` needs. A revocation at the index is
//! pushed the same way, and a shard's registry then refuses that module
//! for good.

use crate::error::FactoryError;
use crate::fleet::shards::Shards;
use crate::state::FactoryState;
use candid::Principal;
use factory_api::methods::Method;
use factory_api::{ReleaseStateChange, ShardReleaseRow};
use ic_stable_structures::Memory;
use std::cell::RefCell;
use wasm_registry::{
    parse_version, BeginUpload, Release, ReleaseState, Sha256, UploadChunk, UploadStatus,
};

/// The next call to make on a shard, from the index's release state and
/// what the shard's `begin_release` answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Upload(Vec<u32>),
    Commit,
    Approve,
    Done,
    /// The shard holds it in a state the index's approval cannot lift
    /// (revoked or deprecated there).
    Refused(ReleaseState),
}

pub fn next_step(shard: &UploadStatus) -> Step {
    match shard.state {
        ReleaseState::Uploading if !shard.missing_chunks.is_empty() => {
            Step::Upload(shard.missing_chunks.clone())
        }
        ReleaseState::Uploading => Step::Commit,
        ReleaseState::Committed => Step::Approve,
        ReleaseState::Approved => Step::Done,
        other => Step::Refused(other),
    }
}

/// Pushes `version`'s state at the index to every shard, one after the
/// other; a shard that fails does not stop the others (its row says why).
pub async fn push_release<S: Shards, M: Memory>(
    state: &RefCell<FactoryState<M>>,
    shards: &S,
    version: String,
) -> Result<Vec<ShardReleaseRow>, FactoryError> {
    let v = parse_version(&version)?;
    let (release, ids) = {
        let s = state.borrow();
        let release = s.registry.release(&v).ok_or(FactoryError::UnknownTarget {
            version: version.clone(),
        })?;
        (release, s.fleet.shard_ids())
    };
    if !matches!(
        release.state,
        ReleaseState::Approved | ReleaseState::Revoked
    ) {
        return Err(FactoryError::TargetNotApproved {
            version,
            state: release.state,
        });
    }
    let mut rows = Vec::with_capacity(ids.len());
    for shard in ids {
        let result = match release.state {
            ReleaseState::Revoked => revoke_on(shards, shard, &release).await,
            _ => approve_on(state, shards, shard, &release).await,
        };
        rows.push(ShardReleaseRow { shard, result });
    }
    Ok(rows)
}

async fn approve_on<S: Shards, M: Memory>(
    state: &RefCell<FactoryState<M>>,
    shards: &S,
    shard: Principal,
    release: &Release,
) -> Result<ReleaseState, FactoryError> {
    let begin = BeginUpload {
        version: release.version.clone(),
        sha256: release.sha256,
        size: release.size,
        notes: release.notes.clone(),
        min_upgrade_from: release.min_upgrade_from.clone(),
        app_arg: release.app_arg.clone(),
    };
    let status: UploadStatus = shards.call(shard, Method::BeginRelease, (begin,)).await?;
    let mut step = next_step(&status);
    loop {
        step = match step {
            Step::Upload(missing) => {
                for index in missing {
                    let bytes = state
                        .borrow()
                        .registry
                        .module_chunk(&release.sha256, index)?;
                    let chunk = UploadChunk {
                        version: release.version.clone(),
                        index,
                        bytes: bytes.into(),
                        sha256: None,
                    };
                    let _: Sha256 = shards
                        .call(shard, Method::UploadReleaseChunk, (chunk,))
                        .await?;
                }
                Step::Commit
            }
            Step::Commit => {
                let r: Release = shards
                    .call(shard, Method::CommitRelease, (release.version.clone(),))
                    .await?;
                next_step(&UploadStatus {
                    version: r.version,
                    state: r.state,
                    chunk_count: 0,
                    missing_chunks: vec![],
                })
            }
            Step::Approve => {
                let state: ReleaseState = shards
                    .call(shard, Method::ApproveRelease, (release.version.clone(),))
                    .await?;
                if state == ReleaseState::Approved {
                    Step::Done
                } else {
                    // The shard's policy wants more approvers than its index.
                    return Ok(state);
                }
            }
            Step::Done => return Ok(ReleaseState::Approved),
            Step::Refused(state) => return Ok(state),
        }
    }
}

async fn revoke_on<S: Shards>(
    shards: &S,
    shard: Principal,
    release: &Release,
) -> Result<ReleaseState, FactoryError> {
    let reason = release
        .revoked
        .as_ref()
        .map(|c| c.reason.clone())
        .unwrap_or_else(|| "revoked at the index".into());
    let change = ReleaseStateChange {
        version: release.version.clone(),
        reason,
    };
    match shards
        .call::<_, ()>(shard, Method::RevokeRelease, (change,))
        .await
    {
        Ok(()) => Ok(ReleaseState::Revoked),
        // Never copied there: nothing to revoke (and the registry refuses the
        // module if the index ever pushes it: it is revoked at the index).
        Err(FactoryError::Registry(wasm_registry::RegistryError::UnknownVersion { .. })) => {
            Ok(ReleaseState::Revoked)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: ReleaseState, missing: Vec<u32>) -> UploadStatus {
        UploadStatus {
            version: "1.0.0".into(),
            state,
            chunk_count: 2,
            missing_chunks: missing,
        }
    }

    #[test]
    fn each_shard_state_has_one_next_step() {
        use ReleaseState::*;
        assert_eq!(
            next_step(&status(Uploading, vec![1])),
            Step::Upload(vec![1])
        );
        assert_eq!(next_step(&status(Uploading, vec![])), Step::Commit);
        assert_eq!(next_step(&status(Committed, vec![])), Step::Approve);
        assert_eq!(next_step(&status(Approved, vec![])), Step::Done);
        assert_eq!(next_step(&status(Revoked, vec![])), Step::Refused(Revoked));
        assert_eq!(
            next_step(&status(Deprecated, vec![])),
            Step::Refused(Deprecated)
        );
    }
}
