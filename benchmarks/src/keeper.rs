//! The cycles keeper at fleet sizes: factory instructions per keeper tick,
//! cycles per user per month the factory spends on keeping (the readings'
//! calls and execution; the top-ups themselves are the app's own burn and
//! excluded, as is creation), and the sweep's period.
//!
//! The users' canisters run the tiny module: the keeper reads their status
//! (balance, burn, freezing limit), which does not depend on what they run.
//! Every user is provisioned through the factory, then the keeper is turned
//! on with its defaults and its ticks are measured one by one.

use crate::fleet::{Fleet, UserModule};
use crate::report::Report;
use crate::size::Size;
use factory_client::{CyclesQuery, KeeperConfig};
use std::time::Duration;

const DAY_NS: u64 = 86_400_000_000_000;
const MONTH_NS: u64 = 30 * DAY_NS;
/// Ticks measured per fleet size (each reads `max_per_tick` canisters).
const TICKS: usize = 3;
/// Rounds a tick's status calls need to come back (the emulator answers a
/// management call in one or two rounds).
const SETTLE_ROUNDS: usize = 6;

/// The sweep's period for `users` under `cfg` (the factory's formula,
/// `factory/src/cycles/sweep.rs`, `effective_sweep_period_ns`).
fn sweep_period_ns(users: u64, cfg: &KeeperConfig) -> u64 {
    let ticks = users.div_ceil(u64::from(cfg.max_per_tick));
    cfg.sweep_period_ns
        .max(ticks.saturating_mul(cfg.tick_interval_ns))
}

pub fn run(size: &Size, report: &mut Report) {
    let cfg = KeeperConfig::default();
    let mut per_tick = Vec::new();
    for &users in &size.keeper_users {
        let bench = format!("keeper, {users} users");
        eprintln!("{bench}: provisioning (tiny user modules)");
        let fleet = Fleet::new(users, UserModule::Tiny);
        // A sweep period of ten ticks: every measured tick reads a full
        // batch at any size, so the sizes compare like for like.
        let busy = KeeperConfig {
            sweep_period_ns: 10 * cfg.tick_interval_ns,
            ..cfg
        };
        let m = measure(&fleet, &busy);
        report.add(
            &bench,
            "factory instructions per keeper tick",
            m.tick_instructions as f64,
            "instr",
            format!(
                "the timer message alone (plan, send {:.0} status calls); median of {TICKS} ticks",
                m.reads_per_tick
            ),
        );
        report.add(
            &bench,
            "factory instructions per reading",
            m.per_reading_instructions.round(),
            "instr",
            "tick share + the status reply's callback (decide, record), per canister read",
        );
        report.add(
            &bench,
            "cycles per reading",
            m.cycles_per_reading.round(),
            "cycles",
            "the factory's balance drop over the ticks and their replies / readings",
        );
        let period = sweep_period_ns(users, &cfg);
        let readings_per_month = MONTH_NS as f64 / period as f64;
        report.add(
            &bench,
            "keeping cycles per user per month",
            (m.cycles_per_reading * readings_per_month).round(),
            "cycles",
            format!(
                "cycles per reading × {readings_per_month:.1} sweeps a month (defaults: {} per tick every {} s, period ≥ {} h); top-ups and creation excluded",
                cfg.max_per_tick,
                cfg.tick_interval_ns / 1_000_000_000,
                cfg.sweep_period_ns / 3_600_000_000_000
            ),
        );
        per_tick.push((users, m.tick_instructions));
    }
    if let (Some(&(small, a)), Some(&(large, b))) = (per_tick.first(), per_tick.last()) {
        if large > small {
            report.add(
                "keeper ticks",
                &format!("tick at {large} / tick at {small} users"),
                b as f64 / a as f64,
                "ratio",
                "goal ≤ 1.20 (flat: a tick reads a bounded batch)",
            );
        }
    }
    let users = 100_000u64;
    let period = sweep_period_ns(users, &cfg);
    report.add(
        "keeper sweep",
        &format!("sweep period at {users} users"),
        period as f64 / 3_600_000_000_000.0,
        "h",
        format!(
            "computed from the defaults: max(sweep_period, ⌈{users} / {}⌉ × {} s); a larger fleet lengthens it",
            cfg.max_per_tick,
            cfg.tick_interval_ns / 1_000_000_000
        ),
    );
}

struct Measured {
    tick_instructions: u64,
    reads_per_tick: f64,
    per_reading_instructions: f64,
    cycles_per_reading: f64,
}

fn measure(fleet: &Fleet, cfg: &KeeperConfig) -> Measured {
    let w = &fleet.world;
    let admin = w.admin();
    let mut settings = admin.get_config().expect("get_config").config;
    // The tick timer is armed by set_config; let its first tick wait a tick
    // interval so every measured tick is one timer message.
    settings.keeper = Some(*cfg);
    admin.set_config(settings).expect("keeper on");
    let mut ticks = Vec::new();
    let (mut instructions, mut cycles, mut readings) = (0u64, 0u128, 0u64);
    for _ in 0..=TICKS {
        let tracked_before = tracked(fleet);
        let balance_before = w.emu.cycle_balance(w.factory);
        let before = fleet.factory_instructions();
        // The tick's round: the timer fires once per interval.
        w.emu
            .advance_time(Duration::from_nanos(cfg.tick_interval_ns));
        w.emu.tick();
        let tick = fleet.factory_instructions() - before;
        for _ in 0..SETTLE_ROUNDS {
            w.emu.tick();
        }
        let spent = fleet.factory_instructions() - before;
        let read = tracked(fleet) - tracked_before;
        if read == 0 {
            // The first pass after set_config may land in no timer round.
            continue;
        }
        ticks.push(tick);
        instructions += spent;
        cycles += balance_before.saturating_sub(w.emu.cycle_balance(w.factory));
        readings += read;
    }
    ticks.sort_unstable();
    let reads_per_tick = readings as f64 / ticks.len().max(1) as f64;
    let readings = readings.max(1);
    Measured {
        reads_per_tick,
        tick_instructions: ticks.get(ticks.len() / 2).copied().unwrap_or(0),
        per_reading_instructions: instructions as f64 / readings as f64,
        cycles_per_reading: cycles as f64 / readings as f64,
    }
}

/// Canisters the keeper has read so far (each tick reads new ones while the
/// first sweep is under way).
fn tracked(fleet: &Fleet) -> u64 {
    fleet
        .world
        .admin()
        .cycles_status(CyclesQuery {
            after: None,
            limit: 1,
            at_risk_only: false,
        })
        .expect("cycles_status")
        .tracked
}
