#!/usr/bin/env bash
# Builds the release artifacts (target/canisters/*.wasm.gz and their SHA-256)
# and prints their sizes and hashes. Also dfx's build step for the factory.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run -q --release -p canister_artifacts --bin build-canisters
