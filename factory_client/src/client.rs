//! One method per factory endpoint.

use crate::transport::{Transport, TransportError};
use candid::utils::{ArgumentDecoder, ArgumentEncoder};
use candid::{CandidType, Deserialize, Principal};
use factory::audit::AuditPage;
use factory::config::FactoryConfig;
use factory::error::FactoryError;
use factory::metrics::{HttpRequest, HttpResponse};
use factory::rollout::on_demand::UpgradeAccepted;
use factory::rollout::plan::RolloutPlan;
use factory::rollout::status::{HistoryPage, HistoryQuery, RolloutStatus, UpgradeStatus};
use factory::types::*;
use factory::users::UserView;
use std::fmt;
use wasm_registry::{
    BeginUpload, RegistryConfig, Release, ReleaseState, Sha256, UploadChunk, UploadStatus,
};

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
        method: &str,
        args: A,
    ) -> Res<R> {
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
        method: &str,
        args: A,
    ) -> Res<R> {
        let (result,): (Result<R, FactoryError>,) = self.raw(query, method, args)?;
        result.map_err(ClientError::Factory)
    }

    pub fn version(&self) -> Res<BuildInfo> {
        self.raw(true, "version", ()).map(|(v,)| v)
    }

    pub fn metrics(&self) -> Res<String> {
        let req = HttpRequest {
            method: "GET".into(),
            url: "/metrics".into(),
            headers: vec![],
            body: Default::default(),
        };
        let (resp,): (HttpResponse,) = self.raw(true, "http_request", (req,))?;
        if resp.status_code != 200 {
            return Err(ClientError::Invalid(format!(
                "/metrics answered {}",
                resp.status_code
            )));
        }
        String::from_utf8(resp.body.into_vec()).map_err(|e| ClientError::Candid(e.to_string()))
    }

    pub fn list_releases(&self, after: Option<String>, limit: u32) -> Res<Vec<Release>> {
        self.call(true, "list_releases", (ListReleasesArgs { after, limit },))
    }

    pub fn get_release(&self, version: &str) -> Res<Release> {
        self.call(true, "get_release", (version,))
    }

    pub fn provision(&self, recovery: Principal) -> Res<Principal> {
        self.call(false, "provision", (ProvisionArgs { recovery },))
    }

    pub fn my_canister(&self) -> Res<UserView> {
        self.call(true, "my_canister", ())
    }

    pub fn rotate_recovery(&self, canister_id: Principal, new_recovery: Principal) -> Res<()> {
        let args = RotateRecoveryArgs {
            canister_id,
            new_recovery,
        };
        self.call(false, "rotate_recovery", (args,))
    }

    pub fn restore_snapshot(&self, canister_id: Principal) -> Res<()> {
        self.call(false, "restore_snapshot", (canister_id,))
    }

    pub fn reinstall_last_good(&self, canister_id: Principal) -> Res<String> {
        self.call(false, "reinstall_last_good", (canister_id,))
    }

    pub fn detach(&self, canister_id: Principal) -> Res<()> {
        self.call(false, "detach", (canister_id,))
    }

    pub fn get_user(&self, owner: Principal) -> Res<UserView> {
        self.call(true, "get_user", (owner,))
    }

    pub fn list_users(&self, start_after: Option<Principal>, limit: u32) -> Res<UserPage> {
        self.call(true, "list_users", (ListUsersArgs { start_after, limit },))
    }

    pub fn get_config(&self) -> Res<FactorySettings> {
        self.call(true, "get_config", ())
    }

    pub fn set_config(&self, config: FactoryConfig) -> Res<()> {
        self.call(false, "set_config", (config,))
    }

    pub fn set_approval_policy(&self, policy: RegistryConfig) -> Res<Vec<String>> {
        self.call(false, "set_approval_policy", (policy,))
    }

    pub fn list_admins(&self) -> Res<Vec<Principal>> {
        self.call(true, "list_admins", ())
    }

    pub fn add_admin(&self, admin: Principal) -> Res<()> {
        self.call(false, "add_admin", (admin,))
    }

    pub fn remove_admin(&self, admin: Principal) -> Res<()> {
        self.call(false, "remove_admin", (admin,))
    }

    pub fn set_allowlist(&self, principals: Vec<Principal>) -> Res<()> {
        self.call(false, "set_allowlist", (principals,))
    }

    pub fn audit_log(&self, before: Option<u64>, limit: u32) -> Res<AuditPage> {
        self.call(true, "audit_log", (AuditQuery { before, limit },))
    }

    pub fn begin_release(&self, args: BeginUpload) -> Res<UploadStatus> {
        self.call(false, "begin_release", (args,))
    }

    pub fn upload_release_chunk(&self, args: UploadChunk) -> Res<Sha256> {
        self.call(false, "upload_release_chunk", (args,))
    }

    pub fn commit_release(&self, version: &str) -> Res<Release> {
        self.call(false, "commit_release", (version,))
    }

    pub fn abort_release(&self, version: &str) -> Res<()> {
        self.call(false, "abort_release", (version,))
    }

    pub fn approve_release(&self, version: &str) -> Res<ReleaseState> {
        self.call(false, "approve_release", (version,))
    }

    pub fn deprecate_release(&self, version: &str, reason: &str) -> Res<()> {
        let args = ReleaseStateChange {
            version: version.into(),
            reason: reason.into(),
        };
        self.call(false, "deprecate_release", (args,))
    }

    pub fn revoke_release(&self, version: &str, reason: &str) -> Res<()> {
        let args = ReleaseStateChange {
            version: version.into(),
            reason: reason.into(),
        };
        self.call(false, "revoke_release", (args,))
    }

    /// Starts a rollout and returns its id.
    pub fn start_rollout(&self, plan: RolloutPlan) -> Res<u64> {
        self.call(false, "start_rollout", (plan,))
    }

    pub fn pause_rollout(&self) -> Res<()> {
        self.call(false, "pause_rollout", ())
    }

    pub fn resume_rollout(&self) -> Res<()> {
        self.call(false, "resume_rollout", ())
    }

    pub fn cancel_rollout(&self) -> Res<()> {
        self.call(false, "cancel_rollout", ())
    }

    pub fn rollout_status(&self) -> Res<RolloutStatus> {
        self.call(true, "rollout_status", ())
    }

    pub fn rollout_history(&self, query: HistoryQuery) -> Res<HistoryPage> {
        self.call(true, "rollout_history", (query,))
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
        self.call(false, "request_upgrade", (args,))
    }

    pub fn upgrade_status(&self, canister_id: Principal) -> Res<UpgradeStatus> {
        self.call(true, "upgrade_status", (canister_id,))
    }
}
