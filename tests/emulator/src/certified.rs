//! What the IC certifies about canisters in its state tree (`/canister/<id>/...`),
//! read without a call, for a server that builds that tree (the HTTP interface).

use crate::driver::Emulator;
use candid::Principal;
use std::collections::BTreeMap;

/// One canister's entries in the certified state tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertifiedCanister {
    pub id: Principal,
    /// SHA-256 of the installed module; `None` while the canister is empty.
    pub module_hash: Option<[u8; 32]>,
    pub controllers: Vec<Principal>,
    /// What the canister set with `ic0.certified_data_set` (at most 32 bytes).
    pub certified_data: Vec<u8>,
    /// The module's `icp:public NAME` / `icp:private NAME` custom sections:
    /// name → (public, bytes) (interface spec, "Canister metadata").
    pub metadata: BTreeMap<String, (bool, Vec<u8>)>,
}

impl Emulator {
    /// Every canister's certified entries, in canister-id order.
    pub fn certified_canisters(&self) -> Vec<CertifiedCanister> {
        self.sm
            .borrow()
            .canisters
            .iter()
            .map(|(id, c)| CertifiedCanister {
                id: *id,
                module_hash: c.module_hash(),
                controllers: c.settings.controllers.clone(),
                certified_data: c.certified_data.clone(),
                metadata: c
                    .heap
                    .as_ref()
                    .map(|h| h.module.metadata.clone())
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// Forgets a completed ingress message's result (as the IC prunes it
    /// from the state tree), so a long-running server does not keep them all.
    pub fn forget_ingress(&self, id: crate::MessageId) {
        self.sm.borrow_mut().ingress.remove(&id.0);
    }
}
