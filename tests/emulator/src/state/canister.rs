//! One canister's complete state.

use super::calls::{CallContext, Callback, StopRequest};
use crate::cycles;
use crate::engine::exec::HeapState;
use crate::engine::pages::PageMap;
use crate::error::RejectResponse;
use crate::limits;
use candid::{Nat, Principal};
use ic_error_types::ErrorCode;
use ic_management_canister_types::{
    Change, ChangeDetails, ChangeOrigin, DefiniteCanisterSettings, LogVisibility,
    SnapshotVisibility, StatusVisibility,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Running,
    Stopping,
    Stopped,
}

impl Status {
    /// The value of `ic0.canister_status`.
    pub fn code(self) -> u32 {
        match self {
            Status::Running => 1,
            Status::Stopping => 2,
            Status::Stopped => 3,
        }
    }
}

/// What a snapshot holds (digest §4 take_canister_snapshot).
#[derive(Clone, Debug)]
pub struct CanisterSnapshot {
    pub id: Vec<u8>,
    pub taken_at: u64,
    pub heap: HeapState,
    pub stable: PageMap,
    pub stable_pages: u64,
    pub certified_data: Vec<u8>,
    pub global_timer: u64,
    pub chunk_store: BTreeMap<[u8; 32], Vec<u8>>,
    pub canister_version: u64,
}

impl CanisterSnapshot {
    pub fn total_size(&self) -> u64 {
        self.heap.heap_bytes()
            + self.stable_pages * limits::STABLE_PAGE
            + self.heap.module.submitted_size as u64
            + self.heap.globals.len() as u64 * 8
            + self
                .chunk_store
                .values()
                .map(|c| c.len() as u64)
                .sum::<u64>()
    }
}

/// Faults armed on one canister (see `faults.rs`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ArmedFaults {
    pub trap_next_message: bool,
    pub trap_next_post_upgrade: bool,
    /// Responses to this canister are held back this many rounds.
    pub response_delay_rounds: u64,
}

/// Instruction counts, for benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstructionStats {
    pub messages: u64,
    pub total: u64,
    pub max: u64,
    pub last: u64,
    /// Instructions of the last install_code (init, or pre+post upgrade).
    pub last_install: u64,
}

#[derive(Clone, Debug)]
pub struct Canister {
    pub id: Principal,
    pub settings: DefiniteCanisterSettings,
    pub status: Status,
    pub cycles: u128,
    pub version: u64,
    /// `None` while the canister is empty.
    pub heap: Option<HeapState>,
    pub stable: PageMap,
    pub stable_pages: u64,
    pub certified_data: Vec<u8>,
    pub global_timer: u64,
    pub call_contexts: BTreeMap<u64, CallContext>,
    pub callbacks: BTreeMap<u64, Callback>,
    pub next_context_id: u64,
    pub next_callback_id: u64,
    /// Outstanding calls per callee (queue capacity).
    pub outstanding: BTreeMap<Principal, usize>,
    pub stop_requests: Vec<StopRequest>,
    pub chunk_store: BTreeMap<[u8; 32], Vec<u8>>,
    pub history: VecDeque<Change>,
    pub total_changes: u64,
    pub snapshots: BTreeMap<Vec<u8>, CanisterSnapshot>,
    pub next_snapshot: u64,
    pub stats: InstructionStats,
    pub faults: ArmedFaults,
}

pub fn nat_u64(n: &Nat) -> u64 {
    u64::try_from(n.0.clone()).unwrap_or(u64::MAX)
}

pub fn nat_u128(n: &Nat) -> u128 {
    u128::try_from(n.0.clone()).unwrap_or(u128::MAX)
}

pub fn default_settings(controllers: Vec<Principal>) -> DefiniteCanisterSettings {
    DefiniteCanisterSettings {
        controllers,
        compute_allocation: Nat::from(0u8),
        memory_allocation: Nat::from(0u8),
        freezing_threshold: Nat::from(cycles::DEFAULT_FREEZING_THRESHOLD),
        reserved_cycles_limit: Nat::from(cycles::DEFAULT_RESERVED_CYCLES_LIMIT),
        minimum_incoming_canister_call_cycles: Nat::from(0u8),
        log_visibility: LogVisibility::Controllers,
        log_memory_limit: Nat::from(4096u32),
        snapshot_visibility: SnapshotVisibility::Controllers,
        status_visibility: StatusVisibility::Controllers,
        wasm_memory_limit: Nat::from(3u64 << 30),
        wasm_memory_threshold: Nat::from(0u8),
        environment_variables: Vec::new(),
    }
}

impl Canister {
    pub fn new(id: Principal, settings: DefiniteCanisterSettings, cycles: u128) -> Self {
        Canister {
            id,
            settings,
            status: Status::Running,
            cycles,
            version: 0,
            heap: None,
            stable: PageMap::default(),
            stable_pages: 0,
            certified_data: Vec::new(),
            global_timer: 0,
            call_contexts: BTreeMap::new(),
            callbacks: BTreeMap::new(),
            next_context_id: 0,
            next_callback_id: 0,
            outstanding: BTreeMap::new(),
            stop_requests: Vec::new(),
            chunk_store: BTreeMap::new(),
            history: VecDeque::new(),
            total_changes: 0,
            snapshots: BTreeMap::new(),
            next_snapshot: 0,
            stats: InstructionStats::default(),
            faults: ArmedFaults::default(),
        }
    }

    pub fn controllers(&self) -> &[Principal] {
        &self.settings.controllers
    }

    pub fn is_controller(&self, p: &Principal) -> bool {
        self.settings.controllers.contains(p)
    }

    pub fn module_hash(&self) -> Option<[u8; 32]> {
        self.heap.as_ref().map(|h| h.module.hash)
    }

    /// The memory the IC would charge for (digest: canister_status memory_metrics).
    pub fn memory_usage(&self) -> MemoryUsage {
        self.memory_usage_with(self.heap.as_ref(), self.stable_pages)
    }

    /// The memory usage if the canister held `heap` and `stable_pages` instead
    /// (an install checks the freezing limit of the state it would commit).
    pub fn memory_usage_with(&self, heap: Option<&HeapState>, stable_pages: u64) -> MemoryUsage {
        let (wasm, globals, binary, custom) = match heap {
            Some(h) => (
                h.heap_bytes(),
                h.globals.len() as u64 * 8,
                h.module.submitted_size as u64,
                h.module
                    .metadata
                    .values()
                    .map(|(_, b)| b.len() as u64)
                    .sum(),
            ),
            None => (0, 0, 0, 0),
        };
        MemoryUsage {
            wasm,
            stable: stable_pages * limits::STABLE_PAGE,
            globals,
            binary,
            custom_sections: custom,
            history: self.history.len() as u64 * 128,
            chunk_store: self.chunk_store.len() as u64 * limits::MAX_CHUNK_SIZE as u64,
            snapshots: self.snapshots.values().map(|s| s.total_size()).sum(),
        }
    }

    pub fn freezing_limit(&self) -> u128 {
        self.freezing_limit_for(self.memory_usage())
    }

    pub fn freezing_limit_for(&self, usage: MemoryUsage) -> u128 {
        cycles::freezing_limit(usage.total(), nat_u64(&self.settings.freezing_threshold))
    }

    /// `wasm_memory_limit` in bytes; 0 means no limit (spec `canister_settings`).
    pub fn wasm_memory_limit(&self) -> u64 {
        nat_u64(&self.settings.wasm_memory_limit)
    }

    /// Why a call from another canister carrying `cycles` is refused, if it is:
    /// `minimum_incoming_canister_call_cycles` (spec `canister_settings`: ingress
    /// messages and self-calls are exempt; the caller gets CANISTER_ERROR and
    /// every attached cycle back). The error code is our choice (IC0520 is
    /// the replica's code for calls short of cycles): the spec names only the
    /// reject code.
    pub fn refuses_incoming_cycles(
        &self,
        caller: Option<Principal>,
        cycles: u128,
    ) -> Result<(), RejectResponse> {
        let minimum = nat_u128(&self.settings.minimum_incoming_canister_call_cycles);
        match caller {
            Some(caller) if caller != self.id && cycles < minimum => Err(RejectResponse::new(
                ErrorCode::InsufficientCyclesInCall,
                format!(
                    "Canister {} requires at least {minimum} cycles attached to calls from other canisters, but the call from {caller} attached {cycles}.",
                    self.id
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Frozen canisters reject calls and run no messages (SYS_TRANSIENT).
    pub fn is_frozen(&self) -> bool {
        self.cycles < self.freezing_limit() + cycles::EXECUTION_BASE_FEE
    }

    pub fn env_vars(&self) -> Vec<(String, String)> {
        self.settings
            .environment_variables
            .iter()
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect()
    }

    pub fn add_change(&mut self, time: u64, origin: ChangeOrigin, details: ChangeDetails) {
        self.total_changes += 1;
        self.history.push_back(Change {
            timestamp_nanos: time,
            canister_version: self.version,
            origin,
            details: Some(details),
        });
        while self.history.len() > limits::MAX_HISTORY {
            self.history.pop_front();
        }
    }

    pub fn stats_record(&mut self, instructions: u64) {
        let s = &mut self.stats;
        s.messages += 1;
        s.total += instructions;
        s.max = s.max.max(instructions);
        s.last = instructions;
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryUsage {
    pub wasm: u64,
    pub stable: u64,
    pub globals: u64,
    pub binary: u64,
    pub custom_sections: u64,
    pub history: u64,
    pub chunk_store: u64,
    pub snapshots: u64,
}

impl MemoryUsage {
    pub fn total(&self) -> u64 {
        self.wasm
            + self.stable
            + self.globals
            + self.binary
            + self.custom_sections
            + self.history
            + self.chunk_store
            + self.snapshots
    }
}
