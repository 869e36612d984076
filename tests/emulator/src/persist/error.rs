//! Why saving or loading a state directory failed.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum StateError {
    /// Reading or writing `path` failed.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// There is no saved state at `path` (no directory or no manifest).
    NotFound { path: PathBuf },
    /// The state was written in a format this emulator does not read.
    UnsupportedVersion {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// A file of the state is malformed or inconsistent with the others.
    Corrupt { path: PathBuf, reason: String },
    /// `save_state` refuses to replace something that is not a saved state
    /// (a file, or a non-empty directory without a manifest).
    NotAStateDir { path: PathBuf },
}

impl StateError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StateError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl fmt::Display) -> Self {
        StateError::Corrupt {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            StateError::NotFound { path } => {
                write!(f, "{}: no saved emulator state here", path.display())
            }
            StateError::UnsupportedVersion {
                path,
                found,
                supported,
            } => write!(
                f,
                "{}: state format version {found} is not supported (this emulator reads version {supported})",
                path.display()
            ),
            StateError::Corrupt { path, reason } => {
                write!(f, "{}: corrupt emulator state: {reason}", path.display())
            }
            StateError::NotAStateDir { path } => write!(
                f,
                "{}: exists and is not an emulator state directory; refusing to replace it",
                path.display()
            ),
        }
    }
}

impl std::error::Error for StateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StateError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
