//! The `Registry` handle: opening it on its memories, and the read-only queries.

use crate::blob_store::BlobStore;
use crate::error::RegistryError;
use crate::storage::{
    HashKey, Meta, ModuleEntry, RegistryMemories, StoredRelease, VersionKey, LAYOUT_VERSION,
};
use crate::types::{ModuleInfo, RegistryConfig, RegistryStats, Release, ReleaseState, Sha256};
use crate::{chunk_count, chunk_len, MAX_PAGE_SIZE};
use ic_stable_structures::{Memory, StableBTreeMap, StableCell};
use semver::Version;
use std::collections::BTreeSet;
use std::ops::Bound;

/// The registry of wasm releases. See the crate documentation for the whole API.
pub struct Registry<M: Memory> {
    pub(crate) meta: StableCell<Meta, M>,
    pub(crate) releases: StableBTreeMap<VersionKey, StoredRelease, M>,
    pub(crate) modules: StableBTreeMap<HashKey, ModuleEntry, M>,
    pub(crate) blobs: BlobStore<M>,
}

impl<M: Memory> Registry<M> {
    /// Opens the registry on its memories: empty memories give an empty registry with the default
    /// config; memories written by a previous instance (e.g. before a factory upgrade) give back
    /// everything it held.
    pub fn init(memories: RegistryMemories<M>) -> Self {
        let default = Meta {
            layout_version: LAYOUT_VERSION,
            config: RegistryConfig::default(),
            uploads: Vec::new(),
        };
        Self {
            meta: StableCell::init(memories.meta, default),
            releases: StableBTreeMap::init(memories.releases),
            modules: StableBTreeMap::init(memories.modules),
            blobs: BlobStore::init(memories.blobs, memories.free_extents),
        }
    }

    /// The approval policy in force.
    pub fn config(&self) -> RegistryConfig {
        self.meta.get().config
    }

    /// Versions of the uploads in progress, in the order they began.
    pub fn uploads_in_progress(&self) -> Vec<Version> {
        self.meta
            .get()
            .uploads
            .iter()
            .filter_map(|v| Version::parse(v).ok())
            .collect()
    }

    /// One release, in any state.
    pub fn release(&self, version: &Version) -> Option<Release> {
        self.releases
            .get(&VersionKey(version.clone()))
            .map(|s| s.release)
    }

    /// Releases in ascending version order, starting after `after` (exclusive); at most
    /// `min(limit, MAX_PAGE_SIZE)` of them. Pass the last version of a page to get the next.
    pub fn list_releases(&self, after: Option<&Version>, limit: usize) -> Vec<Release> {
        let start = match after {
            Some(v) => Bound::Excluded(VersionKey(v.clone())),
            None => Bound::Unbounded,
        };
        self.releases
            .range((start, Bound::Unbounded))
            .take(limit.min(MAX_PAGE_SIZE))
            .map(|e| e.value().release)
            .collect()
    }

    /// A stored module: its size and how many non-revoked releases use it.
    pub fn module_info(&self, sha256: &Sha256) -> Option<ModuleInfo> {
        let entry = self.module_entry(sha256).ok();
        entry.map(|e| ModuleInfo {
            sha256: *sha256,
            size: e.size,
            chunk_count: chunk_count(e.size),
            releases: e.refs,
        })
    }

    /// Chunk `index` of a stored module: the bytes whose SHA-256 is `chunk_hashes[index]` of
    /// every release with this module (what the factory passes to the IC's `upload_chunk`).
    pub fn module_chunk(&self, sha256: &Sha256, index: u32) -> Result<Vec<u8>, RegistryError> {
        let entry = self.module_entry(sha256)?;
        let count = chunk_count(entry.size);
        if index >= count {
            return Err(RegistryError::ChunkPastEnd {
                index,
                chunk_count: count,
            });
        }
        let mut buf = vec![0u8; chunk_len(entry.size, index) as usize];
        self.blobs.read(
            entry.offset + u64::from(index) * crate::CHUNK_SIZE,
            &mut buf,
        );
        Ok(buf)
    }

    /// The chunks of a stored module in order, read lazily one at a time.
    pub fn module_chunks(
        &self,
        sha256: &Sha256,
    ) -> Result<impl Iterator<Item = Vec<u8>> + '_, RegistryError> {
        let entry = self.module_entry(sha256)?;
        Ok((0..chunk_count(entry.size)).map(move |i| {
            let mut buf = vec![0u8; chunk_len(entry.size, i) as usize];
            self.blobs
                .read(entry.offset + u64::from(i) * crate::CHUNK_SIZE, &mut buf);
            buf
        }))
    }

    /// The whole module in one buffer (up to 100 MiB: meant for tests and small modules).
    pub fn module_bytes(&self, sha256: &Sha256) -> Result<Vec<u8>, RegistryError> {
        let entry = self.module_entry(sha256)?;
        let mut buf = vec![0u8; entry.size as usize];
        self.blobs.read(entry.offset, &mut buf);
        Ok(buf)
    }

    /// SHA-256 of every module still used by a committed, non-revoked release (committed,
    /// approved or deprecated), ascending. Anything else may be dropped from a chunk store.
    pub fn needed_modules(&self) -> Vec<Sha256> {
        self.modules
            .iter()
            .map(|e| e.into_pair())
            .filter(|(_, entry)| entry.is_live())
            .map(|(k, _)| k.0)
            .collect()
    }

    /// Whether a committed, non-revoked release still uses this module.
    pub fn is_module_needed(&self, sha256: &Sha256) -> bool {
        self.module_entry(sha256).is_ok()
    }

    /// Chunk hashes of every needed module (see `needed_modules`): the chunks a chunk store may
    /// keep; any other chunk can be cleared.
    pub fn needed_chunk_hashes(&self) -> BTreeSet<Sha256> {
        self.releases
            .values()
            .map(|s| s.release)
            .filter(|r| {
                matches!(
                    r.state,
                    ReleaseState::Committed | ReleaseState::Approved | ReleaseState::Deprecated
                )
            })
            .flat_map(|r| r.chunk_hashes)
            .collect()
    }

    /// Counts and space accounting (one pass over releases, modules and free extents).
    pub fn stats(&self) -> RegistryStats {
        let mut stats = RegistryStats {
            releases: self.releases.len(),
            blob_capacity_bytes: self.blobs.capacity(),
            blob_free_bytes: self.blobs.free_bytes(),
            ..Default::default()
        };
        for version in self.uploads_in_progress() {
            if let Ok(s) = self.stored(&version) {
                stats.uploads_in_progress += 1;
                stats.upload_bytes += s.release.size;
            }
        }
        for entry in self.modules.values().filter(ModuleEntry::is_live) {
            stats.modules += 1;
            stats.module_bytes += entry.size;
        }
        stats
    }

    pub(crate) fn module_entry(&self, sha256: &Sha256) -> Result<ModuleEntry, RegistryError> {
        self.modules
            .get(&HashKey(*sha256))
            .filter(ModuleEntry::is_live)
            .ok_or(RegistryError::UnknownModule { sha256: *sha256 })
    }

    pub(crate) fn stored(&self, version: &Version) -> Result<StoredRelease, RegistryError> {
        self.releases
            .get(&VersionKey(version.clone()))
            .ok_or_else(|| RegistryError::UnknownVersion {
                version: version.to_string(),
            })
    }

    pub(crate) fn update_meta(&mut self, f: impl FnOnce(&mut Meta)) {
        let mut meta = self.meta.get().clone();
        f(&mut meta);
        self.meta.set(meta);
    }

    pub(crate) fn save(&mut self, version: &Version, stored: StoredRelease) {
        self.releases.insert(VersionKey(version.clone()), stored);
    }
}
