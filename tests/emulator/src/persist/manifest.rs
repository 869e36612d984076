//! `manifest.json`: what a state directory is and which format it uses.

use super::files::{read_json, write_json};
use super::StateError;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const FILE: &str = "manifest.json";
const FORMAT: &str = "ic-emulator-state";
/// Bumped whenever a reader of the previous version would misread the files.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// The ic-emulator version that wrote it (informative).
    pub written_by: String,
    pub time_nanos: u64,
    pub round: u64,
    pub canisters: usize,
}

/// The fields every version has: read first, so a newer format is reported
/// as such rather than as corrupt.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

impl Manifest {
    pub fn new(time_nanos: u64, round: u64, canisters: usize) -> Self {
        Manifest {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            written_by: env!("CARGO_PKG_VERSION").into(),
            time_nanos,
            round,
            canisters,
        }
    }

    pub fn write(&self, dir: &Path) -> Result<(), StateError> {
        write_json(&dir.join(FILE), self)
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
