/* Bounded waits between vCPUs (guest/smp.h). */
#include "guest/smp.h"

#include <stddef.h>

_Static_assert(offsetof(struct psci_entry_state, x) == PSCI_ENTRY_X0, "entry record layout");
_Static_assert(offsetof(struct psci_entry_state, current_el) == PSCI_ENTRY_CURRENT_EL, "entry record layout");
_Static_assert(offsetof(struct psci_entry_state, daif) == PSCI_ENTRY_DAIF, "entry record layout");
_Static_assert(offsetof(struct psci_entry_state, spsel) == PSCI_ENTRY_SPSEL, "entry record layout");
_Static_assert(offsetof(struct psci_entry_state, sctlr_el1) == PSCI_ENTRY_SCTLR_EL1, "entry record layout");
_Static_assert(offsetof(struct psci_entry_state, count) == PSCI_ENTRY_COUNT, "entry record layout");
_Static_assert(sizeof(struct psci_entry_state) == PSCI_ENTRY_STATE_SIZE, "entry record layout");

static inline void wait_for_event(void) {
  __asm__ volatile("wfe" ::: "memory");
}

bool spin_until_equal(const uint32_t* p, uint32_t want, uint64_t limit) {
  for (uint64_t i = 0; i < limit; ++i) {
    if (smp_load(p) == want) return true;
    wait_for_event();
  }
  return smp_load(p) == want;
}

bool spin_until_at_least(const uint32_t* p, uint32_t want, uint64_t limit) {
  for (uint64_t i = 0; i < limit; ++i) {
    if (smp_load(p) >= want) return true;
    wait_for_event();
  }
  return smp_load(p) >= want;
}

uint64_t psci_wait_affinity(enum conduit conduit, uint64_t target, uint64_t want, uint64_t limit) {
  uint64_t state = smccc(conduit, PSCI_AFFINITY_INFO, target, 0, 0);
  for (uint64_t i = 1; i < limit && state != want; ++i) state = smccc(conduit, PSCI_AFFINITY_INFO, target, 0, 0);
  return state;
}
