//! The factory's method names, one variant per endpoint of `factory.did`
//! (`factory` checks this list against its own endpoints and the `.did`).

/// `Method::Provision.name()` is the Candid method name (`snake_case`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumIter, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Method {
    AbortRelease,
    AddAdmin,
    ApproveRelease,
    AuditLog,
    BeginRelease,
    CancelRollout,
    CommitRelease,
    CyclesReport,
    CyclesStatus,
    DeprecateRelease,
    Detach,
    GetConfig,
    GetRelease,
    GetUser,
    HttpRequest,
    ListAdmins,
    ListReleases,
    ListUsers,
    MyCanister,
    /// A user canister's one-way "low on cycles" notice about itself.
    NotifyLowCycles,
    PauseRollout,
    Provision,
    ProvisionPaid,
    ProvisionPrice,
    ReinstallLastGood,
    RemoveAdmin,
    RequestUpgrade,
    /// The one a user canister calls, one-way, about itself.
    RequestUpgradeFromCanister,
    RestoreSnapshot,
    ResumeRollout,
    RevokeRelease,
    RolloutHistory,
    RolloutStatus,
    RotateRecovery,
    SetAllowlist,
    SetApprovalPolicy,
    SetConfig,
    StartRollout,
    UpgradeStatus,
    UploadReleaseChunk,
    Version,
}

impl Method {
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Every method, in the order above.
    pub fn all() -> impl Iterator<Item = Method> {
        <Method as strum::IntoEnumIterator>::iter()
    }
}

#[cfg(test)]
mod tests {
    use super::Method;

    #[test]
    fn names_are_the_candid_method_names() {
        assert_eq!(
            Method::RequestUpgradeFromCanister.name(),
            "request_upgrade_from_canister"
        );
        assert_eq!(Method::HttpRequest.name(), "http_request");
        assert_eq!(Method::all().count(), 41);
    }
}
