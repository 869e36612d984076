#!/usr/bin/env bash
# icp-cli beside dfx, offline (telemetry and update check off): `icp project show` reads icp.yaml
# and `icp build` builds both canisters through the project's own build; the
# modules it keeps must be the bytes of target/canisters/*. icp-cli comes from
# npm (`@icp-sdk/icp-cli-linux-x64`, installed by `npm ci` in tests/node).
set -euo pipefail
cd "$(dirname "$0")/.."
export DO_NOT_TRACK=1
icp=${ICP_BIN:-tests/node/node_modules/@icp-sdk/icp-cli-linux-x64/bin/icp}
[ -x "$icp" ] || { echo "icp-cli is not installed at $icp: run (cd tests/node && npm ci) or set ICP_BIN"; exit 1; }
# icp's settings and identities in a throw-away ICP_HOME, its update check off:
# nothing leaves 127.0.0.1.
work=$(mktemp -d)
serve_pid=""
stop_serve() {
  [ -n "$serve_pid" ] || return 0
  kill -TERM "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=""
}
trap 'stop_serve; rm -rf "$work" .icp/data/mappings/served.ids.json' EXIT
export ICP_HOME=$work/icp
"$icp" settings update-check disabled >/dev/null
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

# icp-cli against `factoryctl serve` as a connected network, as an identity
# of icp's own (a plaintext key in the throw-away ICP_HOME), funded on serve's
# cycles-ledger double (`--fund`, as a local network funds its developer):
# - by URL and root key (`-n URL -k KEY`): a query and an update call to the
#   factory factoryctl deployed, and the identity's cycles balance;
# - as the project's `served` network (icp.yaml: a URL on port 4944, the root
#   key fetched): `icp deploy -e served` creates a factory through the ledger
#   on a subnet the CMC offers and installs it with icp.yaml's init argument
#   (this identity as the admin), then `icp canister call` of its queries.
factoryctl=${FACTORYCTL:-target/debug/factoryctl}
port=$(sed -n 's|^ *url: http://127.0.0.1:\([0-9]*\)$|\1|p' icp.yaml | head -1)
[ -n "$port" ] || { echo "icp.yaml: no served network on 127.0.0.1"; exit 1; }
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "port $port (icp.yaml's served network) is taken: stop what listens there"; exit 1
fi
"$icp" identity new ci --storage plaintext >/dev/null 2>&1
"$icp" identity default ci >/dev/null
me=$("$icp" identity principal)
factory=$("$factoryctl" --state-dir "$work/net" deploy --admin "$me" | sed -n 's/^factory //p' | head -1)
"$factoryctl" --state-dir "$work/net" serve --port "$port" --round-ms 50 --for 240 --fund "$me" >"$work/serve.out" &
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

# `icp deploy` of the factory to the served network, with icp.yaml's init
# argument naming this identity as the admin (no stale id from an earlier run).
rm -f .icp/data/mappings/served.ids.json
init=$(sed -n 's/^ *init_args: "\(.*\)"$/\1/p' icp.yaml | head -1 | sed 's/\\"/"/g')
init=${init//2vxsx-fae/$me}
grep -q "$me" <<<"$init" || { echo "icp.yaml: no factory init_args to deploy with"; exit 1; }
"$icp" deploy factory -e served -y --args "$init" >"$work/deploy.out" 2>&1 || { cat "$work/deploy.out"; exit 1; }
deployed=$(sed -n 's/^Created canister factory with ID //p' "$work/deploy.out")
[ -n "$deployed" ] && [ "$deployed" != "$factory" ] || { cat "$work/deploy.out"; echo "icp deploy: no new factory id ($deployed)"; exit 1; }
admins=$("$icp" canister call factory list_admins '()' -e served)
grep -q "$me" <<<"$admins" || { echo "icp canister call list_admins (icp.yaml's init argument): $admins"; exit 1; }
status=$("$icp" canister call factory rollout_status '()' -e served --query)
grep -q 'active = null' <<<"$status" || { echo "icp canister call rollout_status: $status"; exit 1; }
releases=$("$icp" canister call factory list_releases '(record { after = null; limit = 10 })' -e served --query)
grep -q 'vec {}' <<<"$releases" || { echo "icp canister call list_releases: $releases"; exit 1; }
echo "icp deploy -e served: factory $deployed installed (admin $me); list_admins, rollout_status and list_releases answered"
stop_serve
grep -q "^saved " "$work/serve.out" || { cat "$work/serve.out"; echo "factoryctl serve did not save its state at SIGTERM"; exit 1; }
echo "factoryctl serve stopped cleanly (state saved)"
