/*
 * Several vCPUs: their MPIDR / PSCI target values, a common entry point for CPU_ON and the
 * power-down wake-ups of CPU_SUSPEND and SYSTEM_SUSPEND, and bounded waits on shared flags.
 *
 * smccc-emu runs its vCPUs round-robin on one host thread, so __atomic operations on RAM are
 * atomic between them; the barriers and SEV/WFE below are what real hardware would need.
 * Never wait for another vCPU with WFI: nothing would wake it (the run ends as a deadlock).
 *
 * Included by psci_entry.S as well (offsets of struct psci_entry_state).
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

/* Matches __guest_max_cpus in link.ld: one stack (and one entry record) per vCPU index. */
#define GUEST_MAX_CPUS 64
/* docs/architecture.md "The platform": Aff0 = index % 16, Aff1 = index / 16. */
#define GUEST_CPUS_PER_CLUSTER 16

/* struct psci_entry_state layout, shared with psci_entry.S. */
#define PSCI_ENTRY_X0 0 /* x0..x30 at PSCI_ENTRY_X0 + 8 * n */
#define PSCI_ENTRY_CURRENT_EL 248
#define PSCI_ENTRY_DAIF 256
#define PSCI_ENTRY_SPSEL 264
#define PSCI_ENTRY_SCTLR_EL1 272
#define PSCI_ENTRY_COUNT 280
#define PSCI_ENTRY_STATE_SIZE 320 /* 256 + 64: psci_entry.S indexes with two shifts */

#ifndef __ASSEMBLER__

#include <stdbool.h>
#include <stdint.h>

#include "guest/smccc.h"

/* MPIDR_EL1 bit 31 is RES1; it is not part of a PSCI target argument (DEN0022F.b MPIDR target
 * format). */
#define MPIDR_EL1_RES1 (1ull << 31)

/* The PSCI target_cpu argument naming vCPU `index`: Aff1 << 8 | Aff0 (DEN0022F.b MPIDR target
 * format). */
static inline uint64_t psci_target_of(unsigned index) {
  return ((uint64_t)(index / GUEST_CPUS_PER_CLUSTER) << 8) | (index % GUEST_CPUS_PER_CLUSTER);
}

/* MPIDR_EL1 of vCPU `index` as the vCPU itself reads it (docs/architecture.md "The platform"). */
static inline uint64_t mpidr_of(unsigned index) {
  return MPIDR_EL1_RES1 | psci_target_of(index);
}

/* --- Entry points ------------------------------------------------------------------- */

/*
 * The image entry (start.S). Passed to CPU_ON, it runs secondary_main(index, context_id) on
 * the new vCPU's stack and then PSCI CPU_OFF over HVC.
 */
void _start(void);

/* Weak default in start.S does nothing; a guest that starts secondaries at _start defines it. */
void secondary_main(unsigned cpu, uint64_t context_id);

/*
 * What a vCPU held in its registers when it last entered psci_entry (DEN0022F.b CPU_ON entry state: x0 =
 * context_id, other GPRs UNKNOWN — smccc-emu zeroes them — EL1h, DAIF masked, MMU off).
 */
struct psci_entry_state {
  uint64_t x[31];      /* x0..x30 on entry */
  uint64_t current_el; /* CurrentEL */
  uint64_t daif;       /* DAIF */
  uint64_t spsel;      /* SPSel */
  uint64_t sctlr_el1;  /* SCTLR_EL1 */
  uint64_t count;      /* entries into psci_entry by this vCPU since boot */
  uint64_t reserved[4];
};

/* Indexed by vCPU (Aff1 * 16 + Aff0). Written by psci_entry before it calls C. */
extern struct psci_entry_state psci_entry_states[GUEST_MAX_CPUS];

/*
 * The entry point to pass to CPU_ON, CPU_SUSPEND (power-down) and SYSTEM_SUSPEND
 * (psci_entry.S). It records the entry registers in psci_entry_states[index] (count += 1),
 * sets SP to the top of the vCPU's stack (as _start does; the stack is not cleared), sets
 * CPACR_EL1 and VBAR_EL1 like _start, and calls psci_entry_main(index, context_id). .bss is
 * never zeroed here, so globals survive a suspend. If psci_entry_main returns, the vCPU
 * calls PSCI CPU_OFF over HVC (on vCPU 0 that leaves no vCPU running: do not return there).
 */
void psci_entry(void);

/* Supplied by the guest that uses psci_entry. */
void psci_entry_main(unsigned cpu, uint64_t context_id);

/* CurrentEL, DAIF and SPSel values of the DEN0022F.b CPU_ON entry state. */
#define CURRENT_EL_EL1 (1u << 2)
#define DAIF_ALL_MASKED 0x3C0u
#define SPSEL_SP_ELX 1u
#define SCTLR_EL1_M (1u << 0)

/* --- Shared flags ---------------------------------------------------------------------- */

/* Default bound for the waits below: a broken model fails a test instead of hanging. */
#ifndef SPIN_LIMIT
#define SPIN_LIMIT 10000000u
#endif

static inline uint32_t smp_load(const uint32_t* p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Store-release, then wake vCPUs waiting in WFE. */
static inline void smp_store(uint32_t* p, uint32_t value) {
  __atomic_store_n(p, value, __ATOMIC_RELEASE);
  __asm__ volatile("dsb ish\n\tsev" ::: "memory");
}

/* Atomic add; returns the previous value. Wakes WFE waiters. */
static inline uint32_t smp_fetch_add(uint32_t* p, uint32_t value) {
  uint32_t old = __atomic_fetch_add(p, value, __ATOMIC_ACQ_REL);
  __asm__ volatile("dsb ish\n\tsev" ::: "memory");
  return old;
}

/*
 * Wait (WFE between polls) until *p == want, or *p >= want, at most `limit` polls.
 * Return whether the condition held.
 */
bool spin_until_equal(const uint32_t* p, uint32_t want, uint64_t limit);
bool spin_until_at_least(const uint32_t* p, uint32_t want, uint64_t limit);

/*
 * Poll PSCI AFFINITY_INFO(target, 0) over `conduit` until it returns `want`, at most `limit`
 * calls. Returns the last answer (== want on success).
 */
uint64_t psci_wait_affinity(enum conduit conduit, uint64_t target, uint64_t want, uint64_t limit);

#endif /* __ASSEMBLER__ */
#endif
