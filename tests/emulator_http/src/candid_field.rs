//! Reading one principal field of a Candid record argument, which decides a
//! management call's effective canister id (spec, "Effective canister id").

use candid::{CandidType, Deserialize, Principal};

#[derive(CandidType, Deserialize)]
struct CanisterId {
    canister_id: Principal,
}

#[derive(CandidType, Deserialize)]
struct TargetCanister {
    target_canister: Principal,
}

/// The principal in field `name` (`canister_id` or `target_canister`) of the
/// first argument, if it is a record that has it (other fields are ignored).
pub fn principal_field(arg: &[u8], name: &str) -> Option<Principal> {
    let mut de = candid::de::IDLDeserialize::new(arg).ok()?;
    match name {
        "canister_id" => de.get_value::<CanisterId>().ok().map(|r| r.canister_id),
        "target_canister" => de
            .get_value::<TargetCanister>()
            .ok()
            .map(|r| r.target_canister),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canister_id_field_is_found_and_others_are_not() {
        #[derive(candid::CandidType)]
        struct A {
            canister_id: Principal,
            other: u8,
        }
        let p = Principal::from_text("rwlgt-iiaaa-aaaaa-aaaaa-cai").unwrap();
        let arg = candid::encode_one(A {
            canister_id: p,
            other: 1,
        })
        .unwrap();
        assert_eq!(principal_field(&arg, "canister_id"), Some(p));
        assert_eq!(principal_field(&arg, "target_canister"), None);
        assert_eq!(principal_field(b"not candid", "canister_id"), None);
    }
}
