/*
 * Arm semihosting (HLT #0xF000 on AArch64): w0 = operation, x1 = parameter, result in x0.
 */
#ifndef GUEST_SEMIHOSTING_H
#define GUEST_SEMIHOSTING_H

#include <stdint.h>

#define SEMIHOST_SYS_WRITEC 0x03u
#define SEMIHOST_SYS_WRITE0 0x04u
#define SEMIHOST_SYS_EXIT 0x18u
#define SEMIHOST_SYS_EXIT_EXTENDED 0x20u

#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

void semihost_writec(char c);
void semihost_write0(const char* s);

/* SYS_EXIT with the AArch64 parameter block {reason, subcode}. */
__attribute__((noreturn)) void semihost_exit(uint64_t reason, uint64_t subcode);

/* SYS_EXIT_EXTENDED {ADP_Stopped_ApplicationExit, status}: the run ends with `status`. */
__attribute__((noreturn)) void semihost_exit_extended(uint64_t status);

#endif
