//! Cycle costs: a self-consistent subset of the replica's fee schedule for a
//! 13-node application subnet (digest §1.3 "Cost calls", DOCS cycle-costs).

use crate::limits;

pub const XNET_CALL_FEE: u128 = 260_000;
pub const XNET_BYTE_FEE: u128 = 1_000;
/// Base fee of every replicated execution (update, callback, timer, ...).
pub const EXECUTION_BASE_FEE: u128 = 5_000_000;
pub const CREATE_CANISTER_FEE: u128 = 500_000_000_000;
/// `DEFAULT_PROVISIONAL_CYCLES_BALANCE` of the replica config.
pub const DEFAULT_PROVISIONAL_CYCLES: u128 = 100_000_000_000_000;
pub const DEFAULT_FREEZING_THRESHOLD: u64 = 2_592_000;
pub const DEFAULT_RESERVED_CYCLES_LIMIT: u128 = 5_000_000_000_000;
/// Storage: cycles per GiB per second.
const GIB_SECOND_FEE: u128 = 127_000;
const SUBNET_NODES: u128 = 13;

/// One cycle per instruction (`ten_update_instructions_execution_fee = 10`).
pub fn execution_fee(instructions: u64) -> u128 {
    EXECUTION_BASE_FEE + instructions as u128
}

/// What the system charges when a call is sent.
pub fn transmission_fee(method_len: u64, payload_len: u64) -> u128 {
    XNET_CALL_FEE + XNET_BYTE_FEE * (method_len as u128 + payload_len as u128)
}

/// `ic0.cost_call`: the transmission fee plus the reservation for the largest
/// response and the most expensive callback (≈ 42.1 B cycles).
pub fn cost_call(method_len: u64, payload_len: u64) -> u128 {
    transmission_fee(method_len, payload_len)
        + XNET_BYTE_FEE * limits::MAX_PAYLOAD as u128
        + execution_fee(limits::INSTRUCTIONS_PER_UPDATE)
}

pub fn cost_http_request(request_size: u64, max_response: u64) -> u128 {
    let n = SUBNET_NODES;
    (3_000_000 + 60_000 * n) * n + (400 * request_size as u128 + 800 * max_response as u128) * n
}

pub fn cost_threshold_signature() -> u128 {
    26_153_846_153
}

pub fn idle_cycles_burned_per_day(memory_bytes: u64) -> u128 {
    memory_bytes as u128 * GIB_SECOND_FEE * 86_400 / (1u128 << 30)
}

/// Below this balance a canister is frozen.
pub fn freezing_limit(memory_bytes: u64, freezing_threshold_seconds: u64) -> u128 {
    idle_cycles_burned_per_day(memory_bytes) * freezing_threshold_seconds as u128 / 86_400
}
