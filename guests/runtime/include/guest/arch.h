/* AArch64 system-register access and the few architectural constants guests need. */
#ifndef GUEST_ARCH_H
#define GUEST_ARCH_H

#include <stdint.h>

#define read_sysreg(name)                              \
  ({                                                   \
    uint64_t value_;                                   \
    __asm__ volatile("mrs %0, " #name : "=r"(value_)); \
    value_;                                            \
  })

/* ESR_ELx: exception class, instruction length, syndrome. */
#define ESR_EC_SHIFT 26
#define ESR_EC_MASK 0x3Fu
#define ESR_IL (1u << 25)
#define ESR_ISS_MASK 0x1FFFFFFu

#define ESR_EC_UNKNOWN 0x00u /* UNDEFINED instruction ("unknown reason") */
#define ESR_EC_SVC64 0x15u
#define ESR_EC_HVC64 0x16u
#define ESR_EC_SMC64 0x17u

static inline uint32_t esr_ec(uint64_t esr) {
  return (uint32_t)(esr >> ESR_EC_SHIFT) & ESR_EC_MASK;
}

/* SPSR_ELx.M[3:2] is the exception level the exception was taken from. */
static inline unsigned spsr_el(uint64_t spsr) {
  return (unsigned)(spsr >> 2) & 3u;
}

static inline unsigned current_el(void) {
  return (unsigned)(read_sysreg(CurrentEL) >> 2) & 3u;
}

/* vCPU index as the platform numbers them: Aff1 * 16 + Aff0 (docs/architecture.md "The platform"). */
static inline unsigned cpu_index(void) {
  uint64_t mpidr = read_sysreg(mpidr_el1);
  return (unsigned)(((mpidr >> 8) & 0xFFu) * 16u + (mpidr & 0xFFu));
}

#endif
