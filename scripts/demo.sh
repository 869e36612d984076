#!/usr/bin/env bash
# The main job: set up, build the canisters, run the demo on the embedded emulator.
# Extra arguments go to the demo (e.g. --users 100, --max-in-flight 20, --quiet).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-canisters.sh
# The dev profile: dependencies (wasmtime included) are optimized even there.
cargo run -p factoryctl -- demo "$@"
