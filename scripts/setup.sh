#!/usr/bin/env bash
# Installs what building and checking the project needs, on a fresh machine of
# our kind: the wasm32 target (or, where rustup cannot add it, Debian's
# rustc-web route of DESIGN.md "Toolchain"), rustfmt and clippy.
# CANISTER_TOOLCHAIN=debian forces the Debian route.
set -euo pipefail

rustup component add rustfmt clippy >/dev/null 2>&1 || echo "setup: rustfmt/clippy not added" >&2

if [[ "${CANISTER_TOOLCHAIN:-}" != debian ]] && rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
  exit 0
fi

echo "setup: using Debian's rustc-web for wasm32 (rustup target unavailable or CANISTER_TOOLCHAIN=debian)" >&2
if ! dpkg -s rustc-web rust-web-src >/dev/null 2>&1; then
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq rustc-web cargo-web rust-web-src >/dev/null
fi
