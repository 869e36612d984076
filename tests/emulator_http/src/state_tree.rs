//! What the network certifies (interface spec, "The system state tree"):
//! `/time`, `/request_status/<id>/...`, `/canister/<id>/{module_hash,
//! controllers,certified_data,metadata/<name>}`, `/subnet/<id>/{public_key,canister_ranges,
//! node/<id>/public_key}` and `/canister_ranges/<id>/<first id>`; and which
//! paths a read_state request may ask for.

use crate::keys::Keys;
use crate::refusal::Refusal;
use crate::topology::Topology;
use crate::tree::Node;
use candid::Principal;
use ic_certification::hash_tree::Label;
use ic_emulator::{CertifiedCanister, RejectResponse};
use ic_transport_types::RequestId;

/// A call's status in the tree.
#[derive(Clone, Debug)]
pub enum IngressStatus {
    Received,
    Replied(Vec<u8>),
    Rejected(RejectResponse),
}

/// Where a read_state request was sent: `/api/v*/canister/<id>/read_state`
/// or `/api/v*/subnet/<id>/read_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadTarget {
    Canister(Principal),
    Subnet(Principal),
}

fn leb(n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    leb128::write::unsigned(&mut out, n).expect("writing to a Vec");
    out
}

/// CBOR with the self-describe tag, as the IC encodes tree values.
fn cbor<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut s = serde_cbor::Serializer::new(Vec::new());
    s.self_describe().expect("writing to a Vec");
    value.serialize(&mut s).expect("plain data encodes");
    s.into_inner()
}

pub fn build<'a>(
    time: u64,
    requests: impl Iterator<Item = (RequestId, &'a IngressStatus)>,
    canisters: &[CertifiedCanister],
    keys: &Keys,
    topology: &Topology,
) -> Node {
    let mut t = Node::map();
    t.insert(&[b"time"], leb(time));
    for (id, status) in requests {
        let base: [&[u8]; 2] = [b"request_status", id.as_slice()];
        let at = |field: &'static [u8]| [base[0], base[1], field];
        match status {
            IngressStatus::Received => t.insert(&at(b"status"), b"received".to_vec()),
            IngressStatus::Replied(reply) => {
                t.insert(&at(b"status"), b"replied".to_vec());
                t.insert(&at(b"reply"), reply.clone());
            }
            IngressStatus::Rejected(r) => {
                t.insert(&at(b"status"), b"rejected".to_vec());
                t.insert(&at(b"reject_code"), leb(r.reject_code as u64));
                t.insert(
                    &at(b"reject_message"),
                    r.reject_message.clone().into_bytes(),
                );
                t.insert(&at(b"error_code"), r.error_code.to_string().into_bytes());
            }
        }
    }
    for c in canisters {
        let id = c.id.as_slice();
        if let Some(hash) = c.module_hash {
            t.insert(&[b"canister", id, b"module_hash"], hash.to_vec());
        }
        t.insert(&[b"canister", id, b"controllers"], cbor(&c.controllers));
        t.insert(
            &[b"canister", id, b"certified_data"],
            c.certified_data.clone(),
        );
        // Public and private sections alike: who may read a private one is
        // decided before the witness is cut (`check_metadata`).
        for (name, (_, bytes)) in &c.metadata {
            t.insert(
                &[b"canister", id, b"metadata", name.as_bytes()],
                bytes.clone(),
            );
        }
    }
    for (subnet, ranges) in topology.ranges() {
        let subnet = subnet.as_slice();
        t.insert(
            &[b"subnet", subnet, b"public_key"],
            keys.root_key_der.clone(),
        );
        t.insert(&[b"subnet", subnet, b"type"], b"application".to_vec());
        t.insert(&[b"subnet", subnet, b"canister_ranges"], cbor(&ranges));
        t.insert(
            &[
                b"subnet",
                subnet,
                b"node",
                keys.node_id.as_slice(),
                b"public_key",
            ],
            keys.node_key_der.clone(),
        );
        // One shard per subnet, named by its first id (spec: "Canister ranges").
        if let Some((first, _)) = ranges.first() {
            t.insert(
                &[b"canister_ranges", subnet, first.as_slice()],
                cbor(&ranges),
            );
        }
    }
    t
}

/// The spec's rules for requestable paths ("Request: Read state").
pub fn check_paths(paths: &[Vec<Label<Vec<u8>>>], target: ReadTarget) -> Result<(), Refusal> {
    if paths.len() > 1000 || paths.iter().any(|p| p.len() > 127) {
        return Err(Refusal::bad_request(
            "at most 1000 paths of at most 127 labels each",
        ));
    }
    for path in paths {
        let labels: Vec<&[u8]> = path.iter().map(|l| l.as_bytes()).collect();
        match labels.as_slice() {
            [b"time"] | [b"api_boundary_nodes", ..] | [b"request_status", ..] => {}
            [b"subnet"] | [b"subnet", _] => {}
            [b"subnet", id, rest @ ..] => {
                let own =
                    Principal::try_from_slice(id).ok().map(ReadTarget::Subnet) == Some(target);
                if rest.first() == Some(&b"metrics".as_slice()) && !own {
                    return Err(Refusal::forbidden(
                        "/subnet/<id>/metrics is read at /api/v3/subnet/<id>/read_state",
                    ));
                }
            }
            [b"canister_ranges", ..] => {
                if !matches!(target, ReadTarget::Subnet(_)) {
                    return Err(Refusal::forbidden(
                        "/canister_ranges is read at /api/v3/subnet/<id>/read_state",
                    ));
                }
            }
            [b"canister", id, field, ..] => {
                if Principal::try_from_slice(id).ok().map(ReadTarget::Canister) != Some(target) {
                    return Err(Refusal::forbidden(
                        "/canister/<id>/... may only be read with <id> as the effective canister id",
                    ));
                }
                if !matches!(*field, b"module_hash" | b"controllers" | b"metadata") {
                    return Err(Refusal::forbidden(format!(
                        "/canister/<id>/{} cannot be read with read_state",
                        String::from_utf8_lossy(field)
                    )));
                }
            }
            _ => {
                return Err(Refusal::bad_request(format!(
                    "the path /{} cannot be read",
                    labels
                        .iter()
                        .map(|l| String::from_utf8_lossy(l).into_owned())
                        .collect::<Vec<_>>()
                        .join("/")
                )))
            }
        }
    }
    Ok(())
}

/// `/canister/<id>/metadata/<name>` (interface spec, "Request: Read state"):
/// `<name>` is UTF-8, and a private (`icp:private`) section is readable only
/// by the canister's controllers (else 403, as the replica's read_state
/// handler answers); a missing section is proven absent by the witness.
pub fn check_metadata(
    paths: &[Vec<Label<Vec<u8>>>],
    sender: Principal,
    canisters: &[CertifiedCanister],
) -> Result<(), Refusal> {
    for path in paths {
        let labels: Vec<&[u8]> = path.iter().map(|l| l.as_bytes()).collect();
        let [b"canister", id, b"metadata", name, ..] = labels.as_slice() else {
            continue;
        };
        let Ok(name) = std::str::from_utf8(name) else {
            return Err(Refusal::bad_request(
                "a metadata section's name must be UTF-8",
            ));
        };
        let Some(c) = canisters.iter().find(|c| c.id.as_slice() == *id) else {
            continue;
        };
        if let Some((false, _)) = c.metadata.get(name) {
            if !c.controllers.contains(&sender) {
                return Err(Refusal::forbidden(format!(
                    "the custom section {name} of canister {} is private: only its controllers may read it",
                    c.id
                )));
            }
        }
    }
    Ok(())
}
