#!/usr/bin/env bash
# Installs the default build into BUILD/install and builds examples/host.cpp against the
# installed package twice, with CMake's find_package(smccc_emu) and with pkg-config, then runs
# both on the demo guest: each must answer the forwarded PSCI_VERSION, save the VM, resume it
# in a second machine and power off (README "Using the library").
#
#   scripts/test-install.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
prefix=$PWD/$build/install
example=$build/example
fail() { echo "test-install: FAIL: $*" >&2; exit 1; }

rm -rf "$prefix" "$example"
cmake --install "$build" --prefix "$prefix" > /dev/null
cmake -S examples -B "$example" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" > /dev/null
cmake --build "$example" > /dev/null
PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export PKG_CONFIG_PATH
# shellcheck disable=SC2046 # pkg-config's words are separate arguments
g++ -O1 examples/host.cpp -o "$example/smccc-emu-host-pc" $(pkg-config --cflags --libs smccc_emu)

for host in "$example/smccc-emu-host" "$example/smccc-emu-host-pc"; do
  out=$("$host" "$build/guests/demo.elf" "$example/demo.state") || fail "$host exited with status $?"
  # The demo prints the PSCI version it got: the host's answer (1.0), not the model's (1.1).
  grep -q '^PSCI_VERSION .*= PSCI 1\.0$' <<< "$out" || fail "$host: the forwarded answer did not reach the guest"
  grep -q '^host: saved the VM after [0-9]* instructions' <<< "$out" || fail "$host: no snapshot"
  # What the guest prints after the save comes from the machine restored from it.
  grep -q '^powering off with PSCI SYSTEM_OFF$' <<< "$out" || fail "$host: the resumed guest did not finish"
  grep -q '^host: guest powered off (PSCI SYSTEM_OFF)$' <<< "$out" || fail "$host: no SYSTEM_OFF"
done
[ "$(pkg-config --modversion smccc_emu)" = "$(sed -n 's/^project(smccc_emu VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)" ] ||
  fail "pkg-config's version is not the project's"
echo "test-install: ok (find_package and pkg-config builds of examples/host.cpp)"
