//! The replicated state of the emulated subnet: canisters, queues, time.

pub mod calls;
pub mod canister;

use crate::error::{CallResult, RejectResponse};
use crate::ids;
use calls::{Input, ReplyTo};
use candid::Principal;
use canister::Canister;
use ic_error_types::ErrorCode;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// 2025-06-01T00:00:00Z: a fixed start so runs are reproducible.
pub const DEFAULT_START_TIME_NANOS: u64 = 1_748_736_000_000_000_000;

/// One `debug_print` line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebugLine {
    pub round: u64,
    pub time_nanos: u64,
    pub canister: Principal,
    pub message: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum IngressState {
    Pending,
    Done(CallResult),
}

/// Calls to the management canister that have not been answered yet, per caller.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct InFlight {
    pub current: usize,
    pub max: usize,
}

pub struct StateMachine {
    pub canisters: BTreeMap<Principal, Canister>,
    pub deleted: BTreeSet<Principal>,
    pub time: u64,
    pub round: u64,
    /// Virtual time added by every round.
    pub time_step_nanos: u64,
    pub inbox: VecDeque<Input>,
    pub ingress: HashMap<u64, IngressState>,
    pub next_ingress: u64,
    pub rng_seed: [u8; 32],
    pub rng_counter: u64,
    pub debug_log: Vec<DebugLine>,
    pub mgmt_in_flight: BTreeMap<Principal, InFlight>,
    pub root_key: Vec<u8>,
    pub instruction_limits: crate::limits::InstructionLimits,
    /// The subnets (at least one): id ranges, capacity (config, round
    /// budgets, queued management work, records) and id allocation.
    pub subnets: Vec<crate::subnet::topology::Subnet>,
    /// How much longer messages between subnets take.
    pub xnet: crate::subnet::XNetConfig,
    /// The system-canister test doubles installed (`crate::doubles`).
    pub doubles: crate::doubles::Doubles,
    /// Requests sent to another subnet so far (each one brings one response
    /// back); an observation for benchmarks, not persisted.
    pub xnet_requests: u64,
}

impl StateMachine {
    pub fn new(seed: u64) -> Self {
        StateMachine {
            canisters: BTreeMap::new(),
            deleted: BTreeSet::new(),
            time: DEFAULT_START_TIME_NANOS,
            round: 0,
            time_step_nanos: 1,
            inbox: VecDeque::new(),
            ingress: HashMap::new(),
            next_ingress: 0,
            rng_seed: crate::engine::sha256(&seed.to_le_bytes()),
            rng_counter: 0,
            debug_log: Vec::new(),
            mgmt_in_flight: BTreeMap::new(),
            root_key: test_root_key(),
            instruction_limits: Default::default(),
            subnets: vec![crate::subnet::topology::Subnet::application(
                0,
                Default::default(),
            )],
            xnet: Default::default(),
            doubles: Default::default(),
            xnet_requests: 0,
        }
    }

    /// 32 deterministic pseudo-random bytes (raw_rand).
    pub fn random_bytes(&mut self) -> [u8; 32] {
        self.rng_counter += 1;
        let mut input = self.rng_seed.to_vec();
        input.extend_from_slice(&self.rng_counter.to_le_bytes());
        crate::engine::sha256(&input)
    }

    pub fn canister(&self, id: &Principal) -> Result<&Canister, RejectResponse> {
        self.canisters.get(id).ok_or_else(|| not_found(id))
    }

    pub fn canister_mut(&mut self, id: &Principal) -> Result<&mut Canister, RejectResponse> {
        self.canisters.get_mut(id).ok_or_else(|| not_found(id))
    }

    pub fn log_lines(&mut self, canister: Principal, lines: Vec<String>) {
        for message in lines {
            self.debug_log.push(DebugLine {
                round: self.round,
                time_nanos: self.time,
                canister,
                message,
            });
        }
    }

    /// Sends a response to whoever waits for it, from canister `respondent`
    /// (a response of the management canister says which subnet's:
    /// [`StateMachine::send_management_response`]).
    pub fn send_response(
        &mut self,
        to: ReplyTo,
        respondent: Principal,
        result: CallResult,
        refund: u128,
    ) {
        let from = match &to {
            ReplyTo::Canister { caller, .. } if respondent == ids::MANAGEMENT => {
                self.location(caller)
            }
            _ => self.location(&respondent),
        };
        self.send_response_from(to, respondent, from, result, refund);
    }

    /// A response of subnet `subnet`'s management canister.
    pub fn send_management_response(
        &mut self,
        to: ReplyTo,
        subnet: usize,
        result: CallResult,
        refund: u128,
    ) {
        let from = crate::subnet::topology::Location::Subnet(subnet);
        self.send_response_from(to, ids::MANAGEMENT, from, result, refund);
    }

    fn send_response_from(
        &mut self,
        to: ReplyTo,
        respondent: Principal,
        from: crate::subnet::topology::Location,
        result: CallResult,
        refund: u128,
    ) {
        let transit = match &to {
            ReplyTo::Canister { caller, .. } => self.xnet_delay(from, self.location(caller)),
            _ => 0,
        };
        self.push_response(to, respondent, result, refund, transit);
    }

    /// Delivers a response `transit` rounds after the next one (plus any
    /// response delay injected on the caller): the one place a response to a
    /// canister is queued, for canisters, subnets and the test doubles alike.
    pub(crate) fn push_response(
        &mut self,
        to: ReplyTo,
        respondent: Principal,
        result: CallResult,
        refund: u128,
        transit: u64,
    ) {
        match to {
            ReplyTo::Ingress(id) => {
                self.ingress.insert(id, IngressState::Done(result));
            }
            ReplyTo::Canister {
                caller,
                callback_id,
            } => {
                let delay = self
                    .canisters
                    .get(&caller)
                    .map_or(0, |c| c.faults.response_delay_rounds);
                self.inbox.push_back(Input::Response {
                    originator: caller,
                    respondent,
                    callback_id,
                    result,
                    refund,
                    not_before_round: self.round + 1 + delay + transit,
                    expiry: false,
                });
            }
            ReplyTo::Nobody => {}
        }
    }

    /// Bookkeeping when a canister's call is resolved (response processed or dropped).
    pub fn call_resolved(&mut self, caller: Principal, callee: Principal) {
        if let Some(c) = self.canisters.get_mut(&caller) {
            if let Some(n) = c.outstanding.get_mut(&callee) {
                *n -= 1;
                if *n == 0 {
                    c.outstanding.remove(&callee);
                }
            }
        }
        if callee == ids::MANAGEMENT {
            if let Some(f) = self.mgmt_in_flight.get_mut(&caller) {
                f.current = f.current.saturating_sub(1);
            }
        }
    }
}

pub fn not_found(id: &Principal) -> RejectResponse {
    RejectResponse::new(
        ErrorCode::CanisterNotFound,
        format!("Canister {id} not found"),
    )
}

/// A fixed DER-encoded BLS public key: only its shape matters to canisters.
fn test_root_key() -> Vec<u8> {
    let mut key =
        hex::decode("308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c05030201036100")
            .expect("valid hex");
    // 96 bytes of key material.
    for i in 0u8..3 {
        key.extend_from_slice(&crate::engine::sha256(&[b'k', i]));
    }
    key
}
