//! Canister snapshots: take, load, list, delete.

use super::{decode, empty_reply, reply, MgmtCall};
use crate::error::{CallResult, RejectResponse};
use crate::limits;
use crate::state::canister::{Canister, CanisterSnapshot};
use crate::state::StateMachine;
use candid::{Principal, Reserved};
use ic_error_types::ErrorCode;
use ic_management_canister_types::{
    CanisterIdRecord, ChangeDetails, DeleteCanisterSnapshotArgs, LoadCanisterSnapshotArgs,
    LoadSnapshotRecord, Snapshot, SnapshotSource, TakeCanisterSnapshotArgs,
};

fn not_found(canister: &Canister, id: &[u8]) -> RejectResponse {
    RejectResponse::new(
        ErrorCode::CanisterSnapshotNotFound,
        format!(
            "Could not find the snapshot ID {} for canister {}",
            hex::encode(id),
            canister.id
        ),
    )
}

/// The canister a snapshot id belongs to: ids are the snapshot's number
/// (8 bytes) followed by the canister's id, as the replica's `SnapshotId`
/// names its canister.
fn snapshot_owner(id: &[u8]) -> Option<Principal> {
    let owner = id.get(8..)?;
    (!owner.is_empty() && owner.len() <= 29).then(|| Principal::from_slice(owner))
}

fn describe(s: &CanisterSnapshot) -> Snapshot {
    Snapshot {
        id: s.id.clone(),
        taken_at_timestamp: s.taken_at,
        total_size: s.total_size(),
    }
}

impl StateMachine {
    pub(crate) fn take_snapshot(&mut self, call: &MgmtCall) -> CallResult {
        let (args,): (TakeCanisterSnapshotArgs,) = decode(&call.arg)?;
        let time = self.time;
        let c = self.controlled(&args.canister_id, &call.sender)?;
        let Some(heap) = c.heap.clone() else {
            return Err(RejectResponse::from_canister(
                c.id,
                ErrorCode::CanisterWasmModuleNotFound,
                "Cannot take a snapshot of a canister that contains no Wasm module.",
            ));
        };
        match &args.replace_snapshot {
            Some(old) if !c.snapshots.contains_key(old) => return Err(not_found(c, old)),
            Some(old) => {
                c.snapshots.remove(old);
            }
            None if c.snapshots.len() >= limits::MAX_SNAPSHOTS => {
                return Err(RejectResponse::new(
                    ErrorCode::CanisterRejectedMessage,
                    format!(
                        "Canister {} has reached the maximum of {} snapshots",
                        c.id,
                        limits::MAX_SNAPSHOTS
                    ),
                ));
            }
            None => {}
        }
        let mut id = c.next_snapshot.to_be_bytes().to_vec();
        id.extend_from_slice(c.id.as_slice());
        c.next_snapshot += 1;
        let snapshot = CanisterSnapshot {
            id: id.clone(),
            taken_at: time,
            heap,
            stable: c.stable.clone(),
            stable_pages: c.stable_pages,
            certified_data: c.certified_data.clone(),
            global_timer: c.global_timer,
            chunk_store: c.chunk_store.clone(),
            canister_version: c.version,
        };
        let described = describe(&snapshot);
        c.snapshots.insert(id, snapshot);
        if args.uninstall_code == Some(true) {
            let origin = Self::change_origin(call, args.sender_canister_version);
            self.uninstall(args.canister_id, origin)?;
        }
        reply(&described)
    }

    /// Loads a snapshot of the target or of another canister on the same
    /// subnet, if the caller controls both (spec abstract behavior "Load
    /// canister snapshot"). The global timer in force is kept: a snapshot taken
    /// from a canister never brings its timer back (only an uploaded one may,
    /// and the emulator does not emulate snapshot upload).
    pub(crate) fn load_snapshot(&mut self, call: &MgmtCall) -> CallResult {
        let (args,): (LoadCanisterSnapshotArgs,) = decode(&call.arg)?;
        let time = self.time;
        let origin = Self::change_origin(call, args.sender_canister_version);
        let target = args.canister_id;
        self.controlled(&target, &call.sender)?;
        let source_id = snapshot_owner(&args.snapshot_id).unwrap_or(target);
        // The source must be on the target's subnet (spec: "on the same subnet").
        if !self.canisters.contains_key(&source_id)
            || self.subnet_index(&source_id) != self.subnet_index(&target)
        {
            return Err(not_found(self.canister(&target)?, &args.snapshot_id));
        }
        let source = self.controlled(&source_id, &call.sender)?;
        let Some(s) = source.snapshots.get(&args.snapshot_id).cloned() else {
            return Err(not_found(source, &args.snapshot_id));
        };
        let c = self.canister_mut(&target)?;
        c.heap = Some(s.heap);
        c.stable = s.stable;
        c.stable_pages = s.stable_pages;
        c.certified_data = s.certified_data;
        c.chunk_store = s.chunk_store;
        c.version += 1;
        let record = LoadSnapshotRecord {
            from_canister_id: (source_id != target).then_some(source_id),
            snapshot_id: s.id,
            canister_version: s.canister_version,
            taken_at_timestamp: s.taken_at,
            source: SnapshotSource::TakenFromCanister(Reserved),
        };
        c.add_change(time, origin, ChangeDetails::LoadSnapshot(record));
        empty_reply()
    }

    pub(crate) fn list_snapshots(&mut self, call: &MgmtCall) -> CallResult {
        let (args,): (CanisterIdRecord,) = decode(&call.arg)?;
        let c = self.controlled(&args.canister_id, &call.sender)?;
        let list: Vec<Snapshot> = c.snapshots.values().map(describe).collect();
        reply(&list)
    }

    pub(crate) fn delete_snapshot(&mut self, call: &MgmtCall) -> CallResult {
        let (args,): (DeleteCanisterSnapshotArgs,) = decode(&call.arg)?;
        let c = self.controlled(&args.canister_id, &call.sender)?;
        if c.snapshots.remove(&args.snapshot_id).is_none() {
            return Err(not_found(c, &args.snapshot_id));
        }
        empty_reply()
    }
}
