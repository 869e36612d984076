//! `--identity`: a PEM file, or a dfx identity by name, as dfx keeps them
//! (Ed25519 or secp256k1, unencrypted); anonymous when absent.

use anyhow::{bail, Context, Result};
use ic_agent::identity::{AnonymousIdentity, BasicIdentity, Secp256k1Identity};
use ic_agent::Identity;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn load(arg: Option<&str>) -> Result<Arc<dyn Identity>> {
    let Some(arg) = arg else {
        return Ok(Arc::new(AnonymousIdentity));
    };
    let path = pem_path(arg)?;
    let pem =
        std::fs::read(&path).with_context(|| format!("reading identity {}", path.display()))?;
    from_pem(&pem).with_context(|| format!("identity {}", path.display()))
}

/// A file that exists, else dfx's place for an identity of that name.
fn pem_path(arg: &str) -> Result<PathBuf> {
    let as_file = Path::new(arg);
    if as_file.is_file() {
        return Ok(as_file.to_path_buf());
    }
    if arg.contains(['/', '\\']) || arg.ends_with(".pem") {
        bail!("identity file {arg} does not exist");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let dir = home.join(".config/dfx/identity").join(arg);
    let pem = dir.join("identity.pem");
    if pem.is_file() {
        return Ok(pem);
    }
    if dir.join("identity.pem.encrypted").is_file() {
        bail!("dfx identity '{arg}' is encrypted; export it with `dfx identity export {arg}` and pass the file");
    }
    bail!("no identity '{arg}': neither a file nor {}", pem.display())
}

fn from_pem(pem: &[u8]) -> Result<Arc<dyn Identity>> {
    if let Ok(id) = BasicIdentity::from_pem(pem) {
        return Ok(Arc::new(id));
    }
    match Secp256k1Identity::from_pem(pem) {
        Ok(id) => Ok(Arc::new(id)),
        Err(_) => bail!("not an Ed25519 or secp256k1 private key in PEM form"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8410's example Ed25519 key.
    const ED25519: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
        -----END PRIVATE KEY-----\n";

    #[test]
    fn an_ed25519_pem_gives_its_self_authenticating_principal() {
        let id = from_pem(ED25519.as_bytes()).unwrap();
        let principal = id.sender().unwrap();
        assert_ne!(principal, candid::Principal::anonymous());
        assert_eq!(
            principal.as_slice().last(),
            Some(&0x02),
            "self-authenticating"
        );
    }

    #[test]
    fn garbage_and_missing_files_are_refused() {
        assert!(
            from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").is_err()
        );
        let err = pem_path("/nonexistent/identity.pem")
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
    }
}
