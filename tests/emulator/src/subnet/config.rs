//! `SubnetConfig`: what one subnet can do per round, with the replica's numbers.
//!
//! Every constant names the file of dfinity/ic it comes from. Where the
//! emulator's rule is an inference rather than a reading of the code, the
//! comment says so.

use serde::{Deserialize, Serialize};

const M: u64 = 1_000_000;
const B: u64 = 1_000_000_000;

/// `MAX_INSTRUCTIONS_PER_ROUND`, per execution thread
/// (rs/config/src/subnet_config.rs).
pub const MAX_INSTRUCTIONS_PER_ROUND: u64 = 7 * B;
/// `NUMBER_OF_EXECUTION_THREADS` (rs/config/src/subnet_config.rs).
pub const EXECUTION_THREADS: u64 = 4;
/// `SUBNET_MESSAGES_LIMIT_FRACTION`: heavy subnet messages get
/// `max_instructions_per_round / 16` per round
/// (rs/execution_environment/src/scheduler.rs).
pub const SUBNET_MESSAGES_LIMIT_FRACTION: u64 = 16;
/// `MAX_INSTRUCTIONS_PER_SLICE` and `MAX_INSTRUCTIONS_PER_INSTALL_CODE_SLICE`
/// (rs/config/src/subnet_config.rs).
pub const MAX_INSTRUCTIONS_PER_SLICE: u64 = 2 * B;
/// `INSTRUCTION_OVERHEAD_PER_EXECUTION` (rs/config/src/subnet_config.rs).
pub const INSTRUCTION_OVERHEAD_PER_EXECUTION: u64 = 2 * M;
/// `INSTRUCTION_OVERHEAD_PER_CANISTER` (rs/config/src/subnet_config.rs).
pub const INSTRUCTION_OVERHEAD_PER_CANISTER: u64 = 8 * M;
/// `install_code_rate_limit: MAX_INSTRUCTIONS_PER_SLICE` in
/// `SchedulerConfig::application_subnet` (rs/config/src/subnet_config.rs).
pub const INSTALL_CODE_RATE_LIMIT: u64 = MAX_INSTRUCTIONS_PER_SLICE;
/// `DEFAULT_UPLOAD_CHUNK_INSTRUCTIONS` (rs/config/src/subnet_config.rs).
pub const UPLOAD_CHUNK_INSTRUCTIONS: u64 = 200 * M;
/// `DEFAULT_CANISTERS_SNAPSHOT_BASELINE_INSTRUCTIONS`
/// (rs/config/src/subnet_config.rs).
pub const CANISTER_SNAPSHOT_BASELINE_INSTRUCTIONS: u64 = 2 * B;
/// `DEFAULT_COST_TO_COMPILE_WASM_INSTRUCTION` (rs/config/src/embedders.rs).
pub const COST_TO_COMPILE_WASM_INSTRUCTION: u64 = 6_000;
/// `DESERIALIZATION_SPEED_UP_FACTOR`: a module the subnet compiled before
/// counts 1/100 of its compilation cost (`CompilationCostHandling::CountReducedAmount`,
/// rs/execution_environment/src/execution_environment.rs).
pub const DESERIALIZATION_SPEED_UP_FACTOR: u64 = 100;
/// Canisters per application subnet (`max_number_of_canisters` in the
/// registry's subnet record; 100,000 is the value the issue and the IC's
/// documentation give: not in a source file of dfinity/ic, a registry value).
pub const MAX_CANISTERS: u64 = 100_000;
/// `stop_canister` is rejected with `StopCanisterRequestTimeout` after 5
/// minutes (`STOP_CANISTER_TIMEOUT_DURATION`,
/// rs/config/src/execution_environment.rs; enforced with
/// `crate::limits::STOP_TIMEOUT_NANOS`).
pub const STOP_TIMEOUT_SECONDS: u64 = 5 * 60;

/// What a subnet can do per round. [`SubnetConfig::application`] is the
/// default of every emulator; [`SubnetConfig::unlimited`] is the emulator's
/// old world, where one round executes any amount of work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetConfig {
    /// Instructions per round per execution thread.
    pub max_instructions_per_round: u64,
    /// Execution threads running canister messages in parallel.
    pub execution_threads: u64,
    /// Heavy subnet messages get `max_instructions_per_round / this` per round.
    pub subnet_messages_limit_fraction: u64,
    /// An install whose cost exceeds one slice runs over several rounds (DTS),
    /// one slice a round, and blocks every other install meanwhile.
    pub max_instructions_per_slice: u64,
    /// Counted toward the canister-execution budget per message executed.
    pub instruction_overhead_per_execution: u64,
    /// Counted once per canister that executes in a round.
    pub instruction_overhead_per_canister: u64,
    /// A canister rejects install_code while its install debit is above zero;
    /// the debit drops by this much at the end of every round. `None`: no limit.
    pub install_code_rate_limit: Option<u64>,
    pub upload_chunk_instructions: u64,
    pub canister_snapshot_baseline_instructions: u64,
    pub cost_to_compile_wasm_instruction: u64,
    pub deserialization_speed_up_factor: u64,
    pub max_canisters: u64,
    /// `false`: no budget is enforced (costs are still counted and reported).
    pub enforce_budgets: bool,
}

impl SubnetConfig {
    /// An application subnet, with the replica's numbers.
    pub const fn application() -> Self {
        SubnetConfig {
            max_instructions_per_round: MAX_INSTRUCTIONS_PER_ROUND,
            execution_threads: EXECUTION_THREADS,
            subnet_messages_limit_fraction: SUBNET_MESSAGES_LIMIT_FRACTION,
            max_instructions_per_slice: MAX_INSTRUCTIONS_PER_SLICE,
            instruction_overhead_per_execution: INSTRUCTION_OVERHEAD_PER_EXECUTION,
            instruction_overhead_per_canister: INSTRUCTION_OVERHEAD_PER_CANISTER,
            install_code_rate_limit: Some(INSTALL_CODE_RATE_LIMIT),
            upload_chunk_instructions: UPLOAD_CHUNK_INSTRUCTIONS,
            canister_snapshot_baseline_instructions: CANISTER_SNAPSHOT_BASELINE_INSTRUCTIONS,
            cost_to_compile_wasm_instruction: COST_TO_COMPILE_WASM_INSTRUCTION,
            deserialization_speed_up_factor: DESERIALIZATION_SPEED_UP_FACTOR,
            max_canisters: MAX_CANISTERS,
            enforce_budgets: true,
        }
    }

    /// The emulator before subnets had a capacity: every queued message runs
    /// in the round it is delivered, installs never span rounds, no install
    /// rate limit, no canister limit. Costs are still counted, so the
    /// observability API reports what the same work would cost on a subnet.
    /// For tests whose subject is not capacity and that say so.
    pub const fn unlimited() -> Self {
        SubnetConfig {
            install_code_rate_limit: None,
            max_canisters: u64::MAX,
            enforce_budgets: false,
            ..Self::application()
        }
    }

    /// Instructions heavy subnet messages may start in one round.
    pub const fn subnet_message_budget(&self) -> u64 {
        self.max_instructions_per_round / self.subnet_messages_limit_fraction
    }

    /// Instructions canister messages may start in one round, all threads together.
    pub const fn canister_execution_budget(&self) -> u64 {
        self.max_instructions_per_round * self.execution_threads
    }
}

impl Default for SubnetConfig {
    fn default() -> Self {
        Self::application()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_subnet_budget_is_a_sixteenth_of_seven_billion() {
        assert_eq!(
            SubnetConfig::application().subnet_message_budget(),
            437_500_000
        );
    }
}
