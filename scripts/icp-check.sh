#!/usr/bin/env bash
# icp-cli beside dfx, offline (telemetry off): `icp project show` reads icp.yaml
# and `icp build` builds both canisters through the project's own build; the
# modules it keeps must be the bytes of target/canisters/*. icp-cli comes from
# npm (`@icp-sdk/icp-cli-linux-x64`, installed by `npm ci` in tests/node).
set -euo pipefail
cd "$(dirname "$0")/.."
export DO_NOT_TRACK=1
icp=${ICP_BIN:-tests/node/node_modules/@icp-sdk/icp-cli-linux-x64/bin/icp}
"$icp" --version
shown=$("$icp" project show)
for name in factory user_canister; do
  grep -q "name: $name" <<<"$shown" || { echo "icp project show lists no $name:"; echo "$shown"; exit 1; }
done
grep -q 'Init = record' <<<"$shown" || { echo "icp project show: no factory init argument"; exit 1; }
"$icp" build
for name in factory user_canister; do
  built=.icp/cache/artifacts/$name
  if ! cmp -s "$built" "target/canisters/$name.wasm.gz"; then
    echo "icp build: $built differs from target/canisters/$name.wasm.gz"
    exit 1
  fi
  echo "icp build: $name = target/canisters/$name.wasm.gz ($(sha256sum <"$built" | cut -c1-16)...)"
done
