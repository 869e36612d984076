#!/usr/bin/env bash
# Wall-clock latency of one factoryctl command on the embedded network, at a
# few fleet sizes: each size's state comes from `factoryctl demo --users N`,
# then every command below runs REPEAT times and the median is printed.
# A command reads a canister's memory only when it touches it and writes back
# only what changed (issue 13, item 13: at 1,000 users it should stay within
# 2x of 10 users). Beside the wall time, the deterministic cost: the files a
# command wrote in the state directory and their bytes (a read-only command
# writes none; `provision`, one new user, writes the same few at any size).
#
#   scripts/command-latency.sh [SIZES...]     # default: 10 1000; REPEAT=5
#   FACTORYCTL=path/to/factoryctl scripts/command-latency.sh   # a binary already built
#
# Wall time on a shared machine is noisy: compare sizes within one run (the
# README table is REPEAT=5).
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

printf '%-8s %-28s %10s %12s %8s %12s\n' users command median_s state_MiB files bytes
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
    for cmd in "releases list" "rollout status" "--as $owner canister show" provision; do
        times=()
        for _ in $(seq "$repeat"); do
            args=$cmd
            if [ "$cmd" = provision ]; then
                args="--as $("$bin" principal new) provision --recovery $("$bin" principal new)"
            fi
            touch "$work/mark"
            t0=$(date +%s.%N)
            # shellcheck disable=SC2086
            "$bin" --state-dir "$state" $args >/dev/null
            times+=("$(echo "$(date +%s.%N) - $t0" | bc)")
            files=$(find "$state" -type f -newer "$work/mark" | wc -l)
            bytes=$(find "$state" -type f -newer "$work/mark" -printf '%s\n' | awk '{s+=$1} END {print s+0}')
        done
        label=${cmd/--as $owner /--as <user> }
        printf '%-8s %-28s %10.3f %12s %8s %12s\n' "$n" "$label" \
            "$(printf '%s\n' "${times[@]}" | median)" "$(du -sm "$state" | cut -f1)" "$files" "$bytes"
    done
done
