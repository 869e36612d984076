//! What a management method costs the subnet's round (digest of
//! rs/execution_environment/src/ic00_permissions.rs and the cost constants of
//! rs/config/src/subnet_config.rs and rs/config/src/embedders.rs).

use super::config::SubnetConfig;
use crate::engine::prepare::decompress;
use candid::Principal;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

/// The management methods that count toward the subnet-message budget
/// (`counts_toward_round_limit: true` in rs/execution_environment/src/ic00_permissions.rs).
/// Note: at the commit read (002d5530), `update_settings` and
/// `fetch_canister_logs` do *not* count; everything else is free of the budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeavyMethod {
    InstallCode,
    InstallChunkedCode,
    UploadChunk,
    TakeCanisterSnapshot,
    LoadCanisterSnapshot,
}

impl HeavyMethod {
    pub fn of(method: &str) -> Option<HeavyMethod> {
        Some(match method {
            "install_code" => HeavyMethod::InstallCode,
            "install_chunked_code" => HeavyMethod::InstallChunkedCode,
            "upload_chunk" => HeavyMethod::UploadChunk,
            "take_canister_snapshot" => HeavyMethod::TakeCanisterSnapshot,
            "load_canister_snapshot" => HeavyMethod::LoadCanisterSnapshot,
            _ => return None,
        })
    }

    /// `installs_code: true`: only one long install runs at a time
    /// (rs/execution_environment/src/ic00_permissions.rs).
    pub fn installs_code(self) -> bool {
        matches!(
            self,
            HeavyMethod::InstallCode | HeavyMethod::InstallChunkedCode
        )
    }

    /// The cost of a method whose cost does not depend on the module
    /// (installs are measured after they run).
    pub fn fixed_cost(self, config: &SubnetConfig) -> u64 {
        match self {
            HeavyMethod::UploadChunk => config.upload_chunk_instructions,
            // Baseline only: the replica adds nothing size-dependent to the round
            // count that this emulator models (an inference from
            // `canister_snapshot_baseline_instructions` being the only snapshot
            // constant of rs/config/src/subnet_config.rs).
            HeavyMethod::TakeCanisterSnapshot | HeavyMethod::LoadCanisterSnapshot => {
                config.canister_snapshot_baseline_instructions
            }
            HeavyMethod::InstallCode | HeavyMethod::InstallChunkedCode => 0,
        }
    }
}

/// Whether the method creates a canister (refused at the subnet's canister limit).
pub fn creates_canister(method: &str) -> bool {
    matches!(
        method,
        "create_canister" | "provisional_create_canister_with_cycles"
    )
}

#[derive(candid::CandidType, Deserialize)]
struct CanisterIdField {
    canister_id: Principal,
}

#[derive(candid::CandidType, Deserialize)]
struct TargetCanisterField {
    target_canister: Principal,
}

/// The canister a management call is about (its "effective canister id"), if any.
pub fn effective_canister(method: &str, arg: &[u8]) -> Option<Principal> {
    if method == "install_chunked_code" {
        return candid::decode_args::<(TargetCanisterField,)>(arg)
            .ok()
            .map(|(a,)| a.target_canister);
    }
    if creates_canister(method) || method == "raw_rand" {
        return None;
    }
    candid::decode_args::<(CanisterIdField,)>(arg)
        .ok()
        .map(|(a,)| a.canister_id)
}

#[derive(candid::CandidType, Deserialize)]
struct SpecifiedIdField {
    specified_id: Option<Principal>,
}

/// The `specified_id` of a `provisional_create_canister_with_cycles` call, if any.
pub fn specified_id(method: &str, arg: &[u8]) -> Option<Principal> {
    if method != "provisional_create_canister_with_cycles" {
        return None;
    }
    candid::decode_args::<(SpecifiedIdField,)>(arg)
        .ok()
        .and_then(|(a,)| a.specified_id)
}

/// Wasm instructions of a module as the replica counts them for its
/// compilation cost: every operator of every function body and of every
/// global's initializer (`wasm_instruction_count` in
/// rs/embedders/src/wasm_utils/instrumentation.rs). The replica counts the
/// *instrumented* module, which has a few more instructions per basic block
/// for its instruction counter: this count is slightly lower (an inference).
pub fn wasm_instruction_count(submitted: &[u8]) -> u64 {
    let Ok(wasm) = decompress(submitted) else {
        return 0;
    };
    let mut count = 0u64;
    for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
        match payload {
            Ok(wasmparser::Payload::CodeSectionEntry(body)) => {
                if let Ok(mut ops) = body.get_operators_reader() {
                    while !ops.eof() {
                        if ops.read().is_err() {
                            break;
                        }
                        count += 1;
                    }
                }
            }
            Ok(wasmparser::Payload::GlobalSection(reader)) => {
                for global in reader.into_iter().flatten() {
                    let mut ops = global.init_expr.get_operators_reader();
                    while !ops.eof() {
                        if ops.read().is_err() {
                            break;
                        }
                        count += 1;
                    }
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    count
}

/// [`wasm_instruction_count`] of the module with SHA-256 `hash`, computed
/// once per process (parsing a module costs milliseconds; a fleet upgrade
/// installs the same module thousands of times).
pub fn cached_wasm_instruction_count(hash: [u8; 32], submitted: &[u8]) -> u64 {
    static COUNTS: LazyLock<Mutex<HashMap<[u8; 32], u64>>> = LazyLock::new(Default::default);
    if let Some(n) = COUNTS.lock().expect("counts lock").get(&hash) {
        return *n;
    }
    let n = wasm_instruction_count(submitted);
    COUNTS.lock().expect("counts lock").insert(hash, n);
    n
}

/// The compilation cost counted toward the round: in full on the subnet's
/// first sight of the module, 1/100 after (`CompilationCostHandling`,
/// rs/execution_environment/src/execution_environment.rs).
pub fn compilation_cost(config: &SubnetConfig, wasm_instructions: u64, seen_before: bool) -> u64 {
    let full = config.cost_to_compile_wasm_instruction * wasm_instructions;
    if seen_before {
        full / config.deserialization_speed_up_factor
    } else {
        full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_permissions_tables_heavy_methods_count() {
        for m in [
            "install_code",
            "install_chunked_code",
            "upload_chunk",
            "take_canister_snapshot",
            "load_canister_snapshot",
        ] {
            assert!(HeavyMethod::of(m).is_some(), "{m}");
        }
        for m in [
            "stop_canister",
            "start_canister",
            "canister_status",
            "create_canister",
            "update_settings",
            "delete_canister",
            "deposit_cycles",
        ] {
            assert!(HeavyMethod::of(m).is_none(), "{m}");
        }
    }

    #[test]
    fn counts_body_and_global_initializer_operators() {
        let wasm = wat::parse_str(
            r#"(module (global (mut i32) (i32.const 7))
                 (func (result i32) i32.const 1 i32.const 2 i32.add))"#,
        )
        .expect("valid wat");
        // global: i32.const + end; body: 3 operators + end.
        assert_eq!(wasm_instruction_count(&wasm), 6);
        let c = SubnetConfig::application();
        assert_eq!(compilation_cost(&c, 6, false), 36_000);
        assert_eq!(compilation_cost(&c, 6, true), 360);
    }
}
