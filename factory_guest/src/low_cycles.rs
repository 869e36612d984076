//! The one-way "low on cycles" notice to the factory.
//!
//! The factory does not trust it: it reads the canister's balance itself
//! (`canister_status`) and tops it up only if its own policy says so, at
//! most once per its notice interval. The guest side rate-limits too, so a
//! busy canister does not spend a call per message on it.

use crate::call::RequestUpgradeError;
use candid::Principal;
use ic_cdk::call::Call;
use std::cell::Cell;

/// The factory's method: `()`, about the caller.
pub const NOTIFY_LOW_CYCLES_METHOD: &str = "notify_low_cycles";

/// The guest sends at most one notice per this (heap: a new module may send
/// one at once, which the factory's own limit absorbs).
pub const MIN_NOTICE_INTERVAL_NS: u64 = 3_600_000_000_000;

thread_local! {
    static LAST_SENT_NS: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Whether a notice is due: the liquid balance is below `threshold` and none
/// was sent in the last `MIN_NOTICE_INTERVAL_NS`.
pub fn notice_due(
    liquid_balance: u128,
    threshold: u128,
    now_ns: u64,
    last_sent: Option<u64>,
) -> bool {
    liquid_balance < threshold
        && last_sent.is_none_or(|t| now_ns.saturating_sub(t) >= MIN_NOTICE_INTERVAL_NS)
}

/// Tells `factory`, one-way, that this canister's liquid balance is below
/// `threshold`; does nothing when it is not, or when a notice went out
/// recently. `Ok(true)`: a notice was sent.
pub fn notify_if_low_on_cycles(
    factory: Principal,
    threshold: u128,
) -> Result<bool, RequestUpgradeError> {
    let now = ic_cdk::api::time();
    let liquid = ic_cdk::api::canister_liquid_cycle_balance();
    if !notice_due(liquid, threshold, now, LAST_SENT_NS.get()) {
        return Ok(false);
    }
    Call::unbounded_wait(factory, NOTIFY_LOW_CYCLES_METHOD).oneway()?;
    LAST_SENT_NS.set(Some(now));
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_notice_only_when_low_and_not_recently_sent() {
        assert!(notice_due(5, 10, 0, None));
        assert!(!notice_due(10, 10, 0, None));
        assert!(!notice_due(5, 10, MIN_NOTICE_INTERVAL_NS - 1, Some(0)));
        assert!(notice_due(5, 10, MIN_NOTICE_INTERVAL_NS, Some(0)));
    }
}
