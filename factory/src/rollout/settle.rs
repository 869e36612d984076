//! Runs of an earlier module: a factory upgraded while it ran them (forced
//! with `skip_pre_upgrade`, or a crash the operator recovered by upgrading).
//!
//! Their tasks died with the old module, but the management call each had
//! outstanding did not: it still occupies a place in the subnet's queues,
//! and its reply, when it comes, lands in the new module's function table,
//! where ic-cdk cannot hand it to anyone (its callback reads a pointer into
//! the old heap). So the new module cannot wait for the reply. Such a run
//! keeps its in-flight slot (its entry in `running`, the one fact the count
//! is derived from) until its call has certainly been answered, judged from
//! the phase it was in — which names the call — and the time of the upgrade.
//! Only then is the canister reconciled (status, start, outcome).

use super::model::{JobPhase, Running};
use crate::state::FactoryState;
use ic_stable_structures::Memory;

const SECOND_NS: u64 = 1_000_000_000;

/// `canister_status`, `start_canister`, `deposit_cycles`: the management
/// canister answers them when they arrive, a round or two after they are
/// sent; half a minute is a wide margin.
pub const PROMPT_SETTLE_NS: u64 = 30 * SECOND_NS;

/// `stop_canister` is a bounded-wait call (`ic_runtime::STOP_TIMEOUT_SECONDS`):
/// the IC answers it, at the latest with a timeout, by then.
pub const STOP_SETTLE_NS: u64 =
    crate::ic_runtime::STOP_TIMEOUT_SECONDS as u64 * SECOND_NS + PROMPT_SETTLE_NS;

// A stop is waited for past its timeout.
const _: () = assert!(STOP_SETTLE_NS > 300 * SECOND_NS);

/// `take_canister_snapshot`, `install_chunked_code`: heavy messages the
/// subnet runs within its per-round budget; the scheduler admits them at the
/// subnet's observed rate, so they wait little. No IC bound exists for
/// these: this is the one assumption (and why `pre_upgrade` refuses).
pub const HEAVY_SETTLE_NS: u64 = 300 * SECOND_NS;

/// How long after the upgrade a run that was in `phase` may still have its
/// call outstanding.
pub fn settle_after_ns(phase: JobPhase) -> u64 {
    match phase {
        JobPhase::Checking | JobPhase::ToppingUp | JobPhase::Starting | JobPhase::Confirming => {
            PROMPT_SETTLE_NS
        }
        JobPhase::Stopping => STOP_SETTLE_NS,
        JobPhase::Snapshotting | JobPhase::Installing => HEAVY_SETTLE_NS,
    }
}

/// Whether the call of `run` (a run of an earlier module) has certainly been
/// answered by `now`. All of an old module's calls were sent before the
/// latest upgrade (`upgraded_at_ns`); without that time (a state written
/// before it was kept), the run counts as settled, as it always did.
pub fn settled(run: &Running, upgraded_at_ns: Option<u64>, now: u64) -> bool {
    upgraded_at_ns.is_none_or(|at| now >= at.saturating_add(settle_after_ns(run.phase)))
}

/// Called by `post_upgrade`: the time every earlier run's calls predate.
pub fn factory_upgraded<M: Memory>(s: &mut FactoryState<M>, now: u64) {
    s.sched.update(|sc| sc.upgraded_at_ns = Some(now));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(phase: JobPhase) -> Running {
        Running {
            epoch: 0,
            since_ns: 0,
            token: 1,
            step: "2.0.0".into(),
            phase,
            snapshot_id: None,
        }
    }

    #[test]
    fn a_run_settles_once_its_call_can_no_longer_be_outstanding() {
        let at = 1_000 * SECOND_NS;
        for (phase, after) in [
            (JobPhase::Checking, PROMPT_SETTLE_NS),
            (JobPhase::Starting, PROMPT_SETTLE_NS),
            (JobPhase::Stopping, STOP_SETTLE_NS),
            (JobPhase::Installing, HEAVY_SETTLE_NS),
            (JobPhase::Snapshotting, HEAVY_SETTLE_NS),
        ] {
            assert!(!settled(&run(phase), Some(at), at), "{phase:?} at once");
            assert!(!settled(&run(phase), Some(at), at + after - 1), "{phase:?}");
            assert!(settled(&run(phase), Some(at), at + after), "{phase:?}");
        }
    }

    #[test]
    fn without_an_upgrade_time_runs_settle_at_once() {
        assert!(settled(&run(JobPhase::Installing), None, 0));
    }
}
