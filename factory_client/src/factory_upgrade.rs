//! Upgrading the factory itself, the safe way (`factoryctl factory upgrade`):
//! stop it — the IC answers the stop only once every call the factory awaits
//! has been answered, so no reply can reach the new module — install the
//! new module in upgrade mode, and start it again, whatever the install did.
//! A factory upgraded while running refuses in `pre_upgrade` for that reason.

use crate::client::{ClientError, FactoryClient};
use crate::transport::{Transport, TransportError};
use candid::{CandidType, Deserialize};
use factory_api::{FactoryArg, FactoryUpgradeArgs, RolloutStatus};
use ic_management_canister_types::{
    CanisterIdRecord, CanisterInstallMode, CanisterStatusType, InstallCodeArgs,
};
use wasm_registry::Sha256;

/// The largest module one `install_code` ingress message carries: 2 MiB per
/// message (`MAX_INTER_CANISTER_PAYLOAD_IN_BYTES_U64` in dfinity/ic
/// `rs/types/types/src/messages.rs`; the ingress limit is the same) less room
/// for the rest of the message.
pub const MAX_MODULE_BYTES: usize = 2 * 1024 * 1024 - 16 * 1024;

/// What a factory upgrade did.
#[derive(Clone, Debug)]
pub struct FactoryUpgraded {
    pub previous_module: Option<Sha256>,
    pub module: Sha256,
    /// The rollout as the upgraded factory sees it, once started (refused
    /// when the controller is not also an admin).
    pub rollout: Result<RolloutStatus, ClientError>,
}

/// The part of `canister_status`'s reply read here (Candid ignores the rest).
#[derive(CandidType, Deserialize)]
struct StatusReply {
    status: CanisterStatusType,
    module_hash: Option<Vec<u8>>,
}

fn sha(bytes: Option<Vec<u8>>) -> Option<Sha256> {
    bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()).map(Sha256)
}

fn encode<A: CandidType>(a: &A) -> Result<Vec<u8>, ClientError> {
    candid::encode_one(a).map_err(|e| ClientError::Candid(e.to_string()))
}

impl<T: Transport> FactoryClient<T> {
    fn management(&self, method: &str, arg: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.transport.management_update(self.factory, method, arg)
    }

    fn factory_status(&self) -> Result<StatusReply, ClientError> {
        let id = CanisterIdRecord {
            canister_id: self.factory,
        };
        let reply = self.management("canister_status", encode(&id)?)?;
        candid::decode_one(&reply).map_err(|e| ClientError::Candid(e.to_string()))
    }

    /// Stops the factory (waiting for its calls), upgrades it to `wasm` and
    /// starts it. The caller must be a controller of the factory. If the
    /// install fails, the factory is started again on its previous module and
    /// the install's error returned.
    pub fn upgrade_factory(&self, wasm: &[u8]) -> Result<FactoryUpgraded, ClientError> {
        if wasm.len() > MAX_MODULE_BYTES {
            return Err(ClientError::Invalid(format!(
                "the module is {} bytes; one install_code message carries at most {MAX_MODULE_BYTES}",
                wasm.len()
            )));
        }
        if !(wasm.starts_with(b"\0asm") || wasm.starts_with(&[0x1f, 0x8b])) {
            return Err(ClientError::Invalid(
                "not a wasm module (nor a gzipped one)".into(),
            ));
        }
        let previous_module = sha(self.factory_status()?.module_hash);
        let id = encode(&CanisterIdRecord {
            canister_id: self.factory,
        })?;
        self.management("stop_canister", id.clone())?;
        let install = InstallCodeArgs {
            mode: CanisterInstallMode::Upgrade(None),
            canister_id: self.factory,
            wasm_module: wasm.to_vec(),
            arg: encode(&Some(FactoryArg::Upgrade(FactoryUpgradeArgs {})))?,
            sender_canister_version: None,
        };
        let installed = self.management("install_code", encode(&install)?);
        // Started again whatever the install did: a stopped factory serves no one.
        let started = self.management("start_canister", id);
        match (installed, started) {
            (Err(e), Ok(_)) => {
                return Err(ClientError::Transport(TransportError {
                    reject_code: e.reject_code,
                    message: format!(
                        "install_code failed, the factory runs its previous module again: {}",
                        e.message
                    ),
                }))
            }
            (Err(e), Err(s)) => {
                return Err(ClientError::Transport(TransportError {
                    reject_code: e.reject_code,
                    message: format!(
                        "install_code failed ({}) and the factory is still stopped: \
                         start_canister failed: {}",
                        e.message, s.message
                    ),
                }))
            }
            (Ok(_), Err(s)) => {
                return Err(ClientError::Transport(TransportError {
                    reject_code: s.reject_code,
                    message: format!(
                        "upgraded, but the factory is still stopped: start_canister failed: {}",
                        s.message
                    ),
                }))
            }
            (Ok(_), Ok(_)) => {}
        }
        let status = self.factory_status()?;
        if status.status != CanisterStatusType::Running {
            return Err(ClientError::Invalid(format!(
                "the factory is {:?} after its start",
                status.status
            )));
        }
        let module = sha(status.module_hash)
            .ok_or_else(|| ClientError::Invalid("the factory has no module".into()))?;
        Ok(FactoryUpgraded {
            previous_module,
            module,
            rollout: self.rollout_status(),
        })
    }
}
