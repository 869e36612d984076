//! A sender's signature, checked with the scheme its DER public key names
//! (interface spec "Signatures"): Ed25519, and ECDSA on secp256k1 or P-256
//! (the keys dfx-style PEM identities and ic-agent's identities hold).

use k256::ecdsa::signature::Verifier;
use k256::pkcs8::DecodePublicKey;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("sender_pubkey is not an Ed25519, secp256k1 or P-256 DER public key")]
    UnsupportedKey,
    #[error("the signature does not verify under sender_pubkey")]
    Mismatch,
    #[error("the signature is malformed")]
    Malformed,
}

pub fn verify(pubkey_der: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), SignatureError> {
    if let Ok(key) = ic_ed25519::PublicKey::deserialize_rfc8410_der(pubkey_der) {
        return key
            .verify_signature(msg, sig)
            .map_err(|_| SignatureError::Mismatch);
    }
    if let Ok(key) = k256::ecdsa::VerifyingKey::from_public_key_der(pubkey_der) {
        // ECDSA over SHA-256 of the message, `r || s` (64 bytes).
        let sig = k256::ecdsa::Signature::from_slice(sig).map_err(|_| SignatureError::Malformed)?;
        return key.verify(msg, &sig).map_err(|_| SignatureError::Mismatch);
    }
    if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(pubkey_der) {
        let sig = p256::ecdsa::Signature::from_slice(sig).map_err(|_| SignatureError::Malformed)?;
        return key.verify(msg, &sig).map_err(|_| SignatureError::Mismatch);
    }
    Err(SignatureError::UnsupportedKey)
}
