//! Who may call what: the one place that decides, for every endpoint.
//!
//! | endpoint          | owner | factory | controller (recovery) | anyone else, anonymous |
//! |-------------------|-------|---------|-----------------------|------------------------|
//! | `version`         | yes   | yes     | yes                   | yes (no private data)  |
//! | `health`          | yes   | yes     | yes                   | `Unauthorized`         |
//! | `get`, `list`     | yes   | `NotOwner` | `NotOwner`         | `NotOwner`             |
//! | `put`, `delete`   | yes   | `NotOwner` | `NotOwner`         | `NotOwner`             |
//! | `request_upgrade` | yes   | `NotOwner` | `NotOwner`         | `NotOwner`             |
//!
//! `health` reveals usage and the cycle balance, so it is not public. The recovery principal
//! is a controller: it can always act through the management canister, but it does not read
//! the owner's data. The anonymous principal never gets a role, even if named in the args.
//! The same decision also filters ingress in `canister_inspect_message`, so strangers' update
//! calls are dropped before they cost this canister cycles; that filter is an optimization
//! only (inter-canister calls skip it), every endpoint still checks.

use crate::types::UserError;
use candid::Principal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Version,
    Health,
    Get,
    List,
    Put,
    Delete,
    RequestUpgrade,
}

impl Endpoint {
    pub const ALL: [Endpoint; 7] = [
        Endpoint::Version,
        Endpoint::Health,
        Endpoint::Get,
        Endpoint::List,
        Endpoint::Put,
        Endpoint::Delete,
        Endpoint::RequestUpgrade,
    ];

    /// The Candid method name.
    pub fn method(self) -> &'static str {
        match self {
            Endpoint::Version => "version",
            Endpoint::Health => "health",
            Endpoint::Get => "get",
            Endpoint::List => "list",
            Endpoint::Put => "put",
            Endpoint::Delete => "delete",
            Endpoint::RequestUpgrade => "request_upgrade",
        }
    }

    pub fn from_method(name: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.method() == name)
    }

    /// The table above.
    fn access(self) -> Access {
        match self {
            Endpoint::Version => Access::Public,
            Endpoint::Health => Access::Operators,
            Endpoint::Get
            | Endpoint::List
            | Endpoint::Put
            | Endpoint::Delete
            | Endpoint::RequestUpgrade => Access::OwnerOnly,
        }
    }
}

enum Access {
    Public,
    /// The owner, the factory and the controllers.
    Operators,
    OwnerOnly,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Owner,
    Factory,
    Controller,
    Anonymous,
    Stranger,
}

/// The caller's role. The first match wins: an owner who is also a controller is the owner.
pub fn role(
    caller: Principal,
    owner: Principal,
    factory: Principal,
    caller_is_controller: bool,
) -> Role {
    if caller == Principal::anonymous() {
        Role::Anonymous
    } else if caller == owner {
        Role::Owner
    } else if caller == factory {
        Role::Factory
    } else if caller_is_controller {
        Role::Controller
    } else {
        Role::Stranger
    }
}

/// Allowed, or the error the caller gets.
pub fn authorize(endpoint: Endpoint, role: Role, caller: Principal) -> Result<(), UserError> {
    match (endpoint.access(), role) {
        (Access::Public, _) | (_, Role::Owner) => Ok(()),
        (Access::Operators, Role::Factory | Role::Controller) => Ok(()),
        (Access::Operators, _) => Err(UserError::Unauthorized { caller }),
        (Access::OwnerOnly, _) => Err(UserError::NotOwner { caller }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    #[test]
    fn roles_are_recognized_in_order() {
        let (owner, factory, other) = (p(1), p(2), p(3));
        let anon = Principal::anonymous();
        assert_eq!(role(owner, owner, factory, false), Role::Owner);
        assert_eq!(role(owner, owner, factory, true), Role::Owner);
        assert_eq!(role(factory, owner, factory, true), Role::Factory);
        assert_eq!(role(other, owner, factory, true), Role::Controller);
        assert_eq!(role(other, owner, factory, false), Role::Stranger);
        assert_eq!(role(anon, owner, factory, false), Role::Anonymous);
        // Even when the args name it, anonymous is nobody.
        assert_eq!(role(anon, anon, anon, true), Role::Anonymous);
    }

    /// Every endpoint × every role, written out: the table in the module docs.
    #[test]
    fn the_access_table() {
        use Endpoint::*;
        use Role::*;
        const Y: char = 'y'; // allowed
        const U: char = 'U'; // Unauthorized
        const N: char = 'N'; // NotOwner
        let roles = [Owner, Factory, Controller, Anonymous, Stranger];
        let table = [
            (Version, [Y, Y, Y, Y, Y]),
            (Health, [Y, Y, Y, U, U]),
            (Get, [Y, N, N, N, N]),
            (List, [Y, N, N, N, N]),
            (Put, [Y, N, N, N, N]),
            (Delete, [Y, N, N, N, N]),
            (RequestUpgrade, [Y, N, N, N, N]),
        ];
        assert_eq!(table.len(), Endpoint::ALL.len());
        let caller = p(9);
        for (endpoint, row) in table {
            for (role, want) in roles.into_iter().zip(row) {
                let expected = match want {
                    Y => Ok(()),
                    U => Err(UserError::Unauthorized { caller }),
                    _ => Err(UserError::NotOwner { caller }),
                };
                assert_eq!(
                    authorize(endpoint, role, caller),
                    expected,
                    "{endpoint:?} as {role:?}"
                );
            }
        }
    }

    #[test]
    fn method_names_roundtrip() {
        for e in Endpoint::ALL {
            assert_eq!(Endpoint::from_method(e.method()), Some(e));
        }
        assert_eq!(
            Endpoint::from_method("__get_candid_interface_tmp_hack"),
            None
        );
        assert_eq!(Endpoint::from_method("Put"), None);
    }
}
