//! Running the factoryctl binary against a state directory, as a user would.

#![allow(dead_code)]

pub mod chromium;
#[cfg(feature = "network")]
pub mod served;

use std::path::Path;
use std::process::{Command, Output};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn factoryctl(state_dir: &Path, args: &[&str]) -> Run {
    factoryctl_env(state_dir, args, &[])
}

pub fn factoryctl_env(state_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_factoryctl"));
    cmd.arg("--state-dir").arg(state_dir).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("factoryctl runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// The command succeeded; its stdout.
pub fn ok(state_dir: &Path, args: &[&str]) -> String {
    let run = factoryctl(state_dir, args);
    assert_eq!(
        run.code, 0,
        "factoryctl {args:?} failed:\n{}{}",
        run.stdout, run.stderr
    );
    run.stdout
}

/// The command failed with one clear line on stderr (no panic, no
/// backtrace) containing `expected`; that line.
pub fn fails_with(run: Run, expected: &str) -> String {
    assert_ne!(run.code, 0, "should fail: {}", run.stdout);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got:\n{}", run.stderr);
    let line = lines[0];
    assert!(line.starts_with("error"), "{line}");
    assert!(
        !line.contains("panicked") && !line.contains("internal error"),
        "{line}"
    );
    assert!(line.contains(expected), "expected '{expected}' in: {line}");
    line.to_string()
}

/// `key=value` in a line of `rollout status` output.
pub fn field(text: &str, line_prefix: &str, key: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(line_prefix))
        .unwrap_or_else(|| panic!("no line starting with '{line_prefix}' in:\n{text}"));
    let value = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in: {line}"));
    value
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .expect("a number")
}

/// A valid wasm module of `size` bytes (a custom section of pseudo-random
/// bytes, seeded so each seed hashes differently).
pub fn big_wasm(size: usize, seed: u64) -> Vec<u8> {
    let mut module = b"\0asm\x01\0\0\0".to_vec();
    let name = b"demo_payload";
    let payload_len = size - module.len() - 1 - 5 - 1 - name.len();
    let section_len = (1 + name.len() + payload_len) as u32;
    module.push(0); // custom section
                    // Fixed 5-byte LEB128, so the size comes out exact.
    let mut v = section_len;
    for i in 0..5 {
        let mut byte = (v & 0x7f) as u8;
        v >>= 7;
        if i < 4 {
            byte |= 0x80;
        }
        module.push(byte);
    }
    module.push(name.len() as u8);
    module.extend_from_slice(name);
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    module.extend((0..payload_len).map(|_| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as u8
    }));
    assert_eq!(module.len(), size);
    module
}
