#!/usr/bin/env bash
# Wall-clock latency of one factoryctl command on the embedded network, at a
# few fleet sizes: each size's state comes from `factoryctl demo --users N`,
# then every command below runs REPEAT times and the median is printed.
# Each command loads the state directory and saves it back (issue 13, item 13:
# at 1,000 users it should stay within 2x of 10 users).
#
#   scripts/command-latency.sh [SIZES...]     # default: 10 1000; REPEAT=5
#   FACTORYCTL=path/to/factoryctl scripts/command-latency.sh   # a binary already built
#
# Wall time on a shared machine is noisy: compare sizes within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then sizes=("$@"); else sizes=(10 1000); fi
repeat=${REPEAT:-5}
bin=${FACTORYCTL:-}
if [ -z "$bin" ]; then
    cargo build -q -p factoryctl --no-default-features   # the embedded network needs no ic-agent
    bin=target/debug/factoryctl
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/factoryctl-latency.XXXXXX")
trap 'rm -rf "$work"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-8s %-28s %10s %12s\n' users command median_s state_MiB
for n in "${sizes[@]}"; do
    out="$work/$n"
    start=$(date +%s.%N)
    "$bin" demo --users "$n" --quiet --report "$out/report.html" >"$out.log" 2>&1 \
        || { cat "$out.log"; exit 1; }
    demo_s=$(echo "$(date +%s.%N) - $start" | bc)
    state="$out/state"
    owner=$(grep -o -- '--as [a-z0-9-]*' "$out.log" | head -1 | cut -d' ' -f2)
    mib=$(du -sm "$state" | cut -f1)
    printf '%-8s %-28s %10.2f %12s\n' "$n" "(the demo itself)" "$demo_s" "$mib"
    for cmd in "releases list" "rollout status" "--as $owner canister show"; do
        times=()
        for _ in $(seq "$repeat"); do
            t0=$(date +%s.%N)
            # shellcheck disable=SC2086
            "$bin" --state-dir "$state" $cmd >/dev/null
            times+=("$(echo "$(date +%s.%N) - $t0" | bc)")
        done
        label=${cmd/--as $owner /--as <user> }
        printf '%-8s %-28s %10.3f %12s\n' "$n" "$label" \
            "$(printf '%s\n' "${times[@]}" | median)" "$(du -sm "$state" | cut -f1)"
    done
done
