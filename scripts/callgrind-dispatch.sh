#!/usr/bin/env bash
# Host instructions per firmware call, counted by callgrind (exact and repeatable, unlike wall
# time on a shared machine):
#   * table-only dispatch (bench_dispatch_count, BM_Dispatch's setup, after the first run), per FID;
#   * one PSCI_VERSION call of the psci-loop guest under the CLI (20000 calls minus 0 calls).
# Each figure is (instructions with N calls - instructions with none) / N, so it includes the
# driving loop (about 10 instructions for the table-only figures).
#   scripts/callgrind-dispatch.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
command -v valgrind > /dev/null || { echo "callgrind-dispatch: valgrind is not installed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

instructions() {  # instructions COMMAND... -> total Ir of the run
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$@" > /dev/null 2>&1
  awk '/^(summary|totals):/ {print $2; exit}' "$tmp/cg.out"
}

n=20000
echo "table-only dispatch, host instructions per call (bench_dispatch_count, $n calls):"
while read -r name fid arg; do
  with=$(instructions "$build/bench/bench_dispatch_count" "$fid" "$arg" "$n" run)
  without=$(instructions "$build/bench/bench_dispatch_count" "$fid" "$arg" 0 run)
  printf '  %-20s %s %6d\n' "$name" "$fid" $(( (with - without) / n ))
done << 'LIST'
SmcccVersion 0x80000000 0
SmcccArchFeatures 0x80000001 0x80008000
PsciVersion 0x84000000 0
PsciFeatures 0x8400000A 0x84000012
AffinityInfo 0xC4000004 1
Unknown 0x83000000 0
DeniedByFilter 0x82000000 0
SdeiEventStatus 0xC4000028 0
LIST

# The psci-loop guest with 20000 calls and with none, from the loop guest's own source.
guests="$build/guests"
cross=${GUEST_CROSS_PREFIX:-aarch64-linux-gnu-}
for calls in "$n" 0; do
  "${cross}gcc" -O3 -ffreestanding -nostdlib -nostartfiles -mgeneral-regs-only -mstrict-align \
    -mno-outline-atomics -fno-pie -fno-stack-protector -Iguests/runtime/include -DPSCI_LOOP_CALLS="$calls" \
    -static -no-pie -Wl,--build-id=none -Tguests/runtime/link.ld guests/bench/psci_loop.c \
    "$guests/libguest_runtime.a" -lgcc -o "$tmp/psci-loop-$calls.elf"
done
with=$(instructions "$build/cli/smccc-emu" run -q "$tmp/psci-loop-$n.elf")
without=$(instructions "$build/cli/smccc-emu" run -q "$tmp/psci-loop-0.elf")
echo "psci-loop guest (CLI), host instructions per PSCI_VERSION call: $(( (with - without) / n ))"
