//! Which shard a new owner goes to: the least loaded one with room.
//!
//! Least loaded keeps shards within one user of each other while all have
//! room, so the fleet fills evenly; ties go to the lowest principal so the
//! choice is deterministic. A shard at its capacity (below the subnet's
//! 100,000-canister limit) is never chosen.

use candid::Principal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub shard: Principal,
    pub users: u64,
    pub capacity: u64,
}

pub fn choose(candidates: impl IntoIterator<Item = Candidate>) -> Option<Principal> {
    candidates
        .into_iter()
        .filter(|c| c.users < c.capacity)
        .min_by_key(|c| (c.users, c.shard))
        .map(|c| c.shard)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(n: u8, users: u64, capacity: u64) -> Candidate {
        Candidate {
            shard: Principal::from_slice(&[n; 10]),
            users,
            capacity,
        }
    }

    #[test]
    fn least_loaded_with_room_wins_ties_by_principal() {
        assert_eq!(choose([]), None);
        assert_eq!(choose([c(1, 5, 10), c(2, 3, 10)]), Some(c(2, 0, 0).shard));
        assert_eq!(choose([c(2, 3, 10), c(1, 3, 10)]), Some(c(1, 0, 0).shard));
        // Full shards are skipped even when they are the least loaded.
        assert_eq!(choose([c(1, 3, 3), c(2, 9, 10)]), Some(c(2, 0, 0).shard));
        assert_eq!(choose([c(1, 3, 3), c(2, 10, 10)]), None);
    }

    #[test]
    fn filling_many_shards_stays_balanced() {
        let mut shards: Vec<Candidate> = (1..=7).map(|n| c(n, 0, 1_000)).collect();
        for _ in 0..3_000 {
            let pick = choose(shards.clone()).expect("room");
            if let Some(s) = shards.iter_mut().find(|s| s.shard == pick) {
                s.users += 1;
            }
        }
        let max = shards.iter().map(|s| s.users).max().unwrap_or(0);
        let min = shards.iter().map(|s| s.users).min().unwrap_or(0);
        assert!(max - min <= 1, "{shards:?}");
    }
}
