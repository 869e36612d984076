//! Which stage a user belongs to, without counting the fleet: a stable hash
//! of the owner (salted with the rollout id, so a different 1 % is the canary
//! each time) gives a bucket in 0..10,000, compared with the stages'
//! cumulative shares.
//!
//! The owner is hashed rather than the canister because the owner is the key
//! of the users map: a stage's pass reads only the keys of users outside the
//! stage, never their records.

use super::plan::Stage;

pub use factory_api::rollout::membership::bucket;

/// The stage whose share first covers `bucket` (stages end at 10,000).
pub fn stage_of(stages: &[Stage], bucket: u16) -> u8 {
    let index = stages
        .iter()
        .position(|s| bucket < s.fleet_bps)
        .unwrap_or(stages.len().saturating_sub(1));
    index as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::plan::FULL_BPS;
    use candid::Principal;

    fn stage(bps: u16) -> Stage {
        Stage {
            name: String::new(),
            fleet_bps: bps,
            max_failure_bps: 0,
            min_sample: 0,
        }
    }

    #[test]
    fn buckets_are_stable_spread_and_salted() {
        let owners: Vec<Principal> = (0..10_000u64)
            .map(|n| Principal::from_slice(&n.to_be_bytes()))
            .collect();
        let stages = [stage(100), stage(1_000), stage(FULL_BPS)];
        let mut per_stage = [0u32; 3];
        for o in &owners {
            assert_eq!(bucket(7, o), bucket(7, o));
            per_stage[stage_of(&stages, bucket(7, o)) as usize] += 1;
        }
        // 1 %, 9 %, 90 % of 10,000, within sampling noise.
        assert!((60..=140).contains(&per_stage[0]), "{per_stage:?}");
        assert!((750..=1_050).contains(&per_stage[1]), "{per_stage:?}");
        let moved = owners
            .iter()
            .filter(|o| bucket(7, o) != bucket(8, o))
            .count();
        assert!(moved > 9_900, "salt changes the canary set");
    }

    #[test]
    fn stage_boundaries() {
        let stages = [stage(100), stage(FULL_BPS)];
        assert_eq!(stage_of(&stages, 0), 0);
        assert_eq!(stage_of(&stages, 99), 0);
        assert_eq!(stage_of(&stages, 100), 1);
        assert_eq!(stage_of(&stages, 9_999), 1);
    }
}
