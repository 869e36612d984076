//! Helpers shared by the integration tests (each test binary uses a subset).
#![allow(dead_code)]

use candid::Principal;
use ic_stable_structures::{Memory, VectorMemory};
use wasm_registry::*;

pub type Reg = Registry<VectorMemory>;

pub const MIB: u64 = CHUNK_SIZE;

pub fn alice() -> Principal {
    Principal::from_slice(&[0xa1])
}
pub fn bob() -> Principal {
    Principal::from_slice(&[0xb0])
}
pub fn carol() -> Principal {
    Principal::from_slice(&[0xca])
}

pub fn memories() -> RegistryMemories<VectorMemory> {
    RegistryMemories::from_fn(|_| VectorMemory::default())
}

pub fn registry() -> Reg {
    Registry::init(memories())
}

/// A registry where one approval from anyone (uploader included) approves.
pub fn open_registry() -> Reg {
    let mut reg = registry();
    reg.set_config(
        RegistryConfig {
            approvals_required: 1,
            uploader_counts: true,
        },
        0,
    )
    .unwrap();
    reg
}

pub fn v(text: &str) -> semver::Version {
    parse_version(text).unwrap()
}

/// A `len`-byte module: the wasm header, then bytes derived from `seed` (xorshift).
pub fn wasm(len: usize, seed: u64) -> Vec<u8> {
    assert!(len >= WASM_HEADER.len());
    let mut out = WASM_HEADER.to_vec();
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

pub fn chunk_of(module: &[u8], index: u32) -> &[u8] {
    let start = (index as usize) * MIB as usize;
    let end = (start + MIB as usize).min(module.len());
    &module[start..end]
}

pub fn n_chunks(module: &[u8]) -> u32 {
    (module.len() as u64).div_ceil(MIB) as u32
}

pub fn begin_args(version: &str, module: &[u8]) -> BeginUpload {
    BeginUpload {
        version: version.into(),
        sha256: Sha256::of(module),
        size: module.len() as u64,
        notes: format!("release {version}"),
        min_upgrade_from: None,
        app_arg: None,
    }
}

pub fn chunk_args(version: &str, index: u32, bytes: &[u8]) -> UploadChunk {
    UploadChunk {
        version: version.into(),
        index,
        bytes: bytes.to_vec().into(),
        sha256: None,
    }
}

pub fn upload_all<M: Memory>(reg: &mut Registry<M>, version: &str, module: &[u8]) {
    for i in 0..n_chunks(module) {
        reg.upload_chunk(chunk_args(version, i, chunk_of(module, i)), 10)
            .unwrap();
    }
}

/// begin + all chunks + commit, with an optional `min_upgrade_from`.
pub fn publish_with<M: Memory>(
    reg: &mut Registry<M>,
    version: &str,
    module: &[u8],
    min: Option<&str>,
) -> Release {
    let mut args = begin_args(version, module);
    args.min_upgrade_from = min.map(str::to_string);
    reg.begin_upload(args, alice(), 1).unwrap();
    upload_all(reg, version, module);
    reg.commit_upload(&v(version), 20).unwrap()
}

pub fn publish<M: Memory>(reg: &mut Registry<M>, version: &str, module: &[u8]) -> Release {
    publish_with(reg, version, module, None)
}

/// Publishes and approves (by bob, who is never the uploader here).
pub fn publish_approved<M: Memory>(
    reg: &mut Registry<M>,
    version: &str,
    seed: u64,
    min: Option<&str>,
) -> Release {
    let module = wasm(64, seed);
    publish_with(reg, version, &module, min);
    assert_eq!(
        reg.approve(&v(version), bob(), 30).unwrap(),
        ReleaseState::Approved
    );
    reg.release(&v(version)).unwrap()
}

/// A gzip stream that inflates to the wasm header followed by exactly `zeros` zero bytes, in
/// about `zeros / 160` bytes: one fixed-Huffman deflate block of (length 258, distance 1)
/// matches. Built by hand because compressing 100 MiB takes seconds in a debug build. The
/// trailer's CRC is left 0: the registry must stop at its cap long before checking it.
pub fn gzip_bomb(zeros: u64) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u32,
        n: u32,
    }
    impl Bits {
        // Deflate packs header fields LSB first...
        fn put(&mut self, value: u32, len: u32) {
            for i in 0..len {
                self.acc |= ((value >> i) & 1) << self.n;
                self.n += 1;
                if self.n == 8 {
                    self.out.push(self.acc as u8);
                    (self.acc, self.n) = (0, 0);
                }
            }
        }
        // ...and Huffman codes MSB first.
        fn code(&mut self, code: u32, len: u32) {
            for i in (0..len).rev() {
                self.put((code >> i) & 1, 1);
            }
        }
    }
    let mut bits = Bits {
        out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff],
        acc: 0,
        n: 0,
    };
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // BTYPE = fixed Huffman
    for &byte in &WASM_HEADER {
        bits.code(0x30 + u32::from(byte), 8); // literals 0..=143: 8-bit codes from 0x30
    }
    // The header ends in a zero, so the run is copies of the previous byte.
    let run = zeros;
    for _ in 0..run / 258 {
        bits.code(0xc0 + (285 - 280), 8); // length 258
        bits.code(0, 5); // distance 1
    }
    for _ in 0..run % 258 {
        bits.code(0x30, 8); // literal 0
    }
    bits.code(0, 7); // end of block
    if bits.n > 0 {
        bits.out.push(bits.acc as u8);
    }
    bits.out.extend_from_slice(&[0; 8]); // CRC32 and ISIZE, unchecked
    bits.out
}
