//! The check that keeps each canister's committed `.did` equal to its code.

use candid_parser::utils::{service_equal, CandidSource};
use std::path::Path;

/// Panics unless the committed `.did` at `did_path` describes the same service
/// as `exported` (from `__export_service()`). With `UPDATE_DID=1` it rewrites
/// the file instead, which is how an endpoint change is meant to be recorded.
pub fn assert_did_matches(did_path: &Path, exported: &str) {
    if std::env::var_os("UPDATE_DID").is_some() {
        std::fs::write(did_path, exported)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", did_path.display()));
        return;
    }
    let committed = std::fs::read_to_string(did_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", did_path.display()));
    if let Err(e) = service_equal(CandidSource::Text(&committed), CandidSource::Text(exported)) {
        panic!(
            "{} differs from the code ({e}).\nRun `UPDATE_DID=1 cargo test` to rewrite it; the code exports:\n{exported}",
            did_path.display()
        );
    }
}
