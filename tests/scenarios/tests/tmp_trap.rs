use ic_emulator::Fault;
use scenarios::rollout_helpers::{plan, STEP};
use scenarios::World;
use std::time::Duration;

#[test]
fn tmp_trap() {
    let w = World::new();
    w.publish("1.0.0");
    let _fleet = w.provision_fleet(0..20);
    w.publish("2.0.0");
    w.admin().start_rollout(plan("2.0.0", 2)).unwrap();
    w.drive("a few upgrades", 1_000, STEP, |w| {
        let s = w.rollout_status();
        s.in_flight == 2 && s.totals.upgraded >= 5
    });
    w.emu.take_debug_log();
    w.emu
        .inject_fault(w.factory, Fault::TrapNextMessage)
        .unwrap();
    for i in 0..1500 {
        w.emu.advance_time(Duration::from_millis(100));
        w.emu.tick();
        for l in w.emu.take_debug_log() {
            if l.canister == w.factory {
                eprintln!("r{i} {}", l.message.chars().take(200).collect::<String>());
            }
        }
        if i % 100 == 0 {
            let s = w.rollout_status();
            eprintln!(
                "r{i}: in_flight {} queued {} upgraded {}",
                s.in_flight, s.queued, s.totals.upgraded
            );
        }
    }
}
