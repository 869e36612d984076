//! The IC's limits (digest §5), in one place.

/// Uncompressed module size; also the chunk-store capacity.
pub const WASM_MAX_SIZE: usize = 100 << 20;
pub const MAX_CODE_SECTION: usize = 10 << 20;
pub const MAX_FUNCTIONS: usize = 50_000;
pub const MAX_GLOBALS: usize = 1_000;
pub const MAX_EXPORTED_METHODS: usize = 1_000;
pub const MAX_EXPORTED_NAMES_LEN: usize = 20_000;
pub const MAX_CUSTOM_SECTIONS: usize = 16;
pub const MAX_CUSTOM_SECTIONS_SIZE: usize = 1 << 20;

/// Instructions per update, heartbeat, timer and callback.
pub const INSTRUCTIONS_PER_UPDATE: u64 = 40_000_000_000;
/// Instructions per query.
pub const INSTRUCTIONS_PER_QUERY: u64 = 5_000_000_000;
/// Instructions for one install_code (init, or pre_upgrade + start + post_upgrade).
pub const INSTRUCTIONS_PER_INSTALL: u64 = 300_000_000_000;
pub const INSTRUCTIONS_PER_INSPECT: u64 = 200_000_000;

/// Ingress and cross-subnet payloads; responses in replicated mode.
pub const MAX_PAYLOAD: usize = 2 << 20;
/// Requests to a canister on the same subnet (everything here).
pub const MAX_LOCAL_REQUEST: usize = 10 << 20;
pub const MAX_NON_REPLICATED_REPLY: usize = 3 << 20;

/// Outstanding requests per (caller, callee) pair.
pub const QUEUE_CAPACITY: usize = 500;
pub const MAX_CALL_TIMEOUT_SECONDS: u64 = 300;
pub const MAX_CONTROLLERS: usize = 10;
pub const MAX_HISTORY: usize = 20;
pub const MAX_SNAPSHOTS: usize = 10;
pub const MAX_CERTIFIED_DATA: usize = 32;
pub const MAX_CHUNK_SIZE: usize = 1 << 20;
/// Each chunk is charged 1 MiB against `WASM_MAX_SIZE`.
pub const MAX_CHUNKS: usize = WASM_MAX_SIZE / MAX_CHUNK_SIZE;
pub const WASM_PAGE: u64 = 64 * 1024;
pub const STABLE_PAGE: u64 = 64 * 1024;
/// 500 GiB of stable memory.
pub const MAX_STABLE_PAGES: u64 = (500u64 << 30) / STABLE_PAGE;
pub const MAX_ENV_VARS: usize = 20;
pub const MAX_ENV_VAR_LEN: usize = 128;
/// A stop request is rejected after this long (virtual time).
pub const STOP_TIMEOUT_NANOS: u64 = 5 * 60 * 1_000_000_000;

/// Per-message instruction limits; the IC's by default. Tests may lower them
/// to reach a limit quickly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InstructionLimits {
    pub update: u64,
    pub query: u64,
    pub install: u64,
    pub inspect: u64,
}

impl Default for InstructionLimits {
    fn default() -> Self {
        InstructionLimits {
            update: INSTRUCTIONS_PER_UPDATE,
            query: INSTRUCTIONS_PER_QUERY,
            install: INSTRUCTIONS_PER_INSTALL,
            inspect: INSTRUCTIONS_PER_INSPECT,
        }
    }
}
