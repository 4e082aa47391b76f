/*
 * trap-loop: the trap-dominated loop of the benchmarks. PSCI_VERSION over HVC, TRAP_LOOP_CALLS
 * times, in a five-instruction loop (mov, hvc, add, sub, cbnz) with no memory access, so the
 * time per call is the trap, the bridge and the dispatch and almost nothing of the guest's
 * own code (psci-loop's call goes through smccc(), 57 instructions). The same image runs on
 * smccc-emu and on QEMU's virt machine, for bench/compare-qemu.sh; built with the loop and with
 * TRAP_LOOP_CALLS = 0, whose run time is the start-up cost to subtract.
 */
#include <stdint.h>

#include "guest/smccc.h"

int main(void) {
  /* volatile: the count is a run-time value, so the 0-call build keeps the same code. */
  volatile uint64_t calls = TRAP_LOOP_CALLS;
  uint64_t left = calls;
  uint64_t sum = 0;
  while (left != 0) {
    register uint64_t x0 __asm__("x0") = PSCI_VERSION;
    /* SMCCC v1.1+ (DEN0028 §2.6): x1..x17 may change and x18 on; x1..x3 are results. */
    __asm__ volatile("hvc #0" : "+r"(x0) : : "x1", "x2", "x3");
    sum += x0;
    --left;
  }
  /* Both answer PSCI 1.1 (0x10001): a wrong answer fails the run. */
  return sum == (uint64_t)TRAP_LOOP_CALLS * 0x10001u ? 0 : 1;
}
