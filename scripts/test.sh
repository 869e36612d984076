#!/usr/bin/env bash
# The whole test suite: set up, build the canisters once, run every test.
# Extra arguments go to the test runner (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Build the release artifacts before the tests start in parallel.
scripts/build-canisters.sh
if cargo nextest --version >/dev/null 2>&1; then
  profile=default; [[ -n "${CI:-}" ]] && profile=ci
  cargo nextest run --workspace --profile "$profile" "$@"
else
  cargo test --workspace "$@"
fi
