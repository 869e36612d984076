//! Builds (if needed) the release artifacts and prints their sizes and hashes.

use canister_artifacts::{ensure_built, CANISTERS};

fn main() {
    let artifacts = match ensure_built() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "{:<14} {:>10} {:>10}  {:<64}  path",
        "canister", "wasm", "gzipped", "sha256 (of .wasm.gz)"
    );
    for kind in CANISTERS {
        let a = artifacts.get(kind);
        println!(
            "{:<14} {:>10} {:>10}  {}  {}",
            kind.crate_name(),
            a.raw_size,
            a.wasm_gz.len(),
            a.sha256_hex(),
            a.path.display()
        );
    }
}
