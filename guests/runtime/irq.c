/* IRQ dispatch (guest/irq.h): vectors.S calls guest_irq_handler with the frame it built. */
#include "guest/irq.h"

#include "frame.h"
#include "guest/arch.h"
#include "guest/smp.h"

void guest_irq_handler(uint64_t* frame); /* from vectors.S */
__attribute__((noreturn)) void guest_unexpected_exception(const char* kind);

static guest_irq_fn handlers[GUEST_MAX_CPUS];

void guest_set_irq_handler(guest_irq_fn fn) {
  handlers[cpu_index()] = fn;
}

void guest_irq_handler(uint64_t* frame) {
  guest_irq_fn fn = handlers[cpu_index()];
  if (!fn) guest_unexpected_exception("IRQ");
  /* ELR/SPSR from the frame: a nested IRQ inside the handler overwrites the registers. */
  fn(frame[FRAME_ELR / 8], frame[FRAME_SPSR / 8]);
}
