//! The release artifacts are what the README promises: gzipped wasm with the
//! committed interface embedded, and a SHA-256 file that matches.

use canister_artifacts::{artifacts, workspace_root, CANISTERS};
use std::io::Read;

#[test]
fn each_artifact_is_gzipped_wasm_with_its_did_embedded_and_hash_beside_it() {
    let all = artifacts();
    for kind in CANISTERS {
        let artifact = all.get(kind);
        let mut wasm = Vec::new();
        flate2::read::GzDecoder::new(&artifact.wasm_gz[..])
            .read_to_end(&mut wasm)
            .expect("artifact is gzip");
        assert_eq!(&wasm[..4], b"\0asm", "{kind:?} is not wasm");
        assert_eq!(wasm.len(), artifact.raw_size);

        let module = ic_wasm::utils::parse_wasm(&wasm, false).expect("valid wasm");
        let embedded = ic_wasm::metadata::get_metadata(&module, "candid:service")
            .expect("candid:service metadata");
        let committed = std::fs::read(workspace_root().join(kind.did_path())).unwrap();
        assert_eq!(
            embedded.as_ref(),
            &committed[..],
            "{kind:?}: embedded .did is stale"
        );
        assert!(
            ic_wasm::metadata::list_metadata(&module).contains(&"icp:public candid:service"),
            "{kind:?}: candid:service must be public"
        );
        assert!(
            module
                .exports
                .iter()
                .all(|e| e.name != "get_candid_pointer"),
            "{kind:?}: get_candid_pointer should be stripped"
        );
        assert!(module
            .exports
            .iter()
            .any(|e| e.name == "canister_query version"));

        let sha_file = std::fs::read_to_string(artifact.path.with_extension("gz.sha256")).unwrap();
        assert_eq!(
            sha_file.split_whitespace().next(),
            Some(artifact.sha256_hex().as_str())
        );
    }
}

#[test]
fn building_again_without_changes_gives_the_same_module_hashes() {
    let first = canister_artifacts::ensure_built().unwrap();
    let second = canister_artifacts::ensure_built().unwrap();
    for kind in CANISTERS {
        assert_eq!(first.get(kind).sha256, second.get(kind).sha256);
    }
}
