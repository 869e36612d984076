//! Argument and result types of the factory's Candid interface (`factory_api`),
//! and the user page they describe.

use crate::state::FactoryState;
use crate::users::UserView;
use ic_stable_structures::Memory;
use std::ops::Bound;

pub use factory_api::{
    AuditQuery, BuildInfo, FactoryArg, FactoryInitArgs, FactorySettings, FactoryUpgradeArgs,
    ListReleasesArgs, ListUsersArgs, ProvisionArgs, ReleaseStateChange, RequestUpgradeArgs,
    RotateRecoveryArgs, UserPage,
};
pub use factory_api::{CyclesQuery, CyclesStatus, DaySpend, PaidProvisionArgs, ProvisionPrice};
pub use factory_api::{ReclaimPolicy, ReclaimQuery, ReclaimStatus, ReclaimedView};

pub const MAX_USER_PAGE: u32 = 1_000;

pub fn list_users<M: Memory>(s: &FactoryState<M>, args: &ListUsersArgs) -> UserPage {
    let limit = args.limit.clamp(1, MAX_USER_PAGE) as usize;
    let start = match args.start_after {
        Some(p) => Bound::Excluded(p),
        None => Bound::Unbounded,
    };
    let epoch = s.epoch();
    let users: Vec<UserView> = s
        .users
        .range((start, Bound::Unbounded))
        .take(limit + 1)
        .map(|r| r.view(epoch))
        .collect();
    let next = (users.len() > limit).then(|| users[limit - 1].owner);
    UserPage {
        users: users.into_iter().take(limit).collect(),
        next,
    }
}
