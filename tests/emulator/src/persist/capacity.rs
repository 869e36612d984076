//! The subnet's capacity state (`crate::subnet`), in a file of its own.

use super::files::{read_json, write_json};
use super::StateError;
use crate::subnet::SubnetState;
use std::path::Path;

pub fn write(path: &Path, state: &SubnetState) -> Result<(), StateError> {
    write_json(path, state)
}

pub fn read(path: &Path) -> Result<SubnetState, StateError> {
    read_json(path)
}
