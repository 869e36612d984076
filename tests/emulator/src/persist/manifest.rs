//! `manifest.json`: what a state directory is and which format it uses.

use super::files::{read_json, write_atomically};
use super::StateError;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const FILE: &str = "manifest.json";
const FORMAT: &str = "ic-emulator-state";
/// Bumped whenever a reader of the previous version would misread the files.
/// 2: files are named by the generation that wrote them (`generation`), so a
/// save writes only the canisters that changed. 3: each canister's record is
/// a file of its own (`canisters/<id>.<generation>.json`), so a save writes
/// only the records that changed.
pub const FORMAT_VERSION: u32 = 3;

#[derive(Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// The ic-emulator version that wrote it (informative).
    pub written_by: String,
    pub time_nanos: u64,
    pub round: u64,
    pub canisters: usize,
    /// Which save wrote it: names the subnet, capacity and new blob files.
    pub generation: u64,
}

/// The fields every version has: read first, so a newer format is reported
/// as such rather than as corrupt.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

impl Manifest {
    pub fn new(time_nanos: u64, round: u64, canisters: usize, generation: u64) -> Self {
        Manifest {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            written_by: env!("CARGO_PKG_VERSION").into(),
            time_nanos,
            round,
            canisters,
            generation,
        }
    }

    /// Commits a save: until this rename, the previous manifest (and the
    /// generation it names) is the state.
    /// Returns the bytes written.
    pub fn write(&self, dir: &Path) -> Result<usize, StateError> {
        let path = dir.join(FILE);
        let bytes = serde_json::to_vec(self).map_err(|e| StateError::io(&path, e.into()))?;
        write_atomically(&path, &bytes)?;
        Ok(bytes.len())
    }

    /// The generation of the state in `dir`, 0 if none (or not readable: a
    /// save then starts a new one and replaces it).
    pub fn generation_in(dir: &Path) -> u64 {
        Manifest::read(dir).map_or(0, |m| m.generation)
    }

    pub fn read(dir: &Path) -> Result<Manifest, StateError> {
        let path = dir.join(FILE);
        if !path.is_file() {
            return Err(StateError::NotFound {
                path: dir.to_path_buf(),
            });
        }
        let header: Header = read_json(&path)?;
        if header.format != FORMAT {
            return Err(StateError::corrupt(
                &path,
                format!("format is {:?}, not {FORMAT:?}", header.format),
            ));
        }
        if header.version != FORMAT_VERSION {
            return Err(StateError::UnsupportedVersion {
                path,
                found: header.version,
                supported: FORMAT_VERSION,
            });
        }
        read_json(&path)
    }
}
