//! Turns submitted module bytes into what the engine compiles: gunzip, validate
//! as the replica does, then rewrite so the emulator can reach the function
//! table, the memory and every mutable global from outside (Rust does not export
//! its table; wasmtime only exposes exported globals), and move `start` out to
//! a `canister_start` export so it runs once at install, like the replica.

use crate::limits;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use wasmparser::{ExternalKind, Parser, Payload, TypeRef, Validator, WasmFeatures};

pub const TABLE_EXPORT: &str = "table";
pub const MEMORY_EXPORT: &str = "memory";
pub const START_EXPORT: &str = "canister_start";
pub const GLOBAL_EXPORT_PREFIX: &str = "__persistent_mutable_global_";

/// The entry points a module exports.
#[derive(Clone, Debug, Default)]
pub struct Exports {
    pub updates: BTreeSet<String>,
    pub queries: BTreeSet<String>,
    pub composite_queries: BTreeSet<String>,
    /// Lifecycle and system exports, e.g. `canister_init`, `canister_global_timer`.
    pub system: BTreeSet<String>,
}

impl Exports {
    pub fn has(&self, export: &str) -> bool {
        self.system.contains(export)
    }
}

/// A module ready to compile.
#[derive(Clone, Debug)]
pub struct PreparedModule {
    pub wasm: Vec<u8>,
    pub exports: Exports,
    /// Export names of all mutable globals, in global-index order.
    pub mutable_globals: Vec<String>,
    /// `icp:public NAME` / `icp:private NAME` sections: name → (public, bytes).
    pub metadata: BTreeMap<String, (bool, Vec<u8>)>,
    pub has_start: bool,
}

/// Why a module was refused; reported as IC0505 (CanisterInvalidWasm).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidWasm(pub String);

fn invalid(msg: impl Into<String>) -> InvalidWasm {
    InvalidWasm(msg.into())
}

pub fn features() -> WasmFeatures {
    WasmFeatures::WASM2 | WasmFeatures::BULK_MEMORY_OPT | WasmFeatures::CALL_INDIRECT_OVERLONG
}

/// Gunzips when the bytes start with the gzip magic, capped at the IC's module limit.
pub fn decompress(bytes: &[u8]) -> Result<Vec<u8>, InvalidWasm> {
    if !bytes.starts_with(&[0x1f, 0x8b, 0x08]) {
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limits::WASM_MAX_SIZE as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| invalid(format!("failed to decompress the gzipped module: {e}")))?;
    if out.len() > limits::WASM_MAX_SIZE {
        return Err(invalid("the decompressed module exceeds 100 MiB"));
    }
    Ok(out)
}

/// Decompresses, validates and rewrites a module.
pub fn prepare(submitted: &[u8]) -> Result<PreparedModule, InvalidWasm> {
    let wasm = decompress(submitted)?;
    if !wasm.starts_with(b"\0asm") {
        return Err(invalid(
            "the module is neither wasm (\\0asm) nor gzipped wasm",
        ));
    }
    Validator::new_with_features(features())
        .validate_all(&wasm)
        .map_err(|e| invalid(format!("wasm validation failed: {e}")))?;
    rewrite(&wasm)
}

fn check_import(module: &str, name: &str, ty: &TypeRef) -> Result<(), InvalidWasm> {
    if module != "ic0" {
        return Err(invalid(format!(
            "the module imports `{module}.{name}`; only imports from `ic0` are allowed"
        )));
    }
    if !matches!(ty, TypeRef::Func(_)) {
        return Err(invalid(format!(
            "`ic0.{name}` must be imported as a function"
        )));
    }
    if !crate::system_api::IMPORT_NAMES.contains(&name) {
        return Err(invalid(format!(
            "the module imports an unknown System API function `ic0.{name}`"
        )));
    }
    Ok(())
}

fn classify_export(name: &str, exports: &mut Exports) -> Result<(), InvalidWasm> {
    const SYSTEM: [&str; 7] = [
        "canister_init",
        "canister_pre_upgrade",
        "canister_post_upgrade",
        "canister_inspect_message",
        "canister_heartbeat",
        "canister_global_timer",
        "canister_on_low_wasm_memory",
    ];
    if SYSTEM.contains(&name) {
        exports.system.insert(name.to_string());
        return Ok(());
    }
    let (set, method) = if let Some(m) = name.strip_prefix("canister_update ") {
        (&mut exports.updates, m)
    } else if let Some(m) = name.strip_prefix("canister_query ") {
        (&mut exports.queries, m)
    } else if let Some(m) = name.strip_prefix("canister_composite_query ") {
        (&mut exports.composite_queries, m)
    } else if name.starts_with("canister_") {
        return Err(invalid(format!(
            "the module exports `{name}`, which is not a valid canister_ export"
        )));
    } else {
        return Ok(());
    };
    set.insert(method.to_string());
    Ok(())
}

/// Validation of what the replica checks beyond the wasm spec, and the rewrite.
fn rewrite(wasm: &[u8]) -> Result<PreparedModule, InvalidWasm> {
    let mut exports = Exports::default();
    let mut metadata = BTreeMap::new();
    let mut func_types: Vec<u32> = Vec::new(); // type index per function (imports first)
    let mut types: Vec<(usize, usize)> = Vec::new(); // (params, results) per type index
    let mut has_table = false;
    let mut has_memory = false;
    let mut imported_globals = 0u32;
    let mut mutable_globals = Vec::new(); // global indices
    let mut existing_exports = Vec::new(); // (name, kind, index)
    let mut start = None;
    let mut sections: Vec<(u8, Vec<u8>)> = Vec::new(); // kept verbatim, in order

    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| invalid(e.to_string()))?;
        match &payload {
            Payload::TypeSection(reader) => {
                for rec in reader.clone().into_iter_err_on_gc_types() {
                    let f = rec.map_err(|e| invalid(e.to_string()))?;
                    types.push((f.params().len(), f.results().len()));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.clone() {
                    let import = import.map_err(|e| invalid(e.to_string()))?;
                    check_import(import.module, import.name, &import.ty)?;
                    if let TypeRef::Func(t) = import.ty {
                        func_types.push(t);
                    }
                    if let TypeRef::Global(_) = import.ty {
                        imported_globals += 1;
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for f in reader.clone() {
                    func_types.push(f.map_err(|e| invalid(e.to_string()))?);
                }
                if func_types.len() > limits::MAX_FUNCTIONS {
                    return Err(invalid(format!(
                        "the module defines more than {} functions",
                        limits::MAX_FUNCTIONS
                    )));
                }
            }
            Payload::TableSection(reader) => has_table |= reader.count() > 0,
            Payload::MemorySection(reader) => has_memory |= reader.count() > 0,
            Payload::GlobalSection(reader) => {
                if reader.count() as usize > limits::MAX_GLOBALS {
                    return Err(invalid(format!(
                        "the module defines more than {} globals",
                        limits::MAX_GLOBALS
                    )));
                }
                for (i, g) in reader.clone().into_iter().enumerate() {
                    let g = g.map_err(|e| invalid(e.to_string()))?;
                    if g.ty.mutable {
                        mutable_globals.push(imported_globals + i as u32);
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader.clone() {
                    let e = e.map_err(|e| invalid(e.to_string()))?;
                    existing_exports.push((e.name.to_string(), e.kind, e.index));
                }
            }
            Payload::StartSection { func, .. } => start = Some(*func),
            Payload::CodeSectionStart { size, .. } if *size as usize > limits::MAX_CODE_SECTION => {
                return Err(invalid("the code section exceeds 10 MiB"));
            }
            Payload::CustomSection(reader) => {
                let name = reader.name();
                let (public, key) = if let Some(n) = name.strip_prefix("icp:public ") {
                    (true, n)
                } else if let Some(n) = name.strip_prefix("icp:private ") {
                    (false, n)
                } else {
                    (false, "")
                };
                let duplicate = |metadata: &mut BTreeMap<_, _>| {
                    metadata
                        .insert(key.to_string(), (public, reader.data().to_vec()))
                        .is_some()
                };
                if name.starts_with("icp:") && (key.is_empty() || duplicate(&mut metadata)) {
                    return Err(invalid(format!(
                        "invalid or duplicate custom section `{name}`"
                    )));
                }
            }
            _ => {}
        }
        if let Some((id, range)) = payload.as_section() {
            sections.push((id, wasm[range].to_vec()));
        }
    }
    if metadata.len() > limits::MAX_CUSTOM_SECTIONS
        || metadata.values().map(|(_, b)| b.len()).sum::<usize>() > limits::MAX_CUSTOM_SECTIONS_SIZE
    {
        return Err(invalid("too many or too large icp: custom sections"));
    }

    // Exported methods: names, types and limits as the replica checks them.
    let mut names_len = 0;
    for (name, kind, index) in &existing_exports {
        if *kind != ExternalKind::Func || !name.starts_with("canister_") {
            continue;
        }
        classify_export(name, &mut exports)?;
        let ty = func_types
            .get(*index as usize)
            .and_then(|t| types.get(*t as usize));
        if ty != Some(&(0, 0)) {
            return Err(invalid(format!(
                "the export `{name}` must have type () -> ()"
            )));
        }
        names_len += name.len();
    }
    let methods = exports.updates.len() + exports.queries.len() + exports.composite_queries.len();
    if methods > limits::MAX_EXPORTED_METHODS || names_len > limits::MAX_EXPORTED_NAMES_LEN {
        return Err(invalid("the module exports too many methods"));
    }
    for m in &exports.updates {
        if exports.queries.contains(m) || exports.composite_queries.contains(m) {
            return Err(invalid(format!(
                "`{m}` is exported as more than one kind of method"
            )));
        }
    }
    if exports
        .queries
        .iter()
        .any(|m| exports.composite_queries.contains(m))
    {
        return Err(invalid(
            "a method is exported as both query and composite query",
        ));
    }

    // The new export section: existing exports, plus table, memory, globals, start.
    let taken: BTreeSet<&str> = existing_exports
        .iter()
        .map(|(n, _, _)| n.as_str())
        .collect();
    let exported_memory = existing_exports
        .iter()
        .any(|(n, k, i)| n == MEMORY_EXPORT && *k == ExternalKind::Memory && *i == 0);
    let mut section = wasm_encoder::ExportSection::new();
    for (name, kind, index) in &existing_exports {
        let kind = match kind {
            ExternalKind::Func => wasm_encoder::ExportKind::Func,
            ExternalKind::Table => wasm_encoder::ExportKind::Table,
            ExternalKind::Memory => wasm_encoder::ExportKind::Memory,
            ExternalKind::Global => wasm_encoder::ExportKind::Global,
            ExternalKind::Tag => wasm_encoder::ExportKind::Tag,
        };
        section.export(name, kind, *index);
    }
    let mut add = |name: &str, kind, index| -> Result<(), InvalidWasm> {
        if taken.contains(name) {
            return Err(invalid(format!(
                "the module already exports a different `{name}`"
            )));
        }
        section.export(name, kind, index);
        Ok(())
    };
    if has_table
        && !existing_exports
            .iter()
            .any(|(n, k, i)| n == TABLE_EXPORT && *k == ExternalKind::Table && *i == 0)
    {
        add(TABLE_EXPORT, wasm_encoder::ExportKind::Table, 0)?;
    }
    if has_memory && !exported_memory {
        add(MEMORY_EXPORT, wasm_encoder::ExportKind::Memory, 0)?;
    }
    let mut global_names = Vec::new();
    for index in &mutable_globals {
        let name = format!("{GLOBAL_EXPORT_PREFIX}{index}");
        add(&name, wasm_encoder::ExportKind::Global, *index)?;
        global_names.push(name);
    }
    if let Some(func) = start {
        add(START_EXPORT, wasm_encoder::ExportKind::Func, func)?;
    }

    // Re-emit: sections verbatim except exports (replaced) and start (dropped).
    // Section order by id: the export section (7) goes before start (8) and later.
    let mut module = wasm_encoder::Module::new();
    let mut exports_written = false;
    let order = |id: u8| match id {
        12 => 9, // data count sits between element (9) and code (10)
        0 => 0,  // custom sections stay where they were
        other => other,
    };
    for (id, data) in &sections {
        if !exports_written && *id != 0 && order(*id) > 7 {
            module.section(&section);
            exports_written = true;
        }
        match id {
            7 => {
                module.section(&section);
                exports_written = true;
            }
            8 => {}
            _ => {
                module.section(&wasm_encoder::RawSection { id: *id, data });
            }
        }
    }
    if !exports_written {
        module.section(&section);
    }
    Ok(PreparedModule {
        wasm: module.finish(),
        exports,
        mutable_globals: global_names,
        metadata,
        has_start: start.is_some(),
    })
}
