//! Compiled modules cached on disk across processes.
//!
//! Compiling a real canister takes seconds (much more in a debug build of
//! cranelift), and nextest runs every test in its own process; wasmtime can
//! serialize compiled code, so each distinct module is compiled once per
//! machine. The key covers the module bytes and the engine's compatibility
//! hash (wasmtime version, config, target); wasmtime checks both again when
//! loading. Any cache failure falls back to compiling.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use wasmtime::{Engine, Module};

/// `IC_EMULATOR_CACHE_DIR`, else `<cargo target dir>/ic-emulator-cache`, else the temp dir.
fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IC_EMULATOR_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map(|t| t.join("ic-emulator-cache"))
        .unwrap_or_else(|| std::env::temp_dir().join("ic-emulator-cache"))
}

pub fn compile(engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Module> {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let path = cache_dir().join(format!(
        "{}-{:016x}.cwasm",
        hex::encode(super::sha256(wasm)),
        h.finish()
    ));
    if path.exists() {
        // SAFETY: the file was written by `Module::serialize` below (atomically,
        // via rename) and wasmtime validates its header and engine compatibility.
        if let Ok(m) = unsafe { Module::deserialize_file(engine, &path) } {
            return Ok(m);
        }
    }
    let module = Module::new(engine, wasm)?;
    if let Ok(bytes) = module.serialize() {
        let _ = std::fs::create_dir_all(path.parent().expect("has a parent"));
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }
    Ok(module)
}
