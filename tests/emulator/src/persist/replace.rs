//! What a save may replace: a previous save, or nothing.

use super::{manifest, StateError};
use std::path::Path;

/// Refuses to replace anything that is not a previous save (or an empty directory).
pub fn check_replaceable(dir: &Path) -> Result<(), StateError> {
    let not_state = || StateError::NotAStateDir {
        path: dir.to_path_buf(),
    };
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StateError::io(dir, e)),
        Ok(meta) if !meta.is_dir() => Err(not_state()),
        Ok(_) => {
            if dir.join(manifest::FILE).is_file() {
                return Ok(());
            }
            let mut entries = std::fs::read_dir(dir).map_err(|e| StateError::io(dir, e))?;
            match entries.next() {
                None => Ok(()),
                Some(_) => Err(not_state()),
            }
        }
    }
}
