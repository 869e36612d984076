//! A factory with a provisioned fleet on the emulator, and rollouts driven
//! round by round as the IC would run them (one round per second).

use crate::measure::timed;
use candid::Principal;
use factory_client::{RolloutFilter, RolloutPlan, SnapshotPolicy};
use ic_emulator::SubnetConfig;
use scenarios::World;
use std::time::Duration;

/// Management calls the IC queues per canister pair; provisions are sent in
/// batches below it.
const PROVISION_BATCH: u64 = 400;
/// Enough for 100,000 user canisters and their creation fees.
const EXTRA_FACTORY_CYCLES: u128 = 1_000_000_000_000_000_000;
/// A guard against a rollout that never ends (a bug, not a slow run).
const MAX_ROUNDS: u64 = 10_000_000;

/// Which module the user canisters run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserModule {
    /// The real user canister release.
    Real,
    /// The smallest valid module, tagged per version: for benches whose
    /// figure does not depend on what the user canisters run, at fleet sizes
    /// the real module would not fit in this machine's memory.
    Tiny,
}

impl UserModule {
    pub fn module(self, version: &str) -> Vec<u8> {
        match self {
            UserModule::Real => World::user_module(version),
            UserModule::Tiny => tiny_module(version),
        }
    }
}

/// `(module)` with a custom section naming the version (a distinct hash).
pub fn tiny_module(version: &str) -> Vec<u8> {
    let name = b"release";
    let mut section = vec![name.len() as u8];
    section.extend_from_slice(name);
    section.extend_from_slice(version.as_bytes());
    let mut m = b"\0asm\x01\0\0\0".to_vec();
    m.push(0); // custom section
    m.push(u8::try_from(section.len()).expect("a short version"));
    m.extend_from_slice(&section);
    m
}

pub struct Fleet {
    pub world: World,
    pub module: UserModule,
    pub canisters: Vec<Principal>,
    /// Factory instructions spent provisioning, per user.
    pub provision_instructions: f64,
    pub provision_wall_s: f64,
    /// `factory_user_stable_bytes` before the first user.
    pub empty_user_bytes: u64,
}

impl Fleet {
    /// The factory with `n` users provisioned on release 1.0.0.
    pub fn new(n: u64, module: UserModule) -> Fleet {
        Self::on_subnet(n, module, SubnetConfig::application())
    }

    /// [`Fleet::new`] on a subnet of the given capacity.
    pub fn on_subnet(n: u64, module: UserModule, subnet: SubnetConfig) -> Fleet {
        let world = World::new();
        world.emu.set_subnet_config(subnet);
        world.emu.add_cycles(world.factory, EXTRA_FACTORY_CYCLES);
        world.publish_module("1.0.0", &module.module("1.0.0"));
        let empty_user_bytes = user_stable_bytes(&world);
        let before = world.emu.instruction_stats(world.factory).total;
        let (canisters, wall) = timed(|| provision(&world, n));
        let spent = world.emu.instruction_stats(world.factory).total - before;
        Fleet {
            world,
            module,
            canisters,
            provision_instructions: spent as f64 / n.max(1) as f64,
            provision_wall_s: wall,
            empty_user_bytes,
        }
    }

    pub fn publish(&self, version: &str) {
        self.world
            .publish_module(version, &self.module.module(version));
    }

    pub fn factory_instructions(&self) -> u64 {
        self.world.emu.instruction_stats(self.world.factory).total
    }

    /// One round, one second later (the IC's pace; the factory's default
    /// tick interval is one second).
    pub fn round(&self) {
        self.world.emu.advance_time(Duration::from_secs(1));
        self.world.emu.tick();
    }

    /// The scheduler's running totals: (upgraded, failed, ticks).
    pub fn totals(&self) -> (u64, u64, u64) {
        let t = self
            .world
            .admin()
            .rollout_status()
            .expect("rollout_status")
            .totals;
        (t.upgraded, t.failed, t.ticks)
    }

    /// Runs a rollout to its end; panics if it does not complete cleanly.
    pub fn rollout(&self, plan: RolloutPlan) -> RolloutRun {
        self.rollout_with(plan, |_| {})
    }

    /// [`Fleet::rollout`], calling `before_round` before every round (another
    /// app's work on the same subnet).
    pub fn rollout_with(
        &self,
        plan: RolloutPlan,
        mut before_round: impl FnMut(&ic_emulator::Emulator),
    ) -> RolloutRun {
        let emu = &self.world.emu;
        let admin = self.world.admin();
        let totals = self.totals();
        let instructions = self.factory_instructions();
        let rounds = emu.rounds();
        let start_round = rounds;
        let mut peak = 0;
        let ((), wall_s) = timed(|| {
            admin.start_rollout(plan).expect("start_rollout");
            while admin.rollout_status().expect("status").active.is_some() {
                assert!(emu.rounds() - rounds < MAX_ROUNDS, "the rollout never ends");
                before_round(emu);
                self.round();
                let now = emu.management_calls_in_flight(self.world.factory).current;
                peak = peak.max(now);
            }
        });
        let after = self.totals();
        assert_eq!(after.1, totals.1, "no upgrade failed");
        RolloutRun {
            start_round,
            rounds: emu.rounds() - rounds,
            wall_s,
            upgraded: after.0 - totals.0,
            ticks: after.2 - totals.2,
            factory_instructions: self.factory_instructions() - instructions,
            peak_calls_in_flight: peak,
        }
    }
}

pub struct RolloutRun {
    /// The emulator's round when the rollout started.
    pub start_round: u64,
    pub rounds: u64,
    pub wall_s: f64,
    pub upgraded: u64,
    pub ticks: u64,
    pub factory_instructions: u64,
    /// Most management calls in flight at the end of a round.
    pub peak_calls_in_flight: usize,
}

/// A one-stage plan to `version` with `in_flight` upgrades at once.
pub fn plan(version: &str, in_flight: u32) -> RolloutPlan {
    RolloutPlan {
        target_version: version.into(),
        stages: vec![],
        max_in_flight: in_flight,
        max_starts_per_tick: None,
        tick_interval_ns: None,
        retry: None,
        filter: None,
        // Snapshots would hold a copy of every canister's memory in the
        // emulator; the ideal and the naive proxy use the same sequence.
        snapshot: Some(SnapshotPolicy::Never),
        top_up: None,
        allow_downgrade: None,
        supersede: None,
        admission: None,
    }
}

/// The same plan restricted to some canisters.
pub fn only(mut plan: RolloutPlan, canisters: &[Principal]) -> RolloutPlan {
    plan.filter = Some(RolloutFilter {
        canisters: canisters.to_vec(),
        ..Default::default()
    });
    plan
}

/// The factory's `factory_user_stable_bytes` metric.
pub fn user_stable_bytes(world: &World) -> u64 {
    let metrics = world.admin().metrics().expect("metrics");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("factory_user_stable_bytes "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the factory reports factory_user_stable_bytes")
}

/// User `i`: a self-authenticating principal (29 bytes, random order, as
/// real sign-ups come; sequential keys would half-fill the users map's nodes).
fn user(i: u64) -> Principal {
    Principal::self_authenticating([&b"user"[..], &i.to_le_bytes()].concat())
}

fn recovery_of(i: u64) -> Principal {
    Principal::self_authenticating([&b"recovery"[..], &i.to_le_bytes()].concat())
}

/// Provisions users 0..n, at most `PROVISION_BATCH` at a time.
fn provision(world: &World, n: u64) -> Vec<Principal> {
    let mut canisters = Vec::with_capacity(n as usize);
    let mut next = 0;
    while next < n {
        let end = (next + PROVISION_BATCH).min(n);
        let calls: Vec<_> = (next..end)
            .map(|i| {
                let arg = candid::encode_one(factory_client::ProvisionArgs {
                    recovery: recovery_of(i),
                })
                .expect("encode");
                world
                    .emu
                    .submit_call(world.factory, user(i), "provision", arg)
                    .expect("submitted")
            })
            .collect();
        for (i, call) in (next..end).zip(calls) {
            let reply = world.emu.await_call(call).expect("provision replied");
            let id = candid::decode_one::<Result<Principal, factory_client::FactoryError>>(&reply)
                .expect("decode")
                .unwrap_or_else(|e| panic!("provisioning user {i}: {e:?}"));
            canisters.push(id);
        }
        next = end;
    }
    canisters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_modules_are_valid_and_distinct() {
        let a = tiny_module("1.0.0");
        let b = tiny_module("1.0.1");
        assert_ne!(a, b);
        assert!(a.starts_with(b"\0asm\x01\0\0\0"));
        // A custom section: id 0, its size, then exactly that many bytes.
        assert_eq!(a[8], 0);
        assert_eq!(a[9] as usize, a.len() - 10);
    }
}
