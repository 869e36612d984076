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

/// A release names its version (public metadata `release_version`, the
/// crate's version), which the registry checks against the version it is
/// committed under: `factoryctl publish target/canisters/user_canister.wasm.gz
/// --version 1.0.0` as the README does.
#[test]
fn each_release_artifact_names_its_version() {
    let all = artifacts();
    let expected = [
        (canister_artifacts::CanisterKind::UserCanister, "1.0.0"),
        (canister_artifacts::CanisterKind::NotesV1, "1.0.0"),
        (canister_artifacts::CanisterKind::NotesV2, "2.0.0"),
    ];
    for kind in CANISTERS {
        let mut wasm = Vec::new();
        flate2::read::GzDecoder::new(&all.get(kind).wasm_gz[..])
            .read_to_end(&mut wasm)
            .unwrap();
        let module = ic_wasm::utils::parse_wasm(&wasm, false).unwrap();
        let named = ic_wasm::metadata::get_metadata(&module, "release_version")
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        let wanted = expected
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v.to_string());
        assert_eq!(named, wanted, "{kind:?}");
        assert_eq!(kind.is_release(), wanted.is_some(), "{kind:?}");
    }
}
