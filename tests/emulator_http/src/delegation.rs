//! Sender delegation chains (interface spec, "Authentication"): the envelope's
//! `sender_pubkey` delegates to the first delegation's key, each delegation's
//! key to the next one's, and the last key signs the request. Each link is
//! signed over `"\x1Aic-request-auth-delegation" · hash(delegation)` (the
//! delegation map's representation-independent hash, as sent), must not have
//! expired, and may restrict the canisters the request may target.

use crate::envelope::Hashable;
use crate::signature::SignatureError;
use candid::Principal;
use serde::Deserialize;
use serde_cbor::Value;
use std::collections::BTreeSet;

/// The IC's limits on a chain: `MAXIMUM_NUMBER_OF_DELEGATIONS` and
/// `MAXIMUM_NUMBER_OF_TARGETS_PER_DELEGATION` in dfinity/ic
/// `rs/validator/src/ingress_validation.rs`.
pub const MAX_DELEGATIONS: usize = 20;
pub const MAX_TARGETS_PER_DELEGATION: usize = 1_000;

const DELEGATION_DOMAIN: &[u8] = b"\x1Aic-request-auth-delegation";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DelegationError {
    #[error("sender_delegation is not an array of signed delegations: {0}")]
    Malformed(String),
    #[error("the chain has {0} delegations; at most {MAX_DELEGATIONS} are allowed")]
    TooLong(usize),
    #[error("delegation {index} lists {count} targets; at most {MAX_TARGETS_PER_DELEGATION} are allowed")]
    TooManyTargets { index: usize, count: usize },
    #[error("delegation {index} expired at {expiration}, before the network's time {now}")]
    Expired {
        index: usize,
        expiration: u64,
        now: u64,
    },
    #[error("delegation {index} is not signed by the key before it: {source}")]
    BadSignature {
        index: usize,
        source: SignatureError,
    },
    #[error("the chain delegates to the same key twice (delegation {index})")]
    Cycle { index: usize },
}

#[derive(Deserialize)]
struct Signed {
    delegation: Value,
    #[serde(with = "serde_bytes")]
    signature: Vec<u8>,
}

#[derive(Deserialize)]
struct Link {
    #[serde(with = "serde_bytes")]
    pubkey: Vec<u8>,
    expiration: u64,
    #[serde(default)]
    targets: Option<Vec<Principal>>,
}

/// What a valid chain allows: the key that must sign the request, and the
/// canisters it may target (None: any).
#[derive(Debug, PartialEq, Eq)]
pub struct Delegated {
    pub signing_key: Vec<u8>,
    pub targets: Option<BTreeSet<Principal>>,
}

/// Checks the chain from `sender_pubkey` at time `now` (nanoseconds).
pub fn verify_chain(
    sender_pubkey: &[u8],
    chain: Value,
    now: u64,
) -> Result<Delegated, DelegationError> {
    let links: Vec<Signed> = serde_cbor::value::from_value(crate::envelope::untag(chain))
        .map_err(|e| DelegationError::Malformed(e.to_string()))?;
    if links.len() > MAX_DELEGATIONS {
        return Err(DelegationError::TooLong(links.len()));
    }
    let mut key = sender_pubkey.to_vec();
    let mut seen = BTreeSet::from([key.clone()]);
    let mut targets: Option<BTreeSet<Principal>> = None;
    for (index, signed) in links.into_iter().enumerate() {
        let raw = crate::envelope::untag(signed.delegation);
        let hash = ic_transport_types::to_request_id(&Hashable(&raw))
            .map_err(|e| DelegationError::Malformed(e.to_string()))?;
        let link: Link = serde_cbor::value::from_value(raw)
            .map_err(|e| DelegationError::Malformed(e.to_string()))?;
        let mut msg = DELEGATION_DOMAIN.to_vec();
        msg.extend_from_slice(hash.as_slice());
        crate::signature::verify(&key, &msg, &signed.signature)
            .map_err(|source| DelegationError::BadSignature { index, source })?;
        if link.expiration < now {
            return Err(DelegationError::Expired {
                index,
                expiration: link.expiration,
                now,
            });
        }
        if let Some(t) = link.targets {
            if t.len() > MAX_TARGETS_PER_DELEGATION {
                return Err(DelegationError::TooManyTargets {
                    index,
                    count: t.len(),
                });
            }
            let t: BTreeSet<Principal> = t.into_iter().collect();
            targets = Some(match targets {
                Some(before) => before.intersection(&t).copied().collect(),
                None => t,
            });
        }
        if !seen.insert(link.pubkey.clone()) {
            return Err(DelegationError::Cycle { index });
        }
        key = link.pubkey;
    }
    Ok(Delegated {
        signing_key: key,
        targets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_transport_types::Delegation;

    fn key(seed: u8) -> ic_ed25519::PrivateKey {
        ic_ed25519::PrivateKey::generate_from_seed(&[seed; 32])
    }

    fn der(k: &ic_ed25519::PrivateKey) -> Vec<u8> {
        k.public_key().serialize_rfc8410_der()
    }

    fn link(
        by: &ic_ed25519::PrivateKey,
        to: &[u8],
        expiration: u64,
        targets: Option<Vec<Principal>>,
    ) -> Value {
        let d = Delegation {
            pubkey: to.to_vec(),
            expiration,
            targets,
        };
        let signature = by.sign_message(&d.signable()).to_vec();
        serde_cbor::value::to_value(ic_transport_types::SignedDelegation {
            delegation: d,
            signature,
        })
        .unwrap()
    }

    fn canister(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    #[test]
    fn http_interface_delegation_chain_of_two_narrows_targets_to_their_intersection() {
        let (root, mid, session) = (key(1), key(2), key(3));
        let chain = Value::Array(vec![
            link(&root, &der(&mid), 100, Some(vec![canister(1), canister(2)])),
            link(
                &mid,
                &der(&session),
                100,
                Some(vec![canister(2), canister(3)]),
            ),
        ]);
        let d = verify_chain(&der(&root), chain, 50).unwrap();
        assert_eq!(d.signing_key, der(&session));
        assert_eq!(d.targets, Some(BTreeSet::from([canister(2)])));
    }

    #[test]
    fn http_interface_delegation_chains_that_break_a_rule_are_refused_with_the_reason() {
        let (root, mid, session) = (key(1), key(2), key(3));
        let expired = Value::Array(vec![link(&root, &der(&session), 10, None)]);
        assert!(matches!(
            verify_chain(&der(&root), expired, 50),
            Err(DelegationError::Expired { index: 0, .. })
        ));
        // Signed by the wrong key.
        let forged = Value::Array(vec![link(&mid, &der(&session), 100, None)]);
        assert!(matches!(
            verify_chain(&der(&root), forged, 50),
            Err(DelegationError::BadSignature { index: 0, .. })
        ));
        let cycle = Value::Array(vec![
            link(&root, &der(&mid), 100, None),
            link(&mid, &der(&root), 100, None),
        ]);
        assert_eq!(
            verify_chain(&der(&root), cycle, 50),
            Err(DelegationError::Cycle { index: 1 })
        );
        let mut links = Vec::new();
        let keys: Vec<_> = (0..=MAX_DELEGATIONS as u8 + 1).map(key).collect();
        for w in keys.windows(2) {
            links.push(link(&w[0], &der(&w[1]), 100, None));
        }
        assert_eq!(
            verify_chain(&der(&keys[0]), Value::Array(links), 50),
            Err(DelegationError::TooLong(MAX_DELEGATIONS + 1))
        );
        assert!(matches!(
            verify_chain(&der(&root), Value::Text("no".into()), 50),
            Err(DelegationError::Malformed(_))
        ));
    }
}
