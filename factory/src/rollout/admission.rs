//! Admission by the subnet's observed service rate: how many upgrades may be
//! in flight, and how fast new ones may start, learned from the factory's own
//! calls. The IC gives a canister no figure of its subnet's spare capacity;
//! what it can see is how long its own heavy management calls (snapshot,
//! install) take, and when it is refused as "too busy".
//!
//! # What is measured
//! - `b_k`: the least duration of one of our heavy calls of kind `k`
//!   (snapshot, install): what the call takes with nothing ahead of it;
//! - `q`: our heavy calls outstanding *now* for longer than `b_k` plus half a
//!   round. Each is a canister of ours stopped and waiting in the subnet's
//!   queue: exactly the downtime to bound, and Vegas' queue estimate
//!   `in_flight − rate × base_latency`, read directly instead of inferred
//!   from whole-upgrade latencies, which show a queue only a round trip
//!   after it formed. Even so it shows a loop late: a stop's heavy call goes
//!   out two rounds after it, and waits half a round before it counts;
//! - `B`: the least latency of a whole upgrade in this stage (taken →
//!   recorded), the round trip;
//! - `R`: our upgrades served per round: installs answered, counted per
//!   round (`now / ROUND_NS`) over the last `RATE_ROUNDS` rounds (the
//!   best round `R_best`, and the mean);
//! - `L`: the least downtime (stop → running again), the loop a change of
//!   rate takes to show; `S`: the least time from a stop to its install
//!   answered.
//!
//! # The control law
//! The controlled quantity is a **rate**, `r` stops a round, not a window:
//! the subnet serves heavy calls at a rate (its round budget), and by
//! Little's law the canisters stopped at once are `r × D` (`D` the downtime).
//! Keeping `r` at the subnet's service rate with no queue keeps `D` at its
//! least and the throughput at the subnet's. (The last version grew a window
//! of whole upgrades by one per completion: doubling per upgrade round trip,
//! 10 to 12 rounds, it spent most of a rollout of 200 or 1,000 below the
//! knee; and one spurious wait, the new module's first compilation filling a
//! round, ended slow start at a window of a few.)
//! - **pacing**: upgrades start at `r` a round (a token bucket holding one
//!   round's worth plus one); a start becomes a stop one status call later,
//!   so stops come at `r` a round, spread, not in bursts. The in-flight
//!   window `W = r × B / round + r + 2` only bounds the pipeline (`B` the
//!   least upgrade latency, taken → recorded);
//! - **startup**: `r` starts at one a round and is multiplied by
//!   `STARTUP_GAIN` once per loop (`L`: the least downtime seen, else four
//!   rounds: the delay from a stop to seeing its heavy call wait) while none
//!   of ours waits and the rate held starts back. At the first wait, `r` = the most installs the subnet
//!   answered us in one of the last rounds: what it serves when it has more
//!   than it can take, so the rate is found in a few loops, not a window's
//!   worth of round trips;
//! - **steady state**, judged once per loop: more than `BETA` of ours
//!   waiting: `r` = our mean served rate over the last rounds (what the
//!   subnet gives us now, e.g. with a neighbour flooding it; the stop gate
//!   holds stops while the excess drains), at least `r / 2`, and not again
//!   while that queue shrinks; none
//!   waiting through a loop in which pacing held starts back: `r += r / 8`
//!   (at least `PROBE_MILLI`), the probe, gently, since a queue shows only
//!   a loop after it formed; otherwise hold;
//! - **the stop gate**: a run stops its canister only while at most `ALPHA`
//!   of ours wait and fewer than `1.5 × R_best × S + ALPHA` of ours are
//!   stopped with their install not answered yet (`S` the least time from a
//!   stop to its install answered: Little's law, with room to grow);
//!   otherwise it hands the canister back to the queue still running,
//!   without spending a try. The gate bounds what startup's overshoot (a
//!   queue shows a loop late) leaves waiting to about `S` rounds: the issue's "stops a
//!   canister only when the management work for it can start within about a
//!   round", and the brake when the subnet slows faster than `r` follows;
//! - a **SysTransient reject** (`CanisterInstallCodeRateLimited`, a full
//!   queue, `StopCanisterRequestTimeout`) or a bounded-wait call that timed
//!   out is the IC saying "too much": `r = r / 2`, at most once per loop.
//!
//! A new stage (another snapshot policy, so another rate) re-enters startup
//! from the current `r`. `W` never exceeds the plan's `max_in_flight` (the
//! hard ceiling) nor falls below 1; `r` never below `MIN_RATE_MILLI`.
//!
//! Learned state lives on the heap: after a factory upgrade (or at a new
//! rollout) it starts over from one a round, which costs a few loops of
//! startup, never correctness.

use candid::Principal;
use std::collections::{BTreeMap, VecDeque};

/// Stopped intervals kept for the downtime percentiles.
pub const DOWNTIME_SAMPLES: usize = 1_000;

/// Stops a round, in thousandths, before anything is learned.
pub const INITIAL_RATE_MILLI: u64 = 1_000;
/// The most: 1,000 stops a round, twice `MAX_IN_FLIGHT` (more is
/// meaningless, and the arithmetic stays in range).
pub const MAX_RATE_MILLI: u64 = 1_000_000;
/// The least rate: one stop every ten rounds.
pub const MIN_RATE_MILLI: u64 = 100;
/// Startup's growth per loop while none of ours waits.
pub const STARTUP_GAIN: u64 = 2;
/// The least probe: one more stop every eight rounds.
pub const PROBE_MILLI: u64 = 125;
/// Rounds of served counts kept for `R`.
pub const RATE_ROUNDS: u64 = 8;
/// Of ours waiting that the stop gate still lets a stop through.
pub const ALPHA: u32 = 1;
/// Above this many of ours waiting the rate is cut.
pub const BETA: u32 = 1;
/// About one round on the IC (an application subnet finalizes about a block
/// a second; an inference from its block rate, not a constant of the
/// replica). The subnet serves its queue round by round: a heavy call that
/// took half a round more than its least waited behind others.
pub const ROUND_NS: u64 = 1_000_000_000;
const HALF_ROUND_NS: u64 = ROUND_NS / 2;
/// The loop before the least downtime is known (stop, stopped, heavy call
/// waiting: measured four rounds on the emulator).
const DEFAULT_LOOP_NS: u64 = 4 * ROUND_NS;
/// The upgrade latency before one is measured (twelve rounds on the
/// emulator with a snapshot).
const DEFAULT_UPGRADE_NS: u64 = 12 * ROUND_NS;

/// Where a run is, as admission counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunPhase {
    /// Not stopped (checking, topping up, confirming, or done).
    Running,
    /// Stopping or stopped, no heavy call outstanding (stop, start).
    Stopped,
    /// A heavy management call outstanding on the stopped canister.
    Heavy(HeavyKind),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum HeavyKind {
    Snapshot,
    Install,
}

impl HeavyKind {
    fn index(self) -> usize {
        match self {
            HeavyKind::Snapshot => 0,
            HeavyKind::Install => 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct HeavyCall {
    kind: HeavyKind,
    since_ns: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admission {
    /// Canisters whose run is between its stop and its start, since when.
    stopped: BTreeMap<Principal, u64>,
    /// The latest stopped intervals, at most `DOWNTIME_SAMPLES`.
    downtimes: VecDeque<u64>,
    heavy: BTreeMap<Principal, HeavyCall>,
    /// `b_k` per kind.
    heavy_base_ns: [Option<u64>; 2],
    /// `r`, stops (and starts) a round, in thousandths.
    rate_milli: u64,
    startup: bool,
    /// Installs answered per round: (round, count), the latest last.
    served: VecDeque<(u64, u32)>,
    least_downtime_ns: Option<u64>,
    /// Stopped canisters whose install is not answered yet, since their stop.
    awaiting: BTreeMap<Principal, u64>,
    /// The least time from a stop to its install answered (`S`).
    least_to_served_ns: Option<u64>,
    /// `q` when the rate was last judged (a queue that shrinks is draining).
    judged_q: u32,
    base_ns: Option<u64>,
    last_latency_ns: Option<u64>,
    /// When `r` last moved (startup step, probe or cut).
    moved_ns: Option<u64>,
    /// Most of ours waiting since `r` last moved.
    epoch_max_queued: u32,
    /// Whether pacing held a start back since `r` last moved (the rate
    /// was the limit, so a higher one could be used).
    paced_since_move: bool,
    queued: u32,
    /// Pacing tokens, in thousandths of an upgrade.
    tokens_milli: u64,
    refilled_ns: Option<u64>,
    cuts: u64,
}

/// What `rollout_status` shows of the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdmissionView {
    pub window: u32,
    pub base_latency_ns: u64,
    pub latency_ns: u64,
    /// Of ours waiting in the subnet's queue now (`q`).
    pub queued: u32,
    /// Upgrades started per 1,000 s at the current rate (`r`).
    pub served_per_ks: u64,
    pub cuts: u64,
    /// Nearest-rank p50, p99 and max of the latest stopped intervals.
    pub downtime_ns: [u64; 3],
}

impl Default for Admission {
    fn default() -> Self {
        Self::new()
    }
}

impl Admission {
    pub const fn new() -> Self {
        Admission {
            stopped: BTreeMap::new(),
            downtimes: VecDeque::new(),
            heavy: BTreeMap::new(),
            heavy_base_ns: [None; 2],
            rate_milli: INITIAL_RATE_MILLI,
            startup: true,
            served: VecDeque::new(),
            least_downtime_ns: None,
            awaiting: BTreeMap::new(),
            least_to_served_ns: None,
            judged_q: 0,
            base_ns: None,
            last_latency_ns: None,
            moved_ns: None,
            epoch_max_queued: 0,
            paced_since_move: false,
            queued: 0,
            tokens_milli: 1_000,
            refilled_ns: None,
            cuts: 0,
        }
    }

    /// Upgrades that may be in flight now, under the hard ceiling: the
    /// pipeline at rate `r` (`r × B` plus a round's worth and two).
    pub fn limit(&self, ceiling: u32) -> u32 {
        self.window().min(ceiling).max(1)
    }

    pub fn window(&self) -> u32 {
        let b = self.base_ns.unwrap_or(DEFAULT_UPGRADE_NS);
        let in_pipeline = u128::from(self.rate_milli) * u128::from(b) / u128::from(ROUND_NS);
        let w = (in_pipeline + u128::from(self.rate_milli)).div_ceil(1_000) + 2;
        u32::try_from(w).unwrap_or(u32::MAX)
    }

    /// `r` in thousandths of a stop a round.
    pub fn rate_milli(&self) -> u64 {
        self.rate_milli
    }

    fn loop_ns(&self) -> u64 {
        self.least_downtime_ns
            .unwrap_or(DEFAULT_LOOP_NS)
            .max(2 * ROUND_NS)
    }

    /// A new stage may upgrade differently (another snapshot policy, so
    /// another rate): its latency is learned anew and startup resumes from
    /// the current rate.
    pub fn new_stage(&mut self) {
        self.base_ns = None;
        self.startup = true;
        self.epoch_max_queued = 0;
    }

    /// Whether one more upgrade may start now: the window has room and the
    /// pacing allows it (`in_flight` running, `ceiling` = `max_in_flight`).
    pub fn may_start(&mut self, in_flight: u32, ceiling: u32, now_ns: u64) -> bool {
        self.judge(now_ns);
        if in_flight >= self.limit(ceiling) {
            return false;
        }
        self.refill(now_ns);
        if self.tokens_milli >= 1_000 {
            return true;
        }
        self.paced_since_move = true;
        false
    }

    /// Whether a run may stop its canister now: at most `ALPHA` of ours
    /// wait in the subnet's queue. Otherwise it hands its canister back to
    /// the queue still running: a stop now would only add a canister waiting
    /// stopped behind ours (the rate's overshoot, or a neighbour's flood).
    pub fn may_stop(&mut self, now_ns: u64, _ceiling: u32) -> bool {
        self.judge(now_ns);
        self.queued <= ALPHA && self.awaiting.len() < self.awaiting_cap(now_ns)
    }

    /// Little's law at the gate: canisters stopped and not yet installed are
    /// at most 1.5 × what the subnet served us in its best recent round
    /// times `S`, plus `ALPHA`: room for startup to grow, and a bound on
    /// what a loop's overshoot leaves waiting (about `S / 2` rounds).
    fn awaiting_cap(&self, now_ns: u64) -> usize {
        let (most, _) = self.served_rate_milli(now_ns);
        let rate = most.max(self.served_floor_milli());
        let s = self.least_to_served_ns.unwrap_or(DEFAULT_LOOP_NS);
        let cap = u128::from(3 * rate) * u128::from(s) / u128::from(ROUND_NS) / 2_000;
        usize::try_from(cap).unwrap_or(usize::MAX) + ALPHA as usize
    }

    /// Before any install is answered: one a round.
    fn served_floor_milli(&self) -> u64 {
        INITIAL_RATE_MILLI
    }

    /// An upgrade started (`in_flight` with it).
    pub fn on_started(&mut self, _canister: Principal, _in_flight: u32) {
        self.tokens_milli = self.tokens_milli.saturating_sub(1_000);
    }

    fn refill(&mut self, now_ns: u64) {
        let since = self.refilled_ns.map_or(0, |t| now_ns.saturating_sub(t));
        self.refilled_ns = Some(now_ns);
        // r a round; at most a round's worth (and one) saved.
        let earned = u128::from(since) * u128::from(self.rate_milli) / u128::from(ROUND_NS);
        let cap = u128::from(self.rate_milli) + 1_000;
        self.tokens_milli = (u128::from(self.tokens_milli) + earned).min(cap) as u64;
    }

    /// A run entered a phase.
    pub fn note_phase(&mut self, canister: Principal, phase: RunPhase, now_ns: u64, _ceiling: u32) {
        if let Some(call) = self.heavy.remove(&canister) {
            let took = now_ns.saturating_sub(call.since_ns).max(1);
            let base = &mut self.heavy_base_ns[call.kind.index()];
            *base = Some(base.map_or(took, |b| b.min(took)));
            if call.kind == HeavyKind::Install {
                self.count_served(now_ns);
                if let Some(since) = self.awaiting.remove(&canister) {
                    let took = now_ns.saturating_sub(since);
                    self.least_to_served_ns =
                        Some(self.least_to_served_ns.map_or(took, |l| l.min(took)));
                }
            }
        }
        match phase {
            RunPhase::Running => {
                self.awaiting.remove(&canister);
                if let Some(since) = self.stopped.remove(&canister) {
                    if self.downtimes.len() >= DOWNTIME_SAMPLES {
                        self.downtimes.pop_front();
                    }
                    let d = now_ns.saturating_sub(since);
                    self.downtimes.push_back(d);
                    self.least_downtime_ns = Some(self.least_downtime_ns.map_or(d, |l| l.min(d)));
                }
            }
            RunPhase::Stopped => {
                if !self.stopped.contains_key(&canister) {
                    self.awaiting.insert(canister, now_ns);
                }
                self.stopped.entry(canister).or_insert(now_ns);
            }
            RunPhase::Heavy(kind) => {
                if !self.stopped.contains_key(&canister) {
                    self.awaiting.insert(canister, now_ns);
                }
                self.stopped.entry(canister).or_insert(now_ns);
                self.heavy.insert(
                    canister,
                    HeavyCall {
                        kind,
                        since_ns: now_ns,
                    },
                );
            }
        }
        self.judge(now_ns);
    }

    fn count_served(&mut self, now_ns: u64) {
        let round = now_ns / ROUND_NS;
        match self.served.back_mut() {
            Some((r, n)) if *r == round => *n += 1,
            _ => self.served.push_back((round, 1)),
        }
        while self
            .served
            .front()
            .is_some_and(|(r, _)| r + RATE_ROUNDS < round)
        {
            self.served.pop_front();
        }
    }

    /// Installs answered in the last `RATE_ROUNDS` whole rounds (the
    /// current one is still being served): (most in one round, mean a
    /// round), in thousandths.
    fn served_rate_milli(&self, now_ns: u64) -> (u64, u64) {
        let round = now_ns / ROUND_NS;
        let recent = self
            .served
            .iter()
            .filter(|(r, _)| *r < round && r + RATE_ROUNDS >= round);
        let (most, sum) = recent.fold((0u32, 0u64), |(m, s), (_, n)| {
            (m.max(*n), s + u64::from(*n))
        });
        (u64::from(most) * 1_000, sum * 1_000 / RATE_ROUNDS)
    }

    /// The run on `canister` ended (recorded, or handed back to the queue).
    pub fn on_ended(&mut self, canister: Principal) {
        self.stopped.remove(&canister);
        self.awaiting.remove(&canister);
        self.heavy.remove(&canister);
    }

    /// Our heavy calls waiting now (`q`): outstanding half a round longer
    /// than their kind's least.
    fn waiting(&self, now_ns: u64) -> u32 {
        let n = self
            .heavy
            .values()
            .filter(|call| {
                self.heavy_base_ns[call.kind.index()]
                    .is_some_and(|base| now_ns.saturating_sub(call.since_ns) > base + HALF_ROUND_NS)
            })
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn loop_passed(&self, now_ns: u64) -> bool {
        self.moved_ns
            .is_none_or(|t| now_ns.saturating_sub(t) >= self.loop_ns())
    }

    fn moved(&mut self, now_ns: u64) {
        self.moved_ns = Some(now_ns);
        self.epoch_max_queued = 0;
        self.paced_since_move = false;
    }

    fn judge(&mut self, now_ns: u64) {
        let q = self.waiting(now_ns);
        self.queued = q;
        self.epoch_max_queued = self.epoch_max_queued.max(q);
        let (most, mean) = self.served_rate_milli(now_ns);
        if self.startup {
            if q > 0 {
                // The first wait: the subnet had more than it serves.
                self.startup = false;
                // Nothing installed yet (a snapshot queue): the rate before
                // the last step, which did not queue.
                let found = if most > 0 {
                    most
                } else {
                    (self.rate_milli / STARTUP_GAIN).max(INITIAL_RATE_MILLI)
                };
                self.rate_milli = found.max(MIN_RATE_MILLI);
                self.moved(now_ns);
            } else if self.loop_passed(now_ns) && self.moved_ns.is_some() {
                // Only a rate that limited the starts is worth raising.
                if self.paced_since_move {
                    self.rate_milli = (self.rate_milli * STARTUP_GAIN).min(MAX_RATE_MILLI);
                }
                self.moved(now_ns);
            } else if self.moved_ns.is_none() {
                self.moved(now_ns);
            }
            return;
        }
        if !self.loop_passed(now_ns) {
            return;
        }
        let shrinking = q < self.judged_q;
        self.judged_q = q;
        if q > BETA && !shrinking {
            // What the subnet gives us; the stop gate drains the excess.
            let floor = (self.rate_milli / 2).max(MIN_RATE_MILLI);
            self.rate_milli = mean.clamp(floor, self.rate_milli.max(floor));
            self.cuts += 1;
            self.moved(now_ns);
        } else if q <= BETA && self.epoch_max_queued == 0 && self.paced_since_move {
            self.rate_milli =
                (self.rate_milli + (self.rate_milli / 8).max(PROBE_MILLI)).min(MAX_RATE_MILLI);
            self.moved(now_ns);
        } else {
            // Hold; the next loop is judged on its own.
            self.moved(now_ns);
            self.epoch_max_queued = q;
        }
    }

    /// An upgrade that installed took `latency_ns` (taken → recorded).
    pub fn on_served(&mut self, latency_ns: u64, _in_flight: u32, _ceiling: u32, now_ns: u64) {
        let latency = latency_ns.max(1);
        self.base_ns = Some(self.base_ns.map_or(latency, |b| b.min(latency)));
        self.last_latency_ns = Some(latency);
        self.judge(now_ns);
    }

    /// The IC refused work as too much, or a bounded-wait call timed out.
    pub fn on_congested(&mut self, now_ns: u64) {
        if self.startup || self.loop_passed(now_ns) {
            self.startup = false;
            self.rate_milli = (self.rate_milli / 2).max(MIN_RATE_MILLI);
            self.cuts += 1;
            self.moved(now_ns);
        }
        // A refused call never waits in the queue: no probe on this loop.
        self.epoch_max_queued = self.epoch_max_queued.max(ALPHA + 1);
    }

    pub fn stopped_now(&self) -> u32 {
        u32::try_from(self.stopped.len()).unwrap_or(u32::MAX)
    }

    pub fn view(&self) -> AdmissionView {
        AdmissionView {
            window: self.window(),
            base_latency_ns: self.base_ns.unwrap_or(0),
            latency_ns: self.last_latency_ns.unwrap_or(0),
            queued: self.queued,
            // Thousandths of a stop a round = stops per 1,000 rounds (s).
            served_per_ks: self.rate_milli,
            cuts: self.cuts,
            downtime_ns: self.downtime_percentiles(),
        }
    }

    fn downtime_percentiles(&self) -> [u64; 3] {
        let mut v: Vec<u64> = self.downtimes.iter().copied().collect();
        if v.is_empty() {
            return [0; 3];
        }
        v.sort_unstable();
        let rank = |p: usize| v[((v.len() * p).div_ceil(100)).clamp(1, v.len()) - 1];
        [rank(50), rank(99), rank(100)]
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
