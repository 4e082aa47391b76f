/*
 * psci-loop: PSCI_VERSION over HVC, PSCI_LOOP_CALLS times, then exit with status 0 through
 * semihosting. The same image runs on smccc-emu and on QEMU's virt machine (which answers
 * PSCI itself over HVC), for bench/compare-qemu.sh. Built twice: with the loop and with
 * PSCI_LOOP_CALLS = 0, whose run time is the fixed start-up cost to subtract.
 */
#include <stdint.h>

#include "guest/smccc.h"

int main(void) {
  /* volatile: the count is a run-time value, so the 0-call build keeps the same code. */
  volatile uint64_t calls = PSCI_LOOP_CALLS;
  uint64_t sum = 0;
  for (uint64_t i = 0; i < calls; ++i) sum += smccc(CONDUIT_HVC, PSCI_VERSION, 0, 0, 0);
  /* Both answer PSCI 1.1 (0x10001): a wrong answer fails the run. */
  return sum == (uint64_t)PSCI_LOOP_CALLS * 0x10001u ? 0 : 1;
}
