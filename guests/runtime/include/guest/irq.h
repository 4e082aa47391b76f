/*
 * IRQ handlers: the runtime's vectors (vectors.S) take an IRQ from EL1t, EL1h or EL0, save
 * every GPR and call the handler this vCPU installed; when it returns, the interrupted code
 * resumes (ERET). Without a handler the IRQ is an unexpected exception (exit status 100).
 */
#ifndef GUEST_IRQ_H
#define GUEST_IRQ_H

#include <stdint.h>

/* Called with the interrupted context's ELR_EL1 and SPSR_EL1; acknowledges and ends the
 * interrupt itself (gic_ack / gic_eoi). May unmask IRQs to let a higher priority preempt it. */
typedef void (*guest_irq_fn)(uint64_t elr, uint64_t spsr);
void guest_set_irq_handler(guest_irq_fn fn); /* for the calling vCPU */

#endif
