//! The invariants of DESIGN.md, fleet-wide: across every shard, one canister
//! per owner (and one shard per owner); no canister, shard or index left
//! stopped; each canister controlled by its shard and its owner's recovery
//! principal; every queued canister with an outcome; all user data intact.

use crate::shards::ShardedWorld;
use crate::user_canister::UserCanisterClient;
use candid::Principal;
use ic_emulator::management_types::CanisterStatusType;
use std::collections::{BTreeMap, BTreeSet};

/// One owner's canister, where it lives and what they wrote into it.
#[derive(Clone, Debug)]
pub struct Member {
    pub owner: Principal,
    pub recovery: Principal,
    pub canister: Principal,
    pub data: BTreeMap<String, Vec<u8>>,
}

impl ShardedWorld {
    /// Users `0..n` provisioned through the index, each writing two records.
    pub fn provision_members(&self, n: u64) -> Vec<Member> {
        (0..n)
            .map(|i| {
                let canister = self.provision(i);
                let owner = crate::user(i);
                let client = UserCanisterClient::new(&self.emu, canister, owner);
                let mut data = BTreeMap::new();
                for (k, v) in [("profile", format!("user {i}")), ("notes", "x".repeat(64))] {
                    let stored = client.put(k, v.as_bytes());
                    assert!(
                        matches!(stored, Ok(Ok(()))),
                        "user {i} stores {k}: {stored:?}"
                    );
                    data.insert(k.to_string(), v.into_bytes());
                }
                Member {
                    owner,
                    recovery: crate::recovery_of(i),
                    canister,
                    data,
                }
            })
            .collect()
    }

    /// Every fleet-wide invariant once the fleet is idle, and every canister
    /// runs `target` or its shard records why not; the violations, if any.
    pub fn check_fleet(&self, members: &[Member], target: &str) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        for &c in std::iter::once(&self.index).chain(&self.shards) {
            match self.emu.canister_status(c, Some(self.operator)) {
                Ok(s) if s.status == CanisterStatusType::Running => {}
                other => errors.push(format!("factory {c} not running: {other:?}")),
            }
        }
        // Owner → (shard, canister), from the shards themselves.
        let mut home: BTreeMap<Principal, (Principal, Principal)> = BTreeMap::new();
        let mut canisters = BTreeSet::new();
        for &shard in &self.shards {
            for u in self.shard_users(shard) {
                let Some(c) = u.canister_id else { continue };
                if u.busy {
                    errors.push(format!("{c} still locked by shard {shard}"));
                }
                if let Some((other, _)) = home.insert(u.owner, (shard, c)) {
                    errors.push(format!("{} on shards {other} and {shard}", u.owner));
                }
                if !canisters.insert(c) {
                    errors.push(format!("{c} listed twice"));
                }
            }
        }
        for m in members {
            let Some(&(shard, c)) = home.get(&m.owner) else {
                errors.push(format!("{} has no canister on any shard", m.owner));
                continue;
            };
            if c != m.canister {
                errors.push(format!("{} moved from {} to {c}", m.owner, m.canister));
                continue;
            }
            self.check_member(shard, m, target, &mut errors);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn check_member(&self, shard: Principal, m: &Member, target: &str, errors: &mut Vec<String>) {
        let c = m.canister;
        match self.emu.canister_status(c, Some(m.recovery)) {
            Ok(s) if s.status == CanisterStatusType::Running => {}
            other => errors.push(format!("{c} left {other:?}")),
        }
        let mut controllers = self.emu.get_controllers(c);
        controllers.sort();
        let mut expected = vec![shard, m.recovery];
        expected.sort();
        if controllers != expected {
            errors.push(format!(
                "{c} controllers {controllers:?}, expected {expected:?}"
            ));
        }
        let client = UserCanisterClient::new(&self.emu, c, m.owner);
        for (k, v) in &m.data {
            match client.get(k) {
                Ok(Ok(Some(got))) if &got == v => {}
                other => errors.push(format!("{c} lost {k:?}: {other:?}")),
            }
        }
        let running = client.version().map(|v| v.release);
        match self.client_of(shard, self.admin).upgrade_status(c) {
            Ok(s) if s.pending.is_some() => errors.push(format!("{c} pending: {:?}", s.pending)),
            Ok(s) if s.version.as_deref() == Some(target) => {
                if running.as_deref().ok() != Some(target) {
                    errors.push(format!("{c} recorded {target}, runs {running:?}"));
                }
            }
            Ok(s) if s.last_outcome.as_ref().is_some_and(|o| o.error.is_some()) => {}
            Ok(s) => errors.push(format!("{c} on {:?} without an outcome", s.version)),
            Err(e) => errors.push(format!("{c}: upgrade_status: {e}")),
        }
    }

    /// Panics with every violation of [`ShardedWorld::check_fleet`].
    pub fn assert_fleet(&self, members: &[Member], target: &str, context: &str) {
        if let Err(errors) = self.check_fleet(members, target) {
            panic!(
                "fleet invariants broken {context}:\n  {}",
                errors.join("\n  ")
            );
        }
    }
}
