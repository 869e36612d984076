//! Token buckets: a burst of `capacity` requests, refilled one token per
//! `refill_period_ns`. Pure, so the limits are unit-tested with a fake clock.

use candid::{CandidType, Deserialize};

pub use factory_api::RateLimit;

/// The state of one bucket; stored with whatever it limits.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TokenBucket {
    pub tokens: u32,
    /// The time up to which refills have been counted.
    pub refilled_at_ns: u64,
}

impl TokenBucket {
    /// A full bucket.
    pub fn full(limit: RateLimit, now_ns: u64) -> Self {
        TokenBucket {
            tokens: limit.capacity,
            refilled_at_ns: now_ns,
        }
    }

    /// Takes one token, or says how many nanoseconds until one is available.
    pub fn try_take(&mut self, limit: RateLimit, now_ns: u64) -> Result<(), u64> {
        self.refill(limit, now_ns);
        if self.tokens > 0 {
            self.tokens -= 1;
            return Ok(());
        }
        if limit.refill_period_ns == 0 || limit.capacity == 0 {
            return Err(u64::MAX);
        }
        let next = self.refilled_at_ns.saturating_add(limit.refill_period_ns);
        Err(next.saturating_sub(now_ns).max(1))
    }

    fn refill(&mut self, limit: RateLimit, now_ns: u64) {
        if self.tokens > limit.capacity {
            self.tokens = limit.capacity;
        }
        if now_ns <= self.refilled_at_ns {
            return;
        }
        if self.tokens == limit.capacity || limit.refill_period_ns == 0 {
            self.refilled_at_ns = now_ns;
            return;
        }
        let periods = (now_ns - self.refilled_at_ns) / limit.refill_period_ns;
        let room = u64::from(limit.capacity - self.tokens);
        if periods >= room {
            self.tokens = limit.capacity;
            self.refilled_at_ns = now_ns;
        } else {
            // Keep the remainder so partial periods are not lost.
            self.tokens += periods as u32;
            self.refilled_at_ns += periods * limit.refill_period_ns;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RateLimit = RateLimit {
        capacity: 3,
        refill_period_ns: 1_000,
    };

    #[test]
    fn a_full_bucket_allows_its_burst_then_says_when_to_retry() {
        let mut b = TokenBucket::full(LIMIT, 0);
        for _ in 0..3 {
            assert_eq!(b.try_take(LIMIT, 0), Ok(()));
        }
        assert_eq!(b.try_take(LIMIT, 0), Err(1_000));
        assert_eq!(b.try_take(LIMIT, 400), Err(600));
        assert_eq!(b.try_take(LIMIT, 1_000), Ok(()));
        assert_eq!(b.try_take(LIMIT, 1_000), Err(1_000));
    }

    #[test]
    fn partial_periods_accumulate_and_refill_stops_at_capacity() {
        let mut b = TokenBucket::full(LIMIT, 0);
        for _ in 0..3 {
            b.try_take(LIMIT, 0).unwrap();
        }
        // 2.5 periods: two tokens, the half period is kept.
        assert_eq!(b.try_take(LIMIT, 2_500), Ok(()));
        assert_eq!(b.try_take(LIMIT, 2_500), Ok(()));
        assert_eq!(b.try_take(LIMIT, 2_500), Err(500));
        assert_eq!(b.try_take(LIMIT, 3_000), Ok(()));
        // A long quiet period refills to capacity only.
        let later = 1_000_000;
        for _ in 0..3 {
            assert_eq!(b.try_take(LIMIT, later), Ok(()));
        }
        assert!(b.try_take(LIMIT, later).is_err());
    }

    #[test]
    fn a_lowered_capacity_caps_stored_tokens_and_zero_blocks() {
        let mut b = TokenBucket::full(LIMIT, 0);
        let lower = RateLimit {
            capacity: 1,
            refill_period_ns: 1_000,
        };
        assert_eq!(b.try_take(lower, 0), Ok(()));
        assert!(b.try_take(lower, 0).is_err());
        let closed = RateLimit {
            capacity: 0,
            refill_period_ns: 1_000,
        };
        assert_eq!(b.try_take(closed, 10_000), Err(u64::MAX));
    }
}
