//! Golden bytes (stable-structures style): every stored format has a file
//! under `factory/tests/golden/` written once from a known value; its test
//! decodes the file and expects that value, so a change that would misread
//! what an earlier build stored fails here. `UPDATE_GOLDEN=1` rewrites the
//! files, for a deliberate format change (with a new magic or version).

use ic_stable_structures::Storable;
use std::borrow::Cow;
use std::path::PathBuf;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.bin"))
}

/// The committed bytes of `name`; `current` (what this build writes) is
/// recorded first when `UPDATE_GOLDEN` is set.
pub fn bytes(name: &str, current: &[u8]) -> Vec<u8> {
    let path = path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("golden dir");
        std::fs::write(&path, current).expect("write golden file");
    }
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (a new format: record it with UPDATE_GOLDEN=1)",
            path.display()
        )
    })
}

/// Checks that the golden bytes of `name` decode to `value`.
pub fn check<T: Storable + PartialEq + std::fmt::Debug>(name: &str, value: &T) {
    let golden = bytes(name, &value.to_bytes());
    let decoded = T::from_bytes(Cow::Owned(golden));
    assert_eq!(
        &decoded, value,
        "{name}: the golden bytes decode differently"
    );
}
