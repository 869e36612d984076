//! canister_status.

use super::lifecycle::nat;
use super::{decode, reply, MgmtCall};
use crate::cycles;
use crate::error::{CallResult, RejectResponse};
use crate::state::canister::{Canister, Status};
use crate::state::StateMachine;
use candid::{Nat, Principal};
use ic_error_types::ErrorCode;
use ic_management_canister_types::{
    CanisterIdRecord, CanisterStatusResult, CanisterStatusType, MemoryMetrics, QueryStats,
    StatusVisibility,
};

pub(crate) fn status_result(c: &Canister) -> CanisterStatusResult {
    let m = c.memory_usage();
    CanisterStatusResult {
        status: match c.status {
            Status::Running => CanisterStatusType::Running,
            Status::Stopping => CanisterStatusType::Stopping,
            Status::Stopped => CanisterStatusType::Stopped,
        },
        ready_for_migration: false,
        version: c.version,
        settings: c.settings.clone(),
        module_hash: c.module_hash().map(|h| h.to_vec()),
        memory_size: nat(m.total()),
        memory_metrics: MemoryMetrics {
            wasm_memory_size: nat(m.wasm),
            stable_memory_size: nat(m.stable),
            global_memory_size: nat(m.globals),
            wasm_binary_size: nat(m.binary),
            custom_sections_size: nat(m.custom_sections),
            canister_history_size: nat(m.history),
            wasm_chunk_store_size: nat(m.chunk_store),
            snapshots_size: nat(m.snapshots),
            log_memory_store_size: nat(0u8),
        },
        cycles: nat(c.cycles),
        reserved_cycles: nat(0u8),
        idle_cycles_burned_per_day: nat(cycles::idle_cycles_burned_per_day(m.total())),
        query_stats: QueryStats {
            num_calls_total: Nat::from(0u8),
            num_instructions_total: Nat::from(0u8),
            request_payload_bytes_total: Nat::from(0u8),
            response_payload_bytes_total: Nat::from(0u8),
        },
    }
}

fn may_read_status(c: &Canister, sender: &Principal) -> bool {
    c.is_controller(sender)
        || c.id == *sender
        || match &c.settings.status_visibility {
            StatusVisibility::Public => true,
            StatusVisibility::AllowedViewers(v) => v.contains(sender),
            StatusVisibility::Controllers => false,
        }
}

impl StateMachine {
    pub(crate) fn canister_status_call(&mut self, call: &MgmtCall) -> CallResult {
        let (args,): (CanisterIdRecord,) = decode(&call.arg)?;
        let c = self.canister(&args.canister_id)?;
        if !may_read_status(c, &call.sender) {
            return Err(RejectResponse::new(
                ErrorCode::CanisterInvalidController,
                format!(
                    "Only the controllers of the canister {} can read its status.\nSender's ID: {}",
                    c.id, call.sender
                ),
            ));
        }
        reply(&status_result(c))
    }
}
