//! The user canister's init/upgrade argument, as the factory sends it.
//!
//! Mirrors `user_canister::UserCanisterArgs` field for field (Candid matches
//! records structurally); the factory cannot link the user canister's crate,
//! whose exported endpoints would end up in the factory's module. The
//! end-to-end tests install real modules, so a mismatch fails them.

use candid::{CandidType, Principal};

#[derive(CandidType)]
struct UserCanisterArgs<'a> {
    owner: Principal,
    factory: Principal,
    version: &'a str,
}

pub fn install_arg(owner: Principal, factory: Principal, version: &str) -> Vec<u8> {
    candid::encode_one(UserCanisterArgs {
        owner,
        factory,
        version,
    })
    .expect("a record of principals and text always encodes")
}
