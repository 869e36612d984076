//! A rollout plan as an admin writes it, its defaults, and its validation
//! into the normalized [`Plan`] the scheduler stores.

use crate::error::FactoryError;
use candid::{CandidType, Deserialize, Principal};

pub use factory_api::{
    AdmissionPolicy, RetryPolicy, RolloutFilter, RolloutPlan, SnapshotPolicy, StagePlan,
    TopUpPolicy,
};

const SECOND_NS: u64 = 1_000_000_000;
/// The IC queues at most 500 messages per canister pair, so more calls in
/// flight to the management canister would be rejected, not faster.
pub const MAX_IN_FLIGHT: u32 = 500;
pub const MAX_STAGES: usize = 10;
pub const MAX_FILTER_ENTRIES: usize = 1_000;
/// Shares of the fleet and failure rates are in basis points.
pub const FULL_BPS: u16 = 10_000;
pub const MAX_ATTEMPTS: u8 = 10;
pub const MAX_BACKOFF_NS: u64 = 24 * 3_600 * SECOND_NS;
pub const MAX_TICK_INTERVAL_NS: u64 = 3_600 * SECOND_NS;
pub const MAX_STAGE_NAME: usize = 64;

/// A validated plan with every default filled in; what the scheduler stores
/// (`rollout_status` shows it as `factory_api::Plan`).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub target_version: String,
    pub stages: Vec<Stage>,
    pub max_in_flight: u32,
    pub max_starts_per_tick: u32,
    pub tick_interval_ns: u64,
    pub retry: RetryPolicy,
    /// Sorted and deduplicated, for binary search.
    pub from_versions: Vec<String>,
    pub exclude_versions: Vec<String>,
    pub canisters: Vec<Principal>,
    pub exclude_canisters: Vec<Principal>,
    pub snapshot: SnapshotPolicy,
    pub top_up: TopUpPolicy,
    pub allow_downgrade: bool,
    /// Optional so that a plan stored before it existed still decodes
    /// (None: `Adaptive`).
    pub admission: Option<AdmissionPolicy>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    pub name: String,
    pub fleet_bps: u16,
    pub max_failure_bps: u16,
    pub min_sample: u32,
}

pub const DEFAULT_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    initial_backoff_ns: 5 * SECOND_NS,
    max_backoff_ns: 300 * SECOND_NS,
};
pub const DEFAULT_TOP_UP: TopUpPolicy = TopUpPolicy {
    below: 200_000_000_000,
    amount: 500_000_000_000,
};
pub const DEFAULT_TICK_INTERVAL_NS: u64 = SECOND_NS;
pub const DEFAULT_MIN_SAMPLE: u32 = 20;
/// A one-stage plan's threshold when none is given.
pub const DEFAULT_MAX_FAILURE_BPS: u16 = 500;

pub trait Normalize {
    /// Checks every range and fills the defaults; the target and the active
    /// rollout are checked against the state by `control::start_rollout`.
    fn normalize(self) -> Result<Plan, FactoryError>;
}

impl Normalize for RolloutPlan {
    fn normalize(self) -> Result<Plan, FactoryError> {
        let range = |field: &str, why: &str| FactoryError::OutOfRange {
            field: field.into(),
            why: why.into(),
        };
        if !(1..=MAX_IN_FLIGHT).contains(&self.max_in_flight) {
            return Err(FactoryError::InFlightOutOfRange {
                value: self.max_in_flight,
                max: MAX_IN_FLIGHT,
            });
        }
        let max_starts_per_tick = self.max_starts_per_tick.unwrap_or(self.max_in_flight);
        if !(1..=MAX_IN_FLIGHT).contains(&max_starts_per_tick) {
            return Err(FactoryError::StartsPerTickOutOfRange {
                value: max_starts_per_tick,
                max: MAX_IN_FLIGHT,
            });
        }
        let tick_interval_ns = self.tick_interval_ns.unwrap_or(DEFAULT_TICK_INTERVAL_NS);
        if tick_interval_ns > MAX_TICK_INTERVAL_NS {
            return Err(range("tick_interval_ns", "at most one hour"));
        }
        let retry = self.retry.unwrap_or(DEFAULT_RETRY);
        validate_retry(&retry)?;
        let stages = normalize_stages(self.stages)?;
        let filter = self.filter.unwrap_or_default();
        let top_up = self.top_up.unwrap_or(DEFAULT_TOP_UP);
        if top_up.amount > 0 && top_up.below == 0 {
            return Err(range("top_up.below", "must be positive when amount is"));
        }
        wasm_registry::parse_version(&self.target_version)?;
        Ok(Plan {
            target_version: self.target_version,
            stages,
            max_in_flight: self.max_in_flight,
            max_starts_per_tick,
            tick_interval_ns,
            retry,
            from_versions: versions("filter.from_versions", filter.from_versions)?,
            exclude_versions: versions("filter.exclude_versions", filter.exclude_versions)?,
            canisters: principals("filter.canisters", filter.canisters)?,
            exclude_canisters: principals("filter.exclude_canisters", filter.exclude_canisters)?,
            snapshot: self.snapshot.unwrap_or(SnapshotPolicy::ReplacePrevious),
            top_up,
            allow_downgrade: self.allow_downgrade.unwrap_or(false),
            admission: Some(self.admission.unwrap_or_default()),
        })
    }
}

fn validate_retry(r: &RetryPolicy) -> Result<(), FactoryError> {
    let bad = |why: &str| Err(FactoryError::InvalidRetryPolicy(why.into()));
    if !(1..=MAX_ATTEMPTS).contains(&r.max_attempts) {
        return bad("max_attempts must be within 1..=10");
    }
    if r.initial_backoff_ns > r.max_backoff_ns {
        return bad("initial_backoff_ns is above max_backoff_ns");
    }
    if r.max_backoff_ns > MAX_BACKOFF_NS {
        return bad("max_backoff_ns is above one day");
    }
    Ok(())
}

fn normalize_stages(stages: Vec<StagePlan>) -> Result<Vec<Stage>, FactoryError> {
    let bad = |why: String| Err(FactoryError::InvalidStages(why));
    if stages.is_empty() {
        return Ok(vec![Stage {
            name: "all".into(),
            fleet_bps: FULL_BPS,
            max_failure_bps: DEFAULT_MAX_FAILURE_BPS,
            min_sample: DEFAULT_MIN_SAMPLE,
        }]);
    }
    if stages.len() > MAX_STAGES {
        return bad(format!("at most {MAX_STAGES} stages"));
    }
    let mut previous = 0;
    let mut out = Vec::with_capacity(stages.len());
    for s in stages {
        if s.max_failure_bps > FULL_BPS {
            return Err(FactoryError::ThresholdOutOfRange {
                value: s.max_failure_bps,
            });
        }
        if s.fleet_bps <= previous || s.fleet_bps > FULL_BPS {
            return bad(format!(
                "stage {:?} covers {} bps: shares must increase and stay within 10000",
                s.name, s.fleet_bps
            ));
        }
        if s.name.len() > MAX_STAGE_NAME {
            return bad(format!("stage names are at most {MAX_STAGE_NAME} bytes"));
        }
        previous = s.fleet_bps;
        out.push(Stage {
            name: s.name,
            fleet_bps: s.fleet_bps,
            max_failure_bps: s.max_failure_bps,
            min_sample: s.min_sample.unwrap_or(DEFAULT_MIN_SAMPLE),
        });
    }
    if previous != FULL_BPS {
        return bad("the last stage must cover the whole fleet (10000 bps)".into());
    }
    Ok(out)
}

fn versions(field: &str, mut v: Vec<String>) -> Result<Vec<String>, FactoryError> {
    too_large(field, v.len())?;
    for version in &v {
        wasm_registry::parse_version(version)?;
    }
    v.sort();
    v.dedup();
    Ok(v)
}

fn principals(field: &str, mut v: Vec<Principal>) -> Result<Vec<Principal>, FactoryError> {
    too_large(field, v.len())?;
    v.sort();
    v.dedup();
    Ok(v)
}

fn too_large(field: &str, len: usize) -> Result<(), FactoryError> {
    if len > MAX_FILTER_ENTRIES {
        return Err(FactoryError::FilterTooLarge {
            field: field.into(),
            max: MAX_FILTER_ENTRIES as u32,
        });
    }
    Ok(())
}

impl Plan {
    /// Does the version filter let a canister on `version` in?
    pub fn version_allowed(&self, version: &str) -> bool {
        let v = version.to_string();
        (self.from_versions.is_empty() || self.from_versions.binary_search(&v).is_ok())
            && self.exclude_versions.binary_search(&v).is_err()
    }

    pub fn canister_allowed(&self, canister: &Principal) -> bool {
        (self.canisters.is_empty() || self.canisters.binary_search(canister).is_ok())
            && self.exclude_canisters.binary_search(canister).is_err()
    }

    /// Wait before retry number `attempt` (1 = the first retry).
    pub fn backoff_ns(&self, attempt: u8) -> u64 {
        backoff_ns(&self.retry, attempt)
    }

    /// How many canisters the tick keeps queued, retrying or in flight: enough
    /// for every worker to find its next canister between two ticks, small
    /// enough that cancelling drops a bounded number of items.
    pub fn window(&self) -> u64 {
        u64::from(self.max_in_flight) + 2 * u64::from(self.max_starts_per_tick)
    }
}

pub fn backoff_ns(r: &RetryPolicy, attempt: u8) -> u64 {
    let doublings = u32::from(attempt.saturating_sub(1)).min(63);
    r.initial_backoff_ns
        .saturating_mul(1u64 << doublings)
        .min(r.max_backoff_ns)
}
