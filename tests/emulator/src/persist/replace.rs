//! Replacing a state directory as a whole: the new state is written to a
//! sibling staging directory, which is then renamed into place, so a failed
//! save leaves the previous state untouched.

use super::{manifest, StateError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes sibling directories of saves made by one process.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn sibling(dir: &Path, purpose: &str) -> Result<PathBuf, StateError> {
    let name = dir.file_name().ok_or_else(|| {
        StateError::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a state directory needs a name (not `/`, `.` or `..`)",
            ),
        )
    })?;
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let mut sibling_name = name.to_os_string();
    sibling_name.push(format!(".{purpose}-{}-{n}", std::process::id()));
    Ok(dir.with_file_name(sibling_name))
}

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

/// A new, empty staging directory next to `dir`.
pub fn staging_dir(dir: &Path) -> Result<PathBuf, StateError> {
    let staging = sibling(dir, "saving")?;
    if let Some(parent) = staging.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| StateError::io(parent, e))?;
    }
    std::fs::create_dir(&staging).map_err(|e| StateError::io(&staging, e))?;
    Ok(staging)
}

/// Moves `staging` to `dir`, replacing the previous state. A directory
/// cannot be renamed over a non-empty one, so the old state is first moved
/// aside; it is restored if the second rename fails.
pub fn move_into_place(staging: &Path, dir: &Path) -> Result<(), StateError> {
    if std::fs::symlink_metadata(dir).is_err() {
        return std::fs::rename(staging, dir).map_err(|e| StateError::io(dir, e));
    }
    let old = sibling(dir, "replaced")?;
    std::fs::rename(dir, &old).map_err(|e| StateError::io(dir, e))?;
    if let Err(e) = std::fs::rename(staging, dir) {
        let _ = std::fs::rename(&old, dir);
        return Err(StateError::io(dir, e));
    }
    // The new state is in place; a leftover old copy wastes space but harms nothing.
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}
