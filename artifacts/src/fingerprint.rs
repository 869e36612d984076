//! A fingerprint of everything the canister modules are built from.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Directories (relative to the workspace root) whose files go into the
/// canister modules (the post-processing code included); the workspace
/// manifest and lock file are added too.
const SOURCE_DIRS: [&str; 8] = [
    "artifacts",
    "examples",
    "factory",
    "factory_api",
    "factory_guest",
    "user_canister",
    "wasm_registry",
    "tests/emulator/probe_canister",
];
const SOURCE_FILES: [&str; 3] = ["Cargo.toml", "Cargo.lock", "rust-toolchain.toml"];

/// SHA-256 over every source file's path and content, plus `extra` (the build
/// settings), in a fixed order, so any change to what the modules are built
/// from changes it.
pub fn source_fingerprint(root: &Path, extra: &str) -> std::io::Result<String> {
    let mut files: Vec<PathBuf> = SOURCE_FILES
        .iter()
        .map(PathBuf::from)
        .filter(|f| root.join(f).is_file())
        .collect();
    for dir in SOURCE_DIRS {
        collect_files(root, Path::new(dir), &mut files)?;
    }
    files.sort();
    let mut hasher = Sha256::new();
    hasher.update(extra.as_bytes());
    for file in files {
        let content = std::fs::read(root.join(&file))?;
        hasher.update(file.to_string_lossy().as_bytes());
        hasher.update((content.len() as u64).to_le_bytes());
        hasher.update(&content);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn collect_files(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root.join(rel))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') || name == "target" {
            continue;
        }
        let rel_path = rel.join(&name);
        if entry.file_type()?.is_dir() {
            collect_files(root, &rel_path, out)?;
        } else {
            out.push(rel_path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::source_fingerprint;
    use std::fs;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for d in [
            "artifacts",
            "examples",
            "factory/src",
            "factory_api/src",
            "factory_guest/src",
            "user_canister/src",
            "wasm_registry/src",
            "tests/emulator/probe_canister/src",
        ] {
            fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        fs::write(dir.path().join("Cargo.toml"), "[workspace]").unwrap();
        fs::write(dir.path().join("factory/src/lib.rs"), "fn a() {}").unwrap();
        dir
    }

    #[test]
    fn any_source_change_or_setting_changes_the_fingerprint() {
        let dir = tree();
        let root = dir.path();
        let base = source_fingerprint(root, "x").unwrap();
        assert_eq!(
            base,
            source_fingerprint(root, "x").unwrap(),
            "deterministic"
        );
        assert_ne!(
            base,
            source_fingerprint(root, "y").unwrap(),
            "settings count"
        );

        fs::write(root.join("factory/src/lib.rs"), "fn b() {}").unwrap();
        let edited = source_fingerprint(root, "x").unwrap();
        assert_ne!(base, edited, "an edited file counts");

        fs::write(root.join("user_canister/src/new.rs"), "").unwrap();
        let added = source_fingerprint(root, "x").unwrap();
        assert_ne!(edited, added, "a new file counts");

        fs::create_dir_all(root.join("factory/target")).unwrap();
        fs::write(root.join("factory/target/junk"), "x").unwrap();
        assert_eq!(
            added,
            source_fingerprint(root, "x").unwrap(),
            "build output does not"
        );
    }
}
