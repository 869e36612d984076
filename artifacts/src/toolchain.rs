//! Which compiler builds the canisters for `wasm32-unknown-unknown`.
//!
//! Normally rustup's toolchain with its wasm target (`scripts/setup.sh` adds
//! it). Where rustup cannot add the target, Debian's `rustc-web` with
//! `rust-web-src` builds the same crates with `-Zbuild-std`, linked by the
//! `rust-lld` that ships with the rustup toolchain (DESIGN.md, "Toolchain").

use std::path::{Path, PathBuf};
use std::process::Command;

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
/// Set to `debian` or `rustup` to force a route (to show the fallback builds).
pub const TOOLCHAIN_ENV: &str = "CANISTER_TOOLCHAIN";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Toolchain {
    /// rustup's toolchain, with the wasm32 target installed.
    Rustup,
    /// Debian's rustc-web, std built from rust-web-src, rustup's rust-lld.
    Debian { rustc: PathBuf, linker: PathBuf },
}

impl Toolchain {
    /// The route forced by `CANISTER_TOOLCHAIN`, else rustup when its wasm
    /// target is installed, else Debian's when its packages are.
    pub fn detect() -> Result<Toolchain, String> {
        match std::env::var(TOOLCHAIN_ENV).ok().as_deref() {
            Some("debian") => return Self::debian(),
            Some("rustup") => return Ok(Toolchain::Rustup),
            Some(other) if !other.is_empty() => {
                return Err(format!(
                    "{TOOLCHAIN_ENV}={other}: expected `rustup` or `debian`"
                ))
            }
            _ => {}
        }
        if rustup_has_wasm_target() {
            return Ok(Toolchain::Rustup);
        }
        Self::debian().map_err(|debian| {
            format!(
                "no wasm32 toolchain: rustup's `{WASM_TARGET}` target is not installed and the \
                 Debian route is not available ({debian}). Run scripts/setup.sh."
            )
        })
    }

    fn debian() -> Result<Toolchain, String> {
        let rustc = PathBuf::from(DEBIAN_RUSTC);
        if !rustc.is_file() {
            return Err(format!(
                "{DEBIAN_RUSTC} missing (apt-get install rustc-web)"
            ));
        }
        let sysroot = command_output(Command::new(&rustc).args(["--print", "sysroot"]))?;
        let library = Path::new(sysroot.trim()).join("lib/rustlib/src/rust/library");
        if !library.is_dir() {
            return Err(format!(
                "{} missing (apt-get install rust-web-src)",
                library.display()
            ));
        }
        let linker = rustup_rust_lld()?;
        Ok(Toolchain::Debian { rustc, linker })
    }

    /// A short name, part of the build fingerprint.
    pub fn name(&self) -> &'static str {
        match self {
            Toolchain::Rustup => "rustup",
            Toolchain::Debian { .. } => "debian",
        }
    }

    /// Sets up `cargo` (already given its subcommand) for this route.
    pub fn configure(&self, cargo: &mut Command) {
        if let Toolchain::Debian { rustc, linker } = self {
            cargo
                .env("RUSTC", rustc)
                .env("RUSTC_BOOTSTRAP", "1")
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", linker)
                .arg("-Zbuild-std=std,panic_abort");
        }
    }
}

fn rustc() -> Command {
    Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
}

fn rustup_has_wasm_target() -> bool {
    command_output(rustc().args(["--print", "target-libdir", "--target", WASM_TARGET]))
        .map(|dir| Path::new(dir.trim()).is_dir())
        .unwrap_or(false)
}

fn rustup_rust_lld() -> Result<PathBuf, String> {
    let sysroot = command_output(rustc().args(["--print", "sysroot"]))?;
    let version = command_output(rustc().arg("-vV"))?;
    let host = version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .ok_or("rustc -vV names no host")?;
    let lld = Path::new(sysroot.trim()).join(format!("lib/rustlib/{host}/bin/rust-lld"));
    if lld.is_file() {
        Ok(lld)
    } else {
        Err(format!("{} missing", lld.display()))
    }
}

fn command_output(command: &mut Command) -> Result<String, String> {
    let out = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{command:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
