//! The factory's configuration, as admins set it (`set_config`, the init argument).

use crate::error::FactoryError;
use candid::{CandidType, Deserialize};

/// Who may provision a canister.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProvisioningMode {
    /// Any authenticated principal.
    Open,
    /// Only principals on the allowlist.
    AllowListOnly,
    /// Nobody (e.g. during an incident).
    Closed,
    /// Any authenticated principal who pays for the canister from the cycles
    /// ledger (`provision_paid`); `provision` is refused.
    Paid,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FactoryConfig {
    /// Cycles each new user canister starts with (the creation fee is extra).
    pub cycles_per_canister: u128,
    /// The factory never spends its balance below this.
    pub cycles_reserve: u128,
    pub provisioning: ProvisioningMode,
    /// Global limit on new canisters, against abuse.
    pub provision_rate: RateLimit,
    /// Per-user limit on on-demand upgrades.
    pub user_upgrade_rate: RateLimit,
    /// The cycles keeper (`cycles_status`); None: off, canisters are topped
    /// up only when a rollout reaches them.
    pub keeper: Option<crate::cycles::KeeperConfig>,
    /// Reclaiming dormant canisters (`reclaim_status`); None: off.
    pub reclaim: Option<crate::reclaim::ReclaimPolicy>,
}

const SECOND_NS: u64 = 1_000_000_000;

impl Default for FactoryConfig {
    fn default() -> Self {
        FactoryConfig {
            cycles_per_canister: 1_000_000_000_000,
            cycles_reserve: 10_000_000_000_000,
            provisioning: ProvisioningMode::Open,
            provision_rate: RateLimit {
                capacity: 100,
                refill_period_ns: SECOND_NS / 10,
            },
            user_upgrade_rate: RateLimit {
                capacity: 3,
                refill_period_ns: 600 * SECOND_NS,
            },
            keeper: None,
            reclaim: None,
        }
    }
}

impl FactoryConfig {
    pub fn validate(&self) -> Result<(), FactoryError> {
        let invalid = |why: &str| Err(FactoryError::InvalidConfig(why.to_string()));
        if self.cycles_per_canister == 0 {
            return invalid("cycles_per_canister must be positive");
        }
        for (name, rate) in [
            ("provision_rate", self.provision_rate),
            ("user_upgrade_rate", self.user_upgrade_rate),
        ] {
            if rate.capacity == 0 || rate.refill_period_ns == 0 {
                return Err(FactoryError::InvalidConfig(format!(
                    "{name} needs a positive capacity and refill period (close provisioning instead)"
                )));
            }
        }
        if let Some(keeper) = &self.keeper {
            keeper.validate()?;
        }
        if let Some(reclaim) = &self.reclaim {
            reclaim.validate()?;
        }
        Ok(())
    }
}

/// How fast something may happen.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed at once after a quiet period.
    pub capacity: u32,
    /// One more request is allowed every this many nanoseconds.
    pub refill_period_ns: u64,
}

/// Refuses a policy no release could ever meet with `admins` admins: the
/// uploader (an admin) is one of them, and counts only if the policy says so.
pub fn check_approval_policy(
    policy: &wasm_registry::RegistryConfig,
    admins: u64,
) -> Result<(), FactoryError> {
    let approvers = if policy.uploader_counts {
        admins
    } else {
        admins.saturating_sub(1)
    };
    if u64::from(policy.approvals_required) <= approvers {
        return Ok(());
    }
    let who = if policy.uploader_counts {
        "admins"
    } else {
        "admins besides the uploader"
    };
    Err(FactoryError::InvalidConfig(format!(
        "{} approvals required, but there are only {approvers} {who}: no release could ever be approved",
        policy.approvals_required
    )))
}
