//! The factory's cost at fleet sizes: instructions of a timer tick and
//! stable-memory bytes per user, at each size of `tick_users`.
//!
//! The users' canisters run the tiny module (`UserModule::Tiny`): neither
//! figure depends on what they run, and 100,000 real ones would not fit in
//! this machine's memory. Every user is provisioned through the factory.

use crate::fleet::{plan, user_stable_bytes, Fleet, UserModule};
use crate::report::Report;
use crate::size::Size;

/// Rounds to wait for the first tick after `start_rollout`.
const TICK_WAIT_ROUNDS: usize = 10;

pub fn run(size: &Size, report: &mut Report) {
    let mut ticks = Vec::new();
    for &users in &size.tick_users {
        let bench = format!("factory, {users} users");
        eprintln!("{bench}: provisioning (tiny user modules)");
        let fleet = Fleet::new(users, UserModule::Tiny);
        report.add(
            &bench,
            "factory instructions per provision",
            fleet.provision_instructions.round(),
            "instr",
            format!(
                "tiny user module; {:.0} s to provision",
                fleet.provision_wall_s
            ),
        );
        let grown = user_stable_bytes(&fleet.world) - fleet.empty_user_bytes;
        report.add(
            &bench,
            "stable bytes per user",
            (grown as f64 / users as f64).round(),
            "B",
            format!(
                "growth of users map + reverse index + version counts / users (64 KiB pages: ±{:.0} B); goal < 256",
                4.0 * 65_536.0 / users as f64
            ),
        );
        let tick = first_tick(&fleet, size.max_in_flight);
        report.add(
            &bench,
            "instructions per timer tick",
            tick as f64,
            "instr",
            format!(
                "the first tick of a rollout (enumerate, start {} upgrades), nothing else in flight",
                size.max_in_flight.min(users as u32)
            ),
        );
        ticks.push((users, tick));
    }
    if let (Some(&(small, a)), Some(&(large, b))) = (ticks.first(), ticks.last()) {
        if large > small {
            report.add(
                "factory ticks",
                &format!("tick at {large} / tick at {small} users"),
                b as f64 / a as f64,
                "ratio",
                "goal ≤ 1.20",
            );
        }
    }
}

/// Factory instructions in the round its first rollout tick ran: the global
/// timer and the tick it runs (ic-cdk-timers' self-call), nothing else.
fn first_tick(fleet: &Fleet, in_flight: u32) -> u64 {
    fleet.publish("1.0.1");
    fleet
        .world
        .admin()
        .start_rollout(plan("1.0.1", in_flight))
        .expect("start_rollout");
    for _ in 0..TICK_WAIT_ROUNDS {
        let before = fleet.factory_instructions();
        fleet.round();
        let spent = fleet.factory_instructions() - before;
        if spent > 0 {
            return spent;
        }
    }
    panic!("no tick within {TICK_WAIT_ROUNDS} rounds of start_rollout");
}
