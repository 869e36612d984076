//! Is this a module the IC will accept? Raw wasm (`\0asm`, version 1) or gzip whose content is,
//! inflating to at most 100 MiB. The gzip stream is decoded into a small buffer with a hard cap,
//! so a gzip bomb costs bounded work and memory and ends in `GzipTooLarge`, never an OOM.
//! Full wasm validation is left to the IC, which does it at install anyway.

use crate::error::RegistryError;
use std::io::{BufRead, BufReader, Read};

/// `\0asm` followed by binary format version 1.
pub const WASM_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// What kind of module passed the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleKind {
    Wasm,
    /// Gzipped wasm, with its decompressed size.
    GzippedWasm {
        decompressed_size: u64,
    },
}

/// Checks the module read from `reader`; `max_decompressed` is the inflation cap.
pub fn check_module<R: Read>(
    reader: R,
    max_decompressed: u64,
) -> Result<ModuleKind, RegistryError> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let head = reader
        .fill_buf()
        .map_err(|e| RegistryError::InvalidGzip {
            reason: e.to_string(),
        })?
        .to_vec();
    if head.starts_with(&WASM_HEADER) {
        return Ok(ModuleKind::Wasm);
    }
    if !head.starts_with(&GZIP_MAGIC) {
        return Err(RegistryError::NotWasm { gzipped: false });
    }
    check_gzip(reader, max_decompressed)
}

fn check_gzip<R: BufRead>(reader: R, max: u64) -> Result<ModuleKind, RegistryError> {
    let invalid = |e: std::io::Error| RegistryError::InvalidGzip {
        reason: e.to_string(),
    };
    let mut decoder = flate2::bufread::GzDecoder::new(reader);
    let mut buf = vec![0u8; 64 * 1024];
    let mut head: Vec<u8> = Vec::with_capacity(WASM_HEADER.len());
    let mut total: u64 = 0;
    loop {
        let n = decoder.read(&mut buf).map_err(invalid)?;
        if n == 0 {
            break;
        }
        if head.len() < WASM_HEADER.len() {
            let take = (WASM_HEADER.len() - head.len()).min(n);
            head.extend_from_slice(&buf[..take]);
            // Fail fast: no need to inflate the rest of something that is not wasm.
            if !WASM_HEADER.starts_with(&head) {
                return Err(RegistryError::NotWasm { gzipped: true });
            }
        }
        total += n as u64;
        if total > max {
            return Err(RegistryError::GzipTooLarge { max });
        }
    }
    if head.len() < WASM_HEADER.len() {
        return Err(RegistryError::NotWasm { gzipped: true });
    }
    // The decoder stops after the first gzip member (CRC and length checked); anything after it
    // would be silently ignored by some decoders and not others, so refuse it.
    let mut rest = decoder.into_inner();
    if !rest.fill_buf().map_err(invalid)?.is_empty() {
        return Err(RegistryError::InvalidGzip {
            reason: "trailing bytes after the gzip stream".into(),
        });
    }
    Ok(ModuleKind::GzippedWasm {
        decompressed_size: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn wasm(body_len: usize) -> Vec<u8> {
        let mut m = WASM_HEADER.to_vec();
        m.resize(8 + body_len, 0);
        m
    }

    #[test]
    fn accepts_raw_and_gzipped_wasm() {
        assert_eq!(check_module(&wasm(10)[..], 100), Ok(ModuleKind::Wasm));
        assert_eq!(
            check_module(&gzip(&wasm(10))[..], 100),
            Ok(ModuleKind::GzippedWasm {
                decompressed_size: 18
            })
        );
    }

    #[test]
    fn rejects_non_wasm() {
        assert_eq!(
            check_module(&b"\0asm\x02\0\0\0"[..], 100),
            Err(RegistryError::NotWasm { gzipped: false })
        );
        assert_eq!(
            check_module(&b"\0as"[..], 100),
            Err(RegistryError::NotWasm { gzipped: false })
        );
        assert_eq!(
            check_module(&gzip(b"hello world")[..], 100),
            Err(RegistryError::NotWasm { gzipped: true })
        );
        assert_eq!(
            check_module(&gzip(b"\0as")[..], 100),
            Err(RegistryError::NotWasm { gzipped: true })
        );
    }

    #[test]
    fn inflation_is_capped() {
        // 8 + 1000 bytes inflate past a 1000-byte cap; exactly at the cap passes.
        let gz = gzip(&wasm(1000));
        assert_eq!(
            check_module(&gz[..], 1000),
            Err(RegistryError::GzipTooLarge { max: 1000 })
        );
        assert!(check_module(&gz[..], 1008).is_ok());
    }

    #[test]
    fn corrupt_truncated_and_trailing_gzip_are_invalid() {
        let gz = gzip(&wasm(5000));
        let truncated = &gz[..gz.len() - 6];
        assert!(matches!(
            check_module(truncated, 1 << 20),
            Err(RegistryError::InvalidGzip { .. })
        ));
        let mut bad_crc = gz.clone();
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 0xff;
        assert!(matches!(
            check_module(&bad_crc[..], 1 << 20),
            Err(RegistryError::InvalidGzip { .. })
        ));
        let mut trailing = gz.clone();
        trailing.extend_from_slice(b"junk");
        assert!(matches!(
            check_module(&trailing[..], 1 << 20),
            Err(RegistryError::InvalidGzip { .. })
        ));
    }
}
