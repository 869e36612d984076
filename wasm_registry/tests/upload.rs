//! Upload rules and errors: begin, chunks, commit, abort, expiry, de-duplication.

mod common;
use common::*;
use wasm_registry::*;

#[test]
fn single_chunk_release_round_trips_with_metadata() {
    let mut reg = registry();
    let module = wasm(1000, 1);
    let status = reg
        .begin_upload(begin_args("1.0.0", &module), alice(), 5)
        .unwrap();
    assert_eq!(
        status,
        UploadStatus {
            version: "1.0.0".into(),
            state: ReleaseState::Uploading,
            chunk_count: 1,
            missing_chunks: vec![0],
        }
    );
    let hash = reg
        .upload_chunk(chunk_args("1.0.0", 0, &module), 6)
        .unwrap();
    assert_eq!(hash, Sha256::of(&module));
    let r = reg.commit_upload(&v("1.0.0"), 7).unwrap();
    assert_eq!(r.state, ReleaseState::Committed);
    assert_eq!(r.sha256, Sha256::of(&module));
    assert_eq!(r.size, 1000);
    assert_eq!(r.chunk_hashes, vec![Sha256::of(&module)]);
    assert_eq!(r.notes, "release 1.0.0");
    assert_eq!(r.uploader, alice());
    assert_eq!((r.created_ns, r.committed_ns), (5, Some(7)));
    assert_eq!(r.upload, None);
    assert_eq!(reg.release(&v("1.0.0")), Some(r.clone()));
    assert_eq!(reg.module_bytes(&r.sha256).unwrap(), module);
    assert_eq!(
        reg.module_info(&r.sha256),
        Some(ModuleInfo {
            sha256: r.sha256,
            size: 1000,
            chunk_count: 1,
            releases: 1
        })
    );
}

#[test]
fn multi_chunk_upload_in_any_order_assembles_the_module() {
    let mut reg = registry();
    let module = wasm(2 * MIB as usize + 12345, 2);
    reg.begin_upload(begin_args("2.0.0", &module), alice(), 0)
        .unwrap();
    for i in [2, 0, 1] {
        let h = reg
            .upload_chunk(chunk_args("2.0.0", i, chunk_of(&module, i)), 1)
            .unwrap();
        assert_eq!(h, Sha256::of(chunk_of(&module, i)));
    }
    let r = reg.commit_upload(&v("2.0.0"), 2).unwrap();
    let expected: Vec<Sha256> = (0..3).map(|i| Sha256::of(chunk_of(&module, i))).collect();
    assert_eq!(r.chunk_hashes, expected);
    let chunks: Vec<Vec<u8>> = reg.module_chunks(&r.sha256).unwrap().collect();
    assert_eq!(chunks.len(), 3);
    assert_eq!(chunks.concat(), module);
    assert_eq!(
        reg.module_chunk(&r.sha256, 2).unwrap(),
        chunk_of(&module, 2)
    );
    assert_eq!(
        reg.module_chunk(&r.sha256, 3),
        Err(RegistryError::ChunkPastEnd {
            index: 3,
            chunk_count: 3
        })
    );
}

#[test]
fn begin_again_resumes_and_reports_missing_chunks() {
    let mut reg = registry();
    let module = wasm(2 * MIB as usize + 1, 3);
    reg.begin_upload(begin_args("1.0.0", &module), alice(), 0)
        .unwrap();
    reg.upload_chunk(chunk_args("1.0.0", 1, chunk_of(&module, 1)), 1)
        .unwrap();
    // A resume may come from another admin; the uploader stays the first.
    let status = reg
        .begin_upload(begin_args("1.0.0", &module), bob(), 2)
        .unwrap();
    assert_eq!(status.missing_chunks, vec![0, 2]);
    assert_eq!(reg.upload_status(&v("1.0.0")).unwrap(), status);
    assert_eq!(reg.release(&v("1.0.0")).unwrap().uploader, alice());
    assert_eq!(
        reg.release(&v("1.0.0"))
            .unwrap()
            .upload
            .unwrap()
            .last_activity_ns,
        2
    );
    upload_all(&mut reg, "1.0.0", &module);
    reg.commit_upload(&v("1.0.0"), 3).unwrap();
    let status = reg
        .begin_upload(begin_args("1.0.0", &module), alice(), 4)
        .unwrap();
    assert_eq!(status.state, ReleaseState::Committed);
    assert!(status.missing_chunks.is_empty());
}

#[test]
fn same_version_with_another_module_is_a_conflict() {
    let mut reg = registry();
    let module = wasm(100, 4);
    let first = publish(&mut reg, "1.0.0", &module);
    let other = wasm(100, 5);
    let expected = Err(RegistryError::VersionConflict {
        version: "1.0.0".into(),
        existing_sha256: first.sha256,
        existing_size: 100,
    });
    assert_eq!(
        reg.begin_upload(begin_args("1.0.0", &other), alice(), 0),
        expected
    );
    // Same hash, another size.
    let mut args = begin_args("1.0.0", &module);
    args.size = 101;
    assert_eq!(reg.begin_upload(args, alice(), 0), expected);
}

#[test]
fn begin_validates_its_arguments() {
    let mut reg = registry();
    let module = wasm(100, 6);
    let begin = |reg: &mut Reg, f: &dyn Fn(&mut BeginUpload)| {
        let mut args = begin_args("1.0.0", &module);
        f(&mut args);
        reg.begin_upload(args, alice(), 0)
    };
    assert!(matches!(
        begin(&mut reg, &|a| a.version = "one".into()),
        Err(RegistryError::InvalidVersion { .. })
    ));
    assert_eq!(
        begin(&mut reg, &|a| a.version = "1.0.0+build.5".into()),
        Err(RegistryError::BuildMetadataNotAllowed {
            version: "1.0.0+build.5".into()
        })
    );
    assert_eq!(
        begin(&mut reg, &|a| a.version =
            format!("1.0.0-{}", "a".repeat(60))),
        Err(RegistryError::VersionTooLong {
            len: 66,
            max: MAX_VERSION_LEN as u64
        })
    );
    assert_eq!(
        begin(&mut reg, &|a| a.size = 0),
        Err(RegistryError::EmptyModule)
    );
    assert_eq!(
        begin(&mut reg, &|a| a.size = MAX_MODULE_SIZE + 1),
        Err(RegistryError::ModuleTooLarge {
            size: MAX_MODULE_SIZE + 1,
            max: MAX_MODULE_SIZE
        })
    );
    assert_eq!(
        begin(&mut reg, &|a| a.notes = "x".repeat(MAX_NOTES_LEN + 1)),
        Err(RegistryError::NotesTooLong {
            len: MAX_NOTES_LEN as u64 + 1,
            max: MAX_NOTES_LEN as u64
        })
    );
    for min in ["1.0.0", "2.0.0"] {
        assert_eq!(
            begin(&mut reg, &|a| a.min_upgrade_from = Some(min.into())),
            Err(RegistryError::InvalidMinUpgradeFrom {
                version: "1.0.0".into(),
                min_upgrade_from: min.into()
            })
        );
    }
    assert!(matches!(
        begin(&mut reg, &|a| a.min_upgrade_from = Some("0.x".into())),
        Err(RegistryError::InvalidVersion { .. })
    ));
    assert_eq!(
        reg.begin_upload(
            begin_args("1.0.0", &module),
            candid::Principal::anonymous(),
            0
        ),
        Err(RegistryError::AnonymousCaller)
    );
    // Nothing was created by the refused calls.
    assert_eq!(reg.stats().releases, 0);
    assert_eq!(reg.stats().blob_capacity_bytes, 0);
}

#[test]
fn pending_uploads_are_limited() {
    let mut reg = registry();
    for i in 0..MAX_PENDING_UPLOADS {
        let version = format!("1.0.{i}");
        reg.begin_upload(begin_args(&version, &wasm(64, i as u64)), alice(), 0)
            .unwrap();
    }
    assert_eq!(
        reg.begin_upload(begin_args("2.0.0", &wasm(64, 99)), alice(), 0),
        Err(RegistryError::TooManyUploads {
            max: MAX_PENDING_UPLOADS as u64
        })
    );
    // Committing one makes room.
    upload_all(&mut reg, "1.0.0", &wasm(64, 0));
    reg.commit_upload(&v("1.0.0"), 1).unwrap();
    reg.begin_upload(begin_args("2.0.0", &wasm(64, 99)), alice(), 0)
        .unwrap();
}

#[test]
fn chunk_errors() {
    let mut reg = registry();
    let module = wasm(2 * MIB as usize + 100, 7);
    reg.begin_upload(begin_args("1.0.0", &module), alice(), 0)
        .unwrap();
    let up = |reg: &mut Reg, index: u32, bytes: &[u8]| {
        reg.upload_chunk(chunk_args("1.0.0", index, bytes), 1)
    };
    assert_eq!(
        up(&mut reg, 0, &vec![0; MIB as usize + 1]),
        Err(RegistryError::ChunkTooLarge {
            len: MIB + 1,
            max: MIB
        })
    );
    assert_eq!(
        up(&mut reg, 3, &[0; 10]),
        Err(RegistryError::ChunkPastEnd {
            index: 3,
            chunk_count: 3
        })
    );
    // A middle chunk must be a full MiB; the last one exactly the remainder.
    assert_eq!(
        up(&mut reg, 1, &module[MIB as usize..MIB as usize + 10]),
        Err(RegistryError::ChunkSizeMismatch {
            index: 1,
            expected: MIB,
            actual: 10
        })
    );
    assert_eq!(
        up(&mut reg, 2, &[0; 101]),
        Err(RegistryError::ChunkSizeMismatch {
            index: 2,
            expected: 100,
            actual: 101
        })
    );
    let mut declared = chunk_args("1.0.0", 2, chunk_of(&module, 2));
    declared.sha256 = Some(Sha256::of(b"something else"));
    assert_eq!(
        reg.upload_chunk(declared.clone(), 1),
        Err(RegistryError::ChunkHashMismatch {
            index: 2,
            expected: Sha256::of(b"something else"),
            actual: Sha256::of(chunk_of(&module, 2)),
        })
    );
    declared.sha256 = Some(Sha256::of(chunk_of(&module, 2)));
    assert_eq!(
        reg.upload_chunk(declared, 1),
        Ok(Sha256::of(chunk_of(&module, 2)))
    );
    // Identical bytes again: fine. Other bytes at a filled index: refused.
    assert_eq!(
        up(&mut reg, 2, chunk_of(&module, 2)),
        Ok(Sha256::of(chunk_of(&module, 2)))
    );
    let other = vec![1u8; 100];
    assert_eq!(
        up(&mut reg, 2, &other),
        Err(RegistryError::ChunkConflict {
            index: 2,
            existing: Sha256::of(chunk_of(&module, 2)),
            actual: Sha256::of(&other),
        })
    );
    assert_eq!(
        reg.upload_chunk(chunk_args("9.9.9", 0, &[0]), 1),
        Err(RegistryError::UnknownVersion {
            version: "9.9.9".into()
        })
    );
    assert!(matches!(
        reg.upload_chunk(chunk_args("not-semver", 0, &[0]), 1),
        Err(RegistryError::InvalidVersion { .. })
    ));
    // After commit the release takes no more chunks.
    upload_all(&mut reg, "1.0.0", &module);
    reg.commit_upload(&v("1.0.0"), 2).unwrap();
    assert_eq!(
        up(&mut reg, 0, chunk_of(&module, 0)),
        Err(RegistryError::InvalidState {
            version: "1.0.0".into(),
            state: ReleaseState::Committed,
            operation: "upload a chunk to".into()
        })
    );
}

#[test]
fn commit_before_all_chunks_lists_the_missing_ones() {
    let mut reg = registry();
    let module = wasm(3 * MIB as usize, 8);
    reg.begin_upload(begin_args("1.0.0", &module), alice(), 0)
        .unwrap();
    reg.upload_chunk(chunk_args("1.0.0", 1, chunk_of(&module, 1)), 1)
        .unwrap();
    assert_eq!(
        reg.commit_upload(&v("1.0.0"), 2),
        Err(RegistryError::MissingChunks {
            missing: vec![0, 2]
        })
    );
    assert_eq!(
        reg.commit_upload(&v("3.0.0"), 2),
        Err(RegistryError::UnknownVersion {
            version: "3.0.0".into()
        })
    );
}

fn commit_error(module: &[u8], declared: Sha256) -> RegistryError {
    let mut reg = registry();
    let mut args = begin_args("1.0.0", module);
    args.sha256 = declared;
    reg.begin_upload(args, alice(), 0).unwrap();
    upload_all(&mut reg, "1.0.0", module);
    let err = reg.commit_upload(&v("1.0.0"), 1).unwrap_err();
    // A failed commit leaves the upload in place, ready to be aborted.
    assert_eq!(
        reg.release(&v("1.0.0")).unwrap().state,
        ReleaseState::Uploading
    );
    reg.abort_upload(&v("1.0.0")).unwrap();
    assert_eq!(reg.stats().blob_free_bytes, reg.stats().blob_capacity_bytes);
    err
}

#[test]
fn commit_verifies_hash_and_wasm() {
    let module = wasm(5000, 9);
    let wrong = Sha256::of(b"not the module");
    assert_eq!(
        commit_error(&module, wrong),
        RegistryError::HashMismatch {
            expected: wrong,
            actual: Sha256::of(&module)
        }
    );
    let text = b"#!/bin/sh\necho not wasm\n".to_vec();
    assert_eq!(
        commit_error(&text, Sha256::of(&text)),
        RegistryError::NotWasm { gzipped: false }
    );
    let gz_text = gzip(&text);
    assert_eq!(
        commit_error(&gz_text, Sha256::of(&gz_text)),
        RegistryError::NotWasm { gzipped: true }
    );
    let mut broken = gzip(&module);
    let n = broken.len();
    broken[n / 2] ^= 0x55;
    broken.truncate(n - 3);
    assert!(matches!(
        commit_error(&broken, Sha256::of(&broken)),
        RegistryError::InvalidGzip { .. }
    ));
}

#[test]
fn gzipped_wasm_commits_and_is_stored_as_sent() {
    let mut reg = registry();
    let gz = gzip(&wasm(300_000, 10));
    let r = publish(&mut reg, "1.0.0", &gz);
    assert_eq!(r.sha256, Sha256::of(&gz));
    assert_eq!(reg.module_bytes(&r.sha256).unwrap(), gz);
}

#[test]
fn gzip_that_inflates_past_100_mib_is_refused() {
    // Exactly at the limit the bomb is a valid (if silly) module: only its bogus CRC fails.
    let at_limit = gzip_bomb(MAX_MODULE_SIZE - 8);
    match check_module(&at_limit[..], MAX_MODULE_SIZE) {
        Err(RegistryError::InvalidGzip { reason }) => assert!(reason.contains("checksum")),
        other => panic!("expected a checksum error, got {other:?}"),
    }
    // One byte more: refused at the cap. A ~640 KiB upload that would inflate past 100 MiB.
    let bomb = gzip_bomb(MAX_MODULE_SIZE - 7);
    assert!(bomb.len() < MIB as usize);
    assert_eq!(
        commit_error(&bomb, Sha256::of(&bomb)),
        RegistryError::GzipTooLarge {
            max: MAX_MODULE_SIZE
        }
    );
}

#[test]
fn commit_is_idempotent() {
    let mut reg = registry();
    let module = wasm(100, 11);
    let first = publish(&mut reg, "1.0.0", &module);
    assert_eq!(reg.commit_upload(&v("1.0.0"), 99), Ok(first));
    assert_eq!(reg.module_info(&Sha256::of(&module)).unwrap().releases, 1);
}

#[test]
fn abort_frees_the_space_and_the_version() {
    let mut reg = registry();
    let module = wasm(MIB as usize + 10, 12);
    reg.begin_upload(begin_args("1.0.0", &module), alice(), 0)
        .unwrap();
    reg.upload_chunk(chunk_args("1.0.0", 0, chunk_of(&module, 0)), 1)
        .unwrap();
    let stats = reg.stats();
    assert_eq!(
        (stats.uploads_in_progress, stats.upload_bytes),
        (1, MIB + 10)
    );
    assert!(stats.blob_capacity_bytes - stats.blob_free_bytes >= MIB + 10);
    reg.abort_upload(&v("1.0.0")).unwrap();
    let stats = reg.stats();
    assert_eq!(stats.releases, 0);
    assert_eq!(stats.blob_free_bytes, stats.blob_capacity_bytes);
    // The version was never committed, so it can carry another module now, reusing the space.
    let capacity = stats.blob_capacity_bytes;
    let other = wasm(MIB as usize, 13);
    publish(&mut reg, "1.0.0", &other);
    assert_eq!(reg.stats().blob_capacity_bytes, capacity);
    assert_eq!(
        reg.abort_upload(&v("1.0.0")),
        Err(RegistryError::InvalidState {
            version: "1.0.0".into(),
            state: ReleaseState::Committed,
            operation: "abort".into()
        })
    );
    assert_eq!(
        reg.abort_upload(&v("1.0.1")),
        Err(RegistryError::UnknownVersion {
            version: "1.0.1".into()
        })
    );
}

#[test]
fn idle_uploads_expire_and_active_ones_stay() {
    let mut reg = registry();
    let (a, b, c) = (wasm(100, 14), wasm(100, 15), wasm(100, 16));
    reg.begin_upload(begin_args("1.0.0", &a), alice(), 1_000)
        .unwrap();
    reg.begin_upload(begin_args("1.0.1", &b), alice(), 1_000)
        .unwrap();
    publish(&mut reg, "1.0.2", &c);
    // 1.0.1 had a chunk recently (but is not complete).
    let mut half = b.clone();
    half.truncate(100);
    reg.upload_chunk(chunk_args("1.0.1", 0, &half), 5_000)
        .unwrap();
    assert!(reg.expire_uploads(5_500, 4_500).is_empty()); // exactly max age: kept
    assert_eq!(reg.expire_uploads(5_501, 4_500), vec![v("1.0.0")]);
    assert!(reg.release(&v("1.0.0")).is_none());
    assert!(reg.release(&v("1.0.1")).is_some());
    assert_eq!(reg.expire_uploads(u64::MAX, 0), vec![v("1.0.1")]);
    // Committed releases never expire.
    assert_eq!(
        reg.release(&v("1.0.2")).unwrap().state,
        ReleaseState::Committed
    );
    let stats = reg.stats();
    assert_eq!(stats.uploads_in_progress, 0);
    assert_eq!(
        stats.blob_capacity_bytes - stats.blob_free_bytes,
        stats.module_bytes
    );
}

#[test]
fn identical_modules_are_stored_once_and_reference_counted() {
    let mut reg = open_registry();
    let module = wasm(MIB as usize + 5, 17);
    let hash = Sha256::of(&module);
    publish(&mut reg, "1.0.0", &module);
    publish(&mut reg, "1.0.1", &module);
    assert_eq!(reg.module_info(&hash).unwrap().releases, 2);
    let stats = reg.stats();
    assert_eq!((stats.modules, stats.module_bytes), (1, MIB + 5));
    assert_eq!(
        stats.blob_capacity_bytes - stats.blob_free_bytes,
        MIB + 5,
        "the second upload's copy was freed"
    );
    assert_eq!(reg.needed_modules(), vec![hash]);

    reg.revoke(&v("1.0.0"), bob(), 1, "bug".into()).unwrap();
    assert_eq!(reg.module_info(&hash).unwrap().releases, 1);
    assert_eq!(reg.module_bytes(&hash).unwrap(), module);
    assert!(reg.is_module_needed(&hash));
    reg.revoke(&v("1.0.1"), bob(), 2, "bug".into()).unwrap();
    assert_eq!(reg.module_info(&hash), None);
    assert!(!reg.is_module_needed(&hash));
    assert!(reg.needed_modules().is_empty());
    assert_eq!(
        reg.module_bytes(&hash),
        Err(RegistryError::UnknownModule { sha256: hash })
    );
    let stats = reg.stats();
    assert_eq!(stats.blob_free_bytes, stats.blob_capacity_bytes);
}

#[test]
fn a_revoked_module_is_never_published_again() {
    let mut reg = registry();
    let module = wasm(100, 18);
    publish(&mut reg, "1.0.0", &module);
    // An upload of the same module started before the revocation...
    reg.begin_upload(begin_args("1.0.1", &module), alice(), 0)
        .unwrap();
    upload_all(&mut reg, "1.0.1", &module);
    reg.revoke(&v("1.0.0"), bob(), 1, "backdoor".into())
        .unwrap();
    let refused = Err(RegistryError::ModuleRevoked {
        sha256: Sha256::of(&module),
        revoked_version: "1.0.0".into(),
    });
    // ...cannot be committed, and a new one cannot begin.
    assert_eq!(reg.commit_upload(&v("1.0.1"), 2).map(|_| ()), refused);
    assert_eq!(
        reg.begin_upload(begin_args("1.0.2", &module), alice(), 3)
            .map(|_| ()),
        refused
    );
}

#[test]
fn revoking_one_sharer_blocks_new_releases_of_the_module_but_keeps_the_other() {
    let mut reg = registry();
    let module = wasm(100, 19);
    publish(&mut reg, "1.0.0", &module);
    publish(&mut reg, "1.0.1", &module);
    reg.revoke(&v("1.0.0"), bob(), 1, String::new()).unwrap();
    assert_eq!(reg.module_bytes(&Sha256::of(&module)).unwrap(), module);
    assert_eq!(
        reg.begin_upload(begin_args("1.0.2", &module), alice(), 2)
            .map(|_| ()),
        Err(RegistryError::ModuleRevoked {
            sha256: Sha256::of(&module),
            revoked_version: "1.0.0".into(),
        })
    );
    assert_eq!(
        reg.approve(&v("1.0.1"), bob(), 3),
        Ok(ReleaseState::Approved)
    );
}

/// A memory that cannot grow past `max_pages`, like a canister at its stable-memory limit.
#[derive(Clone)]
struct Capped {
    mem: ic_stable_structures::VectorMemory,
    max_pages: u64,
}

impl ic_stable_structures::Memory for Capped {
    fn size(&self) -> u64 {
        self.mem.size()
    }
    fn grow(&self, pages: u64) -> i64 {
        if self.mem.size() + pages > self.max_pages {
            return -1;
        }
        self.mem.grow(pages)
    }
    fn read(&self, offset: u64, dst: &mut [u8]) {
        self.mem.read(offset, dst)
    }
    fn write(&self, offset: u64, src: &[u8]) {
        self.mem.write(offset, src)
    }
}

#[test]
fn an_upload_that_does_not_fit_in_stable_memory_is_refused() {
    let mut mems = RegistryMemories::from_fn(|_| Capped {
        mem: Default::default(),
        max_pages: u64::MAX,
    });
    mems.blobs.max_pages = 16; // 1 MiB
    let mut reg = Registry::init(mems);
    let big = wasm(MIB as usize + 1, 20);
    assert_eq!(
        reg.begin_upload(begin_args("1.0.0", &big), alice(), 0),
        Err(RegistryError::OutOfStableMemory {
            requested_bytes: MIB + 1
        })
    );
    assert!(reg.release(&v("1.0.0")).is_none());
    assert!(reg.uploads_in_progress().is_empty());
    let fits = wasm(MIB as usize, 21);
    publish(&mut reg, "1.0.0", &fits);
    assert_eq!(reg.stats().blob_free_bytes, 0);
}

#[test]
fn a_failed_upload_is_replaced_by_a_republish_of_the_same_version() {
    let mut reg = registry();
    // Complete, but not a module: the commit refuses it, and nothing can fix it.
    let broken = b"\x1f\x8b not really gzip".to_vec();
    reg.begin_upload(begin_args("1.0.0", &broken), alice(), 0)
        .unwrap();
    upload_all(&mut reg, "1.0.0", &broken);
    assert!(reg.commit_upload(&v("1.0.0"), 1).is_err());
    assert_eq!(
        reg.release(&v("1.0.0")).unwrap().state,
        ReleaseState::Uploading
    );
    // The corrected file under the same version replaces it.
    let good = wasm(100, 7);
    let status = reg
        .begin_upload(begin_args("1.0.0", &good), alice(), 2)
        .unwrap();
    assert_eq!(status.missing_chunks, vec![0]);
    upload_all(&mut reg, "1.0.0", &good);
    let committed = reg.commit_upload(&v("1.0.0"), 3).unwrap();
    assert_eq!(committed.sha256, Sha256::of(&good));
    assert_eq!(reg.uploads_in_progress(), Vec::<semver::Version>::new());
    // Once committed, another module is a conflict again.
    assert!(matches!(
        reg.begin_upload(begin_args("1.0.0", &wasm(100, 8)), alice(), 4),
        Err(RegistryError::VersionConflict { .. })
    ));
}

/// A module with an `icp:public release_version` section holding `version`.
fn tagged_wasm(version: &str) -> Vec<u8> {
    let name = VERSION_SECTION.as_bytes();
    let payload = [&[name.len() as u8][..], name, version.as_bytes()].concat();
    [&WASM_HEADER[..], &[0, payload.len() as u8], &payload].concat()
}

#[test]
fn commit_refuses_a_module_that_embeds_another_version() {
    let mut reg = registry();
    let module = gzip(&tagged_wasm("2.0.0"));
    let begin_all = |reg: &mut Reg, version: &str, module: &[u8]| {
        reg.begin_upload(begin_args(version, module), alice(), 5)
            .unwrap();
        upload_all(reg, version, module);
    };
    begin_all(&mut reg, "2.1.0", &module);
    assert_eq!(
        reg.commit_upload(&v("2.1.0"), 9),
        Err(RegistryError::EmbeddedVersionMismatch {
            version: "2.1.0".into(),
            embedded: "2.0.0".into(),
        })
    );
    // The same module as the version it says it is commits.
    begin_all(&mut reg, "2.0.0", &module);
    assert_eq!(
        reg.commit_upload(&v("2.0.0"), 10).unwrap().state,
        ReleaseState::Committed
    );
    // A module without the section is not checked.
    begin_all(&mut reg, "3.0.0", &wasm(100, 3));
    assert!(reg.commit_upload(&v("3.0.0"), 11).is_ok());
}
