//! Compiling and running canister modules under wasmtime.
//!
//! One wasmtime `Engine` and `Linker` serve the whole process; modules are
//! compiled once per SHA-256 of the submitted bytes and cached, together with
//! their initial memory image, which every canister of that module shares
//! page by page (see [`pages`]).

mod disk_cache;
pub mod exec;
pub mod pages;
pub mod prepare;

use crate::system_api::{self, ApiContext, ApiKind};
use candid::Principal;
use pages::PageMap;
use prepare::{Exports, InvalidWasm};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex};
use wasmtime::{Config, InstancePre, Linker, Store, Val};

/// A global's value, kept outside any store.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum GlobalValue {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
}

impl GlobalValue {
    fn from_val(v: Val) -> Option<Self> {
        Some(match v {
            Val::I32(x) => GlobalValue::I32(x),
            Val::I64(x) => GlobalValue::I64(x),
            Val::F32(x) => GlobalValue::F32(x),
            Val::F64(x) => GlobalValue::F64(x),
            Val::V128(x) => GlobalValue::V128(x.as_u128()),
            _ => return None,
        })
    }

    fn to_val(self) -> Val {
        match self {
            GlobalValue::I32(x) => Val::I32(x),
            GlobalValue::I64(x) => Val::I64(x),
            GlobalValue::F32(x) => Val::F32(x),
            GlobalValue::F64(x) => Val::F64(x),
            GlobalValue::V128(x) => Val::V128(x.into()),
        }
    }
}

/// A compiled module and its initial state.
pub struct CompiledModule {
    /// SHA-256 of the bytes as submitted (gzipped or not): the IC's module hash.
    pub hash: [u8; 32],
    pub exports: Exports,
    pub metadata: BTreeMap<String, (bool, Vec<u8>)>,
    pub submitted_size: usize,
    /// The bytes as submitted, kept so a saved state can name and reload the module.
    pub submitted: Arc<[u8]>,
    pub has_start: bool,
    pre: InstancePre<ApiContext>,
    mutable_globals: Vec<String>,
    base_heap: PageMap,
    base_heap_pages: u64,
    base_globals: Vec<GlobalValue>,
}

impl std::fmt::Debug for CompiledModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CompiledModule({})", hex::encode(self.hash))
    }
}

impl CompiledModule {
    /// Whether the module may run with `wasm_memory_persistence = keep`.
    pub fn enhanced_orthogonal_persistence(&self) -> bool {
        self.metadata
            .contains_key("enhanced-orthogonal-persistence")
    }

    /// The heap right after instantiation, which canisters' heaps share pages with.
    pub fn base_heap(&self) -> &PageMap {
        &self.base_heap
    }

    /// How many mutable globals an instance has (what a saved heap must hold).
    pub fn mutable_global_count(&self) -> usize {
        self.mutable_globals.len()
    }
}

struct Shared {
    engine: wasmtime::Engine,
    linker: Linker<ApiContext>,
    cache: Mutex<HashMap<[u8; 32], Arc<CompiledModule>>>,
    compiling: Mutex<()>,
}

/// The replica's validation flags (digest §8.1), plus fuel as the instruction
/// counter. Function references and GC are compiled out (no `gc` feature);
/// reference types stay on by default, as the replica has them.
fn config() -> Config {
    let mut cfg = Config::new();
    cfg.consume_fuel(true)
        .cranelift_nan_canonicalization(true)
        .wasm_bulk_memory(true)
        .wasm_simd(true)
        .wasm_relaxed_simd(false)
        .wasm_multi_memory(false)
        .wasm_memory64(false)
        .wasm_tail_call(false)
        .wasm_backtrace(false);
    cfg
}

static SHARED: LazyLock<Shared> = LazyLock::new(|| {
    let engine = wasmtime::Engine::new(&config()).expect("the emulator's wasmtime config is valid");
    let mut linker = Linker::new(&engine);
    system_api::link(&mut linker).expect("every ic0 import is defined once");
    Shared {
        engine,
        linker,
        cache: Mutex::new(HashMap::new()),
        compiling: Mutex::new(()),
    }
});

pub(crate) fn engine() -> &'static wasmtime::Engine {
    &SHARED.engine
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Compiles (or fetches from the cache) the module of `submitted` bytes.
pub fn load(submitted: &[u8]) -> Result<Arc<CompiledModule>, InvalidWasm> {
    let hash = sha256(submitted);
    let cached = || {
        SHARED
            .cache
            .lock()
            .expect("module cache lock")
            .get(&hash)
            .cloned()
    };
    if let Some(m) = cached() {
        return Ok(m);
    }
    // One compilation at a time: concurrent tests installing the same module
    // would otherwise all compile it (compilation is what is slow).
    let _compiling = SHARED.compiling.lock().expect("compile lock");
    if let Some(m) = cached() {
        return Ok(m);
    }
    let compiled = Arc::new(compile(hash, submitted)?);
    SHARED
        .cache
        .lock()
        .expect("module cache lock")
        .insert(hash, compiled.clone());
    Ok(compiled)
}

fn compile(hash: [u8; 32], submitted: &[u8]) -> Result<CompiledModule, InvalidWasm> {
    let prepared = prepare::prepare(submitted)?;
    let module = disk_cache::compile(&SHARED.engine, &prepared.wasm)
        .map_err(|e| InvalidWasm(format!("wasm compilation failed: {e:#}")))?;
    let pre = SHARED
        .linker
        .instantiate_pre(&module)
        .map_err(|e| InvalidWasm(format!("wasm module has an invalid import: {e:#}")))?;
    // The initial image: memory and globals right after instantiation (data
    // segments applied, start not run; the replica runs start at install).
    let ctx = ApiContext::new(
        ApiKind::Start,
        Principal::anonymous(),
        Principal::anonymous(),
        0,
    );
    let mut store = Store::new(&SHARED.engine, ctx);
    store.set_fuel(0).expect("fuel is enabled");
    let instance = pre
        .instantiate(&mut store)
        .map_err(|e| InvalidWasm(format!("wasm instantiation failed: {e:#}")))?;
    let (base_heap, base_heap_pages) = match instance.get_memory(&mut store, prepare::MEMORY_EXPORT)
    {
        Some(mem) => (PageMap::from_bytes(mem.data(&store)), mem.size(&store)),
        None => (PageMap::default(), 0),
    };
    let mut base_globals = Vec::new();
    for name in &prepared.mutable_globals {
        let global = instance
            .get_global(&mut store, name)
            .expect("exported by the rewrite");
        let value = GlobalValue::from_val(global.get(&mut store)).ok_or_else(|| {
            InvalidWasm(format!("the mutable global `{name}` has a reference type"))
        })?;
        base_globals.push(value);
    }
    Ok(CompiledModule {
        hash,
        exports: prepared.exports,
        metadata: prepared.metadata,
        submitted_size: submitted.len(),
        submitted: submitted.into(),
        has_start: prepared.has_start,
        pre,
        mutable_globals: prepared.mutable_globals,
        base_heap,
        base_heap_pages,
        base_globals,
    })
}
