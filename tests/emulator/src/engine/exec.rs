//! Running one message: instantiate from the cached module, restore the
//! canister's heap and globals, call the entry point with fuel as the
//! instruction limit, and hand back the new heap only if nothing trapped.

use super::pages::PageMap;
use super::{engine, prepare, CompiledModule, GlobalValue};
use crate::system_api::{ApiContext, ApiKind, Closure, HostTrap};
use ic_error_types::ErrorCode;
use std::sync::Arc;
use wasmtime::{Instance, Ref, Store, Trap};

/// A canister's wasm-side state: its module, heap and mutable globals.
#[derive(Clone, Debug)]
pub struct HeapState {
    pub module: Arc<CompiledModule>,
    pub heap: PageMap,
    /// Heap size in 64 KiB wasm pages.
    pub heap_pages: u64,
    pub globals: Vec<GlobalValue>,
}

impl HeapState {
    /// The state of a fresh instance of `module`.
    pub fn fresh(module: Arc<CompiledModule>) -> Self {
        HeapState {
            heap: module.base_heap.clone(),
            heap_pages: module.base_heap_pages,
            globals: module.base_globals.clone(),
            module,
        }
    }

    pub fn heap_bytes(&self) -> u64 {
        self.heap_pages * crate::limits::WASM_PAGE
    }

    /// Memory this state holds beyond what it shares with the module's image.
    pub fn private_bytes(&self) -> usize {
        self.heap.bytes_not_shared_with(&self.module.base_heap)
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub enum Entry {
    /// An exported function, e.g. `canister_update foo`.
    Export(String),
    /// A table entry called with its env (`call_new` callbacks).
    Callback(Closure),
}

/// Why a message failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecError {
    pub code: ErrorCode,
    pub message: String,
}

pub struct Execution {
    pub result: Result<(), ExecError>,
    pub ctx: ApiContext,
    /// The new heap state; `Some` only when every entry returned normally
    /// and the execution may change state (not for queries).
    pub heap: Option<HeapState>,
    pub instructions: u64,
}

fn describe_trap(trap: &Trap) -> &'static str {
    match trap {
        Trap::UnreachableCodeReached => "unreachable",
        Trap::MemoryOutOfBounds => "heap out of bounds",
        Trap::TableOutOfBounds => "table out of bounds",
        Trap::IndirectCallToNull => "indirect call to null",
        Trap::BadSignature => "indirect call signature mismatch",
        Trap::IntegerOverflow => "integer overflow",
        Trap::IntegerDivisionByZero => "integer division by 0",
        Trap::BadConversionToInteger => "invalid conversion to integer",
        Trap::StackOverflow => "stack overflow",
        _ => "wasm trap",
    }
}

fn classify(err: wasmtime::Error, limit: u64) -> ExecError {
    if let Some(h) = err.downcast_ref::<HostTrap>() {
        return ExecError {
            code: h.code,
            message: h.message.clone(),
        };
    }
    if let Some(t) = err.downcast_ref::<Trap>() {
        if *t == Trap::OutOfFuel {
            return ExecError {
                code: ErrorCode::CanisterInstructionLimitExceeded,
                message: format!("Canister exceeded the limit of {limit} instructions for single message execution."),
            };
        }
        return ExecError {
            code: ErrorCode::CanisterTrapped,
            message: format!("Canister trapped: {}", describe_trap(t)),
        };
    }
    ExecError {
        code: ErrorCode::CanisterTrapped,
        message: format!("Canister trapped: {err:#}"),
    }
}

fn call_entry(
    store: &mut Store<ApiContext>,
    instance: &Instance,
    entry: &Entry,
) -> wasmtime::Result<()> {
    match entry {
        Entry::Export(name) => {
            let f = instance.get_typed_func::<(), ()>(&mut *store, name)?;
            f.call(&mut *store, ())
        }
        Entry::Callback((fun, env)) => {
            let bad = |why: &str| -> wasmtime::Error {
                HostTrap {
                    code: ErrorCode::CanisterTrapped,
                    message: format!("Canister trapped: callback {fun} {why}"),
                }
                .into()
            };
            let table = instance
                .get_table(&mut *store, prepare::TABLE_EXPORT)
                .ok_or_else(|| bad("(no table)"))?;
            let func = match table.get(&mut *store, *fun as u64) {
                Some(Ref::Func(Some(f))) => f,
                Some(_) => return Err(bad("is a null table entry")),
                None => return Err(bad("is out of the table's bounds")),
            };
            let f = func
                .typed::<i32, ()>(&*store)
                .map_err(|_| bad("does not have type (i32) -> ()"))?;
            f.call(&mut *store, *env as i32)
        }
    }
}

/// Runs `entries` in order on one instance restored from `state`, sharing
/// `fuel`; each entry runs in its own context kind (e.g. start, then init).
pub fn execute(
    state: &HeapState,
    entries: &[(ApiKind, Entry)],
    ctx: ApiContext,
    fuel: u64,
) -> Execution {
    let module = &state.module;
    let limit = ctx.instruction_limit;
    let mut store = Store::new(engine(), ctx);
    store.set_fuel(fuel).expect("fuel is enabled");
    store.limiter(|ctx| ctx);
    let fail = |store: Store<ApiContext>, error: ExecError| {
        let used = fuel - store.get_fuel().unwrap_or(0);
        let mut ctx = store.into_data();
        ctx.memory = None;
        Execution {
            result: Err(error),
            ctx,
            heap: None,
            instructions: used,
        }
    };
    // A loaded state reads memory on first use: a file damaged since is
    // this message's error (naming it), not a panic mid-message.
    let unreadable = state
        .heap
        .try_load()
        .and_then(|()| store.data().stable.try_load());
    if let Err(why) = unreadable {
        let error = ExecError {
            code: ErrorCode::CanisterWasmEngineError,
            message: format!("the canister's saved memory cannot be read: {why}"),
        };
        return fail(store, error);
    }
    let instance = match module.pre.instantiate(&mut store) {
        Ok(i) => i,
        Err(e) => return fail(store, classify(e, limit)),
    };
    let memory = instance.get_memory(&mut store, prepare::MEMORY_EXPORT);
    store.data_mut().memory = memory;
    if let Some(mem) = memory {
        let current = mem.size(&store);
        if state.heap_pages > current && mem.grow(&mut store, state.heap_pages - current).is_err() {
            let error = ExecError {
                code: ErrorCode::CanisterOutOfMemory,
                message: "cannot restore the heap".into(),
            };
            return fail(store, error);
        }
        state
            .heap
            .restore_into(&module.base_heap, mem.data_mut(&mut store));
    }
    for (name, value) in module.mutable_globals.iter().zip(&state.globals) {
        let global = instance
            .get_global(&mut store, name)
            .expect("exported by the rewrite");
        global
            .set(&mut store, value.to_val())
            .expect("same type as saved");
    }
    store.data_mut().heap_limit_armed = true;
    for (kind, entry) in entries {
        store.data_mut().kind = *kind;
        if let Err(e) = call_entry(&mut store, &instance, entry) {
            return fail(store, classify(e, limit));
        }
    }
    let read_only = !entries.is_empty()
        && entries.iter().all(|(kind, _)| {
            matches!(
                kind,
                ApiKind::ReplicatedQuery
                    | ApiKind::NonReplicatedQuery
                    | ApiKind::CompositeQuery
                    | ApiKind::InspectMessage
            )
        });
    if read_only {
        // Queries never keep heap changes: skip comparing the memory.
        let used = fuel - store.get_fuel().unwrap_or(0);
        let mut ctx = store.into_data();
        ctx.memory = None;
        return Execution {
            result: Ok(()),
            ctx,
            heap: None,
            instructions: used,
        };
    }
    let mut heap = state.heap.clone();
    let heap_pages = match memory {
        Some(mem) => {
            heap.sync_from(mem.data(&store));
            mem.size(&store)
        }
        None => 0,
    };
    let globals = module
        .mutable_globals
        .iter()
        .map(|name| {
            let global = instance
                .get_global(&mut store, name)
                .expect("exported by the rewrite");
            GlobalValue::from_val(global.get(&mut store)).expect("checked at compile time")
        })
        .collect();
    let used = fuel - store.get_fuel().unwrap_or(0);
    let mut ctx = store.into_data();
    ctx.memory = None;
    Execution {
        result: Ok(()),
        ctx,
        heap: Some(HeapState {
            module: module.clone(),
            heap,
            heap_pages,
            globals,
        }),
        instructions: used,
    }
}
