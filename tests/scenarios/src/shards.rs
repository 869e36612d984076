//! A fleet of factories on the emulator: one index and `n` shards, each a
//! factory installed from the same release artifact in its role, each on its
//! own application subnet (the index on the first, shard `i` on subnet
//! `i + 1`), so every call between index and shard is a cross-subnet hop
//! with its extra round and its 2 MiB payload limit.

use crate::{principal, recovery_of, roomy_config, user, EmulatorTransport, World, FACTORY_CYCLES};
use candid::Principal;
use canister_artifacts::artifacts;
use factory_client::{
    FactoryArg, FactoryClient, FactoryInitArgs, FactoryRole, PublishOptions, RegistryConfig,
    ReleaseState,
};
use ic_emulator::management_types::CanisterSettings;
use ic_emulator::{Emulator, SubnetId};

pub struct ShardedWorld {
    pub emu: Emulator,
    pub index: Principal,
    pub shards: Vec<Principal>,
    /// The subnets, the index's first; shard `i` on `subnets[i + 1]`.
    pub subnets: Vec<SubnetId>,
    pub operator: Principal,
    pub admin: Principal,
}

/// Creates a canister on `subnet` controlled by `operator` and installs the
/// factory in `role`.
pub fn install_factory(
    emu: &Emulator,
    subnet: SubnetId,
    operator: Principal,
    admin: Principal,
    role: FactoryRole,
) -> Principal {
    let id = emu.create_canister_on_subnet(
        Some(operator),
        Some(CanisterSettings {
            controllers: Some(vec![operator]),
            ..Default::default()
        }),
        subnet,
    );
    emu.add_cycles(id, FACTORY_CYCLES);
    let arg = FactoryArg::Init(FactoryInitArgs {
        admins: vec![admin],
        config: Some(roomy_config()),
        approvals: Some(RegistryConfig {
            approvals_required: 1,
            uploader_counts: true,
        }),
        role: Some(role),
    });
    emu.install_canister(
        id,
        artifacts().factory.wasm_gz.clone(),
        candid::encode_one(arg).expect("init arg encodes"),
        Some(operator),
    );
    id
}

impl ShardedWorld {
    /// The index with `n` registered shards, each on its own subnet; no
    /// release yet.
    pub fn new(n: usize) -> ShardedWorld {
        Self::with_spare_subnets(n, 0)
    }

    /// As [`ShardedWorld::new`], with `spare` more subnets, empty (for shards
    /// the index creates).
    pub fn with_spare_subnets(n: usize, spare: usize) -> ShardedWorld {
        let emu = Emulator::builder()
            .with_application_subnets(n + 1 + spare)
            .with_cmc_double()
            .build();
        let subnets = emu.subnets();
        let (operator, admin) = (principal(1), principal(2));
        let index = install_factory(&emu, subnets[0], operator, admin, FactoryRole::Index);
        let shards = (0..n)
            .map(|i| {
                let role = FactoryRole::Shard { index };
                install_factory(&emu, subnets[i + 1], operator, admin, role)
            })
            .collect();
        let w = ShardedWorld {
            emu,
            index,
            shards,
            subnets,
            operator,
            admin,
        };
        for &shard in &w.shards {
            w.admin()
                .add_shard(shard, None)
                .unwrap_or_else(|e| panic!("add_shard {shard}: {e}"));
        }
        w
    }

    pub fn client_of(
        &self,
        canister: Principal,
        sender: Principal,
    ) -> FactoryClient<EmulatorTransport<'_>> {
        FactoryClient::new(EmulatorTransport::new(&self.emu, sender), canister)
    }

    /// The index, as `sender`.
    pub fn client(&self, sender: Principal) -> FactoryClient<EmulatorTransport<'_>> {
        self.client_of(self.index, sender)
    }

    pub fn admin(&self) -> FactoryClient<EmulatorTransport<'_>> {
        self.client(self.admin)
    }

    /// Publishes and approves `version` at the index, then pushes it to every
    /// shard; panics unless every shard ends with it approved.
    pub fn publish(&self, version: &str) {
        self.publish_module(version, &World::user_module(version));
    }

    pub fn publish_module(&self, version: &str, module: &[u8]) {
        let options = PublishOptions {
            notes: format!("release {version}"),
            approve: true,
            ..Default::default()
        };
        self.admin()
            .publish_release(version, module, &options, |_, _| {})
            .unwrap_or_else(|e| panic!("publishing {version}: {e}"));
        let rows = self
            .admin()
            .push_release(version)
            .unwrap_or_else(|e| panic!("push_release {version}: {e}"));
        let registered = self.admin().list_shards().expect("list_shards").len();
        assert_eq!(rows.len(), registered);
        for row in rows {
            assert_eq!(row.result, Ok(ReleaseState::Approved), "{row:?}");
        }
    }

    /// Provisions user `n` through the index.
    pub fn provision(&self, n: u64) -> Principal {
        self.client(user(n))
            .provision(recovery_of(n))
            .unwrap_or_else(|e| panic!("provisioning user {n}: {e}"))
    }

    /// Runs rounds a second apart until `done` (checked after each), at most `max`.
    pub fn drive(&self, what: &str, max: u64, mut done: impl FnMut(&Self) -> bool) -> u64 {
        for round in 1..=max {
            self.emu.advance_time(std::time::Duration::from_secs(1));
            self.emu.tick();
            if done(self) {
                return round;
            }
        }
        panic!(
            "{what}: not done after {max} rounds: {:?}",
            self.fleet_status()
        );
    }

    /// Upgrades the index as its operator would: stop (its outstanding calls
    /// finish), upgrade, start. The same module (`pre_upgrade` and
    /// `post_upgrade` run as for a new one; a new module would cost the
    /// emulator a compile of the factory).
    pub fn upgrade_index(&self) {
        let module = artifacts().factory.wasm_gz.clone();
        let arg = candid::encode_one(Some(factory_client::FactoryArg::Upgrade(
            factory_client::FactoryUpgradeArgs {},
        )))
        .expect("encodes");
        let op = Some(self.operator);
        self.emu
            .stop_canister(self.index, op)
            .expect("stop the index");
        let upgraded = self.emu.upgrade_canister(self.index, module, arg, op);
        self.emu
            .start_canister(self.index, op)
            .expect("start the index");
        upgraded.expect("upgrade the index");
    }

    pub fn fleet_status(&self) -> Option<factory_client::FleetRollout> {
        self.admin()
            .fleet_rollout_status()
            .unwrap_or_else(|e| panic!("fleet_rollout_status: {e}"))
    }

    /// Users with a canister on `shard`, from the shard itself.
    /// Users placed on each shard, in the index's shard order.
    pub fn shard_loads(&self) -> Vec<u64> {
        let shards = self.admin().list_shards().expect("list_shards");
        shards.iter().map(|s| s.users).collect()
    }

    pub fn shard_users(&self, shard: Principal) -> Vec<factory_client::UserView> {
        let mut owners = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .client_of(shard, self.admin)
                .list_users(after, 1_000)
                .unwrap_or_else(|e| panic!("list_users at {shard}: {e}"));
            owners.extend(page.users);
            match page.next {
                Some(next) => after = Some(next),
                None => return owners,
            }
        }
    }
}
