//! At a shard: its part of a fleet rollout, pushed to the index one-way
//! when something the index's judgement needs has changed, so the index
//! learns of a stage's end without polling for it.
//!
//! What is pushed is a snapshot (`ShardProgress`), the same one a poll of
//! the shard reads: a duplicate or a late one changes nothing at the index
//! (`rollout::apply_progress` drops a report older than its row). A push
//! that is lost (the index stopped for an upgrade, a full queue) is made
//! up for by the index's round-robin poll, so a one-way call is enough.
//! Pushes happen when the shard's pass over a stage ends, its rollout ends
//! or halts, or its failures grow: O(1) per stage per shard, plus one per
//! tick in which failures grew (what a fleet-wide halt must see early).

use crate::fleet::rollout::{self, Polled};
use crate::rollout::status;
use crate::state::FactoryState;
use factory_api::rollout::HistoryQuery;
use factory_api::ShardProgress;
use ic_stable_structures::Memory;

/// Recent rollouts read to find the shard's ended one.
const HISTORY_PAGE: u32 = 10;

/// What the last push said, as far as deciding the next needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pushed {
    rollout_id: u64,
    current_stage: u8,
    stage_complete: bool,
    ended: bool,
    halted: bool,
    failed: u64,
}

impl From<&ShardProgress> for Pushed {
    fn from(p: &ShardProgress) -> Self {
        Pushed {
            rollout_id: p.rollout_id,
            current_stage: p.current_stage,
            stage_complete: p.stage_complete,
            ended: p.ended.is_some(),
            halted: p.halted.is_some(),
            failed: p.stages.iter().map(|c| c.failed).sum(),
        }
    }
}

/// The rollout the index holds at this shard, unless the last push already
/// said it ended (nothing more to tell).
pub fn due<M: Memory>(s: &FactoryState<M>, last: Option<&Pushed>) -> Option<u64> {
    s.fleet.index()?;
    let id = s.fleet.gate().rollout_id?;
    let told_end = last.is_some_and(|l| l.rollout_id == id && l.ended);
    (!told_end).then_some(id)
}

/// The shard's report of its rollout `id` now.
pub fn report<M: Memory>(s: &FactoryState<M>, id: u64, now_ns: u64) -> Option<ShardProgress> {
    let st = status::rollout_status(s, now_ns);
    let polled = if st.active.as_ref().is_some_and(|a| a.id == id) {
        rollout::polled(id, &st, &[])
    } else {
        let page = status::history(
            s,
            &HistoryQuery {
                before: None,
                limit: HISTORY_PAGE,
            },
        );
        rollout::polled(id, &st, &page.rollouts)
    };
    match polled {
        Polled::Missing => None,
        p => p.into_progress(),
    }
}

/// Push `p` when it tells the index something its judgement acts on that
/// the last push did not: the stage's pass is done, the rollout ended or
/// halted, or failures grew. Progress alone (more upgraded, the next stage
/// begun) is left to the index's polls: the index knows a stage began, it
/// let it.
pub fn should_push(last: Option<&Pushed>, p: &ShardProgress) -> bool {
    let now = Pushed::from(p);
    if last == Some(&now) {
        return false;
    }
    let failed_before = last
        .filter(|l| l.rollout_id == now.rollout_id)
        .map_or(0, |l| l.failed);
    now.stage_complete || now.ended || now.halted || now.failed > failed_before
}

#[cfg(test)]
mod tests {
    use super::*;
    use factory_api::rollout::{RolloutEnd, StageCounters};

    fn progress(stage: u8, complete: bool, upgraded: u64, failed: u64) -> ShardProgress {
        ShardProgress {
            rollout_id: 7,
            stages: vec![StageCounters {
                upgraded,
                failed,
                ..Default::default()
            }],
            current_stage: stage,
            stage_complete: complete,
            ended: None,
            halted: None,
        }
    }

    #[test]
    fn pushes_on_events_not_on_plain_progress() {
        let first = progress(0, false, 0, 0);
        assert!(
            !should_push(None, &first),
            "a stage begun: the index let it"
        );
        let done = progress(0, true, 40, 0);
        assert!(should_push(None, &done), "the stage's pass ended");
        let last = Pushed::from(&done);
        assert!(!should_push(Some(&last), &done), "a duplicate is not sent");
        assert!(
            !should_push(Some(&last), &progress(1, false, 40, 0)),
            "the next stage begun"
        );
        assert!(
            !should_push(Some(&last), &progress(1, false, 90, 0)),
            "more upgraded alone is left to the polls"
        );
        assert!(
            should_push(Some(&last), &progress(1, false, 90, 1)),
            "a failure"
        );
        assert!(
            should_push(Some(&last), &progress(1, true, 90, 0)),
            "the next stage's end"
        );
        let mut ended = progress(1, true, 50, 0);
        ended.ended = Some(RolloutEnd::Completed);
        assert!(should_push(Some(&last), &ended));
        let mut halted = progress(0, false, 40, 0);
        halted.halted = Some("revoked".into());
        assert!(should_push(Some(&last), &halted));
        let mut other = progress(0, false, 0, 1);
        other.rollout_id = 8;
        assert!(
            should_push(Some(&last), &other),
            "another rollout's failure"
        );
    }
}
