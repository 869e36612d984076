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

# icp-cli against `factoryctl serve` as a connected network (by URL, with the
# root key serve prints), as an identity of icp's own (a plaintext key in a
# throw-away HOME): a query and an update call to the factory factoryctl
# deployed, and the identity's cycles balance on serve's cycles-ledger double
# (funded with `--fund`, as a local network funds its developer).
factoryctl=${FACTORYCTL:-target/debug/factoryctl}
work=$(mktemp -d)
serve_pid=""
real_home=$HOME
trap 'kill "$serve_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
export HOME=$work/home
mkdir -p "$HOME"
"$icp" identity new ci --storage plaintext >/dev/null 2>&1
"$icp" identity default ci >/dev/null
me=$("$icp" identity principal)
factory=$(HOME=$real_home "$factoryctl" --state-dir "$work/net" deploy --admin "$me" | sed -n 's/^factory //p' | head -1)
HOME=$real_home "$factoryctl" --state-dir "$work/net" serve --port 0 --round-ms 50 --for 240 --fund "$me" >"$work/serve.out" &
serve_pid=$!
for _ in $(seq 100); do grep -q "root key" "$work/serve.out" && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.out" | head -1)
root_key=$(sed -n 's/^ *root key: //p' "$work/serve.out")
on_served=(-n "$url" -k "$root_key")
version=$("$icp" canister call "$factory" version '()' --query "${on_served[@]}" --candid factory/factory.did)
grep -q crate_version <<<"$version" || { echo "icp canister call version: $version"; exit 1; }
admins=$("$icp" canister call "$factory" list_admins '()' "${on_served[@]}" --candid factory/factory.did)
grep -q "$me" <<<"$admins" || { echo "icp canister call list_admins (as the admin $me): $admins"; exit 1; }
echo "icp canister call on $url: version and list_admins (an update, as $me) answered"

# The identity's balance on serve's cycles-ledger double (funded with --fund),
# read by icp-cli's own ICRC-1 client through the served network.
balance=$("$icp" cycles balance -q "${on_served[@]}")
[ "${balance//[^0-9]/}" -gt 0 ] || { echo "icp cycles balance: $balance"; exit 1; }
echo "icp cycles balance on $url: $balance (the cycles-ledger double)"
# `icp deploy` is not run yet: icp-cli creates through the ledger's
# create_canister on a subnet from the CMC's get_default_subnets, then reads
# that subnet's state at /api/v3/subnet/<id>/read_state; the served network
# certifies its subnet under another id (the root key's), so icp-cli gets 404.
