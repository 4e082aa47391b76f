#!/usr/bin/env bash
# PSCI_VERSION calls per second: smccc-emu against QEMU's virt machine (which answers PSCI
# itself over HVC), on the same guest image, in one run. Each is timed RUNS times with and
# without the 5,000,000-call loop; the median of the loop runs minus the median start-up run
# gives the time of the calls alone.
#
#   bench/compare-qemu.sh [BUILD_DIR] [OUT_JSON]
#
# Installs qemu-system-arm from Debian if it is missing (scripts/setup-bench-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-$build/bench/compare-qemu.json}
runs=${RUNS:-5}
calls=5000000
emu="$build/cli/smccc-emu"
loop="$build/guests/psci-loop.elf"
empty="$build/guests/psci-loop-0.elf"

scripts/setup-bench-deps.sh >&2
for f in "$emu" "$loop" "$empty"; do
  [ -e "$f" ] || { echo "compare-qemu: $f is missing; run 'make build' first" >&2; exit 1; }
done

qemu() { timeout 120 qemu-system-aarch64 -M virt -cpu cortex-a57 -m 256 -nographic -semihosting -kernel "$1"; }
smccc() { "$emu" run -q "$1"; }

# Median wall-clock seconds of RUNS runs of "$@" (each must exit 0).
median_seconds() {
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" > /dev/null || { echo "compare-qemu: '$*' failed" >&2; exit 1; }
    t1=$(date +%s%N)
    times+=($(( t1 - t0 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)] / 1e9}'
}

emu_loop=$(median_seconds smccc "$loop")
emu_empty=$(median_seconds smccc "$empty")
qemu_loop=$(median_seconds qemu "$loop")
qemu_empty=$(median_seconds qemu "$empty")

awk -v calls="$calls" -v el="$emu_loop" -v ee="$emu_empty" -v ql="$qemu_loop" -v qe="$qemu_empty" \
    -v out="$out" -v qver="$(qemu-system-aarch64 --version | head -1)" 'BEGIN {
  emu = calls / (el - ee); q = calls / (ql - qe);
  printf "PSCI_VERSION calls per second (%d calls, median of runs, start-up subtracted)\n", calls;
  printf "  smccc-emu: %.3g calls/s (%.1f ns per call)\n", emu, 1e9 / emu;
  printf "  QEMU virt: %.3g calls/s (%.1f ns per call) [%s]\n", q, 1e9 / q, qver;
  printf "  ratio smccc-emu / QEMU: %.2fx (target: at least 2x)\n", emu / q;
  printf "{\"calls\": %d, \"smccc_emu_calls_per_s\": %.6g, \"qemu_calls_per_s\": %.6g, \"ratio\": %.4f, \"qemu\": \"%s\"}\n",
         calls, emu, q, emu / q, qver > out;
}'
