//! What an upgrade cost the canister, under its purpose: the balance the
//! rollout read before the upgrade (plus what it topped up) less the balance
//! its confirming status read found after. Both reads happen anyway, so the
//! figure costs no call. The split between snapshot and install is an
//! estimate, not a measurement (a read between them would keep the canister
//! stopped a round longer): a snapshot is counted at the IC's price for its
//! baseline instructions, but at most half the measured drop (the install
//! always runs the hooks too; the emulator charges neither snapshots nor
//! compilation, so there the drop is small and shared equally).

/// `DEFAULT_CANISTERS_SNAPSHOT_BASELINE_INSTRUCTIONS` (2 B,
/// `rs/config/src/subnet_config.rs`), charged at one cycle per instruction
/// (`ten_update_instruction_execution_fee`, same file) plus the 5 M base fee.
pub const SNAPSHOT_CYCLES: u128 = 2_000_000_000 + 5_000_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpgradeCost {
    pub snapshot: u128,
    pub install: u128,
}

/// `before`: the balance before (top-ups included); `after`: once it runs
/// the new release; `snapshot`: whether one was taken.
pub fn upgrade_cost(before: u128, after: u128, snapshot: bool) -> UpgradeCost {
    let total = before.saturating_sub(after);
    let snapshot = if snapshot {
        (total / 2).min(SNAPSHOT_CYCLES)
    } else {
        0
    };
    UpgradeCost {
        snapshot,
        install: total - snapshot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_upgrade_cost_is_split_by_purpose() {
        let c = upgrade_cost(10 * SNAPSHOT_CYCLES, 5 * SNAPSHOT_CYCLES, true);
        assert_eq!(
            c,
            UpgradeCost {
                snapshot: SNAPSHOT_CYCLES,
                install: 4 * SNAPSHOT_CYCLES
            }
        );
        assert_eq!(upgrade_cost(100, 40, false).install, 60);
        assert_eq!(
            upgrade_cost(100, 40, true),
            UpgradeCost {
                snapshot: 30,
                install: 30
            },
            "at most half the drop"
        );
        // A balance that grew (someone topped it up meanwhile) costs nothing.
        assert_eq!(upgrade_cost(100, 150, true), UpgradeCost::default());
    }
}
