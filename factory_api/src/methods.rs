//! The factory's method names, one variant per endpoint of `factory.did`
//! (`factory` checks this list against its own endpoints and the `.did`).

/// `Method::Provision.name()` is the Candid method name (`snake_case`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumIter, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Method {
    AbortRelease,
    AddAdmin,
    /// Index: registers a shard.
    AddShard,
    ApproveRelease,
    AuditLog,
    BeginRelease,
    CancelRollout,
    CommitRelease,
    CyclesReport,
    CyclesStatus,
    /// Index: creates, installs and registers a shard.
    CreateShard,
    DeprecateRelease,
    Detach,
    /// Index: the fleet rollout with a row per shard.
    FleetRolloutStatus,
    GetConfig,
    GetRelease,
    GetUser,
    HttpRequest,
    ListAdmins,
    ListReleases,
    /// Index: the shards and their load.
    ListShards,
    ListUsers,
    MyCanister,
    /// A user canister's one-way "low on cycles" notice about itself.
    NotifyLowCycles,
    PauseRollout,
    Provision,
    ProvisionPaid,
    ProvisionPrice,
    /// Index: copies a release's registry state to every shard.
    PushRelease,
    /// The reclaim policy and the reclaimed canisters.
    ReclaimStatus,
    ReinstallLastGood,
    RemoveAdmin,
    /// A user canister's one-way report that its owner was active.
    ReportActivity,
    RequestUpgrade,
    /// The one a user canister calls, one-way, about itself.
    RequestUpgradeFromCanister,
    RestoreSnapshot,
    ResumeRollout,
    /// Brings a reclaimed canister back from its snapshot.
    Revive,
    RevokeRelease,
    RolloutHistory,
    RolloutStatus,
    RotateRecovery,
    SetAllowlist,
    SetApprovalPolicy,
    SetConfig,
    /// Index: a shard's one-way report of its part of a fleet rollout.
    ShardProgress,
    /// Shard: a `provision` its index forwards.
    ShardProvision,
    /// Shard: its index starts its part of a fleet rollout or lets it go on.
    ShardRollout,
    StartRollout,
    UpgradeStatus,
    /// Index: upgrades every shard, one at a time (stop, install, start).
    UpgradeShards,
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
        assert_eq!(Method::all().count(), 53);
    }
}
