//! Reading and writing the state's files with errors that name the path.

use super::StateError;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::{BufWriter, Read, Write};
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
    serde_json::from_slice(&read(path)?).map_err(|e| StateError::corrupt(path, e))
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StateError> {
    let file = std::fs::File::create(path).map_err(|e| StateError::io(path, e))?;
    let mut out = BufWriter::new(file);
    serde_json::to_writer(&mut out, value).map_err(|e| StateError::io(path, e.into()))?;
    out.flush().map_err(|e| StateError::io(path, e))
}

/// Memory is mostly zeros and repeated patterns: fast gzip shrinks it several
/// times for little CPU.
pub fn write_gz(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let file = std::fs::File::create(path).map_err(|e| StateError::io(path, e))?;
    let mut gz = GzEncoder::new(BufWriter::new(file), Compression::fast());
    gz.write_all(bytes)
        .and_then(|_| gz.finish()?.flush())
        .map_err(|e| StateError::io(path, e))
}

pub fn read_gz(path: &Path) -> Result<Vec<u8>, StateError> {
    let compressed = read(path)?;
    let mut out = Vec::new();
    GzDecoder::new(&compressed[..])
        .read_to_end(&mut out)
        .map_err(|e| StateError::corrupt(path, format!("bad gzip data: {e}")))?;
    Ok(out)
}
