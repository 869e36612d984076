//! The world the end-to-end scenarios run in: the emulator with the real
//! factory installed from its release artifact, and typed clients for the
//! factory (through `factory_client`, as factoryctl uses it) and for user
//! canisters.

pub mod did;
pub mod fleet;
pub mod fleet_invariants;
pub mod invariants;
pub mod outcome;
pub mod rng;
pub mod roles;
pub mod rollout_helpers;
pub mod shards;
pub mod state_digest;
pub mod user_canister;

pub use factory_client::EmulatorTransport;
pub use user_canister::UserCanisterClient;

use candid::Principal;
use canister_artifacts::{artifacts, variants};
use factory_client::{
    FactoryArg, FactoryClient, FactoryConfig, FactoryInitArgs, PublishOptions, RateLimit,
    RegistryConfig, Release,
};
use ic_emulator::management_types::CanisterSettings;
use ic_emulator::Emulator;

/// Cycles the factory starts with: room for thousands of user canisters.
pub const FACTORY_CYCLES: u128 = 10_000_000_000_000_000;

pub struct World {
    pub emu: Emulator,
    pub factory: Principal,
    /// Controls the factory canister (the team that deployed it).
    pub operator: Principal,
    pub admin: Principal,
}

/// A distinct, deterministic principal per number (self-authenticating shape).
pub fn principal(n: u64) -> Principal {
    let mut bytes = [0u8; 29];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    bytes[28] = 0x02;
    Principal::from_slice(&bytes)
}

pub fn user(n: u64) -> Principal {
    principal(1_000_000 + n)
}

pub fn recovery_of(n: u64) -> Principal {
    principal(2_000_000 + n)
}

/// Limits that never get in the way of a scenario unless it lowers them.
pub fn roomy_config() -> FactoryConfig {
    FactoryConfig {
        cycles_per_canister: 1_000_000_000_000,
        cycles_reserve: 10_000_000_000_000,
        provision_rate: RateLimit {
            capacity: 100_000,
            refill_period_ns: 1,
        },
        user_upgrade_rate: RateLimit {
            capacity: 3,
            refill_period_ns: 600_000_000_000,
        },
        ..FactoryConfig::default()
    }
}

impl World {
    /// The factory installed with one admin who may approve their own releases.
    pub fn new() -> World {
        Self::with_config(roomy_config())
    }

    pub fn with_config(config: FactoryConfig) -> World {
        let emu = Emulator::new();
        let operator = principal(1);
        let admin = principal(2);
        let factory = emu.create_canister_with_settings(
            Some(operator),
            Some(CanisterSettings {
                controllers: Some(vec![operator]),
                ..Default::default()
            }),
        );
        emu.add_cycles(factory, FACTORY_CYCLES);
        let arg = FactoryArg::Init(FactoryInitArgs {
            admins: vec![admin],
            config: Some(config),
            approvals: Some(RegistryConfig {
                approvals_required: 1,
                uploader_counts: true,
            }),
            role: None,
        });
        emu.install_canister(
            factory,
            artifacts().factory.wasm_gz.clone(),
            candid::encode_one(arg).expect("init arg encodes"),
            Some(operator),
        );
        World {
            emu,
            factory,
            operator,
            admin,
        }
    }

    pub fn client(&self, sender: Principal) -> FactoryClient<EmulatorTransport<'_>> {
        FactoryClient::new(EmulatorTransport::new(&self.emu, sender), self.factory)
    }

    pub fn admin(&self) -> FactoryClient<EmulatorTransport<'_>> {
        self.client(self.admin)
    }

    pub fn user_canister(&self, canister: Principal, sender: Principal) -> UserCanisterClient<'_> {
        UserCanisterClient::new(&self.emu, canister, sender)
    }

    /// The user canister module as release `version` (its own module hash).
    pub fn user_module(version: &str) -> Vec<u8> {
        variants::tagged(&artifacts().user_canister.wasm_gz, version).expect("tag the module")
    }

    /// Publishes and approves the user canister as `version`.
    pub fn publish(&self, version: &str) -> Release {
        self.publish_module(version, &Self::user_module(version))
    }

    pub fn publish_module(&self, version: &str, module: &[u8]) -> Release {
        let options = PublishOptions {
            notes: format!("release {version}"),
            approve: true,
            ..Default::default()
        };
        self.admin()
            .publish_release(version, module, &options, |_, _| {})
            .unwrap_or_else(|e| panic!("publishing {version}: {e}"))
            .release
    }

    /// Provisions user `n` (recovery principal `recovery_of(n)`).
    pub fn provision(&self, n: u64) -> Principal {
        self.client(user(n))
            .provision(recovery_of(n))
            .unwrap_or_else(|e| panic!("provisioning user {n}: {e}"))
    }

    pub fn controllers(&self, canister: Principal) -> Vec<Principal> {
        let mut c = self.emu.get_controllers(canister);
        c.sort();
        c
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}
