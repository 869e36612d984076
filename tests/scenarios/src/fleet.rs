//! A small fleet for fault scenarios: the factory, `n` users with data in
//! their canisters, release 1.0.0 everywhere, and the invariant checker
//! watching every round.

use crate::invariants::{check_outcomes, Invariants};
use crate::{recovery_of, user, World};
use candid::Principal;
use factory_client::{RetryPolicy, RolloutPlan, StagePlan};

pub struct Fleet {
    pub w: World,
    pub inv: Invariants,
    /// (user number, canister), in provisioning order.
    pub users: Vec<(u64, Principal)>,
}

/// A plan that ticks every round, retries quickly and tolerates failures
/// (fault scenarios judge outcomes, not the halting rule).
pub fn plan(target: &str, max_in_flight: u32) -> RolloutPlan {
    RolloutPlan {
        target_version: target.into(),
        stages: vec![StagePlan {
            name: "all".into(),
            fleet_bps: 10_000,
            max_failure_bps: 10_000,
            min_sample: None,
        }],
        max_in_flight,
        max_starts_per_tick: None,
        tick_interval_ns: Some(0),
        retry: Some(RetryPolicy {
            max_attempts: 3,
            initial_backoff_ns: 2_000_000_000,
            max_backoff_ns: 10_000_000_000,
        }),
        filter: None,
        snapshot: None,
        top_up: None,
        allow_downgrade: None,
        supersede: None,
        admission: None,
    }
}

impl Fleet {
    /// `n` users on 1.0.0, each with two records; `cap` bounds the factory's
    /// management calls in flight.
    pub fn new(n: u64, cap: usize) -> Fleet {
        let w = World::new();
        w.publish("1.0.0");
        let mut inv = Invariants::new(cap);
        let mut users = Vec::new();
        for i in 0..n {
            let c = w.provision(i);
            for (k, v) in [
                ("profile", format!("user {i}")),
                ("notes", "x".repeat(100 + i as usize)),
            ] {
                assert!(
                    inv.put(&w, c, user(i), k, v.as_bytes()),
                    "user {i} stores {k}"
                );
            }
            users.push((i, c));
        }
        Fleet { w, inv, users }
    }

    pub fn canisters(&self) -> Vec<Principal> {
        self.users.iter().map(|(_, c)| *c).collect()
    }

    pub fn canister(&self, i: u64) -> Principal {
        self.users
            .iter()
            .find(|(n, _)| *n == i)
            .map(|(_, c)| *c)
            .unwrap_or_else(|| panic!("no user {i}"))
    }

    pub fn start(&self, plan: RolloutPlan) -> u64 {
        self.w
            .admin()
            .start_rollout(plan)
            .unwrap_or_else(|e| panic!("start_rollout: {e}"))
    }

    pub fn rounds(&mut self, n: u64) {
        self.inv.tick_n(&self.w, n);
    }

    /// Runs until the scheduler is idle; panics after `max` rounds.
    pub fn settle(&mut self, max: u64) {
        assert!(
            self.inv.settle(&self.w, max),
            "not idle after {max} rounds: {:?}",
            self.w.admin().rollout_status()
        );
    }

    /// The release the canister reports running.
    pub fn running(&self, i: u64) -> String {
        let c = self.canister(i);
        self.w
            .user_canister(c, user(i))
            .version()
            .unwrap_or_else(|e| panic!("version of {c}: {e}"))
            .release
    }

    pub fn recovery(&self, i: u64) -> Principal {
        recovery_of(i)
    }

    /// Every invariant, and every canister in `queued` has an outcome.
    pub fn assert_invariants(&self, context: &str, queued: &[Principal], target: &str) {
        self.inv.assert_hold(&self.w, context);
        if let Err(errors) = check_outcomes(&self.w, queued, target) {
            panic!("outcomes missing {context}:\n  {}", errors.join("\n  "));
        }
    }
}
