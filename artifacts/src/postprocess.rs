//! From the linker's wasm to the release module: shrink, embed the Candid
//! interface (as dfx does) and the release version (as Juno reads it) as
//! public metadata, gzip deterministically.

use flate2::{write::GzEncoder, Compression, GzBuilder};
use ic_wasm::metadata::{add_metadata, Kind};
use std::io::Write;

pub fn release_module(
    raw_wasm: &[u8],
    candid_service: &str,
    release_version: Option<&str>,
) -> Result<Vec<u8>, String> {
    let mut module = ic_wasm::utils::parse_wasm(raw_wasm, false).map_err(|e| e.to_string())?;
    // `export_candid!()` exports `get_candid_pointer` for tools that extract the
    // interface by running the module; the interface travels as metadata
    // instead, and dropping the export lets shrink remove Candid's printer.
    if let Ok(id) = module.exports.get_func("get_candid_pointer") {
        let export = module.exports.get_exported_func(id).map(|e| e.id());
        if let Some(export) = export {
            module.exports.delete(export);
        }
    }
    ic_wasm::shrink::shrink(&mut module);
    add_metadata(
        &mut module,
        Kind::Public,
        "candid:service",
        candid_service.as_bytes().to_vec(),
    );
    if let Some(version) = release_version {
        add_metadata(
            &mut module,
            Kind::Public,
            "release_version",
            version.as_bytes().to_vec(),
        );
    }
    gzip(&module.emit_wasm()).map_err(|e| e.to_string())
}

/// Gzip with a zero timestamp and no file name, so equal input gives an equal
/// module hash on every machine.
pub(crate) fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder: GzEncoder<Vec<u8>> = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    encoder.finish()
}
