//! Helpers for the rollout scenarios: a fleet of provisioned canisters holding
//! their owners' data, plans, running rounds until a condition holds, and the
//! checks every upgraded (or untouched) canister must pass.

use crate::{recovery_of, user, World};
use candid::Principal;
use factory_client::{
    AdmissionPolicy, FactoryError, HistoryPage, HistoryQuery, ProvisionArgs, Release, RetryPolicy,
    RolloutPlan, RolloutStatus, StagePlan,
};
use ic_emulator::management_types::CanisterStatusType;
use ic_emulator::MessageId;
use serde_bytes::ByteBuf;
use std::time::Duration;

/// One user of the fleet and their canister.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    pub n: u64,
    pub owner: Principal,
    pub canister: Principal,
}

/// What user `n` stores before any upgrade, and must find after each.
pub fn note_of(n: u64) -> Vec<u8> {
    format!("user {n}'s note, kept across upgrades").into_bytes()
}

/// Ingress messages submitted at once: a batch shares its rounds.
const BATCH: usize = 25;

/// A rollout plan to `target` with `max_in_flight`, ticking every round and
/// retrying quickly (scenario time is short); the rest are the defaults.
pub fn plan(target: &str, max_in_flight: u32) -> RolloutPlan {
    RolloutPlan {
        target_version: target.into(),
        stages: vec![],
        max_in_flight,
        max_starts_per_tick: None,
        tick_interval_ns: Some(0),
        retry: Some(RetryPolicy {
            max_attempts: 2,
            initial_backoff_ns: 1_000_000_000,
            max_backoff_ns: 1_000_000_000,
        }),
        filter: None,
        snapshot: None,
        top_up: None,
        allow_downgrade: None,
        supersede: None,
        admission: None,
    }
}

/// `plan`, always at `max_in_flight` (`AdmissionPolicy::Fixed`): for the
/// scenarios about the cap's own mechanics (it is used, never passed, and
/// survives factory upgrades and traps). The adaptive default paces starts
/// by the subnet's rate per second of IC time, and these scenarios run
/// 10 ms rounds, so it would rarely fill a small cap at all.
pub fn fixed_plan(target: &str, max_in_flight: u32) -> RolloutPlan {
    RolloutPlan {
        admission: Some(AdmissionPolicy::Fixed),
        ..plan(target, max_in_flight)
    }
}

/// A canary stage covering `canary_bps` of the fleet (halting above
/// `max_failure_bps`), then the rest.
pub fn canary_then_all(canary_bps: u16, max_failure_bps: u16) -> Vec<StagePlan> {
    vec![
        StagePlan {
            name: "canary".into(),
            fleet_bps: canary_bps,
            max_failure_bps,
            min_sample: None,
        },
        StagePlan {
            name: "everyone".into(),
            fleet_bps: 10_000,
            max_failure_bps,
            min_sample: None,
        },
    ]
}

impl World {
    /// Provisions users `ns` in batches of concurrent requests (so at most a
    /// batch's calls are in flight at once) and has each store its note.
    pub fn provision_fleet(&self, ns: impl IntoIterator<Item = u64>) -> Vec<Member> {
        let ns: Vec<u64> = ns.into_iter().collect();
        let mut fleet = Vec::with_capacity(ns.len());
        for batch in ns.chunks(BATCH) {
            let ids: Vec<MessageId> = batch
                .iter()
                .map(|&n| {
                    let arg = candid::encode_one(ProvisionArgs {
                        recovery: recovery_of(n),
                    })
                    .expect("encodes");
                    self.emu
                        .submit_call(self.factory, user(n), "provision", arg)
                        .expect("provision accepted")
                })
                .collect();
            for (&n, id) in batch.iter().zip(ids) {
                let reply = self.emu.await_call(id).expect("provision not rejected");
                let canister = candid::decode_one::<Result<Principal, FactoryError>>(&reply)
                    .expect("decodes")
                    .unwrap_or_else(|e| panic!("provisioning user {n}: {e}"));
                fleet.push(Member {
                    n,
                    owner: user(n),
                    canister,
                });
            }
        }
        self.store_notes(&fleet);
        fleet
    }

    fn store_notes(&self, fleet: &[Member]) {
        for batch in fleet.chunks(BATCH) {
            let ids: Vec<MessageId> = batch
                .iter()
                .map(|m| {
                    let arg = candid::encode_args(("note", ByteBuf::from(note_of(m.n))))
                        .expect("encodes");
                    self.emu
                        .submit_call(m.canister, m.owner, "put", arg)
                        .expect("put accepted")
                })
                .collect();
            for id in ids {
                self.emu.await_call(id).expect("put not rejected");
            }
        }
    }

    pub fn rollout_status(&self) -> RolloutStatus {
        self.admin().rollout_status().expect("rollout_status")
    }

    /// Runs rounds, moving time on by `step` before each, until `done` holds;
    /// returns the rounds it took. Panics with the rollout's status after
    /// `max_rounds`.
    pub fn drive(
        &self,
        what: &str,
        max_rounds: u64,
        step: Duration,
        mut done: impl FnMut(&World) -> bool,
    ) -> u64 {
        for round in 1..=max_rounds {
            self.emu.advance_time(step);
            self.emu.tick();
            if done(self) {
                return round;
            }
        }
        panic!(
            "{what}: not done after {max_rounds} rounds; status: {:#?}",
            self.rollout_status()
        )
    }

    /// Runs `rounds` rounds, moving time on by `step` before each.
    pub fn run_rounds(&self, rounds: u64, step: Duration, mut each: impl FnMut(&World)) {
        for _ in 0..rounds {
            self.emu.advance_time(step);
            self.emu.tick();
            each(self);
        }
    }

    /// Until no rollout is active and the scheduler holds nothing.
    pub fn drive_until_idle(&self, what: &str, max_rounds: u64, step: Duration) -> u64 {
        self.drive(what, max_rounds, step, |w| {
            let s = w.rollout_status();
            s.active.is_none() && s.queued == 0 && s.retrying == 0 && s.in_flight == 0
        })
    }

    /// The canister's module hash and run status, as the IC reports them to
    /// its recovery principal (a controller).
    pub fn status_of(&self, m: &Member) -> (Option<Vec<u8>>, CanisterStatusType) {
        let s = self
            .emu
            .canister_status(m.canister, Some(recovery_of(m.n)))
            .expect("canister_status");
        (s.module_hash, s.status)
    }

    /// `m`'s canister runs `release`'s module, reports its version, and still
    /// holds its owner's note.
    pub fn assert_runs(&self, m: &Member, release: &Release) {
        let (hash, status) = self.status_of(m);
        assert_eq!(status, CanisterStatusType::Running, "user {} stopped", m.n);
        assert_eq!(
            hash.as_deref(),
            Some(&release.sha256.0[..]),
            "user {}'s module is not {}",
            m.n,
            release.version
        );
        let c = self.user_canister(m.canister, m.owner);
        let version = c.version().expect("version");
        assert_eq!(version.release, release.version, "user {}", m.n);
        let note = c.get("note").expect("not rejected").expect("typed Ok");
        assert_eq!(note, Some(note_of(m.n)), "user {}'s data", m.n);
    }

    /// Changes to the canister's code recorded by the IC (installs, upgrades).
    pub fn code_changes(&self, m: &Member) -> Vec<u64> {
        use ic_emulator::management_types::ChangeDetails;
        let (_, changes) = self.emu.canister_history(m.canister).expect("exists");
        changes
            .iter()
            .filter(|c| matches!(c.details, Some(ChangeDetails::CodeDeployment(_))))
            .map(|c| c.timestamp_nanos)
            .collect()
    }
}

/// The newest rollouts first.
pub fn history(w: &World) -> HistoryPage {
    w.admin()
        .rollout_history(HistoryQuery {
            before: None,
            limit: 10,
        })
        .expect("rollout_history")
}

/// A scenario step of virtual time: short against every timeout and backoff.
pub const STEP: Duration = Duration::from_millis(10);
