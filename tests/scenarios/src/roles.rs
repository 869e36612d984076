//! The cast of callers the access tests use: one principal per role, set up
//! in a world where the owner (user 1) and another user (user 2) each have a
//! canister, so every role is real (not just a name).

use crate::{principal, recovery_of, user, World};
use candid::Principal;
use factory_client::FactorySettings;

/// Who calls. `UserCanister` is the owner's canister calling as itself (the
/// factory's `request_upgrade_from_canister` is for it); `Controller`
/// controls the factory but is no admin; `Admin` is an admin but no controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Anonymous,
    Stranger,
    Owner,
    OtherUser,
    Recovery,
    Admin,
    UserCanister,
    Controller,
}

impl Role {
    /// The columns of the access table, in order.
    pub const ALL: [Role; 8] = [
        Role::Anonymous,
        Role::Stranger,
        Role::Owner,
        Role::OtherUser,
        Role::Recovery,
        Role::Admin,
        Role::UserCanister,
        Role::Controller,
    ];
}

/// A world with the roles in place: the subject canister (`canister`, owned
/// by user 1, recovery principal `recovery_of(1)`) and another user's canister.
pub struct Cast {
    pub world: World,
    /// The owner's canister: the subject of every call that names a canister.
    pub canister: Principal,
    pub other_canister: Principal,
    pub settings: FactorySettings,
}

pub const OWNER: u64 = 1;
pub const OTHER_USER: u64 = 2;

impl Cast {
    /// Release 1.0.0 published, users 1 and 2 provisioned.
    pub fn new() -> Cast {
        let world = World::new();
        world.publish("1.0.0");
        let canister = world.provision(OWNER);
        let other_canister = world.provision(OTHER_USER);
        let settings = world.admin().get_config().expect("admin reads the config");
        Cast {
            world,
            canister,
            other_canister,
            settings,
        }
    }

    pub fn principal(&self, role: Role) -> Principal {
        match role {
            Role::Anonymous => Principal::anonymous(),
            Role::Stranger => principal(999_999),
            Role::Owner => user(OWNER),
            Role::OtherUser => user(OTHER_USER),
            Role::Recovery => recovery_of(OWNER),
            Role::Admin => self.world.admin,
            Role::UserCanister => self.canister,
            Role::Controller => self.world.operator,
        }
    }
}

impl Default for Cast {
    fn default() -> Self {
        Self::new()
    }
}
