//! Publishing a release: hash, begin (which reports the chunks still missing,
//! so an interrupted publish resumes), upload 1 MiB chunks, commit, approve.

use crate::client::{ClientError, FactoryClient};
use crate::transport::Transport;
use sha2::{Digest, Sha256 as Sha};
use wasm_registry::{BeginUpload, Release, ReleaseState, Sha256, UploadChunk, CHUNK_SIZE};

#[derive(Clone, Debug, Default)]
pub struct PublishOptions {
    pub notes: String,
    pub min_upgrade_from: Option<String>,
    /// The app-defined argument (Candid bytes) every install of the release receives.
    pub app_arg: Option<Vec<u8>>,
    /// Approve after committing (counts as this admin's approval).
    pub approve: bool,
}

#[derive(Clone, Debug)]
pub struct PublishReport {
    pub release: Release,
    /// Chunks sent by this call (fewer than the total when resuming).
    pub chunks_uploaded: u32,
    pub chunks_total: u32,
    pub state: ReleaseState,
}

pub fn module_hash(module: &[u8]) -> Sha256 {
    Sha256(Sha::digest(module).into())
}

/// A wasm module (`\0asm`) or a gzipped one, as the IC accepts.
fn check_module_bytes(module: &[u8]) -> Result<(), ClientError> {
    if module.starts_with(b"\0asm") || module.starts_with(&[0x1f, 0x8b]) {
        Ok(())
    } else {
        Err(ClientError::Invalid(
            "not a wasm module: expected \\0asm or gzip magic bytes".into(),
        ))
    }
}

impl<T: Transport> FactoryClient<T> {
    /// Publishes `module` as `version`; `progress(sent, total)` after each chunk.
    pub fn publish_release(
        &self,
        version: &str,
        module: &[u8],
        options: &PublishOptions,
        mut progress: impl FnMut(u32, u32),
    ) -> Result<PublishReport, ClientError> {
        check_module_bytes(module)?;
        let status = self.begin_release(BeginUpload {
            version: version.into(),
            sha256: module_hash(module),
            size: module.len() as u64,
            notes: options.notes.clone(),
            min_upgrade_from: options.min_upgrade_from.clone(),
            app_arg: options.app_arg.clone().map(serde_bytes::ByteBuf::from),
        })?;
        let total = status.chunk_count;
        let mut sent = 0;
        progress(total - status.missing_chunks.len() as u32, total);
        for index in &status.missing_chunks {
            let start = *index as usize * CHUNK_SIZE as usize;
            let end = (start + CHUNK_SIZE as usize).min(module.len());
            let bytes = &module[start..end];
            self.upload_release_chunk(UploadChunk {
                version: version.into(),
                index: *index,
                bytes: serde_bytes::ByteBuf::from(bytes.to_vec()),
                sha256: Some(module_hash(bytes)),
            })?;
            sent += 1;
            progress(total - status.missing_chunks.len() as u32 + sent, total);
        }
        let mut release = self.commit_release(version)?;
        if options.approve && release.state == ReleaseState::Committed {
            self.approve_release(version)?;
            release = self.get_release(version)?;
        }
        Ok(PublishReport {
            state: release.state,
            release,
            chunks_uploaded: sent,
            chunks_total: total,
        })
    }
}
