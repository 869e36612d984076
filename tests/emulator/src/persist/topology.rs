//! `subnets.<generation>.json`: the subnets (ids, canister-id ranges, id
//! allocation and, beyond the first, their capacity state), the cross-subnet
//! latency and the installed test doubles. The first subnet's capacity is in
//! `capacity.<generation>.json` and its next canister id in
//! `subnet.<generation>.json`.

use super::files::from_json;
use super::StateError;
use crate::doubles::Doubles;
use crate::state::StateMachine;
use crate::subnet::topology::Subnet;
use crate::subnet::{SubnetId, SubnetState, XNetConfig};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Serialize, Deserialize)]
pub struct TopologyRecord {
    subnets: Vec<SubnetRecord>,
    xnet: XNetConfig,
    doubles: Doubles,
}

#[derive(Serialize, Deserialize)]
struct SubnetRecord {
    id: SubnetId,
    range_start: u64,
    range_end: u64,
    next_canister: u64,
    /// `None` for the first subnet (in `capacity.json`).
    capacity: Option<SubnetState>,
}

pub fn record(sm: &StateMachine) -> TopologyRecord {
    TopologyRecord {
        subnets: sm
            .subnets
            .iter()
            .enumerate()
            .map(|(i, s)| SubnetRecord {
                id: s.id,
                range_start: s.range_start,
                range_end: s.range_end,
                next_canister: s.next_canister,
                capacity: (i > 0).then(|| s.capacity.clone()),
            })
            .collect(),
        xnet: sm.xnet,
        doubles: sm.doubles.clone(),
    }
}

/// The subnets in `bytes` (read from `path`), given the first one's capacity.
pub fn read(
    path: &Path,
    bytes: &[u8],
    first: SubnetState,
) -> Result<(Vec<Subnet>, XNetConfig, Doubles), StateError> {
    let record: TopologyRecord = from_json(path, bytes)?;
    let mut first = Some(first);
    let mut subnets = Vec::with_capacity(record.subnets.len());
    for (i, s) in record.subnets.into_iter().enumerate() {
        let capacity = match (i, s.capacity) {
            (0, _) => first.take().expect("once"),
            (_, Some(c)) => c,
            (_, None) => {
                return Err(StateError::corrupt(path, "a subnet has no capacity state"));
            }
        };
        if s.range_start > s.range_end {
            return Err(StateError::corrupt(path, "a subnet's range is empty"));
        }
        subnets.push(Subnet {
            id: s.id,
            range_start: s.range_start,
            range_end: s.range_end,
            next_canister: s.next_canister,
            capacity,
        });
    }
    if subnets.is_empty() {
        return Err(StateError::corrupt(path, "no subnet"));
    }
    Ok((subnets, record.xnet, record.doubles))
}
