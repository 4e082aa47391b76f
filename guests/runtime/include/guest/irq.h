/*
 * IRQ handlers: the runtime's vectors (vectors.S) take an IRQ from EL1t, EL1h (VBAR_EL1 +
 * 0x280) or EL0 AArch64 (+ 0x480), save x0..x30, SP_EL0, ELR_EL1 and SPSR_EL1 in a frame on the
 * EL1 stack and call the handler this vCPU installed; when it returns, the frame is reloaded
 * and the interrupted code resumes with ERET. Without a handler the IRQ is an unexpected
 * exception (exit status 100). PSTATE.I is set on entry (Arm ARM D1.10.2); a handler that
 * clears it lets a higher-priority interrupt nest (the frames stack up on the EL1 stack).
 */
#ifndef GUEST_IRQ_H
#define GUEST_IRQ_H

#include <stdint.h>

/* Called with the interrupted context's ELR_EL1 and SPSR_EL1 (from the frame, so a nested
 * IRQ does not change them); acknowledges and ends the interrupt itself (gic_ack, gic_eoi). */
typedef void (*guest_irq_fn)(uint64_t elr, uint64_t spsr);
/* For the calling vCPU; NULL removes it. */
void guest_set_irq_handler(guest_irq_fn fn);

/* PSTATE.I (DAIFClr / DAIFSet #2). The IRQ pending at `msr daifclr, #2` is taken before the next
 * instruction (the MSR is context-synchronised for PSTATE.{A,I,F}, Arm ARM D1.10.2). */
static inline void irq_unmask(void) {
  __asm__ volatile("msr daifclr, #2" ::: "memory");
}
static inline void irq_mask(void) {
  __asm__ volatile("msr daifset, #2" ::: "memory");
}

#endif
