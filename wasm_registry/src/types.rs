//! Public data types. They derive `CandidType`/`Deserialize` so the factory can expose them in its
//! Candid interface as they are; versions travel as text (semver strings) because Candid has no
//! semver type.

use candid::{CandidType, Principal};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A SHA-256 digest. Candid: `blob` (exactly 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    /// SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest;
        Self(sha2::Sha256::digest(bytes).into())
    }

    /// Lower-case hex, the form `sha256sum` prints.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.to_hex())
    }
}

impl From<[u8; 32]> for Sha256 {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl CandidType for Sha256 {
    fn _ty() -> candid::types::Type {
        <serde_bytes::ByteBuf as CandidType>::ty()
    }
    fn idl_serialize<S: candid::types::Serializer>(&self, serializer: S) -> Result<(), S::Error> {
        serializer.serialize_blob(&self.0)
    }
}

impl Serialize for Sha256 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let buf = serde_bytes::ByteBuf::deserialize(deserializer)?;
        let bytes: [u8; 32] = buf.as_slice().try_into().map_err(|_| {
            serde::de::Error::custom(format!("a SHA-256 is 32 bytes, got {}", buf.len()))
        })?;
        Ok(Self(bytes))
    }
}

/// Life cycle of a release. Only `Approved` releases are installed; `Deprecated` and `Revoked`
/// are terminal for new installs (canisters already on a deprecated version stay on it).
#[derive(CandidType, Deserialize, Serialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReleaseState {
    /// `begin_upload` was called; chunks are arriving.
    Uploading,
    /// The module was assembled and verified (SHA-256, size, wasm); waiting for approvals.
    Committed,
    /// Enough distinct admins approved: installable, and a candidate for `newest_approved`.
    Approved,
    /// No new installs or rollouts; canisters on it keep it. Module bytes are kept (rollback).
    Deprecated,
    /// Never installed again. Its module bytes are freed once no other release uses them.
    Revoked,
}

impl fmt::Display for ReleaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Uploading => "uploading",
            Self::Committed => "committed",
            Self::Approved => "approved",
            Self::Deprecated => "deprecated",
            Self::Revoked => "revoked",
        })
    }
}

/// One admin's approval.
#[derive(CandidType, Deserialize, Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub by: Principal,
    pub at_ns: u64,
}

/// Who deprecated or revoked a release, when, and why.
#[derive(CandidType, Deserialize, Serialize, Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    pub by: Principal,
    pub at_ns: u64,
    pub reason: String,
}

/// Progress of an upload that is not committed yet.
#[derive(CandidType, Deserialize, Serialize, Debug, Clone, PartialEq, Eq)]
pub struct UploadProgress {
    /// One slot per chunk: the SHA-256 of the chunk received at that index, if any.
    pub chunks: Vec<Option<Sha256>>,
    /// Last `begin_upload` or `upload_chunk` on this release; `expire_uploads` measures from it.
    pub last_activity_ns: u64,
}

/// A release: one semver version, its module (by SHA-256) and its approval history.
#[derive(CandidType, Deserialize, Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Semver, without build metadata (it has no precedence, so it could not order releases).
    pub version: String,
    /// SHA-256 of the module bytes as stored (the gzip bytes for a gzipped module): the
    /// `wasm_module_hash` of `install_chunked_code` and the hash the IC reports as module hash.
    pub sha256: Sha256,
    /// Module size in bytes.
    pub size: u64,
    /// SHA-256 of each ≤ 1 MiB chunk, in order: the `chunk_hashes_list` of
    /// `install_chunked_code`. Empty until committed (see `upload` meanwhile).
    pub chunk_hashes: Vec<Sha256>,
    pub notes: String,
    /// Canisters older than this must first upgrade to an intermediate release.
    pub min_upgrade_from: Option<String>,
    /// The app's own argument (Candid bytes), fixed when the upload begins and so
    /// covered by the approvals: the factory passes it to every install and
    /// upgrade to this release (`factory_guest::InstallArgs::app_arg`).
    pub app_arg: Option<serde_bytes::ByteBuf>,
    pub uploader: Principal,
    pub state: ReleaseState,
    pub created_ns: u64,
    pub committed_ns: Option<u64>,
    pub approvals: Vec<Approval>,
    pub approved_ns: Option<u64>,
    pub deprecated: Option<StateChange>,
    pub revoked: Option<StateChange>,
    /// Present while `state == Uploading`.
    pub upload: Option<UploadProgress>,
}

impl Release {
    /// The release's version, parsed. Stored versions were validated on the way in.
    pub fn semver(&self) -> Option<semver::Version> {
        semver::Version::parse(&self.version).ok()
    }
}

/// Argument of `begin_upload`.
#[derive(CandidType, Deserialize, Serialize, Debug, Clone, PartialEq, Eq)]
pub struct BeginUpload {
    pub version: String,
    /// SHA-256 of the whole module, checked at commit.
    pub sha256: Sha256,
    /// Size of the whole module in bytes; fixes the number and length of the chunks.
    pub size: u64,
    pub notes: String,
    /// Oldest version that may upgrade straight to this one (must be lower than `version`).
    pub min_upgrade_from: Option<String>,
    /// The app-defined argument installs of this release receive: Candid
    /// bytes, at most `MAX_APP_ARG_LEN`.
    pub app_arg: Option<serde_bytes::ByteBuf>,
}

/// Argument of `upload_chunk`. Chunk `index` covers bytes
/// `[index * CHUNK_SIZE, min((index + 1) * CHUNK_SIZE, size))` of the module.
#[derive(CandidType, Deserialize, Serialize, Debug, Clone, PartialEq, Eq)]
pub struct UploadChunk {
    pub version: String,
    pub index: u32,
    pub bytes: serde_bytes::ByteBuf,
    /// If given, the chunk is refused unless its SHA-256 is this (catches transport mix-ups early).
    pub sha256: Option<Sha256>,
}

/// Where an upload stands; returned by `begin_upload` so an interrupted upload can resume.
#[derive(CandidType, Deserialize, Serialize, Debug, Clone, PartialEq, Eq)]
pub struct UploadStatus {
    pub version: String,
    pub state: ReleaseState,
    pub chunk_count: u32,
    /// Chunk indexes still to upload (empty once committed).
    pub missing_chunks: Vec<u32>,
}

/// Approval policy, stored in the registry's config memory.
#[derive(CandidType, Deserialize, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Distinct approvers needed before a committed release becomes `Approved` (≥ 1).
    pub approvals_required: u32,
    /// Whether the uploader may approve their own release (and be counted).
    pub uploader_counts: bool,
}

impl Default for RegistryConfig {
    /// Four-eyes by default: one approval, from someone other than the uploader. A single-admin
    /// deployment opts out with `uploader_counts = true`.
    fn default() -> Self {
        Self {
            approvals_required: 1,
            uploader_counts: false,
        }
    }
}

/// A stored module (content-addressed, shared by every release with the same SHA-256).
#[derive(CandidType, Deserialize, Serialize, Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    pub sha256: Sha256,
    pub size: u64,
    pub chunk_count: u32,
    /// Non-revoked committed releases using it. The module is freed when this reaches 0.
    pub releases: u32,
}

/// Space accounting, for metrics and for measuring the per-release overhead.
#[derive(CandidType, Deserialize, Serialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryStats {
    pub releases: u64,
    pub uploads_in_progress: u64,
    pub modules: u64,
    /// Bytes of committed modules (each counted once).
    pub module_bytes: u64,
    /// Bytes reserved by uploads in progress.
    pub upload_bytes: u64,
    /// Size of the blob memory, and how much of it is free for reuse.
    pub blob_capacity_bytes: u64,
    pub blob_free_bytes: u64,
}
