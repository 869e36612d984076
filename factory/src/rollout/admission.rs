//! Admission by the subnet's observed service rate: how many upgrades may be
//! in flight now, learned from the factory's own completions and latencies.
//! The IC gives a canister no figure of its subnet's spare capacity, so the
//! window is a delay-based congestion controller (TCP Vegas' law, with slow
//! start and a multiplicative cut on the IC's explicit "too busy" rejects).
//!
//! # The control law
//! Let `W` be the window (upgrades allowed in flight), `n` the upgrades in
//! flight when one completes, `L` the smoothed latency of a whole upgrade
//! (taken → recorded) and `B` the least latency seen in this stage: what one
//! upgrade takes when nothing waits ahead of it on the subnet. By Little's
//! law the subnet serves `μ = n / L` upgrades per second, and of the `n` in
//! flight `q = n × (1 − B / L)` are waiting in the subnet's queue instead of
//! being served, each for `D = L − B`. The subnet serves its queue round by
//! round, so waiting is judged in both units. Once per window's worth of
//! completions (one round trip):
//! - room, `q < ALPHA` (under one upgrade waiting) or `D` under half a
//!   round: `W += 1` (in slow start, below `ssthresh`, `W += 1` per
//!   completion: it doubles every round trip; slow start ends at the first
//!   sign of a queue);
//! - crowded, `q > BETA` (more than two waiting) and `D` over a round and a
//!   half: our own queue only adds downtime and delays the neighbours'
//!   calls; `W = min(W − 1, n·B/L + BETA)`: what the subnet serves within
//!   the least latency, plus two, which drains our queue in one step (a
//!   neighbour's flood must not find a backlog of ours before it);
//! - in between: hold. The subnet stays busy (about one of ours always
//!   waits, so it never idles for lack of work) while a stopped canister's
//!   management work starts within about a round.
//! - A SysTransient reject (`CanisterInstallCodeRateLimited`, a full queue,
//!   `StopCanisterRequestTimeout`) or a bounded-wait call that timed out is
//!   the IC saying "too much": `ssthresh = W / 2`, `W = ssthresh`, at most
//!   once per round trip (the rejects of one overload arrive together).
//!
//! `W` never exceeds the plan's `max_in_flight` (the hard ceiling) nor falls
//! below 1. A neighbour flooding the subnet raises `L` with `μ` unchanged or
//! lower, so `q` grows and `W` shrinks: we yield the subnet; once it is free
//! `L` falls back to `B`, `q < ALPHA`, and `W` grows again (slow start up to
//! the `ssthresh` it had). Only upgrades that installed are latency samples
//! (a skip or a restart-only run is shorter and says nothing of the subnet).
//!
//! Learned state lives on the heap: after a factory upgrade (or at a new
//! rollout) it starts over from `INITIAL_WINDOW`, which costs a few round
//! trips of slow start, never correctness.

/// Upgrades allowed in flight before anything is learned.
pub const INITIAL_WINDOW: u32 = 2;
/// Below this many of ours waiting (in thousandths) the window grows.
pub const ALPHA_MILLI: u64 = 1_000;
/// Above this many of ours waiting (in thousandths) it shrinks.
pub const BETA_MILLI: u64 = 2_000;
const BETA: u32 = (BETA_MILLI / 1_000) as u32;
/// About one round on the IC (an application subnet finalizes about a block
/// a second; an inference from its block rate, not a constant of the
/// replica). Waiting counts in rounds: the subnet serves its queue round by
/// round, so with a fast subnet one waiting upgrade is a whole round late
/// even when `q` is small.
pub const ROUND_NS: u64 = 1_000_000_000;
/// Under half a round of queueing there is room.
const HALF_ROUND_NS: u64 = ROUND_NS / 2;
/// Over a round and a half, and more than `BETA` waiting: too many.
const ROUND_AND_HALF_NS: u64 = 3 * ROUND_NS / 2;
/// Weight of a new latency sample in the smoothed latency: 1/8 (TCP's).
const SMOOTHING_SHIFT: u32 = 3;

use candid::Principal;
use std::collections::BTreeSet;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admission {
    /// Canisters whose run is between its stop and its start: what the
    /// window costs in downtime right now (at most the runs in flight).
    stopped: BTreeSet<Principal>,
    window: u32,
    ssthresh: u32,
    base_ns: Option<u64>,
    smoothed_ns: Option<u64>,
    /// Completions since the window last moved in congestion avoidance.
    served_since_move: u32,
    last_cut_ns: Option<u64>,
    /// Of ours waiting at the last completion, in thousandths.
    queued_milli: u64,
    cuts: u64,
}

/// What `rollout_status` shows of the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdmissionView {
    pub window: u32,
    pub base_latency_ns: u64,
    pub smoothed_latency_ns: u64,
    pub queued_milli: u64,
    /// Upgrades the subnet serves per 1,000 s at the current window (`W / L`).
    pub served_per_ks: u64,
    pub cuts: u64,
}

impl Default for Admission {
    fn default() -> Self {
        Self::new()
    }
}

impl Admission {
    pub const fn new() -> Self {
        Admission {
            stopped: BTreeSet::new(),
            window: INITIAL_WINDOW,
            ssthresh: u32::MAX,
            base_ns: None,
            smoothed_ns: None,
            served_since_move: 0,
            last_cut_ns: None,
            queued_milli: 0,
            cuts: 0,
        }
    }

    /// Upgrades that may be in flight now, under the hard ceiling.
    pub fn limit(&self, ceiling: u32) -> u32 {
        self.window.min(ceiling).max(1)
    }

    pub fn window(&self) -> u32 {
        self.window
    }

    /// A new stage may upgrade differently (another snapshot policy): its
    /// least latency is learned anew; the window is kept.
    pub fn new_stage(&mut self) {
        self.base_ns = None;
        self.smoothed_ns = None;
        self.served_since_move = 0;
    }

    /// An upgrade that installed took `latency_ns`; `in_flight` upgrades
    /// (this one included) were in flight; `ceiling` is `max_in_flight`.
    pub fn on_served(&mut self, latency_ns: u64, in_flight: u32, ceiling: u32) {
        let latency = latency_ns.max(1);
        let base = self.base_ns.map_or(latency, |b| b.min(latency));
        self.base_ns = Some(base);
        let smoothed = match self.smoothed_ns {
            None => latency,
            Some(s) => s - (s >> SMOOTHING_SHIFT) + (latency >> SMOOTHING_SHIFT),
        }
        .max(base);
        self.smoothed_ns = Some(smoothed);
        let n = u64::from(in_flight.max(1));
        let delay = smoothed - base;
        // q = n (1 − B/L), in thousandths.
        self.queued_milli = n * 1_000 * delay / smoothed;
        let room = self.queued_milli < ALPHA_MILLI || delay < HALF_ROUND_NS;
        let crowded = self.queued_milli > BETA_MILLI && delay > ROUND_AND_HALF_NS;
        // A window the rollout does not fill says nothing about a larger one.
        let filled = in_flight.saturating_add(1) >= self.window;
        // What the subnet serves within the least latency, plus BETA: the
        // window that drains our queue at once.
        let drained = u32::try_from(n * base / smoothed).unwrap_or(u32::MAX) + BETA;
        if self.window < self.ssthresh {
            // Slow start: the first queue ends the first one; later ones
            // (after a backoff) climb back to the rate found before.
            if !room && self.ssthresh == u32::MAX {
                self.ssthresh = self.window;
            }
            // Climbing back (ssthresh known) asks for both signs of room:
            // the smoothed latency lags, and a fast climb on a stale sign
            // overshoots into the queue it just left.
            let first = self.ssthresh == u32::MAX;
            let clear = self.queued_milli < ALPHA_MILLI && delay < HALF_ROUND_NS;
            if crowded {
                self.window = self.window.min(drained);
            } else if ((room && first) || clear) && filled {
                self.window += 1;
            } else if !first && !clear {
                // Near the rate again: probe on from here, one a round trip.
                self.ssthresh = self.window;
            }
        } else {
            self.served_since_move += 1;
            if self.served_since_move >= self.window {
                self.served_since_move = 0;
                if room && filled {
                    self.window += 1;
                } else if crowded {
                    // Once the subnet is free again, slow start climbs
                    // back halfway to this point (all the way overshoots:
                    // this point was already too many).
                    self.ssthresh = (self.window / 2).max(drained);
                    self.window = (self.window - 1).min(drained);
                }
            }
        }
        self.window = self.window.clamp(1, ceiling.max(1));
    }

    /// The IC refused work as too much, or a bounded-wait call timed out.
    pub fn on_congested(&mut self, now_ns: u64) {
        let rtt = self.smoothed_ns.unwrap_or(0).max(ROUND_NS);
        if self
            .last_cut_ns
            .is_some_and(|t| now_ns.saturating_sub(t) < rtt)
        {
            return;
        }
        self.last_cut_ns = Some(now_ns);
        self.ssthresh = (self.window / 2).max(1);
        self.window = self.ssthresh;
        self.served_since_move = 0;
        self.cuts += 1;
    }

    /// A run entered a phase: `stopped` from its stop to its start.
    pub fn note_phase(&mut self, canister: Principal, stopped: bool) {
        if stopped {
            self.stopped.insert(canister);
        } else {
            self.stopped.remove(&canister);
        }
    }

    pub fn stopped_now(&self) -> u32 {
        u32::try_from(self.stopped.len()).unwrap_or(u32::MAX)
    }

    pub fn view(&self) -> AdmissionView {
        let smoothed = self.smoothed_ns.unwrap_or(0);
        AdmissionView {
            window: self.window,
            base_latency_ns: self.base_ns.unwrap_or(0),
            smoothed_latency_ns: smoothed,
            queued_milli: self.queued_milli,
            served_per_ks: (u128::from(self.window) * 1_000_000_000_000)
                .checked_div(u128::from(smoothed))
                .map_or(0, |v| v as u64),
            cuts: self.cuts,
        }
    }
}

/// Reject codes that mean "the subnet is too busy now", worth a retry and a
/// smaller window: SYS_TRANSIENT (`CanisterInstallCodeRateLimited`,
/// `CanisterQueueFull`, `StopCanisterRequestTimeout` map to it: `impl From<ErrorCode> for RejectCode`
/// in rs/types/error_types/src/lib.rs) and
/// SYS_UNKNOWN (a bounded-wait call's deadline passed: outcome unknown).
pub fn is_congestion(reject_code: u32) -> bool {
    reject_code == 2 || reject_code == 6
}

#[cfg(test)]
#[path = "admission_tests.rs"]
mod tests;
