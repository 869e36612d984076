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
//!   after it formed (an EWMA of them later still: the last version's slow
//!   start doubled past the knee before its average moved);
//! - `B`: the least latency of a whole upgrade in this stage (taken →
//!   recorded), the round trip.
//!
//! # The control law
//! `W` (upgrades in flight) is judged at every event (a phase change, a
//! completion, a tick) on the `q` of that moment:
//! - **pacing**: new upgrades start at `W / B` per second at most (a token
//!   bucket holding one round's worth plus one), with no pacing gain even in
//!   slow start. A window released in a burst sends its stops together, then
//!   its snapshots together: the last of the burst waits `W` rounds in the
//!   queue although `W` staggered ones would each find the subnet free, and
//!   the pipeline's stages idle in turn (lock-step batches: on the emulator
//!   a window of 9 gave 0.36 upgrades a round where the subnet serves one).
//!   The subnet serves heavy calls at a *rate*, so starts faster than `W / B`
//!   (TCP's gain of 2) queue below the knee and end slow start too early
//!   (measured: at a window of 7 where the knee is 12);
//! - **slow start**, until the first queue: `W += 1` per completion while
//!   `q = 0` (doubling each round trip). At the first `q ≥ 1`, `W` = the
//!   in-flight count the first waiting call's upgrade started with: the
//!   knee, one more than the subnet serves without a queue;
//! - **congestion avoidance**: `q > BETA` (more than one of ours waiting):
//!   `W −= q − ALPHA`, at most once per `B` (a cut shows only after a round
//!   trip); `q = 0` through a whole window's worth of completions: `W += 1`
//!   (and the knee with it); otherwise hold: one of ours waits, so the
//!   subnet never idles for lack of work;
//! - **the stop gate**: a run stops its canister only while at most `ALPHA`
//!   of ours wait (`may_stop`); otherwise it hands the canister back to the
//!   queue still running, without spending a try. The window's loop has a
//!   delay of several rounds (a start reaches its first heavy call after a
//!   status call and a stop), so whatever it overshoots meanwhile is held
//!   here, before any downtime: the issue's "stops a canister only when the
//!   management work for it can start within about a round";
//! - a **SysTransient reject** (`CanisterInstallCodeRateLimited`, a full
//!   queue, `StopCanisterRequestTimeout`) or a bounded-wait call that timed
//!   out is the IC saying "too much": `W = W / 2`, at most once per round trip
//!   (the rejects of one overload arrive together).
//!
//! After a cut `ssthresh` = the knee: once the subnet is free (`q = 0`) slow
//! start climbs straight back to the rate found before. A neighbour flooding
//! the subnet puts its calls ahead of ours: our heavy calls wait, `q` grows,
//! stops are held and `W` shrinks (we yield the subnet); once its queue has
//! drained `q = 0` and `W` grows again. `W` never exceeds the plan's
//! `max_in_flight` (the hard ceiling) nor falls below 1.
//!
//! Learned state lives on the heap: after a factory upgrade (or at a new
//! rollout) it starts over from `INITIAL_WINDOW`, which costs a few round
//! trips of slow start, never correctness.

use candid::Principal;
use std::collections::{BTreeMap, VecDeque};

/// Stopped intervals kept for the downtime percentiles.
pub const DOWNTIME_SAMPLES: usize = 1_000;

/// Upgrades allowed in flight before anything is learned.
pub const INITIAL_WINDOW: u32 = 2;
/// Of ours waiting at which the window holds instead of growing.
pub const ALPHA: u32 = 1;
/// Above this many of ours waiting the window shrinks.
pub const BETA: u32 = 1;
/// About one round on the IC (an application subnet finalizes about a block
/// a second; an inference from its block rate, not a constant of the
/// replica). The subnet serves its queue round by round: a heavy call that
/// took half a round more than its least waited behind others.
pub const ROUND_NS: u64 = 1_000_000_000;
const HALF_ROUND_NS: u64 = ROUND_NS / 2;

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
    /// Runs in flight when this canister's upgrade started (itself included).
    admitted_with: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admission {
    /// Canisters whose run is between its stop and its start, since when.
    stopped: BTreeMap<Principal, u64>,
    /// The latest stopped intervals, at most `DOWNTIME_SAMPLES`.
    downtimes: VecDeque<u64>,
    /// In-flight count each run started with.
    admitted: BTreeMap<Principal, u32>,
    heavy: BTreeMap<Principal, HeavyCall>,
    /// `b_k` per kind.
    heavy_base_ns: [Option<u64>; 2],
    window: u32,
    ssthresh: u32,
    /// The largest window seen served without a queue (slow start's exit,
    /// raised by avoidance): what a freed subnet is climbed back to.
    knee: Option<u32>,
    base_ns: Option<u64>,
    last_latency_ns: Option<u64>,
    /// Completions toward the next slow-start step or round trip.
    served_since_move: u32,
    /// Most of ours waiting since the window last moved in avoidance.
    epoch_max_queued: u32,
    queued: u32,
    /// Pacing tokens, in thousandths of an upgrade.
    tokens_milli: u64,
    refilled_ns: Option<u64>,
    last_cut_ns: Option<u64>,
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
    /// Upgrades the subnet serves per 1,000 s at the current window (`W / B`).
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
            admitted: BTreeMap::new(),
            heavy: BTreeMap::new(),
            heavy_base_ns: [None; 2],
            window: INITIAL_WINDOW,
            ssthresh: u32::MAX,
            knee: None,
            base_ns: None,
            last_latency_ns: None,
            served_since_move: 0,
            epoch_max_queued: 0,
            queued: 0,
            tokens_milli: 0,
            refilled_ns: None,
            last_cut_ns: None,
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

    fn slow_start(&self) -> bool {
        self.window < self.ssthresh
    }

    /// A new stage may upgrade differently (another snapshot policy): its
    /// least latency is learned anew; the window is kept.
    pub fn new_stage(&mut self) {
        self.base_ns = None;
        self.served_since_move = 0;
    }

    /// Whether one more upgrade may start now: the window has room and the
    /// pacing allows it (`in_flight` running, `ceiling` = `max_in_flight`).
    pub fn may_start(&mut self, in_flight: u32, ceiling: u32, now_ns: u64) -> bool {
        self.judge(now_ns, ceiling);
        if in_flight >= self.limit(ceiling) {
            return false;
        }
        self.refill(now_ns, ceiling);
        // Nothing learned yet: the initial window at once.
        self.base_ns.is_none() || self.tokens_milli >= 1_000
    }

    /// Whether a run may stop its canister now: at most `ALPHA` of ours
    /// wait in the subnet's queue. Otherwise it hands its canister back to
    /// the queue still running: a stop now would only add a canister waiting
    /// stopped behind ours (the window's overshoot, or a neighbour's flood).
    pub fn may_stop(&mut self, now_ns: u64, ceiling: u32) -> bool {
        self.judge(now_ns, ceiling);
        if self.queued <= ALPHA {
            return true;
        }
        false
    }

    /// An upgrade started, `in_flight` with it.
    pub fn on_started(&mut self, canister: Principal, in_flight: u32) {
        self.admitted.insert(canister, in_flight);
        self.tokens_milli = self.tokens_milli.saturating_sub(1_000);
    }

    fn refill(&mut self, now_ns: u64, ceiling: u32) {
        let Some(base) = self.base_ns else {
            self.refilled_ns = Some(now_ns);
            return;
        };
        // No pacing gain, even in slow start (TCP's is 2 there): the subnet
        // serves heavy calls at a rate, so starts faster than `W / B` queue
        // at `W` below the knee and end slow start too early.
        let w = u64::from(self.limit(ceiling));
        let since = self.refilled_ns.map_or(0, |t| now_ns.saturating_sub(t));
        self.refilled_ns = Some(now_ns);
        // W / B upgrades a second; at most a round's worth (and one) saved.
        let earned = u128::from(since) * u128::from(w) * 1_000 / u128::from(base.max(1));
        let cap = w * 1_000 * ROUND_NS / base.max(1) + 1_000;
        self.tokens_milli = (u128::from(self.tokens_milli) + earned).min(u128::from(cap)) as u64;
    }

    /// A run entered a phase.
    pub fn note_phase(&mut self, canister: Principal, phase: RunPhase, now_ns: u64, ceiling: u32) {
        if let Some(call) = self.heavy.remove(&canister) {
            let took = now_ns.saturating_sub(call.since_ns).max(1);
            let base = &mut self.heavy_base_ns[call.kind.index()];
            *base = Some(base.map_or(took, |b| b.min(took)));
        }
        match phase {
            RunPhase::Running => {
                if let Some(since) = self.stopped.remove(&canister) {
                    if self.downtimes.len() >= DOWNTIME_SAMPLES {
                        self.downtimes.pop_front();
                    }
                    self.downtimes.push_back(now_ns.saturating_sub(since));
                }
            }
            RunPhase::Stopped => {
                self.stopped.entry(canister).or_insert(now_ns);
            }
            RunPhase::Heavy(kind) => {
                self.stopped.entry(canister).or_insert(now_ns);
                let admitted_with = self.admitted.get(&canister).copied().unwrap_or(self.window);
                self.heavy.insert(
                    canister,
                    HeavyCall {
                        kind,
                        since_ns: now_ns,
                        admitted_with,
                    },
                );
            }
        }
        self.judge(now_ns, ceiling);
    }

    /// The run on `canister` ended (recorded, or handed back to the queue).
    pub fn on_ended(&mut self, canister: Principal) {
        self.stopped.remove(&canister);
        self.heavy.remove(&canister);
        self.admitted.remove(&canister);
    }

    /// Our heavy calls waiting now (`q`), and the least in-flight count any
    /// of them started with.
    fn waiting(&self, now_ns: u64) -> (u32, Option<u32>) {
        let mut n = 0u32;
        let mut knee: Option<u32> = None;
        for call in self.heavy.values() {
            let Some(base) = self.heavy_base_ns[call.kind.index()] else {
                continue;
            };
            if now_ns.saturating_sub(call.since_ns) > base + HALF_ROUND_NS {
                n += 1;
                knee = Some(knee.map_or(call.admitted_with, |k| k.min(call.admitted_with)));
            }
        }
        (n, knee)
    }

    fn judge(&mut self, now_ns: u64, ceiling: u32) {
        let (q, knee) = self.waiting(now_ns);
        self.queued = q;
        self.epoch_max_queued = self.epoch_max_queued.max(q);
        if q == 0 {
            return;
        }
        if self.slow_start() && self.ssthresh == u32::MAX {
            // The first queue: the knee is where it began.
            let w = knee.unwrap_or(self.window).min(self.window);
            self.window = w.clamp(1, ceiling.max(1));
            self.ssthresh = self.window;
            self.knee = Some(self.window);
            self.served_since_move = 0;
            self.epoch_max_queued = 0;
            return;
        }
        if q > BETA && self.may_cut(now_ns) {
            let before = self.window;
            self.window = before.saturating_sub(q - ALPHA).clamp(1, ceiling.max(1));
            self.ssthresh = self.knee.unwrap_or(before / 2).max(self.window);
            self.after_cut(now_ns);
        }
    }

    fn may_cut(&self, now_ns: u64) -> bool {
        let rtt = self.base_ns.unwrap_or(0).max(ROUND_NS);
        self.last_cut_ns
            .is_none_or(|t| now_ns.saturating_sub(t) >= rtt)
    }

    fn after_cut(&mut self, now_ns: u64) {
        self.last_cut_ns = Some(now_ns);
        self.served_since_move = 0;
        self.epoch_max_queued = 0;
        self.cuts += 1;
    }

    /// An upgrade that installed took `latency_ns`; `in_flight` upgrades
    /// (this one included) were in flight; `ceiling` is `max_in_flight`.
    pub fn on_served(&mut self, latency_ns: u64, in_flight: u32, ceiling: u32, now_ns: u64) {
        let latency = latency_ns.max(1);
        self.base_ns = Some(self.base_ns.map_or(latency, |b| b.min(latency)));
        self.last_latency_ns = Some(latency);
        self.judge(now_ns, ceiling);
        // A window the rollout does not fill says nothing about a larger one
        // (pacing lets the in-flight count trail the window by one or two).
        let filled = in_flight.saturating_add(2) >= self.window;
        self.served_since_move += 1;
        if self.slow_start() {
            if self.queued == 0 && filled {
                self.served_since_move = 0;
                self.window += 1;
            }
        } else if self.served_since_move >= self.window {
            if self.epoch_max_queued == 0 && self.queued == 0 && filled {
                self.window += 1;
                self.knee = Some(self.knee.map_or(self.window, |k| k.max(self.window)));
            }
            self.served_since_move = 0;
            self.epoch_max_queued = self.queued;
        }
        self.window = self.window.clamp(1, ceiling.max(1));
    }

    /// The IC refused work as too much, or a bounded-wait call timed out.
    pub fn on_congested(&mut self, now_ns: u64) {
        if !self.may_cut(now_ns) {
            return;
        }
        let before = self.window;
        self.window = (before / 2).max(1);
        self.ssthresh = self.window;
        self.after_cut(now_ns);
    }

    pub fn stopped_now(&self) -> u32 {
        u32::try_from(self.stopped.len()).unwrap_or(u32::MAX)
    }

    pub fn view(&self) -> AdmissionView {
        let base = self.base_ns.unwrap_or(0);
        AdmissionView {
            window: self.window,
            base_latency_ns: base,
            latency_ns: self.last_latency_ns.unwrap_or(0),
            queued: self.queued,
            served_per_ks: (u128::from(self.window) * 1_000_000_000_000)
                .checked_div(u128::from(base))
                .map_or(0, |v| v as u64),
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
