#!/usr/bin/env bash
# The main job: set up, build the canisters, run the demo on the embedded emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-canisters.sh
