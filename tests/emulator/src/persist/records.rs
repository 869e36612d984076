//! What `subnet.<generation>.json` and the canisters' record files hold: the
//! emulator's state with memory, code and chunks replaced by references into
//! blob and module files.

use super::blobs::BlobRef;
use crate::engine::GlobalValue;
use crate::limits::InstructionLimits;
use crate::state::calls::{CallContext, Callback, Input, StopRequest};
use crate::state::canister::{ArmedFaults, InstructionStats, Status};
use crate::state::{DebugLine, InFlight, IngressState};
use candid::Principal;
use ic_management_canister_types::{Change, DefiniteCanisterSettings};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Serialize, Deserialize)]
pub struct SubnetRecord {
    pub time: u64,
    pub round: u64,
    pub time_step_nanos: u64,
    pub next_canister: u64,
    pub deleted: Vec<Principal>,
    pub inbox: Vec<Input>,
    pub ingress: Vec<(u64, IngressState)>,
    pub next_ingress: u64,
    #[serde(with = "hex::serde")]
    pub rng_seed: [u8; 32],
    pub rng_counter: u64,
    pub debug_log: Vec<DebugLine>,
    pub mgmt_in_flight: Vec<(Principal, InFlight)>,
    #[serde(with = "hex::serde")]
    pub root_key: Vec<u8>,
    pub instruction_limits: InstructionLimits,
    pub max_rounds_per_call: u64,
    /// Each canister's record file (`canisters/<id>.<generation>.json`, a
    /// `CanisterRecord`), relative to the state directory, by canister id.
    pub canisters: Vec<String>,
}

/// Pages of a memory that differ from a base (the module's initial heap, or
/// nothing for stable memory), stored back to back in the blob file.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct PagesRecord {
    pub page_count: u64,
    pub changed: Vec<u64>,
    pub data: BlobRef,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct HeapRecord {
    /// SHA-256 of the module as submitted: `modules/<hash>.wasm`.
    #[serde(with = "hex::serde")]
    pub module: [u8; 32],
    pub pages: PagesRecord,
    pub heap_pages: u64,
    pub globals: Vec<GlobalValue>,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkRecord {
    #[serde(with = "hex::serde")]
    pub hash: [u8; 32],
    pub data: BlobRef,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    #[serde(with = "hex::serde")]
    pub id: Vec<u8>,
    pub taken_at: u64,
    pub heap: HeapRecord,
    pub stable: PagesRecord,
    pub stable_pages: u64,
    #[serde(with = "hex::serde")]
    pub certified_data: Vec<u8>,
    pub global_timer: u64,
    pub chunk_store: Vec<ChunkRecord>,
    pub canister_version: u64,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct CanisterRecord {
    pub id: Principal,
    /// The blob file, relative to the state directory.
    pub blobs: String,
    /// Candid, hex-encoded: `Nat` does not round-trip through JSON.
    #[serde(with = "candid_hex")]
    pub settings: DefiniteCanisterSettings,
    pub status: Status,
    pub cycles: u128,
    pub version: u64,
    pub heap: Option<HeapRecord>,
    pub stable: PagesRecord,
    pub stable_pages: u64,
    #[serde(with = "hex::serde")]
    pub certified_data: Vec<u8>,
    pub global_timer: u64,
    pub call_contexts: BTreeMap<u64, CallContext>,
    pub callbacks: BTreeMap<u64, Callback>,
    pub next_context_id: u64,
    pub next_callback_id: u64,
    pub outstanding: Vec<(Principal, usize)>,
    pub stop_requests: Vec<StopRequest>,
    pub chunk_store: Vec<ChunkRecord>,
    #[serde(with = "candid_hex")]
    pub history: Vec<Change>,
    pub total_changes: u64,
    pub snapshots: Vec<SnapshotRecord>,
    pub next_snapshot: u64,
    pub stats: InstructionStats,
    pub faults: ArmedFaults,
}

/// A Candid-encoded value as a hex string.
mod candid_hex {
    use candid::{CandidType, Decode};
    use serde::de::{DeserializeOwned, Error as _};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<T: CandidType, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        let bytes = candid::encode_one(value).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: CandidType + DeserializeOwned,
        D: Deserializer<'de>,
    {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(text).map_err(D::Error::custom)?;
        Decode!(&bytes, T).map_err(D::Error::custom)
    }
}
