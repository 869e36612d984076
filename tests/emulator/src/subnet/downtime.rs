//! Every interval a canister spent not running (stop requested → running again).

use super::StoppedInterval;
use crate::state::canister::Status;
use crate::state::StateMachine;
use candid::Principal;

impl StateMachine {
    /// Records a management call's effect on `id`'s status (`before` it ran).
    pub(crate) fn note_status(&mut self, id: Principal, before: Option<Status>) {
        let Some(after) = self.canisters.get(&id).map(|c| c.status) else {
            return;
        };
        let round = self.round;
        let cap = self.capacity_of_mut(&id);
        let intervals = cap.stopped.entry(id).or_default();
        let open = intervals
            .last_mut()
            .filter(|i| i.running_again_round.is_none());
        match (before, after, open) {
            (Some(Status::Running), Status::Stopping | Status::Stopped, _) => {
                intervals.push(StoppedInterval {
                    stop_requested_round: round,
                    stopped_round: (after == Status::Stopped).then_some(round),
                    running_again_round: None,
                });
            }
            (Some(Status::Stopping | Status::Stopped), Status::Running, Some(open)) => {
                open.running_again_round = Some(round);
            }
            _ => {}
        }
        if intervals.is_empty() {
            cap.stopped.remove(&id);
        }
    }

    /// A stopping canister has become stopped.
    pub(crate) fn note_stopped(&mut self, id: Principal) {
        let round = self.round;
        if let Some(open) = self
            .capacity_of_mut(&id)
            .stopped
            .get_mut(&id)
            .and_then(|v| v.last_mut())
            .filter(|i| i.stopped_round.is_none())
        {
            open.stopped_round = Some(round);
        }
    }
}
