//! Every refusal has its own variant, so callers (and tests) can tell them apart, and a message
//! that says what to do.

use crate::types::{ReleaseState, Sha256};
use candid::{CandidType, Principal};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Errors of the registry's upload, approval and module operations.
#[derive(CandidType, Deserialize, Serialize, Debug, Clone, PartialEq, Eq)]
pub enum RegistryError {
    /// Not a semver version (`reason` is the parser's message).
    InvalidVersion {
        version: String,
        reason: String,
    },
    /// `1.2.3+build` style versions are refused: build metadata has no precedence in semver.
    BuildMetadataNotAllowed {
        version: String,
    },
    VersionTooLong {
        len: u64,
        max: u64,
    },
    /// `min_upgrade_from` must be lower than the release's own version.
    InvalidMinUpgradeFrom {
        version: String,
        min_upgrade_from: String,
    },
    EmptyModule,
    /// Declared size (or decompressed size, see `GzipTooLarge`) above the IC's 100 MiB limit.
    ModuleTooLarge {
        size: u64,
        max: u64,
    },
    NotesTooLong {
        len: u64,
        max: u64,
    },
    AppArgTooLarge {
        len: u64,
        max: u64,
    },
    /// The app argument does not start with Candid's `DIDL` magic.
    AppArgNotCandid,
    /// The version was committed with another app argument.
    AppArgConflict {
        version: String,
    },
    ReasonTooLong {
        len: u64,
        max: u64,
    },
    /// The version exists with another module hash or size.
    VersionConflict {
        version: String,
        existing_sha256: Sha256,
        existing_size: u64,
    },
    /// A revoked release had this module: it is never accepted again, under any version.
    ModuleRevoked {
        sha256: Sha256,
        revoked_version: String,
    },
    TooManyUploads {
        max: u64,
    },
    /// The blob memory could not grow by the pages this upload needs.
    OutOfStableMemory {
        requested_bytes: u64,
    },
    UnknownVersion {
        version: String,
    },
    UnknownModule {
        sha256: Sha256,
    },
    /// The operation does not apply to a release in this state.
    InvalidState {
        version: String,
        state: ReleaseState,
        operation: String,
    },
    ChunkTooLarge {
        len: u64,
        max: u64,
    },
    /// The chunk index lies past the declared module size.
    ChunkPastEnd {
        index: u32,
        chunk_count: u32,
    },
    /// A chunk must fill its slot exactly (all chunks are 1 MiB except the last).
    ChunkSizeMismatch {
        index: u32,
        expected: u64,
        actual: u64,
    },
    /// The chunk's SHA-256 is not the one the uploader declared with it.
    ChunkHashMismatch {
        index: u32,
        expected: Sha256,
        actual: Sha256,
    },
    /// Other bytes were already uploaded at this index.
    ChunkConflict {
        index: u32,
        existing: Sha256,
        actual: Sha256,
    },
    /// Commit before every chunk arrived.
    MissingChunks {
        missing: Vec<u32>,
    },
    /// The assembled module's SHA-256 is not the one declared at `begin_upload`.
    HashMismatch {
        expected: Sha256,
        actual: Sha256,
    },
    /// Neither `\0asm` version 1 nor gzip (`gzipped = false`), or gzip whose content is not.
    NotWasm {
        gzipped: bool,
    },
    InvalidGzip {
        reason: String,
    },
    /// The gzip stream inflates past the IC's 100 MiB limit (decoding stopped at the limit).
    GzipTooLarge {
        max: u64,
    },
    /// The module's `icp:public release_version` metadata names another version than the
    /// release it is uploaded as.
    EmbeddedVersionMismatch {
        version: String,
        embedded: String,
    },
    AlreadyApproved {
        version: String,
        approver: Principal,
    },
    UploaderCannotApprove {
        version: String,
    },
    AnonymousCaller,
    InvalidConfig {
        reason: String,
    },
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RegistryError::*;
        match self {
            InvalidVersion { version, reason } => {
                write!(f, "'{version}' is not a semver version: {reason}")
            }
            BuildMetadataNotAllowed { version } => write!(
                f,
                "'{version}' has build metadata, which semver ignores for ordering; drop the '+...' part"
            ),
            VersionTooLong { len, max } => {
                write!(f, "version string is {len} bytes, at most {max} allowed")
            }
            InvalidMinUpgradeFrom { version, min_upgrade_from } => write!(
                f,
                "min_upgrade_from {min_upgrade_from} must be lower than the release version {version}"
            ),
            EmptyModule => write!(f, "the module size must be at least 1 byte"),
            ModuleTooLarge { size, max } => {
                write!(f, "module of {size} bytes exceeds the IC's limit of {max} bytes")
            }
            NotesTooLong { len, max } => write!(f, "notes are {len} bytes, at most {max} allowed"),
            AppArgTooLarge { len, max } => {
                write!(f, "the app argument is {len} bytes, at most {max} allowed")
            }
            AppArgNotCandid => write!(
                f,
                "the app argument is not a Candid message (no DIDL header): encode it with candid::encode_one or didc"
            ),
            AppArgConflict { version } => write!(
                f,
                "version {version} already exists with another app argument; publish it under a new version"
            ),
            ReasonTooLong { len, max } => {
                write!(f, "reason is {len} bytes, at most {max} allowed")
            }
            VersionConflict { version, existing_sha256, existing_size } => write!(
                f,
                "version {version} already exists with module {existing_sha256} ({existing_size} bytes); \
                 publish the new module under a new version"
            ),
            ModuleRevoked { sha256, revoked_version } => write!(
                f,
                "module {sha256} belongs to revoked release {revoked_version} and can never be published again"
            ),
            TooManyUploads { max } => write!(
                f,
                "{max} uploads are already in progress; commit or abort one first"
            ),
            OutOfStableMemory { requested_bytes } => write!(
                f,
                "stable memory cannot grow to hold {requested_bytes} more bytes"
            ),
            UnknownVersion { version } => write!(f, "no release with version {version}"),
            UnknownModule { sha256 } => write!(f, "no stored module with SHA-256 {sha256}"),
            InvalidState { version, state, operation } => {
                write!(f, "cannot {operation} release {version}: it is {state}")
            }
            ChunkTooLarge { len, max } => {
                write!(f, "chunk of {len} bytes exceeds the {max}-byte chunk limit")
            }
            ChunkPastEnd { index, chunk_count } => write!(
                f,
                "chunk index {index} is past the declared size (chunks 0..{chunk_count})"
            ),
            ChunkSizeMismatch { index, expected, actual } => write!(
                f,
                "chunk {index} must be {expected} bytes for the declared size, got {actual}"
            ),
            ChunkHashMismatch { index, expected, actual } => write!(
                f,
                "chunk {index} has SHA-256 {actual}, the uploader declared {expected}"
            ),
            ChunkConflict { index, existing, actual } => write!(
                f,
                "chunk {index} was already uploaded with SHA-256 {existing}; these bytes hash to {actual}"
            ),
            MissingChunks { missing } => {
                write!(f, "cannot commit: {} chunk(s) missing: {missing:?}", missing.len())
            }
            HashMismatch { expected, actual } => write!(
                f,
                "assembled module has SHA-256 {actual}, expected {expected}; abort and upload again"
            ),
            NotWasm { gzipped: false } => {
                write!(f, "module is neither wasm (\\0asm version 1) nor gzip")
            }
            NotWasm { gzipped: true } => {
                write!(f, "gzip content is not a wasm module (\\0asm version 1)")
            }
            InvalidGzip { reason } => write!(f, "invalid gzip stream: {reason}"),
            GzipTooLarge { max } => {
                write!(f, "gzip stream inflates past the IC's limit of {max} bytes")
            }
            EmbeddedVersionMismatch { version, embedded } => write!(
                f,
                "the module says it is release {embedded:?} (icp:public release_version), not {version}; publish it as {embedded:?} or tag it with {version}"
            ),
            AlreadyApproved { version, approver } => {
                write!(f, "{approver} already approved release {version}")
            }
            UploaderCannotApprove { version } => write!(
                f,
                "the uploader of release {version} may not approve it (uploader_counts = false)"
            ),
            AnonymousCaller => write!(f, "the anonymous principal cannot act on the registry"),
            InvalidConfig { reason } => write!(f, "invalid registry config: {reason}"),
        }
    }
}

impl std::error::Error for RegistryError {}

/// Why an upgrade from one version to another is not allowed (or has no path).
#[derive(CandidType, Deserialize, Serialize, Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// The target version is not in the registry.
    UnknownVersion {
        version: String,
    },
    /// The target exists but is not `Approved` (uploading, committed, deprecated or revoked).
    NotInstallable {
        version: String,
        state: ReleaseState,
    },
    SameVersion {
        version: String,
    },
    /// Lower target and downgrades were not allowed explicitly.
    Downgrade {
        from: String,
        to: String,
    },
    /// The target declares `min_upgrade_from` above `from`: go through an intermediate release.
    StepRequired {
        from: String,
        to: String,
        min_upgrade_from: String,
    },
    /// No chain of approved releases leads from `from` to `to`.
    NoPath {
        from: String,
        to: String,
    },
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PathError::*;
        match self {
            UnknownVersion { version } => write!(f, "no release with version {version}"),
            NotInstallable { version, state } => {
                write!(f, "release {version} is {state}, not approved: it cannot be installed")
            }
            SameVersion { version } => write!(f, "already on version {version}"),
            Downgrade { from, to } => write!(
                f,
                "{from} -> {to} is a downgrade, which only a rollout plan that allows downgrades may do"
            ),
            StepRequired { from, to, min_upgrade_from } => write!(
                f,
                "{to} can only be reached from {min_upgrade_from} or later; {from} must upgrade in steps"
            ),
            NoPath { from, to } => {
                write!(f, "no chain of approved releases leads from {from} to {to}")
            }
        }
    }
}

impl std::error::Error for PathError {}
