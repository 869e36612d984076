//! A canister's bytes (memory pages, chunks) in one file, referred to from
//! its canister's record file by offset and length.

use super::StateError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlobRef {
    pub offset: u64,
    pub len: u64,
}

#[derive(Default)]
pub struct BlobWriter {
    bytes: Vec<u8>,
}

impl BlobWriter {
    pub fn push(&mut self, data: &[u8]) -> BlobRef {
        let offset = self.bytes.len() as u64;
        self.bytes.extend_from_slice(data);
        BlobRef {
            offset,
            len: data.len() as u64,
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// The bytes of one blob file; every reference is bounds-checked.
pub struct BlobReader {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl BlobReader {
    pub fn new(path: &Path, bytes: Vec<u8>) -> Self {
        BlobReader {
            path: path.to_path_buf(),
            bytes,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, blob: BlobRef) -> Result<&[u8], StateError> {
        let range = usize::try_from(blob.offset)
            .ok()
            .zip(usize::try_from(blob.len).ok())
            .and_then(|(start, len)| Some(start..start.checked_add(len)?));
        range.and_then(|r| self.bytes.get(r)).ok_or_else(|| {
            StateError::corrupt(
                &self.path,
                format!(
                    "blob {}+{} is outside the file's {} bytes",
                    blob.offset,
                    blob.len,
                    self.bytes.len()
                ),
            )
        })
    }
}
