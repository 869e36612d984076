//! Property tests: whatever the order, repetition and chunking of an upload, the committed
//! module is byte-identical to the input and its SHA-256 verified; random sequences of uploads,
//! aborts and revocations never corrupt another module or lose space.

mod common;
use common::*;
use proptest::prelude::*;
use proptest::sample::Index;
use std::collections::BTreeMap;
use wasm_registry::*;

/// Chunk indexes in a shuffled order, with some indexes sent again at random positions.
fn upload_order(n: u32) -> impl Strategy<Value = Vec<u32>> {
    let order = Just((0..n).collect::<Vec<u32>>()).prop_shuffle();
    let repeats = prop::collection::vec((0..n, any::<Index>()), 0..4);
    (order, repeats).prop_map(|(mut order, repeats)| {
        for (index, at) in repeats {
            let at = at.index(order.len() + 1);
            order.insert(at, index);
        }
        order
    })
}

/// (module size, content seed, upload order, resume point, declare chunk hashes?)
fn plan() -> impl Strategy<Value = (usize, u64, Vec<u32>, Index, bool)> {
    // Sizes from 1 byte of tail to exactly 3 MiB, so chunk boundaries and full last chunks occur.
    (0u64..3, 8u64..=MIB, any::<u64>()).prop_flat_map(|(full, tail, seed)| {
        let size = (full * MIB + tail) as usize;
        let n = full as u32 + 1;
        (
            Just(size),
            Just(seed),
            upload_order(n),
            any::<Index>(),
            any::<bool>(),
        )
    })
}

proptest! {
    // Multi-MiB modules are hashed several times per case: keep the case count modest.
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn any_chunk_order_with_repeats_commits_the_exact_module(
        (size, seed, order, resume_at, declare) in plan()
    ) {
        let module = wasm(size, seed);
        // Hashing is slow in debug builds: hash each input once.
        let begin = begin_args("1.0.0", &module);
        let hashes: Vec<Sha256> = (0..n_chunks(&module)).map(|i| Sha256::of(chunk_of(&module, i))).collect();
        let mut reg = registry();
        reg.begin_upload(begin.clone(), alice(), 0).unwrap();
        let resume_at = resume_at.index(order.len() + 1);
        for (step, &i) in order.iter().enumerate() {
            if step == resume_at {
                // An interrupted client resumes: begin again reports what is still missing.
                let status = reg.begin_upload(begin.clone(), alice(), 1).unwrap();
                let mut missing: Vec<u32> = (0..n_chunks(&module))
                    .filter(|c| !order[..step].contains(c))
                    .collect();
                missing.sort();
                prop_assert_eq!(status.missing_chunks, missing);
            }
            let mut args = chunk_args("1.0.0", i, chunk_of(&module, i));
            if declare {
                args.sha256 = Some(hashes[i as usize]);
            }
            prop_assert_eq!(reg.upload_chunk(args, 2), Ok(hashes[i as usize]));
        }
        let release = reg.commit_upload(&v("1.0.0"), 3).unwrap();
        // Byte-identical, and the verified hash is the input's.
        prop_assert_eq!(release.sha256, begin.sha256);
        prop_assert_eq!(&release.chunk_hashes, &hashes);
        prop_assert!(reg.module_bytes(&release.sha256).unwrap() == module);
        let chunks: Vec<Vec<u8>> = reg.module_chunks(&release.sha256).unwrap().collect();
        prop_assert_eq!(chunks.len(), hashes.len());
        for (i, chunk) in chunks.iter().enumerate() {
            prop_assert!(chunk.len() as u64 <= CHUNK_SIZE);
            prop_assert!(chunk[..] == *chunk_of(&module, i as u32));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn gzipped_modules_commit_byte_identical(len in 8usize..50_000, seed: u64) {
        let gz = gzip(&wasm(len, seed));
        let mut reg = registry();
        let release = publish(&mut reg, "0.1.0", &gz);
        prop_assert_eq!(release.sha256, Sha256::of(&gz));
        prop_assert_eq!(reg.module_bytes(&release.sha256).unwrap(), gz);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn committing_with_a_missing_chunk_is_refused(
        (size, seed, order, skip, _r, _d) in plan().prop_flat_map(|(s, seed, o, r, d)| {
            let n = o.len();
            (Just(s), Just(seed), Just(o), 0..n, Just(r), Just(d))
        }).prop_filter("multi-chunk", |(s, ..)| *s as u64 > MIB)
    ) {
        let module = wasm(size, seed);
        let mut reg = registry();
        reg.begin_upload(begin_args("1.0.0", &module), alice(), 0).unwrap();
        let skipped = order[skip];
        for &i in order.iter().filter(|&&i| i != skipped) {
            reg.upload_chunk(chunk_args("1.0.0", i, chunk_of(&module, i)), 1).unwrap();
        }
        prop_assert_eq!(
            reg.commit_upload(&v("1.0.0"), 2),
            Err(RegistryError::MissingChunks { missing: vec![skipped] })
        );
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Begin, upload and commit version `1.0.n` with a module of this size and seed
    /// (seeds collide on purpose, so modules get shared).
    Publish(u32, usize, u64),
    /// Begin `1.0.n` and upload only its first chunk, then abort it, or leave it to expire.
    Abandon(u32, usize, u64, bool),
    Revoke(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..12, 8usize..150_000, 0u64..4).prop_map(|(n, s, seed)| Op::Publish(n, s, seed)),
        2 => (0u32..12, 8usize..150_000, 0u64..4, any::<bool>())
            .prop_map(|(n, s, seed, abort)| Op::Abandon(n, s, seed, abort)),
        2 => (0u32..12).prop_map(Op::Revoke),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn space_is_reused_without_corrupting_any_module(ops in prop::collection::vec(op(), 1..25)) {
        let mut reg = open_registry();
        // version -> module, for committed releases that are not revoked
        let mut live: BTreeMap<u32, (Vec<u8>, Sha256)> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Publish(n, size, seed) => {
                    let version = format!("1.0.{n}");
                    // Seed and size together pick the module: equal pairs share it.
                    let module = wasm(size, seed.wrapping_add(size as u64));
                    let args = begin_args(&version, &module);
                    let fresh = reg.release(&v(&version)).is_none();
                    let revoked = reg
                        .list_releases(None, MAX_PAGE_SIZE)
                        .iter()
                        .any(|r| r.state == ReleaseState::Revoked && r.sha256 == args.sha256);
                    let hash = args.sha256;
                    match reg.begin_upload(args, alice(), 0) {
                        Ok(_) => {
                            prop_assert!(fresh && !revoked);
                            upload_all(&mut reg, &version, &module);
                            reg.commit_upload(&v(&version), 1).unwrap();
                            live.insert(n, (module, hash));
                        }
                        Err(RegistryError::VersionConflict { .. }) => prop_assert!(!fresh),
                        Err(RegistryError::ModuleRevoked { .. }) => prop_assert!(revoked),
                        Err(e) => prop_assert!(false, "unexpected {e}"),
                    }
                }
                Op::Abandon(n, size, seed, abort) => {
                    let version = format!("2.0.{n}");
                    let module = wasm(size, seed ^ 0xfeed);
                    if reg.begin_upload(begin_args(&version, &module), alice(), 0).is_ok() {
                        reg.upload_chunk(chunk_args(&version, 0, chunk_of(&module, 0)), 0).unwrap();
                        if abort {
                            reg.abort_upload(&v(&version)).unwrap();
                        } else {
                            reg.expire_uploads(10, 5);
                        }
                    }
                }
                Op::Revoke(n) => {
                    let version = v(&format!("1.0.{n}"));
                    if reg.release(&version).is_some() {
                        reg.revoke(&version, bob(), 2, String::new()).unwrap();
                        live.remove(&n);
                    }
                }
            }
            // Every live release's module is intact; space is exactly modules + free.
            for (n, (module, hash)) in &live {
                let r = reg.release(&v(&format!("1.0.{n}"))).unwrap();
                prop_assert_eq!(r.sha256, *hash);
                prop_assert!(reg.module_bytes(hash).unwrap() == *module);
            }
            let stats = reg.stats();
            prop_assert_eq!(stats.uploads_in_progress, 0);
            prop_assert!(reg.uploads_in_progress().is_empty());
            prop_assert!(reg.list_releases(None, MAX_PAGE_SIZE).iter().all(|r| r.state != ReleaseState::Uploading));
            prop_assert_eq!(stats.blob_capacity_bytes - stats.blob_free_bytes, stats.module_bytes);
            let distinct: std::collections::BTreeSet<Sha256> =
                live.values().map(|(_, h)| *h).collect();
            prop_assert_eq!(stats.modules, distinct.len() as u64);
            prop_assert_eq!(reg.needed_modules(), distinct.into_iter().collect::<Vec<_>>());
        }
    }
}
