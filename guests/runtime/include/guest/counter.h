/*
 * The generic counter and the PMU cycle counter (docs/architecture.md "Virtual time and
 * determinism": smccc-emu returns virtual time for CNTVCT_EL0, CNTPCT_EL0, CNTFRQ_EL0 and
 * PMCCNTR_EL0, never host time).
 *
 * Each read is preceded by an ISB so that it is not taken early (Arm ARM D12.1.2,
 * "Generic Timer: reading the counter").
 */
#ifndef GUEST_COUNTER_H
#define GUEST_COUNTER_H

#include <stdint.h>

#define PMCR_EL0_E (1u << 0)        /* enable the PMU counters */
#define PMCNTENSET_EL0_C (1u << 31) /* enable PMCCNTR_EL0 */

#define read_counter_sysreg(name)                                          \
  ({                                                                       \
    uint64_t value_;                                                       \
    __asm__ volatile("isb\n\tmrs %0, " #name : "=r"(value_) : : "memory"); \
    value_;                                                                \
  })

static inline uint64_t read_cntfrq(void) {
  return read_counter_sysreg(cntfrq_el0);
}

static inline uint64_t read_cntvct(void) {
  return read_counter_sysreg(cntvct_el0);
}

static inline uint64_t read_cntpct(void) {
  return read_counter_sysreg(cntpct_el0);
}

static inline uint64_t read_pmccntr(void) {
  return read_counter_sysreg(pmccntr_el0);
}

/*
 * Starts PMCCNTR_EL0 as a guest on real hardware must (PMCR_EL0.E, PMCNTENSET_EL0.C);
 * does not reset it.
 */
static inline void pmu_enable_cycle_counter(void) {
  uint64_t pmcr;
  __asm__ volatile("mrs %0, pmcr_el0" : "=r"(pmcr));
  __asm__ volatile("msr pmcr_el0, %0" : : "r"(pmcr | PMCR_EL0_E));
  __asm__ volatile("msr pmcntenset_el0, %0" : : "r"((uint64_t)PMCNTENSET_EL0_C));
  __asm__ volatile("isb" ::: "memory");
}

#endif
