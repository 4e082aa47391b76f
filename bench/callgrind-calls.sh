#!/usr/bin/env bash
# Host instructions per firmware call, counted by callgrind (valgrind), which repeats exactly
# where wall time on a shared machine moves by ±50 %. For each loop guest it counts the whole
# run with 100,000 calls and with none, under smccc-emu and under QEMU 7.2's virt machine,
# and divides the difference by 100,000:
#
#   psci-loop: PSCI_VERSION through the guest's smccc() helper (57 guest instructions a call)
#   trap-loop: PSCI_VERSION in a five-instruction loop (the trap, bridge and dispatch alone)
#
#   bench/callgrind-calls.sh [BUILD_DIR] [OUT_JSON]
#
# Needs valgrind and qemu-system-aarch64 (scripts/setup-bench-deps.sh installs both).
# SMCCC_EMU_REGS=api in the environment forces the public register API in the trap path.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-$build/bench/callgrind-calls.json}
calls=100000
emu="$build/cli/smccc-emu"

scripts/setup-bench-deps.sh >&2
# Instructions (Ir) of one run of "$@" under callgrind, every thread counted.
count() {
  local log
  log=$(mktemp)
  timeout 600 valgrind --tool=callgrind --callgrind-out-file=/dev/null --log-file="$log" "$@" >/dev/null ||
    { echo "callgrind-calls: '$*' failed" >&2; cat "$log" >&2; rm -f "$log"; exit 1; }
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log"
  rm -f "$log"
}
per_call() { echo $(( ($1 - $2) / calls )); }
qemu=(qemu-system-aarch64 -M virt -cpu max -m 256 -nic none -nographic -semihosting -kernel)

results=()
for guest in psci-loop trap-loop; do
  full="$build/guests/$guest-100k.elf"
  empty="$build/guests/$guest-0.elf"
  for f in "$full" "$empty"; do
    [ -e "$f" ] || { echo "callgrind-calls: $f is missing; run 'make build' first" >&2; exit 1; }
  done
  e=$(per_call "$(count "$emu" run -q "$full")" "$(count "$emu" run -q "$empty")")
  q=$(per_call "$(count "${qemu[@]}" "$full")" "$(count "${qemu[@]}" "$empty")")
  ratio=$(awk -v e="$e" -v q="$q" 'BEGIN { printf "%.3f", q / e }')
  printf '%s: smccc-emu %d host instructions per call, QEMU %d (QEMU/smccc-emu %s)\n' "$guest" "$e" "$q" "$ratio"
  results+=("\"$guest\": {\"smccc_emu\": $e, \"qemu\": $q, \"ratio\": $ratio}")
done
# Which register path the trap used (--stats says; SMCCC_EMU_REGS=api forces the public API).
regs=$("$emu" run -q --stats "$build/guests/trap-loop-0.elf" 2>&1 >/dev/null | sed -n 's/^registers: //p')
(IFS=,; printf '{"calls": %d, "registers": "%s", %s}\n' "$calls" "$regs" "${results[*]}") > "$out"
