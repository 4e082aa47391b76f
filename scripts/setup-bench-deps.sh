#!/usr/bin/env bash
# What `make bench` needs beyond scripts/setup-deps.sh, from Debian 12's own archive: QEMU
# (for bench/compare-qemu.sh), valgrind (bench/callgrind-calls.sh) and matplotlib (for the plot). Idempotent.
set -euo pipefail
readonly PACKAGES=(qemu-system-arm python3-matplotlib valgrind)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
echo "setup-bench-deps: installing ${missing[*]}" >&2
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
