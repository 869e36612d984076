//! Fault injection for scenarios (the item 5).

use crate::driver::Emulator;
use crate::error::RejectResponse;
use crate::state::calls::Origin;
use candid::Principal;
use ic_management_canister_types::{
    ChangeDetails, ChangeOrigin, ControllersChangeRecord, FromUserRecord,
};

/// A fault to arm on a canister.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The canister's next message (update, callback, timer, heartbeat) traps
    /// before running, with the usual rollback.
    TrapNextMessage,
    /// The next upgrade's `post_upgrade` traps, so the upgrade fails atomically.
    TrapNextPostUpgrade,
    /// An open call context that never completes: the canister can stop only
    /// after [`Fault::AllowStop`].
    NeverStop,
    /// Lifts [`Fault::NeverStop`].
    AllowStop,
    /// Sets the balance to 0: the canister is frozen and its calls fail.
    DrainCycles,
    /// Replaces the controllers without any authorization (someone else, e.g.
    /// the recovery principal, changed them behind the canister's back).
    SetControllers(Vec<Principal>),
    /// Responses to this canister's calls are held back this many rounds
    /// (0 lifts the delay).
    DelayResponses(u64),
}

impl Emulator {
    /// Arms `fault` on `canister`.
    pub fn inject_fault(&self, canister: Principal, fault: Fault) -> Result<(), RejectResponse> {
        let mut sm = self.sm.borrow_mut();
        let time = sm.time;
        sm.canister(&canister)?;
        match fault {
            Fault::TrapNextMessage => sm.canister_mut(&canister)?.faults.trap_next_message = true,
            Fault::TrapNextPostUpgrade => {
                sm.canister_mut(&canister)?.faults.trap_next_post_upgrade = true
            }
            Fault::NeverStop => {
                sm.open_context(
                    canister,
                    Origin::Phantom,
                    "<emulator fault: never stops>",
                    0,
                    0,
                );
            }
            Fault::AllowStop => {
                sm.canister_mut(&canister)?
                    .call_contexts
                    .retain(|_, cc| cc.origin != Origin::Phantom);
            }
            Fault::DrainCycles => sm.canister_mut(&canister)?.cycles = 0,
            Fault::SetControllers(controllers) => {
                let c = sm.canister_mut(&canister)?;
                c.settings.controllers = controllers.clone();
                c.version += 1;
                let origin = ChangeOrigin::FromUser(FromUserRecord {
                    user_id: Principal::anonymous(),
                });
                c.add_change(
                    time,
                    origin,
                    ChangeDetails::ControllersChange(ControllersChangeRecord { controllers }),
                );
            }
            Fault::DelayResponses(rounds) => {
                sm.canister_mut(&canister)?.faults.response_delay_rounds = rounds
            }
        }
        Ok(())
    }
}
