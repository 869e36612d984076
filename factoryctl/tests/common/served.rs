//! `factoryctl serve` in the background and dfx-style PEM identities for
//! factoryctl over the network (the HTTP-interface tests).

use super::Run;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// `factoryctl serve` in the background, killed when dropped.
pub struct Served {
    child: Child,
    pub url: String,
    /// serve's first lines (the URL, the root key, what is deployed).
    pub banner: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves `state` (created if absent) on a free port, rounds every `round_ms`.
pub fn serve(state: &Path, round_ms: u64) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_factoryctl"))
        .arg("--state-dir")
        .arg(state)
        .args(["serve", "--port", "0", "--round-ms", &round_ms.to_string()])
        .args(["--for", "900"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("factoryctl serve starts");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    // Up to the line saying what is deployed (or that nothing is).
    while !banner.contains("factory") {
        if reader.read_line(&mut banner).unwrap() == 0 {
            panic!("serve ended before its banner:\n{banner}");
        }
    }
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in: {banner}"))
        .to_string();
    // Keep the pipe drained so later prints never block the server.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    Served { child, url, banner }
}

/// factoryctl run in `cwd` (where a network deploy records the factory id).
pub fn factoryctl_in(cwd: &Path, state_dir: &Path, args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_factoryctl"))
        .current_dir(cwd)
        .arg("--state-dir")
        .arg(state_dir)
        .args(args)
        .output()
        .expect("factoryctl runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// An Ed25519 key in PKCS#8 PEM (as `dfx identity new` writes).
pub fn ed25519_pem(path: &Path) {
    let key = ic_ed25519::PrivateKey::generate();
    let pem = key.serialize_pkcs8_pem(ic_ed25519::PrivateKeyFormat::Pkcs8v1);
    std::fs::write(path, pem).unwrap();
}

/// A secp256k1 key in SEC1 PEM (as `dfx identity new --storage-mode plaintext` writes).
pub fn secp256k1_pem(path: &Path) {
    let key = k256::SecretKey::random(&mut rand::thread_rng());
    let pem = key.to_sec1_pem(k256::pkcs8::LineEnding::LF).unwrap();
    std::fs::write(path, pem.as_bytes()).unwrap();
}

pub fn principal_of(pem: &Path) -> String {
    let text = std::fs::read_to_string(pem).unwrap();
    let identity: Box<dyn ic_agent::Identity> = if text.contains("EC PRIVATE KEY") {
        Box::new(ic_agent::identity::Secp256k1Identity::from_pem(text.as_bytes()).unwrap())
    } else {
        Box::new(ic_agent::identity::BasicIdentity::from_pem(text.as_bytes()).unwrap())
    };
    identity.sender().unwrap().to_text()
}
