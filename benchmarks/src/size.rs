//! How big each benchmark runs, per `--size`.

use clap::ValueEnum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SizeName {
    /// Seconds: checks that every benchmark runs (CI).
    Smallest,
    /// A few minutes: the rollout at 1,000 canisters, ticks at 1,000 and 10,000 users.
    Default,
    /// Every figure at the size the issue asks for (under 15 minutes here).
    Full,
}

#[derive(Clone, Debug)]
pub struct Size {
    /// Fleet sizes of the rollout benchmark.
    pub rollout_fleets: Vec<u64>,
    /// Fleet sizes of the side-by-side unlimited / application-subnet rollouts.
    pub capacity_fleets: Vec<u64>,
    pub max_in_flight: u32,
    /// Up to this fleet size the naive proxy upgrades the whole fleet; above
    /// it, `naive_sample` canisters and the figure is scaled (it is linear
    /// by construction: one canister at a time, ~20 ms of emulator a round).
    pub naive_whole_fleet_up_to: u64,
    pub naive_sample: u64,
    /// Users in the factory for the per-tick instructions.
    pub tick_users: Vec<u64>,
    /// Users in the factory for the keeper's ticks and cycles.
    pub keeper_users: Vec<u64>,
    /// Bytes of user data for the user canister's upgrade.
    pub user_data_bytes: Vec<u64>,
    /// Canisters in the emulator's round benchmark.
    pub round_canisters: u64,
    /// Repetitions of each wall-time measurement (the median is reported).
    pub runs: usize,
    /// Fleets above this size are rolled out once (their wall time is one run).
    pub repeat_rollouts_up_to: u64,
    /// Shards (each on its own subnet) of the fleet-over-subnets benchmark,
    /// and users per shard (`FLEET_BENCH_USERS_PER_SHARD` overrides it).
    pub fleet_shards: Vec<usize>,
    pub fleet_users_per_shard: u64,
}

const MIB: u64 = 1 << 20;

/// The size's users per shard, unless `FLEET_BENCH_USERS_PER_SHARD` names one.
fn users_per_shard(default: u64) -> u64 {
    std::env::var("FLEET_BENCH_USERS_PER_SHARD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Size {
    pub fn of(name: SizeName) -> Size {
        match name {
            SizeName::Smallest => Size {
                rollout_fleets: vec![60],
                capacity_fleets: vec![30],
                max_in_flight: 20,
                naive_whole_fleet_up_to: 0,
                naive_sample: 10,
                tick_users: vec![30, 60],
                keeper_users: vec![30],
                user_data_bytes: vec![1024, MIB],
                round_canisters: 100,
                runs: 1,
                repeat_rollouts_up_to: 0,
                fleet_shards: vec![2],
                fleet_users_per_shard: users_per_shard(10),
            },
            SizeName::Default => Size {
                rollout_fleets: vec![1_000],
                capacity_fleets: vec![200],
                max_in_flight: 500,
                naive_whole_fleet_up_to: 0,
                naive_sample: 100,
                tick_users: vec![1_000, 5_000],
                keeper_users: vec![1_000, 10_000],
                user_data_bytes: vec![1024, 10 * MIB],
                round_canisters: 10_000,
                runs: 3,
                repeat_rollouts_up_to: 1_000,
                fleet_shards: vec![2, 10],
                fleet_users_per_shard: users_per_shard(200),
            },
            // 100,000 users do not fit in 15 minutes here: provisioning costs
            // the factory ~4.4 M instructions (~8 ms of emulator) per user.
            SizeName::Full => Size {
                rollout_fleets: vec![1_000, 10_000],
                capacity_fleets: vec![1_000],
                max_in_flight: 500,
                naive_whole_fleet_up_to: 0,
                naive_sample: 100,
                tick_users: vec![1_000, 20_000],
                keeper_users: vec![1_000, 20_000],
                user_data_bytes: vec![1024, 100 * MIB],
                round_canisters: 10_000,
                runs: 3,
                repeat_rollouts_up_to: 1_000,
                fleet_shards: vec![2, 10],
                fleet_users_per_shard: users_per_shard(1_000),
            },
        }
    }
}
