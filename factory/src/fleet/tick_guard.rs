//! At most one fleet tick at an index, and never none for good.
//!
//! A tick awaits its shards, and a trap after an await ends its message
//! without running the rest of the tick: a flag cleared only when the tick
//! returns would stay set and block every later tick. So the armed flag is
//! cleared when the tick begins (as the keeper's is), and the running claim
//! is released by a drop guard, which ic-cdk runs in the trapped call's
//! cleanup. Should even the cleanup fail, a claim older than
//! [`RUNNING_LEASE_NS`] no longer counts; and the index's watchdog re-arms a
//! tick whenever a fleet rollout runs, so a chain broken by a trap mends.

/// A running tick that has not ended after this long is taken to be lost (a
/// trap whose cleanup failed too). Well above a tick's few cross-subnet
/// round trips; a shard call that takes longer is answered to the old tick,
/// whose answers the driver applies to the stored rollout as it is then.
pub const RUNNING_LEASE_NS: u64 = 10 * 60 * 1_000_000_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TickGuard {
    armed: bool,
    /// When the running tick began.
    running_since_ns: Option<u64>,
}

impl TickGuard {
    /// True if a timer should be set: none is armed yet.
    pub fn arm(&mut self) -> bool {
        !std::mem::replace(&mut self.armed, true)
    }

    /// The armed timer fired: true if this tick may run (none runs, or the
    /// one that does is past its lease); it then holds the claim until
    /// [`TickGuard::end`].
    pub fn begin(&mut self, now_ns: u64) -> bool {
        self.armed = false;
        if let Some(since) = self.running_since_ns {
            if now_ns.saturating_sub(since) < RUNNING_LEASE_NS {
                return false;
            }
        }
        self.running_since_ns = Some(now_ns);
        true
    }

    /// The tick that began ended (returned or trapped).
    pub fn end(&mut self) {
        self.running_since_ns = None;
    }

    pub fn is_armed(&self) -> bool {
        self.armed
    }

    pub fn is_running(&self, now_ns: u64) -> bool {
        self.running_since_ns
            .is_some_and(|since| now_ns.saturating_sub(since) < RUNNING_LEASE_NS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_timer_at_a_time() {
        let mut g = TickGuard::default();
        assert!(g.arm());
        assert!(!g.arm(), "already armed");
        assert!(g.begin(0));
        assert!(g.arm(), "the next tick may be armed while this one runs");
    }

    #[test]
    fn two_ticks_never_run_at_once() {
        let mut g = TickGuard::default();
        g.arm();
        assert!(g.begin(0));
        g.arm();
        assert!(!g.begin(1_000), "the first still runs");
        assert!(!g.is_armed(), "the refused tick does not stay armed");
        g.end();
        g.arm();
        assert!(g.begin(2_000));
    }

    #[test]
    fn a_tick_that_trapped_after_an_await_blocks_nothing() {
        // The old defect: the flag was cleared after the awaited tick only.
        let mut g = TickGuard::default();
        g.arm();
        assert!(g.begin(0));
        // The tick trapped; its cleanup released the claim.
        g.end();
        assert!(g.arm(), "a new tick is armed");
        assert!(g.begin(5));
    }

    #[test]
    fn a_claim_never_released_lapses_after_the_lease() {
        let mut g = TickGuard::default();
        g.arm();
        assert!(g.begin(0));
        // Neither the tick nor its cleanup ended it.
        g.arm();
        assert!(!g.begin(RUNNING_LEASE_NS - 1));
        assert!(g.is_running(RUNNING_LEASE_NS - 1));
        assert!(!g.is_running(RUNNING_LEASE_NS));
        g.arm();
        assert!(g.begin(RUNNING_LEASE_NS));
    }
}
