//! The keys a network of one node needs, generated at start: the BLS
//! threshold key (the root key; with no NNS to delegate, every emulated
//! subnet certifies with it, see `topology.rs`) and the node's Ed25519 key
//! that signs query responses.

use candid::Principal;
use ic_verify_bls_signature::PrivateKey as BlsKey;

/// DER prefix of an IC BLS12-381 G2 public key (the interface spec's
/// "Certification" section; the root key `status` serves has this form).
const BLS_DER_PREFIX: [u8; 37] = [
    0x30, 0x81, 0x82, 0x30, 0x1d, 0x06, 0x0d, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xdc, 0x7c, 0x05,
    0x03, 0x01, 0x02, 0x01, 0x06, 0x0c, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xdc, 0x7c, 0x05, 0x03,
    0x02, 0x01, 0x03, 0x61, 0x00,
];

/// Domain separator of a certificate's signed root hash (spec: "Certification").
const STATE_ROOT_DOMAIN: &[u8] = b"\x0Dic-state-root";

pub struct Keys {
    subnet_key: BlsKey,
    /// DER of the subnet (= root) public key.
    pub root_key_der: Vec<u8>,
    /// The root subnet's id: self-authenticating from its public key, which
    /// is how agents name the subnet of a certificate without delegation
    /// (the emulated subnets are certified under their own ids beside it).
    pub subnet_id: Principal,
    node_key: ic_ed25519::PrivateKey,
    pub node_id: Principal,
    /// RFC 8410 DER of the node's public key, as `/subnet/<id>/node/<id>/public_key`.
    pub node_key_der: Vec<u8>,
}

impl Keys {
    pub fn generate() -> Keys {
        let mut rng = rand::thread_rng();
        let subnet_key = BlsKey::random(&mut rng);
        let mut root_key_der = BLS_DER_PREFIX.to_vec();
        root_key_der.extend_from_slice(&subnet_key.public_key().serialize());
        let node_key = ic_ed25519::PrivateKey::generate_using_rng(&mut rng);
        let node_key_der = node_key.public_key().serialize_rfc8410_der();
        Keys {
            subnet_id: Principal::self_authenticating(&root_key_der),
            root_key_der,
            subnet_key,
            node_id: Principal::self_authenticating(&node_key_der),
            node_key,
            node_key_der,
        }
    }

    /// The BLS signature of a state tree's root hash.
    pub fn sign_root_hash(&self, root_hash: &[u8; 32]) -> Vec<u8> {
        let mut msg = STATE_ROOT_DOMAIN.to_vec();
        msg.extend_from_slice(root_hash);
        self.subnet_key.sign(&msg).serialize().to_vec()
    }

    /// The node's signature of a query response's signable bytes.
    pub fn node_sign(&self, signable: &[u8]) -> Vec<u8> {
        self.node_key.sign_message(signable).to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_hash_signatures_verify_under_the_served_root_key() {
        let keys = Keys::generate();
        let hash = [7u8; 32];
        let sig = keys.sign_root_hash(&hash);
        let mut msg = STATE_ROOT_DOMAIN.to_vec();
        msg.extend_from_slice(&hash);
        let key = &keys.root_key_der[BLS_DER_PREFIX.len()..];
        assert!(ic_verify_bls_signature::verify_bls_signature(&sig, &msg, key).is_ok());
        msg[20] ^= 1;
        assert!(ic_verify_bls_signature::verify_bls_signature(&sig, &msg, key).is_err());
    }
}
