//! The subnet's input queues: management calls wait in one FIFO queue per
//! sender, and the round takes them round-robin across senders.
//!
//! The replica keeps the subnet's messages in a `CanisterQueues` like any
//! canister's: one input queue per sender, and an input schedule of the
//! senders with messages (rs/replicated_state/src/canister_state/queues.rs,
//! rs/replicated_state/src/canister_state/queues/input_schedule.rs). Popping
//! takes the head of the first sender's queue and moves that sender to the
//! back; skipping (its head cannot run this round) moves it to the back
//! without popping. `drain_subnet_queues`
//! (rs/execution_environment/src/scheduler.rs) peeks the head, pops and runs
//! it if `can_execute_subnet_msg`, else skips, and stops once every sender
//! was skipped in a row (its loop detector). So one sender's backlog delays
//! another's call by at most one message per turn, never by the backlog.
//!
//! A simplification: the replica alternates three schedules (local canisters,
//! ingress, remote canisters); here every sender, ingress user or canister,
//! has a queue of its own in one schedule. Order within a sender is kept.
//!
//! Saved as one list, each sender's calls together in schedule order, so
//! loading rebuilds the same queues and the same turn.

use crate::management::MgmtCall;
use candid::Principal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(from = "Vec<MgmtCall>", into = "Vec<MgmtCall>")]
pub(crate) struct SubnetQueues {
    queues: BTreeMap<Principal, VecDeque<MgmtCall>>,
    /// Senders with a call waiting, the next to be served first.
    schedule: VecDeque<Principal>,
}

impl SubnetQueues {
    /// Appends `call` to its sender's queue (a new sender joins the back of
    /// the schedule).
    pub fn push(&mut self, call: MgmtCall) {
        let queue = self.queues.entry(call.sender).or_default();
        if queue.is_empty() {
            self.schedule.push_back(call.sender);
        }
        queue.push_back(call);
    }

    pub fn len(&self) -> usize {
        self.queues.values().map(VecDeque::len).sum()
    }

    /// Senders with a call waiting.
    pub fn senders(&self) -> usize {
        self.schedule.len()
    }

    /// Whether `sender` has a call waiting (a new one must queue behind it).
    pub fn has_waiting(&self, sender: &Principal) -> bool {
        self.queues.get(sender).is_some_and(|q| !q.is_empty())
    }

    pub fn iter(&self) -> impl Iterator<Item = &MgmtCall> {
        self.schedule
            .iter()
            .filter_map(|s| self.queues.get(s))
            .flat_map(|q| q.iter())
    }

    /// The head of the next sender's queue.
    pub fn peek(&self) -> Option<&MgmtCall> {
        let sender = self.schedule.front()?;
        self.queues.get(sender)?.front()
    }

    /// Takes the head of the next sender's queue; the sender goes to the
    /// back of the schedule if it has more.
    pub fn pop(&mut self) -> Option<MgmtCall> {
        let sender = self.schedule.pop_front()?;
        let queue = self.queues.get_mut(&sender)?;
        let call = queue.pop_front();
        if queue.is_empty() {
            self.queues.remove(&sender);
        } else {
            self.schedule.push_back(sender);
        }
        call
    }

    /// Passes over the next sender (its head cannot run now).
    pub fn skip(&mut self) {
        if let Some(sender) = self.schedule.pop_front() {
            self.schedule.push_back(sender);
        }
    }

    /// Appends every call of `other`, sender by sender in its schedule order.
    pub fn append(&mut self, other: SubnetQueues) {
        for call in Vec::from(other) {
            self.push(call);
        }
    }
}

impl From<Vec<MgmtCall>> for SubnetQueues {
    fn from(calls: Vec<MgmtCall>) -> Self {
        let mut q = SubnetQueues::default();
        for call in calls {
            q.push(call);
        }
        q
    }
}

impl From<SubnetQueues> for Vec<MgmtCall> {
    fn from(mut q: SubnetQueues) -> Self {
        let mut out = Vec::with_capacity(q.len());
        for sender in std::mem::take(&mut q.schedule) {
            if let Some(calls) = q.queues.remove(&sender) {
                out.extend(calls);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::calls::ReplyTo;

    fn call(sender: u8, n: u8) -> MgmtCall {
        MgmtCall {
            sender: Principal::from_slice(&[sender]),
            from_canister: true,
            driver: false,
            method: "take_canister_snapshot".into(),
            arg: vec![n],
            cycles: 0,
            reply_to: ReplyTo::Nobody,
            sender_version: None,
            subnet: None,
        }
    }

    fn order(q: &mut SubnetQueues) -> Vec<(u8, u8)> {
        std::iter::from_fn(|| q.pop())
            .map(|c| (c.sender.as_slice()[0], c.arg[0]))
            .collect()
    }

    #[test]
    fn senders_take_turns_and_keep_their_own_order() {
        let mut q = SubnetQueues::default();
        for n in 0..3 {
            q.push(call(1, n));
        }
        q.push(call(2, 0));
        q.push(call(2, 1));
        assert_eq!(q.len(), 5);
        assert_eq!(q.senders(), 2);
        assert_eq!(order(&mut q), [(1, 0), (2, 0), (1, 1), (2, 1), (1, 2)]);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn a_skipped_sender_waits_for_the_next_turn() {
        let mut q = SubnetQueues::default();
        q.push(call(1, 0));
        q.push(call(2, 0));
        q.skip();
        assert_eq!(order(&mut q), [(2, 0), (1, 0)]);
    }

    #[test]
    fn saving_and_loading_keeps_the_queues_and_the_turn() {
        let mut q = SubnetQueues::default();
        q.push(call(1, 0));
        q.push(call(1, 1));
        q.push(call(2, 0));
        q.skip(); // sender 2 is next
        let mut loaded = SubnetQueues::from(Vec::from(q.clone()));
        assert_eq!(order(&mut loaded), order(&mut q));
    }
}
