//! The invariants of DESIGN.md, checked against the running emulator:
//! one canister per owner, no canister left stopped, every queued canister
//! with an outcome, all user data intact, management calls in flight never
//! above the cap. Tests drive rounds through [`Invariants::tick`] so the
//! in-flight count is sampled every round.

use crate::state_digest::all_users;
use crate::World;
use candid::Principal;
use factory_client::{RolloutState, UserView};
use ic_emulator::management_types::CanisterStatusType;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// What the owners wrote, and what the checker has seen so far.
pub struct Invariants {
    /// Management calls the factory may have in flight at once.
    pub cap: usize,
    /// Canister → (owner, key → value): data that must survive everything.
    pub data: BTreeMap<Principal, (Principal, BTreeMap<String, Vec<u8>>)>,
    /// Canisters the factory no longer controls on purpose (a fault took it
    /// off): their controllers and versions are no longer the factory's.
    pub foreign: BTreeSet<Principal>,
    /// Canisters drained of cycles by a fault and not yet topped up: frozen,
    /// so they cannot answer; judged once they have cycles again.
    pub drained: BTreeSet<Principal>,
    /// The highest in-flight count sampled, and the rounds sampled.
    pub peak_in_flight: usize,
    pub rounds: u64,
    /// Virtual time each round takes (timers, backoffs and stop timeouts
    /// follow it).
    pub round_time: Duration,
}

impl Invariants {
    pub fn new(cap: usize) -> Self {
        Invariants {
            cap,
            data: BTreeMap::new(),
            foreign: BTreeSet::new(),
            drained: BTreeSet::new(),
            peak_in_flight: 0,
            rounds: 0,
            round_time: Duration::from_secs(1),
        }
    }

    /// One round, then a sample of the factory's calls in flight.
    pub fn tick(&mut self, w: &World) {
        w.emu.advance_time(self.round_time);
        w.emu.tick();
        self.rounds += 1;
        let now = w.emu.management_calls_in_flight(w.factory).current;
        self.peak_in_flight = self.peak_in_flight.max(now);
        assert!(
            now <= self.cap,
            "{now} management calls in flight, above the cap {} (round {})",
            self.cap,
            w.emu.rounds()
        );
    }

    pub fn tick_n(&mut self, w: &World, rounds: u64) {
        for _ in 0..rounds {
            self.tick(w);
        }
    }

    /// Runs rounds until the scheduler holds nothing (or its rollout waits
    /// on an admin), at most `max_rounds`; true if it got there.
    pub fn settle(&mut self, w: &World, max_rounds: u64) -> bool {
        for _ in 0..max_rounds {
            if is_idle(w) {
                return true;
            }
            self.tick(w);
        }
        is_idle(w)
    }

    /// Writes `key` as the owner and remembers it when the canister took it.
    pub fn put(
        &mut self,
        w: &World,
        canister: Principal,
        owner: Principal,
        key: &str,
        value: &[u8],
    ) -> bool {
        let stored = matches!(w.user_canister(canister, owner).put(key, value), Ok(Ok(())));
        if stored {
            self.data
                .entry(canister)
                .or_insert_with(|| (owner, BTreeMap::new()))
                .1
                .insert(key.to_string(), value.to_vec());
        }
        stored
    }

    /// Every invariant that holds at `moment`.
    pub fn check(&self, w: &World, moment: Moment) -> Result<CheckReport, Vec<String>> {
        let mut errors = Vec::new();
        let users = all_users(w);
        one_canister_per_owner(&users, &mut errors);
        // Mid-upgrade a canister is stopped and its version moves: only
        // canisters the factory does not hold are judged then.
        let mut held: BTreeSet<Principal> = users
            .iter()
            .filter(|u| u.busy && moment == Moment::Any)
            .filter_map(|u| u.canister_id)
            .collect();
        if moment == Moment::Any {
            held.extend(self.drained.iter().copied());
        }
        for u in &users {
            self.check_user(w, u, &held, moment, &mut errors);
        }
        self.check_data(w, &held, &mut errors);
        let in_flight = w.emu.management_calls_in_flight(w.factory);
        if in_flight.max > self.cap {
            errors.push(format!(
                "the emulator saw {} management calls in flight, cap {}",
                in_flight.max, self.cap
            ));
        }
        match w.emu.canister_status(w.factory, Some(w.operator)) {
            Ok(s) if s.status == CanisterStatusType::Running => {}
            other => errors.push(format!("the factory is not running: {other:?}")),
        }
        if errors.is_empty() {
            Ok(CheckReport {
                users: users.len(),
                records: self.data.values().map(|(_, kv)| kv.len()).sum(),
            })
        } else {
            Err(errors)
        }
    }

    /// Every invariant, once the scheduler is idle ([`Self::settle`]);
    /// panics with every violation.
    pub fn assert_hold(&self, w: &World, context: &str) -> CheckReport {
        self.check(w, Moment::Idle).unwrap_or_else(|errors| {
            panic!("invariants broken {context}:\n  {}", errors.join("\n  "))
        })
    }

    /// The invariants that hold at any moment, even mid-rollout.
    pub fn assert_hold_now(&self, w: &World, context: &str) -> CheckReport {
        self.check(w, Moment::Any).unwrap_or_else(|errors| {
            panic!("invariants broken {context}:\n  {}", errors.join("\n  "))
        })
    }

    fn check_user(
        &self,
        w: &World,
        u: &UserView,
        held: &BTreeSet<Principal>,
        moment: Moment,
        errors: &mut Vec<String>,
    ) {
        let Some(canister) = u.canister_id else {
            return;
        };
        if u.busy && moment == Moment::Idle {
            errors.push(format!("{canister} is still locked by the factory"));
        }
        if held.contains(&canister) {
            return;
        }
        // The recovery principal controls the canister even when the factory
        // was taken off, so it can always ask for the status.
        let status = w
            .emu
            .canister_status(canister, Some(u.recovery))
            .or_else(|_| w.emu.canister_status(canister, Some(w.factory)));
        match status {
            Ok(s) if s.status == CanisterStatusType::Running => {}
            Ok(s) => errors.push(format!("{canister} is left {:?}", s.status)),
            Err(e) => errors.push(format!("{canister}: no status: {e}")),
        }
        if self.foreign.contains(&canister) {
            return;
        }
        let mut expected = vec![w.factory, u.recovery];
        expected.sort();
        expected.dedup();
        let controllers = w.controllers(canister);
        if controllers != expected {
            errors.push(format!(
                "{canister} controllers {controllers:?}, expected {expected:?}"
            ));
        }
        // Mid-action (locked), the canister may already run the new module
        // while the factory has yet to confirm and record it.
        if u.busy {
            return;
        }
        if let (Some(recorded), Ok(running)) =
            (&u.version, w.user_canister(canister, u.owner).version())
        {
            if &running.release != recorded {
                errors.push(format!(
                    "{canister} runs {} but the factory records {recorded}",
                    running.release
                ));
            }
        }
    }

    fn check_data(&self, w: &World, held: &BTreeSet<Principal>, errors: &mut Vec<String>) {
        for (canister, (owner, kv)) in &self.data {
            if held.contains(canister) {
                continue;
            }
            let client = w.user_canister(*canister, *owner);
            for (key, value) in kv {
                match client.get(key) {
                    Ok(Ok(Some(v))) if &v == value => {}
                    other => errors.push(format!("{canister} lost {key:?}: {other:?}")),
                }
            }
        }
    }
}

/// Every canister in `queued` ended with an outcome: it runs `target` as
/// the factory records, or its last outcome says why not; none is pending.
pub fn check_outcomes(w: &World, queued: &[Principal], target: &str) -> Result<(), Vec<String>> {
    let admin = w.admin();
    let mut errors = Vec::new();
    for c in queued {
        match admin.upgrade_status(*c) {
            Ok(s) if s.pending.is_some() => {
                errors.push(format!("{c} still pending: {:?}", s.pending))
            }
            Ok(s) if s.version.as_deref() == Some(target) => {}
            Ok(s) => match &s.last_outcome {
                Some(o) if o.error.is_some() => {}
                other => errors.push(format!(
                    "{c} on {:?} without a failure outcome: {other:?}",
                    s.version
                )),
            },
            Err(e) => errors.push(format!("{c}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// When a check runs: anywhere in a run, or with the scheduler idle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moment {
    Any,
    Idle,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckReport {
    pub users: usize,
    pub records: usize,
}

fn one_canister_per_owner(users: &[UserView], errors: &mut Vec<String>) {
    let mut owners = BTreeSet::new();
    let mut canisters = BTreeMap::new();
    for u in users {
        if !owners.insert(u.owner) {
            errors.push(format!("owner {} listed twice", u.owner));
        }
        if let Some(c) = u.canister_id {
            if let Some(other) = canisters.insert(c, u.owner) {
                errors.push(format!("{c} belongs to {other} and {}", u.owner));
            }
        }
    }
}

/// Nothing in flight, and either nothing queued or retrying, or a rollout
/// that waits on an admin (paused, halted).
pub fn is_idle(w: &World) -> bool {
    let status = w.admin().rollout_status().expect("rollout_status");
    if status.in_flight > 0 {
        return false;
    }
    match status.active.map(|a| a.state) {
        Some(RolloutState::Running) => false,
        Some(_) => true,
        None => status.queued == 0 && status.retrying == 0,
    }
}
