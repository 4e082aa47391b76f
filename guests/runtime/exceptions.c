/*
 * Synchronous exception handling and the record tests inspect (guest/exceptions.h).
 * Entered from vectors.S with the frame of struct exception_frame (frame.h).
 */
#include "guest/exceptions.h"

#include <stddef.h>

#include "frame.h"
#include "guest/arch.h"
#include "guest/console.h"
#include "guest/semihosting.h"

struct exception_frame {
  uint64_t x[31];
  uint64_t sp_el0;
  uint64_t elr;
  uint64_t spsr;
  uint64_t esr;
  uint64_t far;
};

_Static_assert(offsetof(struct exception_frame, x) == FRAME_X0, "frame layout");
_Static_assert(offsetof(struct exception_frame, sp_el0) == FRAME_SP_EL0, "frame layout");
_Static_assert(offsetof(struct exception_frame, elr) == FRAME_ELR, "frame layout");
_Static_assert(offsetof(struct exception_frame, spsr) == FRAME_SPSR, "frame layout");
_Static_assert(offsetof(struct exception_frame, esr) == FRAME_ESR, "frame layout");
_Static_assert(offsetof(struct exception_frame, far) == FRAME_FAR, "frame layout");
_Static_assert(sizeof(struct exception_frame) == FRAME_SIZE, "frame layout");

#define AARCH64_INSN_SIZE 4u

/* Called from assembly only. */
void guest_sync_handler(struct exception_frame* frame);
__attribute__((noreturn)) void guest_unexpected_exception(const char* kind);
__attribute__((noreturn)) void el0_return_to_caller(uint64_t value); /* el0.S */

static uint64_t recorded_count;
static struct guest_exception recorded_last;
static unsigned handler_depth; /* > 0 while guest_sync_handler runs */

uint64_t guest_exception_count(void) {
  return recorded_count;
}

struct guest_exception guest_last_exception(void) {
  return recorded_last;
}

__attribute__((noreturn)) static void fatal_exception(const char* what, uint64_t esr, uint64_t elr) {
  gprintf("%s (ESR_EL1 0x%08lx, ELR_EL1 0x%016lx, FAR_EL1 0x%016lx)\n", what, esr, elr, read_sysreg(far_el1));
  semihost_exit_extended(GUEST_EXIT_UNEXPECTED_EXCEPTION);
}

void guest_sync_handler(struct exception_frame* frame) {
  bool from_el0 = spsr_el(frame->spsr) == 0;
  uint32_t ec = esr_ec(frame->esr);

  /* A fault inside this handler would otherwise loop for ever. */
  if (handler_depth > 0)
    fatal_exception("unexpected synchronous exception inside the exception handler", frame->esr, frame->elr);

  /* The way back from run_at_el0: neither recorded nor counted. */
  if (from_el0 && ec == ESR_EC_SVC64) el0_return_to_caller(frame->esr & 0xFFFFu);

  ++handler_depth;
  recorded_last = (struct guest_exception){
      .esr = frame->esr,
      .elr = frame->elr,
      .spsr = frame->spsr,
      .far = frame->far,
      .from_el0 = from_el0,
  };
  ++recorded_count;

  /* Resume after the faulting instruction. For an SVC ELR already points past it. */
  if (ec != ESR_EC_SVC64) frame->elr += AARCH64_INSN_SIZE;
  --handler_depth;
}

void guest_unexpected_exception(const char* kind) {
  gprintf("unexpected %s exception\n", kind);
  gprintf("(ESR_EL1 0x%08lx, ELR_EL1 0x%016lx, SPSR_EL1 0x%08lx)\n", read_sysreg(esr_el1), read_sysreg(elr_el1),
          read_sysreg(spsr_el1));
  semihost_exit_extended(GUEST_EXIT_UNEXPECTED_EXCEPTION);
}
