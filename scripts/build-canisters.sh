#!/usr/bin/env bash
# Builds the release artifacts (target/canisters/*.wasm.gz and their SHA-256)
# and prints their sizes and hashes. Also dfx's build step for the factory.
set -euo pipefail
cd "$(dirname "$0")/.."
# The dev profile: its dependencies are optimized (see Cargo.toml), and the
# tests reuse the same build instead of compiling a release tree too.
exec cargo run -q -p canister_artifacts --bin build-canisters
