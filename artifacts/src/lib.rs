//! The release artifacts of both canisters, built once and found by everything
//! else (tests, benchmarks, the CLI and its demo).
//!
//! [`ensure_built`] compares a fingerprint of the canister sources with the one
//! stamped beside the artifacts and rebuilds when they differ, so a stale module
//! is never used silently. Building is: `cargo build --profile canister` for
//! `wasm32-unknown-unknown` → shrink → embed the committed `.did` as public
//! `candid:service` metadata → gzip → write `target/canisters/NAME.wasm.gz` and
//! `NAME.wasm.gz.sha256`.

mod builder;
mod did;
mod fingerprint;
mod postprocess;
mod toolchain;
pub mod variants;

pub use builder::BuildError;
pub use did::assert_did_matches;
pub use toolchain::Toolchain;

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The canisters this workspace builds: the two it ships, the emulator's
/// test probe, and the example app's two releases (`examples/`).
pub const CANISTERS: [CanisterKind; 5] = [
    CanisterKind::Factory,
    CanisterKind::UserCanister,
    CanisterKind::Probe,
    CanisterKind::NotesV1,
    CanisterKind::NotesV2,
];

/// Which canister an artifact is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CanisterKind {
    Factory,
    UserCanister,
    /// The emulator's test canister (tests/emulator/probe_canister).
    Probe,
    /// The example app built only on the guest library, release 1 and 2.
    NotesV1,
    NotesV2,
}

impl CanisterKind {
    /// The cargo package (and wasm file) name.
    pub fn crate_name(self) -> &'static str {
        match self {
            CanisterKind::Factory => "factory",
            CanisterKind::UserCanister => "user_canister",
            CanisterKind::Probe => "probe_canister",
            CanisterKind::NotesV1 => "notes_v1",
            CanisterKind::NotesV2 => "notes_v2",
        }
    }

    /// Whether its module is published as a release: the build then embeds
    /// the crate's version as public metadata `release_version`, which the
    /// registry checks at commit.
    pub fn is_release(self) -> bool {
        matches!(
            self,
            CanisterKind::UserCanister | CanisterKind::NotesV1 | CanisterKind::NotesV2
        )
    }

    /// The crate's directory, relative to the workspace root.
    pub fn dir(self) -> PathBuf {
        match self {
            CanisterKind::Probe => PathBuf::from("tests/emulator/probe_canister"),
            CanisterKind::NotesV1 | CanisterKind::NotesV2 => {
                PathBuf::from("examples").join(self.crate_name())
            }
            other => PathBuf::from(other.crate_name()),
        }
    }

    /// The committed Candid interface, relative to the workspace root.
    pub fn did_path(self) -> PathBuf {
        self.dir().join(format!("{}.did", self.crate_name()))
    }
}

/// One built canister module.
#[derive(Clone, Debug)]
pub struct Artifact {
    pub kind: CanisterKind,
    /// `target/canisters/NAME.wasm.gz`
    pub path: PathBuf,
    /// The gzipped module, exactly as installed.
    pub wasm_gz: Vec<u8>,
    /// SHA-256 of `wasm_gz`: the module hash the IC reports once installed.
    pub sha256: [u8; 32],
    /// Size of the module before gzip.
    pub raw_size: usize,
}

impl Artifact {
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }
}

/// Both canisters' artifacts.
#[derive(Clone, Debug)]
pub struct Artifacts {
    pub factory: Artifact,
    pub user_canister: Artifact,
    pub probe: Artifact,
    pub notes_v1: Artifact,
    pub notes_v2: Artifact,
}

impl Artifacts {
    pub fn get(&self, kind: CanisterKind) -> &Artifact {
        match kind {
            CanisterKind::Factory => &self.factory,
            CanisterKind::UserCanister => &self.user_canister,
            CanisterKind::Probe => &self.probe,
            CanisterKind::NotesV1 => &self.notes_v1,
            CanisterKind::NotesV2 => &self.notes_v2,
        }
    }
}

/// The workspace root (this crate lives at its top level).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the artifacts crate sits inside the workspace")
        .to_path_buf()
}

/// Where the artifacts are written.
pub fn artifacts_dir() -> PathBuf {
    workspace_root().join("target").join("canisters")
}

/// Builds the artifacts if their sources changed since the last build and
/// returns them. Safe to call from many test processes at once: one builds
/// under a file lock, the others wait and then read its result.
pub fn ensure_built() -> Result<Artifacts, BuildError> {
    builder::ensure_built(&workspace_root())
}

/// [`ensure_built`] once per process; panics with the build error, which is
/// what a test or benchmark wants when the canisters don't build.
pub fn artifacts() -> &'static Artifacts {
    static ARTIFACTS: OnceLock<Artifacts> = OnceLock::new();
    ARTIFACTS.get_or_init(|| ensure_built().unwrap_or_else(|e| panic!("{e}")))
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}
