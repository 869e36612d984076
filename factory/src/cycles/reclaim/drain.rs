//! The drain module (`drain.wat`, assembled into the committed
//! `drain.wasm`): how a deleted canister's cycles come back. The IC's
//! `delete_canister` discards a canister's cycles, and no controller can take
//! cycles out of another canister; only the canister itself can send them.
//! So before deleting a reclaimed canister the factory installs this module
//! (a few hundred bytes, `install_code` in install mode: the canister is
//! empty), calls its `drain`, which deposits everything above `keep` to the
//! factory, stops it (which waits for that call to finish) and deletes it.

use candid::Principal;

pub const DRAIN_WASM: &[u8] = include_bytes!("drain.wasm");

/// What the drain keeps above the canister's freezing limit to pay for its
/// own call: the IC reserves the execution of the largest response with
/// every call (~42 B cycles, `rs/cycles_account_manager/src/lib.rs`,
/// `prepayment_for_response_execution`), plus the transmission fees.
pub const DRAIN_MARGIN: u128 = 50_000_000_000;

/// The drain's init argument: `keep` and the `deposit_cycles` argument that
/// names the factory.
pub fn drain_arg(factory: Principal, keep: u128) -> Vec<u8> {
    #[derive(candid::CandidType)]
    struct CanisterIdRecord {
        canister_id: Principal,
    }
    let record = candid::encode_one(CanisterIdRecord {
        canister_id: factory,
    })
    .unwrap_or_default();
    let mut arg = keep.to_le_bytes().to_vec();
    arg.extend_from_slice(&record);
    arg
}

/// The `keep` of a drain argument (the fake management canister's model).
pub fn parse_keep(arg: &[u8]) -> Option<u128> {
    Some(u128::from_le_bytes(arg.get(..16)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed module is the assembled `drain.wat`
    /// (`UPDATE_GOLDEN=1` rewrites it after a change of the source).
    #[test]
    fn cycles_drain_module_is_the_assembled_source() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cycles/reclaim");
        let source = std::fs::read_to_string(dir.join("drain.wat")).expect("drain.wat");
        let assembled = wat::parse_str(&source).expect("drain.wat assembles");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(dir.join("drain.wasm"), &assembled).expect("writes drain.wasm");
        }
        assert_eq!(DRAIN_WASM, &assembled[..], "drain.wasm is stale");
        assert!(DRAIN_WASM.len() < 1_024, "{} bytes", DRAIN_WASM.len());
    }

    #[test]
    fn cycles_drain_arg_carries_keep_and_the_factory() {
        let factory = Principal::from_slice(&[7; 10]);
        let arg = drain_arg(factory, 123);
        assert_eq!(parse_keep(&arg), Some(123));
        #[derive(candid::CandidType, candid::Deserialize)]
        struct R {
            canister_id: Principal,
        }
        let r: R = candid::decode_one(&arg[16..]).expect("a deposit_cycles argument");
        assert_eq!(r.canister_id, factory);
        assert_eq!(parse_keep(&arg[..3]), None);
    }
}
