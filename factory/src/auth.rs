//! The one place that decides who may call what.
//!
//! Every endpoint names itself with an [`Endpoint`] and asks [`authorize`]
//! with the facts about its caller; the table in [`allowed_roles`] is the whole
//! policy, so a table-driven test can cover every endpoint × role. A factory
//! in the Shard role narrows it in [`allowed_roles_in`]: work comes from its
//! index (and its admins), never straight from strangers.

use crate::error::FactoryError;
use candid::Principal;
use factory_api::FactoryRole;

/// The roles a caller can hold; a caller may hold several at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The anonymous principal.
    Anonymous,
    /// Any non-anonymous principal (an end user, a stranger, another user).
    Authenticated,
    /// The owner of the canister the call is about.
    Owner,
    /// The recovery principal of the canister the call is about.
    Recovery,
    /// A user canister managed by this factory (calling about itself).
    UserCanister,
    /// An admin of the factory.
    Admin,
    /// A controller of the factory canister.
    Controller,
    /// The index of this shard (only a factory in the Shard role has one).
    Index,
    /// One of this index's registered shards.
    Shard,
}

/// What the endpoint knows about its caller before deciding.
#[derive(Clone, Debug, Default)]
pub struct CallerFacts {
    pub caller: Option<Principal>,
    pub is_admin: bool,
    pub is_controller: bool,
    pub is_user_canister: bool,
    /// The caller is this shard's index.
    pub is_index: bool,
    /// The caller is one of this index's shards.
    pub is_shard: bool,
    /// Owner and recovery principal of the canister the call is about, if any.
    pub subject: Option<Subject>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subject {
    pub owner: Principal,
    pub recovery: Principal,
}

impl CallerFacts {
    pub fn roles(&self) -> Vec<Role> {
        let caller = self.caller.unwrap_or_else(Principal::anonymous);
        if caller == Principal::anonymous() {
            return vec![Role::Anonymous];
        }
        let mut roles = vec![Role::Authenticated];
        if let Some(subject) = self.subject {
            if subject.owner == caller {
                roles.push(Role::Owner);
            }
            if subject.recovery == caller {
                roles.push(Role::Recovery);
            }
        }
        for (held, role) in [
            (self.is_user_canister, Role::UserCanister),
            (self.is_admin, Role::Admin),
            (self.is_controller, Role::Controller),
            (self.is_index, Role::Index),
            (self.is_shard, Role::Shard),
        ] {
            if held {
                roles.push(role);
            }
        }
        roles
    }
}

macro_rules! endpoints {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// Every factory endpoint, by its Candid method name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Endpoint { $($variant),* }

        impl Endpoint {
            pub const ALL: &'static [Endpoint] = &[$(Endpoint::$variant),*];

            pub fn method_name(self) -> &'static str {
                match self { $(Endpoint::$variant => $name),* }
            }
        }
    };
}

endpoints! {
    Version => "version",
    HttpRequest => "http_request",
    ListReleases => "list_releases",
    GetRelease => "get_release",
    Provision => "provision",
    MyCanister => "my_canister",
    RotateRecovery => "rotate_recovery",
    RestoreSnapshot => "restore_snapshot",
    ReinstallLastGood => "reinstall_last_good",
    Detach => "detach",
    GetUser => "get_user",
    ListUsers => "list_users",
    GetConfig => "get_config",
    SetConfig => "set_config",
    SetApprovalPolicy => "set_approval_policy",
    ListAdmins => "list_admins",
    AddAdmin => "add_admin",
    RemoveAdmin => "remove_admin",
    SetAllowlist => "set_allowlist",
    AuditLog => "audit_log",
    BeginRelease => "begin_release",
    UploadReleaseChunk => "upload_release_chunk",
    CommitRelease => "commit_release",
    AbortRelease => "abort_release",
    ApproveRelease => "approve_release",
    DeprecateRelease => "deprecate_release",
    RevokeRelease => "revoke_release",
    StartRollout => "start_rollout",
    PauseRollout => "pause_rollout",
    ResumeRollout => "resume_rollout",
    CancelRollout => "cancel_rollout",
    RolloutStatus => "rollout_status",
    RolloutHistory => "rollout_history",
    RequestUpgrade => "request_upgrade",
    RequestUpgradeFromCanister => "request_upgrade_from_canister",
    UpgradeStatus => "upgrade_status",
    CyclesStatus => "cycles_status",
    CyclesReport => "cycles_report",
    NotifyLowCycles => "notify_low_cycles",
    ProvisionPaid => "provision_paid",
    ProvisionPrice => "provision_price",
    ListShards => "list_shards",
    AddShard => "add_shard",
    PushRelease => "push_release",
    ShardProvision => "shard_provision",
    FleetRolloutStatus => "fleet_rollout_status",
    ShardRollout => "shard_rollout",
    CreateShard => "create_shard",
    UpgradeShards => "upgrade_shards",
    ReportActivity => "report_activity",
    Revive => "revive",
    ReclaimStatus => "reclaim_status",
    ShardProgress => "shard_progress",
}

/// The policy: which roles may call each endpoint.
pub fn allowed_roles(endpoint: Endpoint) -> &'static [Role] {
    use Endpoint::*;
    use Role::*;
    const EVERYONE: &[Role] = &[Anonymous, Authenticated];
    const USERS: &[Role] = &[Authenticated];
    const ADMINS: &[Role] = &[Admin];
    const OWNER_OR_RECOVERY: &[Role] = &[Owner, Recovery];
    match endpoint {
        Version | HttpRequest | ListReleases | GetRelease | ProvisionPrice => EVERYONE,
        Provision | ProvisionPaid | MyCanister => USERS,
        RotateRecovery | Detach => OWNER_OR_RECOVERY,
        RestoreSnapshot | ReinstallLastGood => &[Recovery],
        // Controllers may manage admins so a lost admin set can be restored.
        ListAdmins | AddAdmin | RemoveAdmin => &[Admin, Controller],
        GetUser | ListUsers | GetConfig | SetConfig | SetApprovalPolicy | SetAllowlist
        | AuditLog => ADMINS,
        BeginRelease | UploadReleaseChunk | CommitRelease | AbortRelease | ApproveRelease
        | DeprecateRelease | RevokeRelease => ADMINS,
        StartRollout | PauseRollout | ResumeRollout | CancelRollout | RolloutStatus
        | RolloutHistory => ADMINS,
        RequestUpgrade => OWNER_OR_RECOVERY,
        // One-way, from the user canister about itself.
        RequestUpgradeFromCanister => &[UserCanister],
        UpgradeStatus => &[Owner, Recovery, Admin],
        CyclesStatus | CyclesReport => ADMINS,
        // One-way, from the user canister about itself; verified by reading
        // its balance, so a false alarm costs one status call.
        NotifyLowCycles => &[UserCanister],
        // One-way, from the user canister about itself; it can only make
        // itself look active, which only keeps it from being reclaimed.
        ReportActivity => &[UserCanister],
        Revive => OWNER_OR_RECOVERY,
        ReclaimStatus => ADMINS,
        // The index's fleet endpoints (another role answers `WrongRole`).
        ListShards | AddShard | CreateShard | UpgradeShards | PushRelease | FleetRolloutStatus => {
            ADMINS
        }
        // Only a shard has an index.
        ShardProvision | ShardRollout => &[Index],
        // One-way, from a registered shard about its own part: it can only
        // report its own row, and the index drops a report older than its own.
        ShardProgress => &[Shard],
    }
}

/// The policy of a factory in `role`. Standalone and Index follow
/// [`allowed_roles`]; a Shard takes new owners and releases only from its
/// index, and rollout commands from its index or its admins. Everything an
/// existing user does at their shard (queries, recovery, on-demand upgrades)
/// is unchanged, so users are served while the index is away.
pub fn allowed_roles_in(role: FactoryRole, endpoint: Endpoint) -> &'static [Role] {
    use Endpoint::*;
    use Role::*;
    if !matches!(role, FactoryRole::Shard { .. }) {
        return allowed_roles(endpoint);
    }
    match endpoint {
        // Owners come placed by the index, which calls `shard_provision`.
        Provision => &[],
        BeginRelease | UploadReleaseChunk | CommitRelease | AbortRelease | ApproveRelease
        | DeprecateRelease | RevokeRelease | SetApprovalPolicy => &[Index],
        StartRollout | PauseRollout | ResumeRollout | CancelRollout | RolloutStatus
        | RolloutHistory => &[Index, Admin],
        other => allowed_roles(other),
    }
}

/// Allows the call, or says why not: the anonymous principal gets
/// `AnonymousCaller`, anybody else without an allowed role `Unauthorized`.
pub fn authorize(endpoint: Endpoint, facts: &CallerFacts) -> Result<(), FactoryError> {
    authorize_in(FactoryRole::Standalone, endpoint, facts)
}

/// [`authorize`] for a factory in `role`.
pub fn authorize_in(
    role: FactoryRole,
    endpoint: Endpoint,
    facts: &CallerFacts,
) -> Result<(), FactoryError> {
    let roles = facts.roles();
    let allowed = allowed_roles_in(role, endpoint);
    if roles.iter().any(|r| allowed.contains(r)) {
        return Ok(());
    }
    if roles == [Role::Anonymous] {
        return Err(FactoryError::AnonymousCaller);
    }
    Err(FactoryError::Unauthorized {
        endpoint: endpoint.method_name().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    fn facts(caller: Principal) -> CallerFacts {
        CallerFacts {
            caller: Some(caller),
            subject: Some(Subject {
                owner: p(1),
                recovery: p(2),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn roles_follow_the_subject_and_the_flags() {
        assert_eq!(facts(Principal::anonymous()).roles(), vec![Role::Anonymous]);
        assert_eq!(facts(p(1)).roles(), vec![Role::Authenticated, Role::Owner]);
        assert_eq!(
            facts(p(2)).roles(),
            vec![Role::Authenticated, Role::Recovery]
        );
        assert_eq!(facts(p(3)).roles(), vec![Role::Authenticated]);
        let admin = CallerFacts {
            is_admin: true,
            is_controller: true,
            ..facts(p(4))
        };
        assert_eq!(
            admin.roles(),
            vec![Role::Authenticated, Role::Admin, Role::Controller]
        );
    }

    #[test]
    fn owner_and_recovery_rules() {
        assert_eq!(authorize(Endpoint::RotateRecovery, &facts(p(1))), Ok(()));
        assert_eq!(authorize(Endpoint::RotateRecovery, &facts(p(2))), Ok(()));
        assert!(matches!(
            authorize(Endpoint::RotateRecovery, &facts(p(3))),
            Err(FactoryError::Unauthorized { .. })
        ));
        assert!(authorize(Endpoint::RestoreSnapshot, &facts(p(1))).is_err());
        assert_eq!(authorize(Endpoint::RestoreSnapshot, &facts(p(2))), Ok(()));
    }

    #[test]
    fn anonymous_gets_its_own_error_and_only_public_endpoints() {
        let anon = facts(Principal::anonymous());
        for &endpoint in Endpoint::ALL {
            let public = allowed_roles(endpoint).contains(&Role::Anonymous);
            match authorize(endpoint, &anon) {
                Ok(()) => assert!(public, "{endpoint:?}"),
                Err(e) => {
                    assert!(!public);
                    assert_eq!(e, FactoryError::AnonymousCaller);
                }
            }
        }
    }

    #[test]
    fn admin_endpoints_refuse_users_and_method_names_are_unique() {
        assert!(authorize(Endpoint::SetConfig, &facts(p(1))).is_err());
        let admin = CallerFacts {
            is_admin: true,
            ..facts(p(9))
        };
        assert_eq!(authorize(Endpoint::SetConfig, &admin), Ok(()));
        let mut names: Vec<_> = Endpoint::ALL.iter().map(|e| e.method_name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Endpoint::ALL.len());
    }

    #[test]
    fn a_shard_takes_owners_and_releases_only_from_its_index() {
        let shard = FactoryRole::Shard { index: p(8) };
        let index = CallerFacts {
            is_index: true,
            subject: None,
            ..facts(p(8))
        };
        let admin = CallerFacts {
            is_admin: true,
            ..facts(p(9))
        };
        let stranger = facts(p(3));
        for e in [
            Endpoint::ShardProvision,
            Endpoint::ShardRollout,
            Endpoint::BeginRelease,
            Endpoint::UploadReleaseChunk,
            Endpoint::CommitRelease,
            Endpoint::ApproveRelease,
            Endpoint::RevokeRelease,
        ] {
            assert_eq!(authorize_in(shard, e, &index), Ok(()), "{e:?}");
            assert!(authorize_in(shard, e, &admin).is_err(), "{e:?}");
            assert!(authorize_in(shard, e, &stranger).is_err(), "{e:?}");
        }
        for caller in [&index, &admin, &stranger] {
            assert!(authorize_in(shard, Endpoint::Provision, caller).is_err());
        }
        for e in [Endpoint::StartRollout, Endpoint::PauseRollout] {
            assert_eq!(authorize_in(shard, e, &index), Ok(()));
            assert_eq!(authorize_in(shard, e, &admin), Ok(()));
            assert!(authorize_in(shard, e, &stranger).is_err());
        }
        // The owner is still served by their shard.
        assert_eq!(
            authorize_in(shard, Endpoint::RequestUpgrade, &facts(p(1))),
            Ok(())
        );
        // Outside the Shard role nobody is an index: `shard_provision` is closed.
        for role in [FactoryRole::Standalone, FactoryRole::Index] {
            assert!(authorize_in(role, Endpoint::ShardProvision, &admin).is_err());
            assert_eq!(authorize_in(role, Endpoint::Provision, &stranger), Ok(()));
            for &e in Endpoint::ALL {
                assert_eq!(allowed_roles_in(role, e), allowed_roles(e), "{e:?}");
            }
        }
    }

    #[test]
    fn rollout_and_upgrade_endpoints() {
        let user_canister = CallerFacts {
            is_user_canister: true,
            subject: None,
            ..facts(p(7))
        };
        assert_eq!(
            authorize(Endpoint::RequestUpgradeFromCanister, &user_canister),
            Ok(())
        );
        for owner_or_recovery in [p(1), p(2)] {
            let f = facts(owner_or_recovery);
            assert_eq!(authorize(Endpoint::RequestUpgrade, &f), Ok(()));
            assert_eq!(authorize(Endpoint::UpgradeStatus, &f), Ok(()));
            assert!(authorize(Endpoint::RequestUpgradeFromCanister, &f).is_err());
            assert!(authorize(Endpoint::StartRollout, &f).is_err());
        }
        assert!(authorize(Endpoint::RequestUpgrade, &facts(p(3))).is_err());
        assert!(authorize(Endpoint::RequestUpgrade, &user_canister).is_err());
        let admin = CallerFacts {
            is_admin: true,
            ..facts(p(9))
        };
        for e in [
            Endpoint::StartRollout,
            Endpoint::PauseRollout,
            Endpoint::ResumeRollout,
            Endpoint::CancelRollout,
            Endpoint::RolloutStatus,
            Endpoint::RolloutHistory,
            Endpoint::UpgradeStatus,
        ] {
            assert_eq!(authorize(e, &admin), Ok(()), "{e:?}");
            assert!(authorize(e, &facts(p(3))).is_err(), "{e:?}");
        }
    }
}
