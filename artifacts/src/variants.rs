//! Release variants of a built module, for tests, benchmarks and the demo:
//! distinct versions of the same code, and a deliberately broken release.
//!
//! Each variant is a real, valid module whose SHA-256 differs from the input,
//! as a new release's would.

use crate::postprocess::gzip;
use ic_wasm::metadata::{add_metadata, Kind};
use std::io::Read;
use walrus::{ExportItem, FunctionBuilder, Module};

fn edit(
    wasm_gz: &[u8],
    f: impl FnOnce(&mut Module) -> Result<(), String>,
) -> Result<Vec<u8>, String> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(wasm_gz)
        .read_to_end(&mut raw)
        .map_err(|e| format!("not gzip: {e}"))?;
    let mut module = ic_wasm::utils::parse_wasm(&raw, false).map_err(|e| e.to_string())?;
    f(&mut module)?;
    gzip(&module.emit_wasm()).map_err(|e| e.to_string())
}

/// The same module tagged with `version` in a public `release_version`
/// metadata section (as Juno reads versions), so each version has its own hash.
pub fn tagged(wasm_gz: &[u8], version: &str) -> Result<Vec<u8>, String> {
    edit(wasm_gz, |m| {
        add_metadata(
            m,
            Kind::Public,
            "release_version",
            version.as_bytes().to_vec(),
        );
        Ok(())
    })
}

/// A broken release: tagged with `version`, and its `canister_post_upgrade`
/// traps, so every upgrade to it fails (atomically, on the IC) while installs
/// of it still work.
pub fn with_trapping_post_upgrade(wasm_gz: &[u8], version: &str) -> Result<Vec<u8>, String> {
    let tagged = tagged(wasm_gz, version)?;
    edit(&tagged, |m| {
        let export = m
            .exports
            .iter()
            .find(|e| e.name == "canister_post_upgrade")
            .map(|e| e.id())
            .ok_or("the module exports no canister_post_upgrade")?;
        let mut builder = FunctionBuilder::new(&mut m.types, &[], &[]);
        builder.func_body().unreachable();
        let trap = builder.finish(vec![], &mut m.funcs);
        m.exports.get_mut(export).item = ExportItem::Function(trap);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_canister() -> Vec<u8> {
        // (module (func (export "canister_post_upgrade")) (func (export "canister_init")))
        let wasm = walrus_module();
        gzip(&wasm).unwrap()
    }

    fn walrus_module() -> Vec<u8> {
        let mut m = Module::default();
        for name in ["canister_post_upgrade", "canister_init"] {
            let mut b = FunctionBuilder::new(&mut m.types, &[], &[]);
            b.func_body();
            let f = b.finish(vec![], &mut m.funcs);
            m.exports.add(name, f);
        }
        m.emit_wasm()
    }

    #[test]
    fn tags_give_distinct_hashes_and_the_broken_variant_traps_in_post_upgrade() {
        let base = tiny_canister();
        let v1 = tagged(&base, "1.0.0").unwrap();
        let v2 = tagged(&base, "2.0.0").unwrap();
        assert_ne!(crate::sha256(&v1), crate::sha256(&v2));
        let broken = with_trapping_post_upgrade(&base, "3.0.0").unwrap();
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&broken[..])
            .read_to_end(&mut raw)
            .unwrap();
        let m = ic_wasm::utils::parse_wasm(&raw, false).unwrap();
        let f = m.exports.get_func("canister_post_upgrade").unwrap();
        let walrus::FunctionKind::Local(local) = &m.funcs.get(f).kind else {
            panic!("local function expected")
        };
        let body = local.block(local.entry_block());
        assert!(matches!(
            body.instrs[0].0,
            walrus::ir::Instr::Unreachable(_)
        ));
        assert!(
            m.exports.get_func("canister_init").is_ok(),
            "installs still work"
        );
    }
}
