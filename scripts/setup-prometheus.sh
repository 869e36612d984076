#!/usr/bin/env bash
# Prometheus for the HTTP-gateway test (factoryctl/tests/http_interface.rs):
# Debian's package, unpacked into target/tools/prometheus (not installed
# system-wide, so no service is started). Idempotent; prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=target/tools/prometheus
bin="$dest/usr/bin/prometheus"
if [ ! -x "$bin" ]; then
  mkdir -p "$dest"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && { apt-get download prometheus >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null && apt-get download prometheus >/dev/null; }; })
  dpkg-deb -x "$work"/prometheus_*.deb "$dest"
fi
echo "$PWD/$bin"
