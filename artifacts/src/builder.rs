//! Builds the release artifacts when their sources changed.

use crate::fingerprint::source_fingerprint;
use crate::postprocess::release_module;
use crate::toolchain::{Toolchain, WASM_TARGET};
use crate::{sha256, Artifact, Artifacts, CanisterKind, CANISTERS};
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cargo profile the canisters are built with (see the workspace manifest).
const PROFILE: &str = "canister";
/// Overrides the profile's opt-level, to compare module sizes.
pub const OPT_LEVEL_ENV: &str = "CANISTER_OPT_LEVEL";

#[derive(Debug)]
pub enum BuildError {
    Toolchain(String),
    Io {
        what: String,
        error: std::io::Error,
    },
    Cargo {
        command: String,
        stderr: String,
    },
    Postprocess {
        canister: &'static str,
        error: String,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Toolchain(e) => write!(f, "canister toolchain: {e}"),
            BuildError::Io { what, error } => write!(f, "{what}: {error}"),
            BuildError::Cargo { command, stderr } => {
                write!(f, "building the canisters failed: {command}\n{stderr}")
            }
            BuildError::Postprocess { canister, error } => {
                write!(f, "post-processing {canister}.wasm: {error}")
            }
        }
    }
}

impl std::error::Error for BuildError {}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BuildError {
    let what = what.into();
    move |error| BuildError::Io { what, error }
}

struct Settings {
    toolchain: Toolchain,
    opt_level: Option<String>,
    git_commit: Option<String>,
}

impl Settings {
    fn read(root: &Path) -> Result<Settings, BuildError> {
        Ok(Settings {
            toolchain: Toolchain::detect().map_err(BuildError::Toolchain)?,
            opt_level: std::env::var(OPT_LEVEL_ENV).ok().filter(|s| !s.is_empty()),
            git_commit: git_commit(root),
        })
    }

    fn describe(&self) -> String {
        format!(
            "toolchain={} opt-level={} commit={}",
            self.toolchain.name(),
            self.opt_level.as_deref().unwrap_or("profile"),
            self.git_commit.as_deref().unwrap_or("unknown"),
        )
    }
}

pub(crate) fn ensure_built(root: &Path) -> Result<Artifacts, BuildError> {
    let settings = Settings::read(root)?;
    let fingerprint = source_fingerprint(root, &settings.describe())
        .map_err(io("fingerprinting the canister sources"))?;
    let dir = root.join("target").join("canisters");
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    let stamp = dir.join("fingerprint");

    if is_current(&dir, &stamp, &fingerprint) {
        return load(&dir);
    }
    let lock_path = dir.join(".build.lock");
    let lock = File::create(&lock_path).map_err(io(format!("creating {}", lock_path.display())))?;
    lock.lock().map_err(io("locking the canister build"))?;
    // Another process may have built while this one waited for the lock.
    if !is_current(&dir, &stamp, &fingerprint) {
        build(root, &dir, &settings)?;
        std::fs::write(&stamp, &fingerprint).map_err(io("writing the build stamp"))?;
    }
    load(&dir)
}

fn is_current(dir: &Path, stamp: &Path, fingerprint: &str) -> bool {
    std::fs::read_to_string(stamp).is_ok_and(|s| s == fingerprint)
        && CANISTERS.iter().all(|k| gz_path(dir, *k).is_file())
}

fn gz_path(dir: &Path, kind: CanisterKind) -> PathBuf {
    dir.join(format!("{}.wasm.gz", kind.crate_name()))
}

fn build(root: &Path, dir: &Path, settings: &Settings) -> Result<(), BuildError> {
    let target_dir = root
        .join("target")
        .join(format!("canister-build-{}", settings.toolchain.name()));
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .current_dir(root)
        .arg("build")
        .args(["--profile", PROFILE, "--target", WASM_TARGET])
        .arg("--target-dir")
        .arg(&target_dir);
    for kind in CANISTERS {
        cargo.args(["-p", kind.crate_name()]);
    }
    if let Some(opt) = &settings.opt_level {
        // Numeric levels are TOML integers, "s" and "z" are strings.
        let value = match opt.parse::<u8>() {
            Ok(n) => n.to_string(),
            Err(_) => format!("{opt:?}"),
        };
        cargo.args(["--config", &format!("profile.{PROFILE}.opt-level={value}")]);
    }
    settings.toolchain.configure(&mut cargo);
    // Flags meant for the host (coverage, sanitizers) must not reach the wasm.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
    ] {
        cargo.env_remove(var);
    }
    match &settings.git_commit {
        Some(commit) => cargo.env("CANISTER_GIT_COMMIT", commit),
        None => cargo.env_remove("CANISTER_GIT_COMMIT"),
    };
    eprintln!("building canister wasm ({}) ...", settings.describe());
    let out = cargo.output().map_err(io(format!("running {cargo:?}")))?;
    if !out.status.success() {
        return Err(BuildError::Cargo {
            command: format!("{cargo:?}"),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    for kind in CANISTERS {
        let raw_path = target_dir
            .join(WASM_TARGET)
            .join(PROFILE)
            .join(format!("{}.wasm", kind.crate_name()));
        let raw =
            std::fs::read(&raw_path).map_err(io(format!("reading {}", raw_path.display())))?;
        let did_path = root.join(kind.did_path());
        let did = std::fs::read_to_string(&did_path)
            .map_err(io(format!("reading {}", did_path.display())))?;
        let version = if kind.is_release() {
            Some(crate_version(root, kind)?)
        } else {
            None
        };
        let gz = release_module(&raw, &did, version.as_deref()).map_err(|error| {
            BuildError::Postprocess {
                canister: kind.crate_name(),
                error,
            }
        })?;
        let path = gz_path(dir, kind);
        std::fs::write(&path, &gz).map_err(io(format!("writing {}", path.display())))?;
        let sha_line = format!(
            "{}  {}.wasm.gz\n",
            hex::encode(sha256(&gz)),
            kind.crate_name()
        );
        std::fs::write(path.with_extension("gz.sha256"), sha_line)
            .map_err(io("writing the module hash"))?;
    }
    Ok(())
}

/// The package version of `kind`'s crate, as cargo resolves it
/// (`cargo pkgid` prints `<source>#[<name>@]<version>`).
fn crate_version(root: &Path, kind: CanisterKind) -> Result<String, BuildError> {
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .current_dir(root)
        .args(["pkgid", "--offline", "-p", kind.crate_name()]);
    let out = cargo.output().map_err(io(format!("running {cargo:?}")))?;
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let version = id
        .rsplit('#')
        .next()
        .map(|v| v.rsplit('@').next().unwrap_or(v));
    match version {
        Some(v) if out.status.success() && !v.is_empty() => Ok(v.to_string()),
        _ => Err(BuildError::Cargo {
            command: format!("{cargo:?}"),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }),
    }
}

fn load(dir: &Path) -> Result<Artifacts, BuildError> {
    let one = |kind: CanisterKind| -> Result<Artifact, BuildError> {
        let path = gz_path(dir, kind);
        let wasm_gz = std::fs::read(&path).map_err(io(format!("reading {}", path.display())))?;
        let raw_size =
            gunzipped_len(&wasm_gz).map_err(io(format!("gunzipping {}", path.display())))?;
        Ok(Artifact {
            kind,
            sha256: sha256(&wasm_gz),
            path,
            wasm_gz,
            raw_size,
        })
    };
    Ok(Artifacts {
        factory: one(CanisterKind::Factory)?,
        user_canister: one(CanisterKind::UserCanister)?,
        probe: one(CanisterKind::Probe)?,
        notes_v1: one(CanisterKind::NotesV1)?,
        notes_v2: one(CanisterKind::NotesV2)?,
    })
}

fn gunzipped_len(gz: &[u8]) -> std::io::Result<usize> {
    let mut decoder = flate2::read::GzDecoder::new(gz);
    std::io::copy(&mut decoder, &mut std::io::sink()).map(|n| n as usize)
}

fn git_commit(root: &Path) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}
