/*
 * Synchronous exceptions and EL0 execution (see guests/README.md, "Runtime ABI").
 *
 * Every synchronous exception taken to EL1 is recorded (ESR, ELR, SPSR, FAR) and counted,
 * then the faulting instruction is skipped (ELR_EL1 += 4) and execution resumes — so a
 * test can execute an instruction it expects to be UNDEFINED and inspect the record.
 * Exception: an SVC from EL0 ends the current run_at_el0() and is neither recorded nor
 * counted (it is the runtime's own way back to EL1). IRQ, FIQ, SError and any exception
 * from AArch32 print "unexpected <kind> exception" and exit with status 100.
 *
 * Not SMP-safe: only one vCPU at a time may take exceptions or run EL0 code.
 */
#ifndef GUEST_EXCEPTIONS_H
#define GUEST_EXCEPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#define GUEST_EXIT_UNEXPECTED_EXCEPTION 100

struct guest_exception {
  uint64_t esr;
  uint64_t elr;
  uint64_t spsr;
  uint64_t far;
  bool from_el0;
};

/* Number of recorded synchronous exceptions since boot. */
uint64_t guest_exception_count(void);

/* The most recently recorded one (all zero before the first). */
struct guest_exception guest_last_exception(void);

/*
 * Runs fn at EL0t (SPSR 0x3C0: DAIF masked) on a dedicated 4 KiB EL0 stack and returns
 * when the EL0 code executes an SVC — the trampoline issues `svc #0` when fn returns.
 * Returns the SVC immediate (0 when fn simply returned).
 *
 * fn must only touch its stack and globals. With the MMU off nothing enforces this (all
 * of RAM and the devices are reachable from EL0), so it is a convention, not a sandbox.
 * Not reentrant.
 */
int run_at_el0(void (*fn)(void));

#endif
