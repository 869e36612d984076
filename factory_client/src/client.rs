//! One method per factory endpoint.

use crate::transport::{Transport, TransportError};
use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::{CandidType, Deserialize, Principal};
use factory_api::methods::Method;
use factory_api::*;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// The factory answered with one of its typed errors.
    Factory(FactoryError),
    /// The call was rejected or could not be made.
    Transport(TransportError),
    /// The reply was not what the interface says.
    Candid(String),
    /// A local check failed before anything was sent (e.g. a file is not wasm).
    Invalid(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Factory(e) => write!(f, "the factory refused: {e}"),
            ClientError::Transport(e) => write!(f, "{e}"),
            ClientError::Candid(e) => write!(f, "unexpected reply: {e}"),
            ClientError::Invalid(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<FactoryError> for ClientError {
    fn from(e: FactoryError) -> Self {
        ClientError::Factory(e)
    }
}

impl From<TransportError> for ClientError {
    fn from(e: TransportError) -> Self {
        ClientError::Transport(e)
    }
}

pub struct FactoryClient<T> {
    pub transport: T,
    pub factory: Principal,
}

type Res<T> = Result<T, ClientError>;

impl<T: Transport> FactoryClient<T> {
    pub fn new(transport: T, factory: Principal) -> Self {
        FactoryClient { transport, factory }
    }

    fn raw<A: ArgumentEncoder, R: for<'de> ArgumentDecoder<'de>>(
        &self,
        query: bool,
        method: Method,
        args: A,
    ) -> Res<R> {
        let method = method.name();
        let bytes = candid::encode_args(args).map_err(|e| ClientError::Candid(e.to_string()))?;
        let reply = if query {
            self.transport.query(self.factory, method, bytes)?
        } else {
            self.transport.update(self.factory, method, bytes)?
        };
        candid::decode_args(&reply).map_err(|e| ClientError::Candid(format!("{method}: {e}")))
    }

    /// An endpoint answering `Result<R, FactoryError>`.
    fn call<A: ArgumentEncoder, R: CandidType + for<'de> Deserialize<'de>>(
        &self,
        query: bool,
        method: Method,
        args: A,
    ) -> Res<R> {
        let (result,): (Result<R, FactoryError>,) = self.raw(query, method, args)?;
        result.map_err(ClientError::Factory)
    }

    pub fn version(&self) -> Res<BuildInfo> {
        self.raw(true, Method::Version, ()).map(|(v,)| v)
    }

    pub fn metrics(&self) -> Res<String> {
        let req = HttpRequest {
            method: "GET".into(),
            url: "/metrics".into(),
            headers: vec![],
            body: Default::default(),
        };
        let (resp,): (HttpResponse,) = self.raw(true, Method::HttpRequest, (req,))?;
        if resp.status_code != 200 {
            return Err(ClientError::Invalid(format!(
                "/metrics answered {}",
                resp.status_code
            )));
        }
        String::from_utf8(resp.body.into_vec()).map_err(|e| ClientError::Candid(e.to_string()))
    }

    pub fn list_releases(&self, after: Option<String>, limit: u32) -> Res<Vec<Release>> {
        self.call(
            true,
            Method::ListReleases,
            (ListReleasesArgs { after, limit },),
        )
    }

    pub fn get_release(&self, version: &str) -> Res<Release> {
        self.call(true, Method::GetRelease, (version,))
    }

    pub fn provision(&self, recovery: Principal) -> Res<Principal> {
        self.call(false, Method::Provision, (ProvisionArgs { recovery },))
    }

    pub fn my_canister(&self) -> Res<UserView> {
        self.call(true, Method::MyCanister, ())
    }

    pub fn rotate_recovery(&self, canister_id: Principal, new_recovery: Principal) -> Res<()> {
        let args = RotateRecoveryArgs {
            canister_id,
            new_recovery,
        };
        self.call(false, Method::RotateRecovery, (args,))
    }

    pub fn restore_snapshot(&self, canister_id: Principal) -> Res<()> {
        self.call(false, Method::RestoreSnapshot, (canister_id,))
    }

    pub fn reinstall_last_good(&self, canister_id: Principal) -> Res<String> {
        self.call(false, Method::ReinstallLastGood, (canister_id,))
    }

    pub fn detach(&self, canister_id: Principal) -> Res<()> {
        self.call(false, Method::Detach, (canister_id,))
    }

    pub fn get_user(&self, owner: Principal) -> Res<UserView> {
        self.call(true, Method::GetUser, (owner,))
    }

    pub fn list_users(&self, start_after: Option<Principal>, limit: u32) -> Res<UserPage> {
        self.call(
            true,
            Method::ListUsers,
            (ListUsersArgs { start_after, limit },),
        )
    }

    pub fn get_config(&self) -> Res<FactorySettings> {
        self.call(true, Method::GetConfig, ())
    }

    pub fn set_config(&self, config: FactoryConfig) -> Res<()> {
        self.call(false, Method::SetConfig, (config,))
    }

    pub fn set_approval_policy(&self, policy: RegistryConfig) -> Res<Vec<String>> {
        self.call(false, Method::SetApprovalPolicy, (policy,))
    }

    pub fn list_admins(&self) -> Res<Vec<Principal>> {
        self.call(true, Method::ListAdmins, ())
    }

    pub fn add_admin(&self, admin: Principal) -> Res<()> {
        self.call(false, Method::AddAdmin, (admin,))
    }

    pub fn remove_admin(&self, admin: Principal) -> Res<()> {
        self.call(false, Method::RemoveAdmin, (admin,))
    }

    pub fn set_allowlist(&self, principals: Vec<Principal>) -> Res<()> {
        self.call(false, Method::SetAllowlist, (principals,))
    }

    pub fn audit_log(&self, before: Option<u64>, limit: u32) -> Res<AuditPage> {
        self.call(true, Method::AuditLog, (AuditQuery { before, limit },))
    }

    pub fn begin_release(&self, args: BeginUpload) -> Res<UploadStatus> {
        self.call(false, Method::BeginRelease, (args,))
    }

    pub fn upload_release_chunk(&self, args: UploadChunk) -> Res<Sha256> {
        self.call(false, Method::UploadReleaseChunk, (args,))
    }

    pub fn commit_release(&self, version: &str) -> Res<Release> {
        self.call(false, Method::CommitRelease, (version,))
    }

    pub fn abort_release(&self, version: &str) -> Res<()> {
        self.call(false, Method::AbortRelease, (version,))
    }

    pub fn approve_release(&self, version: &str) -> Res<ReleaseState> {
        self.call(false, Method::ApproveRelease, (version,))
    }

    pub fn deprecate_release(&self, version: &str, reason: &str) -> Res<()> {
        let args = ReleaseStateChange {
            version: version.into(),
            reason: reason.into(),
        };
        self.call(false, Method::DeprecateRelease, (args,))
    }

    pub fn revoke_release(&self, version: &str, reason: &str) -> Res<()> {
        let args = ReleaseStateChange {
            version: version.into(),
            reason: reason.into(),
        };
        self.call(false, Method::RevokeRelease, (args,))
    }

    /// Starts a rollout and returns its id.
    pub fn start_rollout(&self, plan: RolloutPlan) -> Res<u64> {
        self.call(false, Method::StartRollout, (plan,))
    }

    pub fn pause_rollout(&self) -> Res<()> {
        self.call(false, Method::PauseRollout, ())
    }

    pub fn resume_rollout(&self) -> Res<()> {
        self.call(false, Method::ResumeRollout, ())
    }

    pub fn cancel_rollout(&self) -> Res<()> {
        self.call(false, Method::CancelRollout, ())
    }

    pub fn rollout_status(&self) -> Res<RolloutStatus> {
        self.call(true, Method::RolloutStatus, ())
    }

    pub fn rollout_history(&self, query: HistoryQuery) -> Res<HistoryPage> {
        self.call(true, Method::RolloutHistory, (query,))
    }

    /// On-demand upgrade of `canister_id` (by its owner or recovery principal);
    /// `version: None` asks for the newest approved release.
    pub fn request_upgrade(
        &self,
        canister_id: Principal,
        version: Option<String>,
    ) -> Res<UpgradeAccepted> {
        let args = RequestUpgradeArgs {
            canister_id,
            version,
        };
        self.call(false, Method::RequestUpgrade, (args,))
    }

    pub fn upgrade_status(&self, canister_id: Principal) -> Res<UpgradeStatus> {
        self.call(true, Method::UpgradeStatus, (canister_id,))
    }

    pub fn cycles_status(&self, q: CyclesQuery) -> Res<CyclesStatus> {
        self.call(true, Method::CyclesStatus, (q,))
    }

    pub fn cycles_report(&self, days: u32) -> Res<Vec<DaySpend>> {
        self.call(true, Method::CyclesReport, (days,))
    }

    /// The reclaim policy, its totals and a page of reclaimed canisters.
    pub fn reclaim_status(&self, q: ReclaimQuery) -> Res<ReclaimStatus> {
        self.call(true, Method::ReclaimStatus, (q,))
    }

    /// Brings a reclaimed canister back (its owner or recovery principal).
    pub fn revive(&self, canister_id: Principal) -> Res<()> {
        self.call(false, Method::Revive, (canister_id,))
    }

    /// What a user canister sends about itself (one-way there; for tests).
    pub fn report_activity(&self) -> Res<()> {
        self.call(false, Method::ReportActivity, ())
    }

    /// Index: its shards and their load.
    pub fn list_shards(&self) -> Res<Vec<ShardView>> {
        self.call(true, Method::ListShards, ())
    }

    /// Index: registers a factory installed as its shard.
    pub fn add_shard(&self, canister_id: Principal, capacity: Option<u64>) -> Res<ShardView> {
        let args = AddShardArgs {
            canister_id,
            capacity,
        };
        self.call(false, Method::AddShard, (args,))
    }

    /// Index: the fleet rollout, with a row per shard.
    pub fn fleet_rollout_status(&self) -> Res<Option<FleetRollout>> {
        self.call(true, Method::FleetRolloutStatus, ())
    }

    /// Index: creates a canister, installs `module` in it as a shard, registers it.
    pub fn create_shard(
        &self,
        module: Vec<u8>,
        capacity: Option<u64>,
        cycles: Option<u128>,
        subnet: Option<Principal>,
    ) -> Res<ShardView> {
        let args = CreateShardArgs {
            module: module.into(),
            capacity,
            cycles,
            subnet,
        };
        self.call(false, Method::CreateShard, (args,))
    }

    /// Index: upgrades every shard to `module`, one at a time.
    pub fn upgrade_shards(&self, module: Vec<u8>) -> Res<Vec<ShardUpgradeRow>> {
        let module = serde_bytes::ByteBuf::from(module);
        self.call(false, Method::UpgradeShards, (module,))
    }

    /// Index: copies `version`'s approval (or revocation) to every shard.
    pub fn push_release(&self, version: &str) -> Res<Vec<ShardReleaseRow>> {
        self.call(false, Method::PushRelease, (version,))
    }
}
