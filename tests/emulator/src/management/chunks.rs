//! The chunk store: upload_chunk, clear_chunk_store, stored_chunks.

use super::{decode, empty_reply, reply, MgmtCall};
use crate::engine::sha256;
use crate::error::{CallResult, RejectResponse};
use crate::limits;
use crate::state::StateMachine;
use ic_error_types::ErrorCode;
use ic_management_canister_types::{CanisterIdRecord, ChunkHash, UploadChunkArgs};

impl StateMachine {
    pub(crate) fn upload_chunk(&mut self, call: &MgmtCall) -> CallResult {
        let (args,): (UploadChunkArgs,) = decode(&call.arg)?;
        let c = self.controlled_or_self(&args.canister_id, &call.sender)?;
        if args.chunk.len() > limits::MAX_CHUNK_SIZE {
            return Err(RejectResponse::new(
                ErrorCode::InvalidManagementPayload,
                format!(
                    "Wasm chunk size {} exceeds the maximum of {} bytes",
                    args.chunk.len(),
                    limits::MAX_CHUNK_SIZE
                ),
            ));
        }
        let hash = sha256(&args.chunk);
        if !c.chunk_store.contains_key(&hash) {
            if c.chunk_store.len() >= limits::MAX_CHUNKS {
                return Err(RejectResponse::new(
                    ErrorCode::InvalidManagementPayload,
                    format!(
                        "Wasm chunk store of canister {} is full ({} chunks)",
                        c.id,
                        limits::MAX_CHUNKS
                    ),
                ));
            }
            c.chunk_store.insert(hash, args.chunk);
        }
        reply(&ChunkHash {
            hash: hash.to_vec(),
        })
    }

    pub(crate) fn clear_chunk_store(&mut self, call: &MgmtCall) -> CallResult {
        let (args,): (CanisterIdRecord,) = decode(&call.arg)?;
        self.controlled_or_self(&args.canister_id, &call.sender)?
            .chunk_store
            .clear();
        empty_reply()
    }

    pub(crate) fn stored_chunks(&mut self, call: &MgmtCall) -> CallResult {
        let (args,): (CanisterIdRecord,) = decode(&call.arg)?;
        let c = self.controlled_or_self(&args.canister_id, &call.sender)?;
        let hashes: Vec<ChunkHash> = c
            .chunk_store
            .keys()
            .map(|h| ChunkHash { hash: h.to_vec() })
            .collect();
        reply(&hashes)
    }
}
