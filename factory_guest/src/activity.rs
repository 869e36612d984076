//! The one-way "my owner was active" report to the factory, which reclaims
//! canisters whose owner stays away (when its policy says so).
//!
//! The factory records its own clock when a report arrives, at most hourly;
//! the guest sends at most one per [`MIN_REPORT_INTERVAL_NS`], so an active
//! canister spends one call a few times a day on it and a dormant one none.
//! Call it from the owner's update methods (not from queries: they cannot
//! call), after checking the caller.

use crate::call::RequestUpgradeError;
use candid::Principal;
use ic_cdk::call::Call;
use std::cell::Cell;

/// The factory's method: `()`, about the caller.
pub const REPORT_ACTIVITY_METHOD: &str = "report_activity";

/// At most one report per this (heap: a new module may send one at once).
/// Far below any dormancy window the factory accepts (two hours at least,
/// `factory_api::ReclaimPolicy::validate`; days in practice).
pub const MIN_REPORT_INTERVAL_NS: u64 = 6 * 3_600_000_000_000;

thread_local! {
    static LAST_REPORT_NS: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Whether a report is due: none sent in the last `MIN_REPORT_INTERVAL_NS`.
pub fn report_due(now_ns: u64, last_sent: Option<u64>) -> bool {
    last_sent.is_none_or(|t| now_ns.saturating_sub(t) >= MIN_REPORT_INTERVAL_NS)
}

/// Tells `factory`, one-way, that this canister's owner was active; does
/// nothing when a report went out recently. `Ok(true)`: one was sent.
pub fn report_activity(factory: Principal) -> Result<bool, RequestUpgradeError> {
    let now = ic_cdk::api::time();
    if !report_due(now, LAST_REPORT_NS.get()) {
        return Ok(false);
    }
    Call::unbounded_wait(factory, REPORT_ACTIVITY_METHOD).oneway()?;
    LAST_REPORT_NS.set(Some(now));
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_activity_report_at_most_once_per_interval() {
        assert!(report_due(0, None));
        assert!(!report_due(MIN_REPORT_INTERVAL_NS - 1, Some(0)));
        assert!(report_due(MIN_REPORT_INTERVAL_NS, Some(0)));
        assert!(!report_due(5, Some(10)), "a clock that went back waits");
    }
}
