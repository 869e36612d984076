//! Reading and writing the state's files with errors that name the path.

use super::StateError;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::{Read, Write};
use std::path::Path;

pub fn read(path: &Path) -> Result<Vec<u8>, StateError> {
    std::fs::read(path).map_err(|e| StateError::io(path, e))
}

pub fn write(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    std::fs::write(path, bytes).map_err(|e| StateError::io(path, e))
}

/// Writes `bytes` beside `path` and renames them into place: a reader (or
/// a crash) sees the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).map_err(|e| StateError::io(path, e))
}

pub fn create_dir(path: &Path) -> Result<(), StateError> {
    std::fs::create_dir_all(path).map_err(|e| StateError::io(path, e))
}

pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, StateError> {
    from_json(path, &read(path)?)
}

/// `value` as JSON; `what` names it in an error.
pub fn to_json<T: Serialize>(what: &str, value: &T) -> Result<Vec<u8>, StateError> {
    serde_json::to_vec(value).map_err(|e| StateError::io(what, e.into()))
}

pub fn from_json<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, StateError> {
    serde_json::from_slice(bytes).map_err(|e| StateError::corrupt(path, e))
}

/// Memory is mostly zeros and repeated patterns: fast gzip shrinks it several
/// times for little CPU. Returns the bytes written.
pub fn write_gz(path: &Path, bytes: &[u8]) -> Result<usize, StateError> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    let compressed = gz
        .write_all(bytes)
        .and_then(|_| gz.finish())
        .map_err(|e| StateError::io(path, e))?;
    write(path, &compressed)?;
    Ok(compressed.len())
}

pub fn read_gz(path: &Path) -> Result<Vec<u8>, StateError> {
    let compressed = read(path)?;
    let mut out = Vec::new();
    GzDecoder::new(&compressed[..])
        .read_to_end(&mut out)
        .map_err(|e| StateError::corrupt(path, format!("bad gzip data: {e}")))?;
    Ok(out)
}
