//! Chunked upload: begin → chunks (any order, idempotent) → commit, or abort / expiry.
//!
//! `begin_upload` reserves the module's whole extent in the blob memory, so chunk `i` is written
//! straight to `offset + i * CHUNK_SIZE` and commit assembles nothing: it hashes and checks the
//! extent in place. A module already stored under another release is de-duplicated at commit
//! (the upload's extent is freed and the stored module's reference count goes up).

use crate::error::RegistryError;
use crate::module_check::check_module;
use crate::module_version::embedded_version;
use crate::registry::Registry;
use crate::storage::{HashKey, ModuleEntry, StoredRelease};
use crate::types::{
    BeginUpload, Release, ReleaseState, Sha256, UploadChunk, UploadProgress, UploadStatus,
};
use crate::{
    chunk_count, chunk_len, parse_version, CHUNK_SIZE, MAX_APP_ARG_LEN, MAX_MODULE_SIZE,
    MAX_NOTES_LEN, MAX_PENDING_UPLOADS,
};
use candid::Principal;
use ic_stable_structures::Memory;
use semver::Version;
use std::io::Read;

/// An app argument within `MAX_APP_ARG_LEN` that is a Candid message (its
/// `DIDL` magic): the app's own type is checked by the app, at install, with
/// the guest library's `InstallArgs::app_arg`.
fn check_app_arg(arg: &[u8]) -> Result<(), RegistryError> {
    if arg.len() > MAX_APP_ARG_LEN {
        return Err(RegistryError::AppArgTooLarge {
            len: arg.len() as u64,
            max: MAX_APP_ARG_LEN as u64,
        });
    }
    if !arg.starts_with(b"DIDL") {
        return Err(RegistryError::AppArgNotCandid);
    }
    Ok(())
}

impl<M: Memory> Registry<M> {
    /// Starts (or resumes) the upload of release `args.version`. Calling it again with the same
    /// version, SHA-256 and size returns the current status (what is still missing), whatever
    /// the state; the same version with another module replaces an upload that is not yet
    /// committed, and is `VersionConflict` once it is.
    pub fn begin_upload(
        &mut self,
        args: BeginUpload,
        caller: Principal,
        now_ns: u64,
    ) -> Result<UploadStatus, RegistryError> {
        if caller == Principal::anonymous() {
            return Err(RegistryError::AnonymousCaller);
        }
        let version = parse_version(&args.version)?;
        if args.size == 0 {
            return Err(RegistryError::EmptyModule);
        }
        if args.size > MAX_MODULE_SIZE {
            return Err(RegistryError::ModuleTooLarge {
                size: args.size,
                max: MAX_MODULE_SIZE,
            });
        }
        if args.notes.len() > MAX_NOTES_LEN {
            return Err(RegistryError::NotesTooLong {
                len: args.notes.len() as u64,
                max: MAX_NOTES_LEN as u64,
            });
        }
        if let Some(arg) = &args.app_arg {
            check_app_arg(arg)?;
        }
        let min_upgrade_from = args
            .min_upgrade_from
            .as_deref()
            .map(parse_version)
            .transpose()?;
        if let Some(min) = &min_upgrade_from {
            if *min >= version {
                return Err(RegistryError::InvalidMinUpgradeFrom {
                    version: version.to_string(),
                    min_upgrade_from: min.to_string(),
                });
            }
        }

        if let Ok(stored) = self.stored(&version) {
            let other_module = stored.release.sha256 != args.sha256
                || stored.release.size != args.size
                || stored.release.app_arg != args.app_arg;
            if other_module && stored.release.state == ReleaseState::Uploading {
                // Not a release until committed (a failed commit leaves it here
                // for good): another module replaces the upload rather than
                // using the version up forever.
                self.abort_upload(&version)?;
            }
        }
        if let Ok(mut stored) = self.stored(&version) {
            let r = &stored.release;
            if r.sha256 != args.sha256 || r.size != args.size {
                return Err(RegistryError::VersionConflict {
                    version: version.to_string(),
                    existing_sha256: r.sha256,
                    existing_size: r.size,
                });
            }
            if r.app_arg != args.app_arg {
                return Err(RegistryError::AppArgConflict {
                    version: version.to_string(),
                });
            }
            if let Some(progress) = stored.release.upload.as_mut() {
                progress.last_activity_ns = now_ns;
                let status = status_of(&stored.release);
                self.save(&version, stored);
                return Ok(status);
            }
            return Ok(status_of(&stored.release));
        }

        self.refuse_revoked_module(&args.sha256)?;
        // Each upload holds its whole size until commit or abort: bound what can be held.
        if self.meta.get().uploads.len() >= MAX_PENDING_UPLOADS {
            return Err(RegistryError::TooManyUploads {
                max: MAX_PENDING_UPLOADS as u64,
            });
        }
        let offset = self.blobs.alloc(args.size)?;
        let release = Release {
            version: version.to_string(),
            sha256: args.sha256,
            size: args.size,
            chunk_hashes: Vec::new(),
            notes: args.notes,
            min_upgrade_from: min_upgrade_from.map(|v| v.to_string()),
            app_arg: args.app_arg,
            uploader: caller,
            state: ReleaseState::Uploading,
            created_ns: now_ns,
            committed_ns: None,
            approvals: Vec::new(),
            approved_ns: None,
            deprecated: None,
            revoked: None,
            upload: Some(UploadProgress {
                chunks: vec![None; chunk_count(args.size) as usize],
                last_activity_ns: now_ns,
            }),
        };
        let status = status_of(&release);
        self.save(
            &version,
            StoredRelease {
                release,
                upload_extent: Some(offset),
            },
        );
        self.update_meta(|meta| meta.uploads.push(version.to_string()));
        Ok(status)
    }

    /// Stores chunk `args.index` and returns its SHA-256 (as the IC's `upload_chunk` does).
    /// Re-sending identical bytes is a no-op; other bytes at a filled index are refused.
    pub fn upload_chunk(
        &mut self,
        args: UploadChunk,
        now_ns: u64,
    ) -> Result<Sha256, RegistryError> {
        let version = parse_version(&args.version)?;
        let mut stored = self.stored(&version)?;
        let size = stored.release.size;
        let (Some(offset), Some(progress)) = (stored.upload_extent, stored.release.upload.as_mut())
        else {
            return Err(invalid_state(&stored.release, "upload a chunk to"));
        };
        let len = args.bytes.len() as u64;
        if len > CHUNK_SIZE {
            return Err(RegistryError::ChunkTooLarge {
                len,
                max: CHUNK_SIZE,
            });
        }
        let index = args.index;
        let count = chunk_count(size);
        let Some(slot) = progress.chunks.get_mut(index as usize) else {
            return Err(RegistryError::ChunkPastEnd {
                index,
                chunk_count: count,
            });
        };
        let expected_len = chunk_len(size, index);
        if len != expected_len {
            return Err(RegistryError::ChunkSizeMismatch {
                index,
                expected: expected_len,
                actual: len,
            });
        }
        let actual = Sha256::of(&args.bytes);
        if let Some(expected) = args.sha256 {
            if expected != actual {
                return Err(RegistryError::ChunkHashMismatch {
                    index,
                    expected,
                    actual,
                });
            }
        }
        match *slot {
            Some(existing) if existing != actual => {
                return Err(RegistryError::ChunkConflict {
                    index,
                    existing,
                    actual,
                })
            }
            Some(_) => {}
            None => {
                self.blobs
                    .write(offset + u64::from(index) * CHUNK_SIZE, &args.bytes);
                *slot = Some(actual);
            }
        }
        progress.last_activity_ns = now_ns;
        self.save(&version, stored);
        Ok(actual)
    }

    /// Where the upload of `version` stands.
    pub fn upload_status(&self, version: &Version) -> Result<UploadStatus, RegistryError> {
        Ok(status_of(&self.stored(version)?.release))
    }

    /// Verifies and commits an upload: every chunk present, SHA-256 of the whole equal to the
    /// declared one, and the bytes a wasm module (or gzip of one within 100 MiB). On success the
    /// release is `Committed`. Committing a release that is already past `Uploading` returns it
    /// unchanged, so a retried commit is harmless. A failed commit leaves the upload as it was:
    /// abort it to start over.
    pub fn commit_upload(
        &mut self,
        version: &Version,
        now_ns: u64,
    ) -> Result<Release, RegistryError> {
        let mut stored = self.stored(version)?;
        let (Some(offset), Some(progress)) = (stored.upload_extent, stored.release.upload.take())
        else {
            return Ok(stored.release);
        };
        let missing = missing_chunks(&progress);
        if !missing.is_empty() {
            return Err(RegistryError::MissingChunks { missing });
        }
        let release = &mut stored.release;
        let size = release.size;
        let actual = self.hash_extent(offset, size);
        if actual != release.sha256 {
            return Err(RegistryError::HashMismatch {
                expected: release.sha256,
                actual,
            });
        }
        check_module(self.blobs.reader(offset, size), MAX_MODULE_SIZE)?;
        if let Some(embedded) = embedded_version(self.blobs.reader(offset, size)) {
            if Version::parse(embedded.trim()).ok().as_ref() != Some(version) {
                return Err(RegistryError::EmbeddedVersionMismatch {
                    version: version.to_string(),
                    embedded,
                });
            }
        }
        // A release revoked since this upload began may have had the same module.
        self.refuse_revoked_module(&release.sha256)?;

        let key = HashKey(release.sha256);
        match self.modules.get(&key) {
            // Not revoked (checked above), so live: share it and drop this copy.
            Some(mut entry) => {
                entry.refs = entry.refs.saturating_add(1);
                self.modules.insert(key, entry);
                self.blobs.free(offset, size);
            }
            None => {
                self.modules.insert(
                    key,
                    ModuleEntry {
                        offset,
                        size,
                        refs: 1,
                        revoked: false,
                    },
                );
            }
        }
        release.chunk_hashes = progress.chunks.into_iter().flatten().collect();
        release.state = ReleaseState::Committed;
        release.committed_ns = Some(now_ns);
        stored.upload_extent = None;
        let committed = stored.release.clone();
        self.save(version, stored);
        self.forget_upload(version);
        Ok(committed)
    }

    /// Abandons an upload and frees its space. Only `Uploading` releases can be aborted (a
    /// committed one is revoked instead).
    pub fn abort_upload(&mut self, version: &Version) -> Result<(), RegistryError> {
        let stored = self.stored(version)?;
        let Some(offset) = stored.upload_extent else {
            return Err(invalid_state(&stored.release, "abort"));
        };
        self.blobs.free(offset, stored.release.size);
        self.releases
            .remove(&crate::storage::VersionKey(version.clone()));
        self.forget_upload(version);
        Ok(())
    }

    fn forget_upload(&mut self, version: &Version) {
        let text = version.to_string();
        self.update_meta(|meta| meta.uploads.retain(|v| *v != text));
    }

    /// Aborts every upload idle for more than `max_age_ns` (no begin or chunk since), and
    /// returns their versions.
    pub fn expire_uploads(&mut self, now_ns: u64, max_age_ns: u64) -> Vec<Version> {
        let expired: Vec<Version> = self
            .uploads_in_progress()
            .into_iter()
            .filter(|version| {
                let last = self
                    .stored(version)
                    .ok()
                    .and_then(|s| s.release.upload)
                    .map(|u| u.last_activity_ns);
                last.is_some_and(|last| now_ns.saturating_sub(last) > max_age_ns)
            })
            .collect();
        for v in &expired {
            // Each was found `Uploading` just above, so abort cannot fail.
            let _ = self.abort_upload(v);
        }
        expired
    }

    fn hash_extent(&self, offset: u64, size: u64) -> Sha256 {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        let mut reader = self.blobs.reader(offset, size);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // Reading stable memory cannot fail; `ExtentReader` never returns an error.
            let n = reader.read(&mut buf).unwrap_or(0);
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Sha256(hasher.finalize().into())
    }

    fn refuse_revoked_module(&self, sha256: &Sha256) -> Result<(), RegistryError> {
        let revoked = self
            .modules
            .get(&HashKey(*sha256))
            .is_some_and(|e| e.revoked);
        if !revoked {
            return Ok(());
        }
        // Only on this error path: find which release it was, for the message.
        let revoked_version = self
            .releases
            .values()
            .find(|s| s.release.state == ReleaseState::Revoked && s.release.sha256 == *sha256)
            .map(|s| s.release.version)
            .unwrap_or_default();
        Err(RegistryError::ModuleRevoked {
            sha256: *sha256,
            revoked_version,
        })
    }
}

fn missing_chunks(progress: &UploadProgress) -> Vec<u32> {
    (0u32..)
        .zip(&progress.chunks)
        .filter(|(_, c)| c.is_none())
        .map(|(i, _)| i)
        .collect()
}

fn status_of(release: &Release) -> UploadStatus {
    UploadStatus {
        version: release.version.clone(),
        state: release.state,
        chunk_count: chunk_count(release.size),
        missing_chunks: release
            .upload
            .as_ref()
            .map(missing_chunks)
            .unwrap_or_default(),
    }
}

pub(crate) fn invalid_state(release: &Release, operation: &str) -> RegistryError {
    RegistryError::InvalidState {
        version: release.version.clone(),
        state: release.state,
        operation: operation.to_string(),
    }
}
