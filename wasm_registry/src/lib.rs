//! Registry of approved wasm releases for the factory canister (DESIGN.md, flow 2).
//!
//! Pure Rust over `ic-stable-structures` memories, without ic-cdk: time (`now_ns`) and the
//! caller (`Principal`) are arguments, so everything runs natively in tests. Who may call what
//! is the factory's business; the registry only refuses the anonymous principal.
//!
//! # Model
//! - A **release** is a semver version (no build metadata) with a module, notes, the uploader,
//!   approvals, timestamps and a [`ReleaseState`]:
//!   `Uploading → Committed → Approved → Deprecated | Revoked` (`Committed → Deprecated | Revoked`
//!   too). Only `Approved` releases are installable.
//! - **Modules** are stored once per SHA-256 and reference-counted by the committed, non-revoked
//!   releases using them; each is one contiguous extent of the blob memory, read back in
//!   [`CHUNK_SIZE`] (1 MiB) chunks whose hashes are the release's `chunk_hashes`.
//! - **Upload**: [`Registry::begin_upload`] (version, SHA-256, size, notes, optional
//!   `min_upgrade_from`) → [`Registry::upload_chunk`] (any order, idempotent, chunk `i` covers
//!   `[i·CHUNK_SIZE, min((i+1)·CHUNK_SIZE, size))`) → [`Registry::commit_upload`] (SHA-256, size,
//!   wasm or gzipped wasm ≤ 100 MiB). [`Registry::abort_upload`] and
//!   [`Registry::expire_uploads`] free an upload's space.
//! - **Approval**: [`Registry::approve`] by distinct principals per [`RegistryConfig`]
//!   (`approvals_required`, `uploader_counts`; stored, changed with [`Registry::set_config`]),
//!   then [`Registry::deprecate`] / [`Registry::revoke`].
//! - **Paths**: [`Registry::newest_approved`], [`Registry::check_upgrade`],
//!   [`Registry::next_step`].
//! - **Modules for the chunk store**: [`Registry::module_chunks`] / [`Registry::module_chunk`],
//!   [`Registry::needed_modules`], [`Registry::needed_chunk_hashes`].
//! - **Queries**: [`Registry::release`], [`Registry::list_releases`] (paged),
//!   [`Registry::upload_status`], [`Registry::uploads_in_progress`], [`Registry::module_info`],
//!   [`Registry::config`], [`Registry::stats`].
//!
//! Every refusal is a [`RegistryError`] (or a [`PathError`] for path rules) variant.
//!
//! # Memory
//! [`RegistryMemories`] lists the 5 memories (one per stable structure; offsets 0..5 in
//! [`RegistryMemories::from_fn`]): meta (config, uploads in progress), releases, modules,
//! free extents, and the blob memory holding module bytes, one contiguous extent per module.
//! Re-opening the registry on the same memories, e.g. in `post_upgrade`, finds everything as it
//! was; nothing needs saving in `pre_upgrade`. A release costs its module size plus a small
//! constant, [`RELEASE_OVERHEAD_BYTES`] (measured by the `overhead` test). Aborted, expired
//! and revoked modules' space is reused by later uploads (stable memory itself never shrinks).
//! Stable-structure inserts trap if stable memory cannot grow at all, as everywhere on the IC;
//! module space is checked first and refused with `OutOfStableMemory`.
//!
//! # Example
//! ```
//! use candid::Principal;
//! use ic_stable_structures::{memory_manager::{MemoryId, MemoryManager}, DefaultMemoryImpl};
//! use wasm_registry::*;
//!
//! let mm = MemoryManager::init(DefaultMemoryImpl::default());
//! let mut reg = Registry::init(RegistryMemories::from_fn(|i| mm.get(MemoryId::new(10 + i))));
//! let (alice, bob) = (Principal::from_slice(&[1]), Principal::from_slice(&[2]));
//!
//! let module = b"\0asm\x01\0\0\0".to_vec();
//! reg.begin_upload(BeginUpload {
//!     version: "1.0.0".into(), sha256: Sha256::of(&module), size: module.len() as u64,
//!     notes: "first".into(), min_upgrade_from: None, app_arg: None,
//! }, alice, 0)?;
//! reg.upload_chunk(UploadChunk {
//!     version: "1.0.0".into(), index: 0, bytes: module.clone().into(), sha256: None,
//! }, 1)?;
//! let v1 = parse_version("1.0.0")?;
//! let release = reg.commit_upload(&v1, 2)?;
//! assert_eq!(reg.approve(&v1, bob, 3)?, ReleaseState::Approved);
//! assert_eq!(reg.newest_approved().map(|r| r.version), Some("1.0.0".to_string()));
//! let chunks: Vec<Vec<u8>> = reg.module_chunks(&release.sha256)?.collect();
//! assert_eq!(chunks, vec![module]);
//! # Ok::<(), RegistryError>(())
//! ```

mod approval;
mod blob_store;
mod error;
#[cfg(test)]
mod golden_tests;
mod module_check;
mod module_version;
mod path;
mod registry;
mod storage;
mod types;
mod upload;

pub use error::{PathError, RegistryError};
pub use module_check::{check_module, ModuleKind, WASM_HEADER};
pub use module_version::{embedded_version, VERSION_SECTION};
pub use registry::Registry;
pub use storage::RegistryMemories;
pub use types::{
    Approval, BeginUpload, ModuleInfo, RegistryConfig, RegistryStats, Release, ReleaseState,
    Sha256, StateChange, UploadChunk, UploadProgress, UploadStatus,
};

/// Chunk size: the IC's chunk store takes chunks of at most 1 MiB.
pub const CHUNK_SIZE: u64 = 1 << 20;
/// The IC's wasm limit (`WASM_MAX_SIZE`), for the stored module and for its gunzipped content.
pub const MAX_MODULE_SIZE: u64 = 100 << 20;
/// Longest version string accepted.
pub const MAX_VERSION_LEN: usize = 64;
pub const MAX_NOTES_LEN: usize = 8 * 1024;
/// Largest app argument a release carries (Candid bytes). Small on purpose: it
/// travels in every install's argument and in every `list_releases` page, and a
/// page of `MAX_PAGE_SIZE` releases with full notes and arguments must stay
/// under the IC's 2 MiB reply limit (`MAX_INTER_CANISTER_PAYLOAD_IN_BYTES`,
/// dfinity/ic `rs/limits/src/lib.rs`).
pub const MAX_APP_ARG_LEN: usize = 8 * 1024;
/// Longest deprecation or revocation reason.
pub const MAX_REASON_LEN: usize = 1024;
/// Uploads in progress at once: each reserves its whole module size until committed or aborted.
pub const MAX_PENDING_UPLOADS: usize = 4;
/// Largest page `list_releases` returns.
pub const MAX_PAGE_SIZE: usize = 100;
pub const MAX_APPROVALS_REQUIRED: u32 = 32;
/// Stable-memory bytes a release costs beyond its module bytes: 522 measured (rounded up here)
/// by the `overhead` test over 200 approved releases (one-chunk module, empty notes, two
/// approvals), which fails if this drifts. On top: the notes' bytes, 33 bytes per further 1 MiB
/// chunk (its hash), at most 40 bytes per further approval. Module bytes themselves are packed
/// with no per-module padding; a module shared by several releases is stored once.
pub const RELEASE_OVERHEAD_BYTES: u64 = 528;

/// Parses a release version: semver, at most [`MAX_VERSION_LEN`] bytes, no build metadata.
pub fn parse_version(text: &str) -> Result<semver::Version, RegistryError> {
    if text.len() > MAX_VERSION_LEN {
        return Err(RegistryError::VersionTooLong {
            len: text.len() as u64,
            max: MAX_VERSION_LEN as u64,
        });
    }
    let version = semver::Version::parse(text).map_err(|e| RegistryError::InvalidVersion {
        version: text.to_string(),
        reason: e.to_string(),
    })?;
    if !version.build.is_empty() {
        return Err(RegistryError::BuildMetadataNotAllowed {
            version: text.to_string(),
        });
    }
    Ok(version)
}

pub(crate) fn chunk_count(size: u64) -> u32 {
    size.div_ceil(CHUNK_SIZE) as u32
}

/// Length of chunk `index` of a `size`-byte module (0 past the end).
pub(crate) fn chunk_len(size: u64, index: u32) -> u64 {
    let start = u64::from(index) * CHUNK_SIZE;
    size.saturating_sub(start).min(CHUNK_SIZE)
}
