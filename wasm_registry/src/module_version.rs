//! The release version a module says it is: the public metadata section
//! `icp:public release_version` (as Juno reads a canister's version), which
//! `canister_artifacts::variants::tagged` and `factoryctl tag` write.
//!
//! The module is walked section by section as it streams out of the blob
//! store (and gzip): only a custom section's name and the version's bytes are
//! kept, so a large module costs no more memory than a small one.
//! (wasmparser parses whole sections from a buffer, which would mean holding
//! the inflated module.) Layout, from the wasm binary format: the 8-byte
//! header, then sections of `id: u8, size: u32 LEB128, payload`; a custom
//! section (id 0) starts with its name, `len: u32 LEB128, UTF-8 bytes`.

use crate::module_check::WASM_HEADER;
use std::io::{BufRead, BufReader, Read};

/// The metadata section that holds the version (`icp:public ` + name).
pub const VERSION_SECTION: &str = "icp:public release_version";
/// Longer than any version the registry accepts (`MAX_VERSION_LEN`).
const MAX_VERSION_BYTES: u64 = 256;

fn leb_u32(r: &mut impl Read) -> Option<u32> {
    let mut result: u64 = 0;
    for shift in (0..35).step_by(7) {
        let mut b = [0u8; 1];
        r.read_exact(&mut b).ok()?;
        result |= u64::from(b[0] & 0x7f) << shift;
        if b[0] & 0x80 == 0 {
            return u32::try_from(result).ok();
        }
    }
    None
}

/// The version embedded in the module read from `reader` (raw or gzipped
/// wasm), if it has the section. A module whose sections cannot be walked
/// has none: whether it is valid wasm is the IC's check, at install.
pub fn embedded_version<R: Read>(reader: R) -> Option<String> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let gzipped = reader.fill_buf().ok()?.starts_with(&[0x1f, 0x8b]);
    if gzipped {
        find_version(flate2::bufread::GzDecoder::new(reader))
    } else {
        find_version(reader)
    }
}

fn find_version(mut wasm: impl Read) -> Option<String> {
    let mut header = [0u8; 8];
    wasm.read_exact(&mut header).ok()?;
    if header != WASM_HEADER {
        return None;
    }
    loop {
        let mut id = [0u8; 1];
        if wasm.read(&mut id).ok()? == 0 {
            return None;
        }
        let size = u64::from(leb_u32(&mut wasm)?);
        let mut section = (&mut wasm).take(size);
        if id[0] == 0 {
            let name_len = u64::from(leb_u32(&mut section)?);
            let mut name = Vec::new();
            (&mut section).take(name_len).read_to_end(&mut name).ok()?;
            if name == VERSION_SECTION.as_bytes() {
                let mut value = Vec::new();
                section
                    .take(MAX_VERSION_BYTES)
                    .read_to_end(&mut value)
                    .ok()?;
                return String::from_utf8(value).ok();
            }
        }
        // Skip what is left of the section.
        std::io::copy(&mut section, &mut std::io::sink()).ok()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn section(id: u8, payload: &[u8]) -> Vec<u8> {
        assert!(payload.len() < 128);
        [&[id, payload.len() as u8][..], payload].concat()
    }

    fn custom(name: &str, value: &[u8]) -> Vec<u8> {
        let payload = [&[name.len() as u8][..], name.as_bytes(), value].concat();
        section(0, &payload)
    }

    fn module(sections: &[Vec<u8>]) -> Vec<u8> {
        [WASM_HEADER.to_vec(), sections.concat()].concat()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn finds_the_version_section_among_others() {
        let m = module(&[
            section(1, &[0x01, 0x60, 0x00, 0x00]),
            custom("icp:public candid:service", b"service : {}"),
            custom(VERSION_SECTION, b"2.1.0"),
        ]);
        assert_eq!(embedded_version(&m[..]), Some("2.1.0".into()));
        assert_eq!(embedded_version(&gzip(&m)[..]), Some("2.1.0".into()));
    }

    #[test]
    fn a_module_without_it_or_not_walkable_has_none() {
        let plain = module(&[custom("icp:private release_version", b"1.0.0")]);
        assert_eq!(embedded_version(&plain[..]), None);
        assert_eq!(embedded_version(&WASM_HEADER[..]), None);
        let cut = module(&[section(1, &[1, 2, 3])]);
        assert_eq!(embedded_version(&cut[..cut.len() - 1]), None);
        assert_eq!(embedded_version(&b"not wasm"[..]), None);
    }
}
