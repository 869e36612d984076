//! Golden bytes of the registry's stored records (`tests/golden/*.bin`):
//! each file, written once from the value below, must still decode to it.
//! `UPDATE_GOLDEN=1` rewrites them, for a deliberate format change.

use crate::storage::{HashKey, ModuleEntry, StoredRelease, VersionKey};
use crate::types::{Approval, Release, ReleaseState, Sha256, StateChange};
use candid::Principal;
use ic_stable_structures::Storable;
use std::borrow::Cow;
use std::path::PathBuf;

fn golden<T: Storable>(name: &str, value: &T) -> T {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}.bin"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, value.to_bytes()).unwrap();
    }
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (new: UPDATE_GOLDEN=1)", path.display()));
    T::from_bytes(Cow::Owned(bytes))
}

#[test]
fn golden_keys_and_module_entry_decode() {
    let version = VersionKey(semver::Version::parse("2.0.0-rc.1").unwrap());
    assert_eq!(golden("version_key", &version), version);
    let hash = HashKey(Sha256([0xab; 32]));
    assert!(golden("hash_key", &hash) == hash);
    let entry = ModuleEntry {
        offset: 65_536,
        size: 183_118,
        refs: 2,
        revoked: true,
    };
    assert_eq!(golden("module_entry", &entry), entry);
}

#[test]
fn golden_stored_release_decodes() {
    let by = Principal::from_slice(&[7; 29]);
    let change = |reason: &str| StateChange {
        by,
        at_ns: 3,
        reason: reason.into(),
    };
    let stored = StoredRelease {
        release: Release {
            version: "2.0.0".into(),
            sha256: Sha256([1; 32]),
            size: 183_118,
            chunk_hashes: vec![Sha256([2; 32])],
            notes: "second".into(),
            min_upgrade_from: Some("1.0.0".into()),
            app_arg: Some(serde_bytes::ByteBuf::from(b"DIDL\x00\x01\x7e\x01".to_vec())),
            uploader: by,
            state: ReleaseState::Approved,
            created_ns: 1,
            committed_ns: Some(2),
            approvals: vec![Approval { by, at_ns: 2 }],
            approved_ns: Some(2),
            deprecated: Some(change("old")),
            revoked: Some(change("broken")),
            upload: None,
        },
        upload_extent: Some(4_096),
    };
    let decoded = golden("stored_release", &stored);
    assert_eq!(
        (decoded.release, decoded.upload_extent),
        (stored.release, stored.upload_extent)
    );
}
