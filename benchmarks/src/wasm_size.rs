//! Gzipped sizes of the two release modules.

use crate::report::Report;

pub fn run(report: &mut Report) {
    let a = canister_artifacts::artifacts();
    for (name, artifact) in [("factory", &a.factory), ("user_canister", &a.user_canister)] {
        report.add(
            "wasm size",
            &format!("{name}.wasm.gz"),
            artifact.wasm_gz.len() as f64,
            "B",
            "release build, gzipped, as installed",
        );
    }
}
