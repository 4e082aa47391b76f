#!/usr/bin/env bash
# PSCI_VERSION calls per second: smccc-emu against QEMU 7.2's virt machine (which answers PSCI
# itself over HVC), on the same guest images, in one run:
#
#   psci-loop: through the guest's smccc() helper (57 guest instructions a call; targets
#              ≥ 1.0×, goal 1.1×)
#   trap-loop: a five-instruction loop, so the trap dominates (targets ≥ 1.6×, goal 1.9×)
#
# Each is timed RUNS times with and without the 5,000,000-call loop; the median of the loop
# runs minus the median start-up run gives the time of the calls alone.
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

scripts/setup-bench-deps.sh >&2
qemu() { timeout 120 qemu-system-aarch64 -M virt -cpu max -m 256 -nic none -nographic -semihosting -kernel "$1"; }
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

# One guest: prints the comparison and one JSON member for it.
compare() {
  local guest=$1 loop="$build/guests/$1.elf" empty="$build/guests/$1-0.elf"
  for f in "$emu" "$loop" "$empty"; do
    [ -e "$f" ] || { echo "compare-qemu: $f is missing; run 'make build' first" >&2; exit 1; }
  done
  local el ee ql qe
  el=$(median_seconds smccc "$loop")
  ee=$(median_seconds smccc "$empty")
  ql=$(median_seconds qemu "$loop")
  qe=$(median_seconds qemu "$empty")
  awk -v guest="$guest" -v calls="$calls" -v el="$el" -v ee="$ee" -v ql="$ql" -v qe="$qe" 'BEGIN {
    emu = calls / (el - ee); q = calls / (ql - qe);
    printf "%s: PSCI_VERSION calls per second (%d calls, median of runs, start-up subtracted)\n", guest, calls > "/dev/stderr";
    printf "  smccc-emu: %.3g calls/s (%.1f ns per call)\n", emu, 1e9 / emu > "/dev/stderr";
    printf "  QEMU virt: %.3g calls/s (%.1f ns per call)\n", q, 1e9 / q > "/dev/stderr";
    printf "  ratio smccc-emu / QEMU: %.2fx\n", emu / q > "/dev/stderr";
    printf "\"%s\": {\"smccc_emu_calls_per_s\": %.6g, \"qemu_calls_per_s\": %.6g, \"ratio\": %.4f}", guest, emu, q, emu / q;
  }'
}

psci=$(compare psci-loop)
trap=$(compare trap-loop)
printf '{"calls": %d, "qemu": "%s", %s, %s}\n' "$calls" "$(qemu-system-aarch64 --version | head -1)" "$psci" "$trap" > "$out"
