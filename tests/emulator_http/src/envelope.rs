//! An incoming request body: the CBOR authentication envelope decoded, its
//! request id computed over the content exactly as sent, its expiry and its
//! sender's signature checked (interface spec, "HTTPS interface":
//! "Authentication", "Request ids").

use crate::refusal::Refusal;
use candid::Principal;
use ic_transport_types::{EnvelopeContent, RequestId};
use serde::Deserialize;
use serde_cbor::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The IC refuses an expiry further ahead than this: MAX_INGRESS_TTL (5 min)
/// plus PERMITTED_DRIFT (60 s), in dfinity/ic `rs/limits/src/lib.rs`.
pub const MAX_INGRESS_TTL_NANOS: u64 = 300_000_000_000;
pub const PERMITTED_DRIFT_NANOS: u64 = 60_000_000_000;

/// The domain separator of a sender's signature of a request id.
const REQUEST_DOMAIN: &[u8] = b"\x0Aic-request";

/// A request whose envelope checked out.
#[derive(Debug)]
pub struct Authenticated {
    pub content: EnvelopeContent,
    pub request_id: RequestId,
    /// The canisters a delegation chain lets the request target (None: any).
    pub targets: Option<BTreeSet<Principal>>,
}

impl Authenticated {
    /// Refuses a request to `canister` that the sender's delegations exclude
    /// (`effective` stands in for the management canister).
    pub fn check_target(&self, canister: Principal, effective: Principal) -> Result<(), Refusal> {
        let Some(targets) = &self.targets else {
            return Ok(());
        };
        let named = if canister == Principal::management_canister() {
            effective
        } else {
            canister
        };
        if targets.contains(&named) {
            return Ok(());
        }
        Err(Refusal::bad_request(format!(
            "canister {named} is not among the targets of the sender's delegations"
        )))
    }
}

#[derive(Deserialize)]
struct RawEnvelope {
    content: Value,
    #[serde(default, with = "serde_bytes")]
    sender_pubkey: Option<Vec<u8>>,
    #[serde(default, with = "serde_bytes")]
    sender_sig: Option<Vec<u8>>,
    #[serde(default)]
    sender_delegation: Option<Value>,
}

/// Decodes and authenticates `body` at time `now` (nanoseconds).
pub fn authenticate(body: &[u8], now: u64) -> Result<Authenticated, Refusal> {
    let raw: RawEnvelope = serde_cbor::from_slice(body)
        .map_err(|e| Refusal::bad_request(format!("the body is not a CBOR envelope: {e}")))?;
    let content_value = untag(raw.content);
    let request_id = ic_transport_types::to_request_id(&Hashable(&content_value))
        .map_err(|e| Refusal::bad_request(format!("the content has no request id: {e}")))?;
    let content: EnvelopeContent = serde_cbor::value::from_value(content_value)
        .map_err(|e| Refusal::bad_request(format!("malformed request content: {e}")))?;
    let sender = *content.sender();
    let anonymous = sender == Principal::anonymous();
    // Anonymous queries and read_state may carry any expiry (spec: "Authentication").
    let expiry_free = anonymous && !matches!(content, EnvelopeContent::Call { .. });
    if !expiry_free {
        check_expiry(content.ingress_expiry(), now)?;
    }
    let mut targets = None;
    match (anonymous, raw.sender_pubkey, raw.sender_sig) {
        (true, None, None) if raw.sender_delegation.is_none() => {}
        (true, _, _) => {
            return Err(Refusal::bad_request(
                "an anonymous request carries no sender_pubkey, sender_sig or sender_delegation",
            ))
        }
        (false, Some(pubkey), Some(sig)) => {
            if Principal::self_authenticating(&pubkey) != sender {
                return Err(Refusal::bad_request(format!(
                    "sender_pubkey does not authenticate the sender {sender}"
                )));
            }
            // With delegations, the chain's last key signs the request.
            let signing_key = match raw.sender_delegation {
                None => pubkey,
                Some(chain) => {
                    let d = crate::delegation::verify_chain(&pubkey, chain, now).map_err(|e| {
                        Refusal::bad_request(format!("invalid sender_delegation: {e}"))
                    })?;
                    targets = d.targets;
                    d.signing_key
                }
            };
            let mut msg = REQUEST_DOMAIN.to_vec();
            msg.extend_from_slice(request_id.as_slice());
            crate::signature::verify(&signing_key, &msg, &sig).map_err(|e| {
                Refusal::bad_request(format!(
                    "invalid signature: {e} (request id 0x{})",
                    hex::encode(request_id.as_slice())
                ))
            })?;
        }
        (false, _, _) => {
            return Err(Refusal::bad_request(format!(
                "the sender {sender} is not anonymous: sender_pubkey and sender_sig are required"
            )))
        }
    }
    Ok(Authenticated {
        content,
        request_id,
        targets,
    })
}

fn check_expiry(expiry: u64, now: u64) -> Result<(), Refusal> {
    if expiry < now {
        return Err(Refusal::bad_request(format!(
            "the request expired: ingress_expiry {expiry} is before the network's time {now}"
        )));
    }
    let latest = now + MAX_INGRESS_TTL_NANOS + PERMITTED_DRIFT_NANOS;
    if expiry > latest {
        return Err(Refusal::bad_request(format!(
            "ingress_expiry {expiry} is too far in the future (at most {latest}: 5 min + 60 s drift after {now})"
        )));
    }
    Ok(())
}

/// CBOR's self-describe tag (55799) and other tags carry no meaning here.
pub(crate) fn untag(v: Value) -> Value {
    match v {
        Value::Tag(_, inner) => untag(*inner),
        other => other,
    }
}

/// A CBOR value as the request-id hasher of `ic-transport-types` sees it:
/// every field that was sent counts, so the id matches the sender's even for
/// fields this server does not know (such as a newer spec's optional ones).
pub(crate) struct Hashable<'a>(pub &'a Value);

impl serde::Serialize for Hashable<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        match self.0 {
            Value::Integer(i) => match u64::try_from(*i) {
                Ok(n) => s.serialize_u64(n),
                Err(_) => i64::try_from(*i)
                    .map_err(|_| S::Error::custom("an integer out of range"))
                    .and_then(|n| s.serialize_i64(n)),
            },
            Value::Bytes(b) => s.serialize_bytes(b),
            Value::Text(t) => s.serialize_str(t),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Hashable(item))?;
                }
                seq.end()
            }
            Value::Map(map) => serialize_map(map, s),
            Value::Tag(_, inner) => Hashable(inner).serialize(s),
            _ => Err(S::Error::custom(
                "only blobs, text, numbers, arrays and maps have a request id",
            )),
        }
    }
}

fn serialize_map<S: serde::Serializer>(
    map: &BTreeMap<Value, Value>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::{Error, SerializeMap};
    let mut m = s.serialize_map(Some(map.len()))?;
    for (k, v) in map {
        let Value::Text(key) = k else {
            return Err(S::Error::custom("map keys must be text"));
        };
        m.serialize_entry(key, &Hashable(v))?;
    }
    m.end()
}
