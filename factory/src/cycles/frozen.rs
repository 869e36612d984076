//! A rollout meeting a canister too poor to be upgraded: the IC refuses an
//! install unless the canister can pay for the longest install on top of its
//! freezing limit, so the rollout tops it up to that (and the keeper's
//! threshold) or skips it with a reason — never a failed release.

use crate::runtime::StatusInfo;

/// What the IC takes up front before an install: the execution of
/// `MAX_INSTRUCTIONS_PER_INSTALL_CODE` (300 B instructions,
/// `rs/config/src/subnet_config.rs`) at up to one cycle per instruction
/// (`ten_update_instruction_execution_fee`, same file) plus the 5 M base fee
/// (`update_message_execution_fee`).
pub const INSTALL_PREPAY: u128 = 300_000_000_000 + 5_000_000;

/// The least balance an upgrade can start with.
pub fn upgrade_floor(status: &StatusInfo) -> u128 {
    status.freezing_limit.saturating_add(INSTALL_PREPAY)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unfreeze {
    /// It can pay for its upgrade.
    NotNeeded,
    /// Deposit this much first.
    TopUp(u128),
    /// The factory cannot pay without going below its reserve.
    Skip { needed: u128 },
}

/// `extra`: what to add beyond the floor (the keeper's threshold, so it does
/// not freeze again straight after); `spendable`: the factory's balance above
/// its reserve.
pub fn unfreeze(status: &StatusInfo, extra: u128, spendable: u128) -> Unfreeze {
    let floor = upgrade_floor(status);
    if status.cycles >= floor {
        return Unfreeze::NotNeeded;
    }
    let needed = floor.saturating_add(extra).saturating_sub(status.cycles);
    if needed <= spendable {
        Unfreeze::TopUp(needed)
    } else {
        Unfreeze::Skip { needed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::RunStatus;

    fn status(cycles: u128, freezing_limit: u128) -> StatusInfo {
        StatusInfo {
            status: RunStatus::Running,
            module_hash: None,
            controllers: vec![],
            cycles,
            idle_burn_per_day: 0,
            freezing_limit,
        }
    }

    #[test]
    fn cycles_a_frozen_canister_is_topped_up_or_skipped() {
        let rich = status(10 * INSTALL_PREPAY, 1_000);
        assert_eq!(unfreeze(&rich, 5, 0), Unfreeze::NotNeeded);
        let frozen = status(500, 1_000);
        let needed = 1_000 + INSTALL_PREPAY + 5 - 500;
        assert_eq!(unfreeze(&frozen, 5, needed), Unfreeze::TopUp(needed));
        assert_eq!(unfreeze(&frozen, 5, needed - 1), Unfreeze::Skip { needed });
    }
}
