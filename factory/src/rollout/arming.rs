//! When to arm the scheduler's timer. A trap in the timer's message rolls
//! back the record of the armed tick but not the timer's consumption, so a
//! tick that is long overdue is taken as lost and armed again: the scheduler
//! can never stall for good on a trap.

/// A tick this far past its due time is lost (it would have run by now).
pub const LOST_TICK_GRACE_NS: u64 = 30_000_000_000;

/// How often a watchdog makes sure a tick is armed when work is pending.
pub const WATCHDOG_INTERVAL_NS: u64 = 60_000_000_000;

#[derive(Debug, PartialEq, Eq)]
pub enum Arm {
    /// A tick is already due no later than asked.
    Keep,
    /// Arm a new tick at `due`.
    New { due: u64 },
}

/// `pending`: when the armed tick is due, as recorded.
pub fn decide(pending: Option<u64>, now: u64, delay_ns: u64) -> Arm {
    let due = now.saturating_add(delay_ns);
    let live = pending.filter(|t| t.saturating_add(LOST_TICK_GRACE_NS) >= now);
    match live {
        Some(t) if t <= due => Arm::Keep,
        _ => Arm::New { due },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn nothing_armed_arms() {
        assert_eq!(decide(None, 100 * S, 5 * S), Arm::New { due: 105 * S });
    }

    #[test]
    fn a_sooner_tick_is_kept() {
        assert_eq!(decide(Some(101 * S), 100 * S, 5 * S), Arm::Keep);
        assert_eq!(decide(Some(105 * S), 100 * S, 5 * S), Arm::Keep);
    }

    #[test]
    fn a_later_tick_is_brought_forward() {
        assert_eq!(decide(Some(200 * S), 100 * S, 0), Arm::New { due: 100 * S });
    }

    #[test]
    fn a_tick_slightly_overdue_is_still_expected() {
        // Timers fire at or after their time: a few seconds late is normal.
        assert_eq!(decide(Some(95 * S), 100 * S, 0), Arm::Keep);
    }

    #[test]
    fn a_tick_long_overdue_was_lost_and_is_armed_again() {
        let now = 100 * S + LOST_TICK_GRACE_NS + 1;
        assert_eq!(decide(Some(100 * S), now, 0), Arm::New { due: now });
        assert_eq!(
            decide(Some(100 * S), now, 7 * S),
            Arm::New { due: now + 7 * S }
        );
    }
}
