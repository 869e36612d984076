//! Stable-memory layout: which memory holds what, and how each stored value is encoded.
//!
//! Values that may gain fields later (releases, config) are Candid-encoded: Candid decodes old
//! bytes into a struct with new `Option` fields, so a factory upgrade needs no migration. Small
//! fixed records (keys, module entries) use a fixed little-endian layout.

use crate::types::{RegistryConfig, Release, Sha256};
use crate::MAX_VERSION_LEN;
use candid::{CandidType, Decode, Encode};
use ic_stable_structures::storable::Bound;
use ic_stable_structures::Storable;
use serde::Deserialize;
use std::borrow::Cow;
use std::cmp::Ordering;

/// The memories the registry needs, one per stable structure. Each must be exclusively the
/// registry's (typically a `VirtualMemory` from the factory's `MemoryManager`), and the same
/// memories must be passed again after an upgrade.
///
/// | field | offset in `from_fn` | holds |
/// | --- | --- | --- |
/// | `meta` | 0 | `StableCell`: approval policy, uploads in progress, layout version |
/// | `releases` | 1 | `StableBTreeMap<version, release record>` |
/// | `modules` | 2 | `StableBTreeMap<SHA-256, {offset, size, refcount, revoked}>` (21-byte values) |
/// | `free_extents` | 3 | `StableBTreeMap<offset, length>`: free space of `blobs` |
/// | `blobs` | 4 | raw memory: module bytes, each module one contiguous extent |
#[derive(Clone)]
pub struct RegistryMemories<M> {
    pub meta: M,
    pub releases: M,
    pub modules: M,
    pub free_extents: M,
    pub blobs: M,
}

impl<M> RegistryMemories<M> {
    /// How many memories the registry uses (`from_fn` asks for offsets `0..COUNT`).
    pub const COUNT: u8 = 5;

    /// Builds the memories from a function of the offset `0..COUNT`, e.g.
    /// `RegistryMemories::from_fn(|i| memory_manager.get(MemoryId::new(FIRST_REGISTRY_ID + i)))`.
    pub fn from_fn(mut memory: impl FnMut(u8) -> M) -> Self {
        Self {
            meta: memory(0),
            releases: memory(1),
            modules: memory(2),
            free_extents: memory(3),
            blobs: memory(4),
        }
    }
}

/// Release key: a semver version, ordered by semver precedence (so `1.10.0 > 1.9.0` and
/// `1.0.0-rc.1 < 1.0.0`). Stored as its text; build metadata is refused on the way in, so two
/// distinct keys never have equal precedence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VersionKey(pub semver::Version);

impl Ord for VersionKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl PartialOrd for VersionKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Storable for VersionKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.0.to_string().into_bytes())
    }
    fn into_bytes(self) -> Vec<u8> {
        self.0.to_string().into_bytes()
    }
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        // Only versions validated by `parse_version` are ever written.
        let text = std::str::from_utf8(&bytes).expect("stored version is UTF-8");
        Self(semver::Version::parse(text).expect("stored version is semver"))
    }
    const BOUND: Bound = Bound::Bounded {
        max_size: MAX_VERSION_LEN as u32,
        is_fixed_size: false,
    };
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct HashKey(pub Sha256);

impl Storable for HashKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.0 .0)
    }
    fn into_bytes(self) -> Vec<u8> {
        self.0 .0.to_vec()
    }
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&bytes);
        Self(Sha256(hash))
    }
    const BOUND: Bound = Bound::Bounded {
        max_size: 32,
        is_fixed_size: true,
    };
}

/// Where a committed module lives in the blob memory, and how many releases use it.
///
/// `revoked` is set once any release with this module is revoked, so a later upload of the same
/// bytes is refused without scanning the releases. Only revocation lowers `refs`, so an entry
/// with `refs == 0` is a tombstone: its extent was freed, only the flag remains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ModuleEntry {
    pub offset: u64,
    pub size: u64,
    pub refs: u32,
    pub revoked: bool,
}

impl ModuleEntry {
    pub fn is_live(&self) -> bool {
        self.refs > 0
    }
}

impl Storable for ModuleEntry {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }
    fn into_bytes(self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(21);
        bytes.extend_from_slice(&self.offset.to_le_bytes());
        bytes.extend_from_slice(&self.size.to_le_bytes());
        bytes.extend_from_slice(&self.refs.to_le_bytes());
        bytes.push(u8::from(self.revoked));
        bytes
    }
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let mut refs = [0u8; 4];
        refs.copy_from_slice(&bytes[16..20]);
        Self {
            offset: u64_at(0),
            size: u64_at(8),
            refs: u32::from_le_bytes(refs),
            revoked: bytes[20] != 0,
        }
    }
    const BOUND: Bound = Bound::Bounded {
        max_size: 21,
        is_fixed_size: true,
    };
}

/// A release as stored: the public record plus where its upload is being assembled.
#[derive(CandidType, Deserialize, Clone, Debug)]
pub(crate) struct StoredRelease {
    pub release: Release,
    /// Offset of the extent reserved in the blob memory while `Uploading`.
    pub upload_extent: Option<u64>,
}

impl Storable for StoredRelease {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(Encode!(self).expect("a release always Candid-encodes"))
    }
    fn into_bytes(self) -> Vec<u8> {
        Encode!(&self).expect("a release always Candid-encodes")
    }
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        Decode!(&bytes, Self).expect("stored release decodes")
    }
    const BOUND: Bound = Bound::Unbounded;
}

/// Layout version of the registry's memories, kept in the meta cell for future migrations.
pub(crate) const LAYOUT_VERSION: u32 = 1;

/// The registry's small, rarely written state.
#[derive(CandidType, Deserialize, Clone, Debug)]
pub(crate) struct Meta {
    pub layout_version: u32,
    pub config: RegistryConfig,
    /// Versions of the uploads in progress (at most `MAX_PENDING_UPLOADS`): an index, so the
    /// upload limit and `expire_uploads` (run on a timer) never scan every release.
    pub uploads: Vec<String>,
}

impl Storable for Meta {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(Encode!(self).expect("meta always Candid-encodes"))
    }
    fn into_bytes(self) -> Vec<u8> {
        Encode!(&self).expect("meta always Candid-encodes")
    }
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        Decode!(&bytes, Self).expect("stored meta decodes")
    }
    const BOUND: Bound = Bound::Unbounded;
}
