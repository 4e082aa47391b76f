/* Arm semihosting calls: HLT #0xF000, w0 = operation, x1 = parameter, x0 = result. */
#include "guest/semihosting.h"

static uint64_t semihost_call(uint32_t op, const void* param) {
  register uint64_t x0 __asm__("x0") = op;
  register const void* x1 __asm__("x1") = param;
  __asm__ volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
  return x0;
}

__attribute__((noreturn)) static void halt_forever(void) {
  for (;;) __asm__ volatile("wfi");
}

void semihost_writec(char c) {
  semihost_call(SEMIHOST_SYS_WRITEC, &c);
}

void semihost_write0(const char* s) {
  semihost_call(SEMIHOST_SYS_WRITE0, s);
}

void semihost_exit(uint64_t reason, uint64_t subcode) {
  const uint64_t block[2] = {reason, subcode};
  semihost_call(SEMIHOST_SYS_EXIT, block);
  halt_forever(); /* no semihosting host: nothing else to do */
}

void semihost_exit_extended(uint64_t status) {
  const uint64_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, status};
  semihost_call(SEMIHOST_SYS_EXIT_EXTENDED, block);
  halt_forever();
}
