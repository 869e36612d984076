//! `capacity.json`: the subnet's capacity state, beside `subnet.json` so the
//! older files keep their layout.

use super::files::{read_json, write_json};
use super::StateError;
use crate::subnet::SubnetState;
use std::path::Path;

const FILE: &str = "capacity.json";

pub fn write(root: &Path, state: &SubnetState) -> Result<(), StateError> {
    write_json(&root.join(FILE), state)
}

/// The saved capacity state, or the application subnet's defaults for a
/// state saved before it existed.
pub fn read(dir: &Path) -> Result<SubnetState, StateError> {
    let path = dir.join(FILE);
    if !path.is_file() {
        return Ok(SubnetState::default());
    }
    read_json(&path)
}
