//! Principals the emulator hands out or recognises.

use candid::Principal;

/// The management canister `aaaaa-aa` (the empty principal).
pub const MANAGEMENT: Principal = Principal::management_canister();

/// The replica's canister-id convention: 8-byte big-endian `n`, then `0x01 0x01`.
pub fn canister_id_from_u64(n: u64) -> Principal {
    let mut bytes = [0u8; 10];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    bytes[8] = 0x01;
    bytes[9] = 0x01;
    Principal::from_slice(&bytes)
}

/// The single subnet every canister lives on.
pub static SUBNET_ID: std::sync::LazyLock<Principal> =
    std::sync::LazyLock::new(|| Principal::self_authenticating(b"ic-emulator subnet"));

/// Parses principal bytes coming from a canister; `None` if they cannot be one.
pub fn principal_from_bytes(bytes: &[u8]) -> Option<Principal> {
    Principal::try_from_slice(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_canister_id_matches_the_replica_convention() {
        assert_eq!(
            canister_id_from_u64(0).to_text(),
            "rwlgt-iiaaa-aaaaa-aaaaa-cai"
        );
        assert_eq!(
            canister_id_from_u64(1).to_text(),
            "rrkah-fqaaa-aaaaa-aaaaq-cai"
        );
    }
}
