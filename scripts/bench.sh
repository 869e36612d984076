#!/usr/bin/env bash
# Every benchmark in one run: prints one table and writes
# target/bench/results.json and target/bench/results.md.
#   scripts/bench.sh                 # --size default (a few minutes)
#   scripts/bench.sh --size full     # every figure at full size (< 15 min here)
#   scripts/bench.sh --size smallest # seconds (what CI runs)
# Other arguments go to factory-bench (see --help), e.g. --only rollout,factory.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-canisters.sh
exec cargo run --release -p factory-bench -- "$@"
