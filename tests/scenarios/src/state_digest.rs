//! A digest of everything the factory lets an admin observe, read through
//! every query endpoint, so a test can show that a refused call changed
//! nothing.
//!
//! Failed admin actions are audited on purpose (who tried what), so the
//! digest counts successful audit entries apart from the total; figures that
//! move with time or cycles alone (balance, timestamp, tick count) are left out.

use crate::World;
use candid::Principal;
use factory_client::{
    ActiveRollout, AuditEntry, FactorySettings, HistoryPage, HistoryQuery, Release, UserView,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateDigest {
    pub settings: FactorySettings,
    pub admins: Vec<Principal>,
    pub releases: Vec<Release>,
    pub users: Vec<UserView>,
    /// Audit entries of actions that succeeded.
    pub audit_succeeded: u64,
    pub rollout: RolloutDigest,
    pub history: HistoryPage,
    /// `/metrics` without the lines that move by themselves.
    pub metrics: Vec<String>,
}

/// `rollout_status` without the rate and ETA (they follow the clock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutDigest {
    pub active: Option<ActiveRollout>,
    pub queued: u64,
    pub retrying: u64,
    pub in_flight: u32,
    pub max_in_flight: u32,
    pub upgraded: u64,
    pub failed: u64,
    pub on_demand_accepted: u64,
}

/// The whole audit log, oldest first.
pub fn audit_entries(w: &World) -> Vec<AuditEntry> {
    let admin = w.admin();
    let mut entries = Vec::new();
    let mut before = None;
    loop {
        let page = admin.audit_log(before, 100).expect("audit_log");
        entries.extend(page.entries);
        match page.next_before {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    entries.reverse();
    entries
}

/// Every user, page by page.
pub fn all_users(w: &World) -> Vec<UserView> {
    let admin = w.admin();
    let mut users = Vec::new();
    let mut after = None;
    loop {
        let page = admin.list_users(after, 100).expect("list_users");
        users.extend(page.users);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    users
}

/// Every release, page by page.
pub fn all_releases(w: &World) -> Vec<Release> {
    let admin = w.admin();
    let mut releases: Vec<Release> = Vec::new();
    loop {
        let after = releases.last().map(|r| r.version.clone());
        let page = admin.list_releases(after, 100).expect("list_releases");
        if page.is_empty() {
            break;
        }
        releases.extend(page);
    }
    releases
}

const VOLATILE_METRICS: [&str; 4] = [
    "factory_cycles_balance",
    "factory_scheduler_ticks_total",
    "factory_audit_entries",
    "# timestamp",
];

pub fn digest(w: &World) -> StateDigest {
    let admin = w.admin();
    let status = admin.rollout_status().expect("rollout_status");
    let mut active = status.active;
    if let Some(a) = active.as_mut() {
        a.per_hour = 0;
        a.eta_ns = None;
    }
    let metrics = admin
        .metrics()
        .expect("metrics")
        .lines()
        .filter(|l| !VOLATILE_METRICS.iter().any(|v| l.contains(v)))
        .map(str::to_string)
        .collect();
    StateDigest {
        settings: admin.get_config().expect("get_config"),
        admins: admin.list_admins().expect("list_admins"),
        releases: all_releases(w),
        users: all_users(w),
        audit_succeeded: audit_entries(w)
            .iter()
            .filter(|e| e.error.is_none())
            .count() as u64,
        rollout: RolloutDigest {
            active,
            queued: status.queued,
            retrying: status.retrying,
            in_flight: status.in_flight,
            max_in_flight: status.max_in_flight,
            upgraded: status.totals.upgraded,
            failed: status.totals.failed,
            on_demand_accepted: status.totals.on_demand_accepted,
        },
        history: admin
            .rollout_history(HistoryQuery {
                before: None,
                limit: 50,
            })
            .expect("rollout_history"),
        metrics,
    }
}
