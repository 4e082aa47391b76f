/*
 * smp-conformance.elf: PSCI power management with several vCPUs, checked once over HVC and
 * once over SMC, reported as TAP on the console. Exit status = number of failures.
 *
 * Runs with any vCPU count from 1 to 64 (--cpus N). N is found by probing AFFINITY_INFO for
 * indexes 1, 2, ... until INVALID_PARAMETERS. With N = 1 only the single-vCPU checks run.
 *
 * Expected values are the model's decided answers: PSCI (DEN0022) and README "What the
 * firmware answers today".
 *
 * Only vCPU 0 prints. Secondaries are started at psci_entry (runtime/psci_entry.S), which
 * records their entry registers, and then follow the task in their mailbox; they report
 * through the mailbox and turn themselves off with CPU_OFF over the conduit under test.
 *
 * Each pass ends with calls that do not return: vCPU 0 suspends itself with a power-down
 * CPU_SUSPEND, then with SYSTEM_SUSPEND. It wakes at psci_entry, on a fresh stack, and
 * psci_entry_main() continues where the pass left off (everything it needs is in globals).
 * After the last pass, the plan is printed and the run exits through semihosting.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest/arch.h"
#include "guest/counter.h"
#include "guest/exceptions.h"
#include "guest/fdt.h"
#include "guest/semihosting.h"
#include "guest/smccc.h"
#include "guest/smp.h"
#include "guest/tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_EXIT_STATUS 255 /* statuses above are truncated by the host */

/* Guest platform (docs/architecture.md "The platform"). RAM is at least 64 MiB (the image needs
 * that much). */
#define RAM_BASE 0x40000000ull
#define ADDR_LOW 0x1000ull             /* well below RAM */
#define ADDR_BELOW_RAM (RAM_BASE - 4)  /* the last word before RAM */
#define ADDR_MISALIGNED (RAM_BASE + 2) /* in RAM, not 4-byte aligned */
/* ADDR_ABOVE_RAM: the first address above RAM whose low 32 bits are 0x40080000 (in RAM), so a
 * 64-bit call that narrowed it would accept it. Set by find_addr_above_ram() from the device
 * tree's /memory (x0 at boot): 0x140080000 with RAM up to 4 GiB + 512 KiB, higher with more. */
#define ADDR_NARROWED 0x40080000ull
static uint64_t addr_above_ram = 0x140080000ull;
#define ADDR_ABOVE_RAM addr_above_ram
#define UART_BASE 0x09000000ull
#define PAGE 0x1000ull
#define HIGH_GARBAGE 0xA5A5A5A500000000ull /* bits 63:32 that an SMC32 call ignores */

#define SMC64_BIT (1u << 30) /* DEN0028 Table 2-1: the SMC64 form of a function ID */

/* DEN0022F.b MPIDR target format, AFFINITY_INFO: PSCI target values that name no vCPU. */
#define TARGET_BIT24 0x01000000ull /* outside the 0xFF00FFFFFF affinity mask */
#define TARGET_AFF0_16 0x10ull     /* Aff0 = 16: clusters have 16 cores */
#define TARGET_AFF3 0x100000000ull /* Aff3 = 1 */
#define TARGET_CLUSTER_4 0x400ull  /* Aff1 = 4: beyond 64 vCPUs */

/* DEN0022F.b CPU_SUSPEND: the two declared states (original format) and some undeclared ones. */
#define POWER_STATE_CORE_STANDBY 0x00000000u
#define POWER_STATE_CORE_POWERDOWN 0x00010000u
#define SUSPEND_RESIDENCY_US 10u /* each suspend lasts 10 us of virtual time */
#define COUNTER_TICKS_PER_US 62u /* 62.5 MHz generic counter (README "time"), rounded down */
#define STANDBY_ROUNDS 3u

#define PSCI_MIGRATE_INFO_NO_TOS_MIGRATION 2u
#define MEM_PROTECT_BAD_ENABLE 2u

/* Firmware calls made while waiting for another vCPU's power state to change. */
#define POLL_LIMIT 1000000u

/*
 * Context ids: a tag in bits 31:24, the kind of entry in 23:16 and an index in 15:0; the
 * 64-bit forms also set CTX_HIGH so that a truncated x0 shows.
 */
#define CTX_TAG 0x5A000000u
#define CTX_HIGH 0xC0DE000000000000ull
enum ctx_kind {
  CTX_WALK = 1,
  CTX_START, /* a start for some other check */
  CTX_RACE,
  CTX_POWERDOWN,
  CTX_SELF_SUSPEND,
  CTX_SYSTEM_SUSPEND,
  CTX_NEVER, /* an entry that must never be taken */
};

static bool is_smc64(uint32_t fid) {
  return (fid & SMC64_BIT) != 0;
}

static const char* width(uint32_t fid) {
  return is_smc64(fid) ? "64" : "";
}

static uint64_t make_ctx(uint32_t fid, enum ctx_kind kind, unsigned index) {
  uint64_t low = CTX_TAG | ((uint32_t)kind << 16) | (index & 0xFFFFu);
  return is_smc64(fid) ? CTX_HIGH | low : low;
}

static uint64_t entry_point(void) {
  return (uintptr_t)psci_entry;
}

/* --- State shared with the secondaries --------------------------------------------- */

/*
 * A secondary reports STEP_STARTED, does its task, reports STEP_DONE, waits until vCPU 0
 * sets `go` to GO_OFF and turns itself off. So it stays ON until vCPU 0 is done with it.
 */
enum task {
  TASK_HOLD = 1,        /* nothing */
  TASK_RACE,            /* wait for race_go, then CPU_ON(arg) */
  TASK_STANDBY,         /* wait for GO_RUN, then STANDBY_ROUNDS standby suspends */
  TASK_POWERDOWN,       /* wait for GO_RUN, then a power-down suspend with context id arg */
  TASK_POWERDOWN_WOKEN, /* set by the vCPU before it suspends: what to do on waking */
};

/* Progress a secondary reports, in this order. */
enum step {
  STEP_IDLE = 0,
  STEP_STARTED,
  STEP_SUSPENDING,
  STEP_DONE,
  STEP_OFF_REFUSED, /* CPU_OFF returned */
};

/* What vCPU 0 allows, in this order. */
enum go { GO_WAIT = 0, GO_RUN, GO_OFF };

#define RESULT_UNSET 0x0BADC0DEull

struct mailbox {
  uint32_t task;    /* written by vCPU 0 before CPU_ON */
  uint32_t conduit; /* for the secondary's own calls */
  uint32_t fid;     /* function the task calls (CPU_ON or CPU_SUSPEND form) */
  uint32_t step;    /* written by the secondary */
  uint32_t go;      /* written by vCPU 0 (enum go) */
  uint32_t woken;   /* TASK_POWERDOWN: set when the vCPU woke at psci_entry */
  uint32_t gave_up; /* a wait for vCPU 0 timed out */
  uint64_t arg;     /* TASK_RACE: target; TASK_POWERDOWN: context id for the wake-up */
  uint64_t mpidr;   /* MPIDR_EL1 as the secondary read it */
  uint64_t result[STANDBY_ROUNDS];
};

static struct mailbox mailboxes[GUEST_MAX_CPUS];
static uint32_t race_go;   /* vCPU 0 starts the race */
static uint32_t race_done; /* racing secondaries that made their call */

/* --- vCPU 0's state across passes and suspends --------------------------------------- */

#define PASSES 2
static const enum conduit pass_conduits[PASSES] = {CONDUIT_HVC, CONDUIT_SMC};
static const char* const pass_prefixes[PASSES] = {"hvc: ", "smc: "};

static unsigned pass;
static enum conduit conduit;
static unsigned ncpus; /* found in the first pass */
static uint64_t exceptions_at_pass_start;

/* Where vCPU 0 continues when it next enters psci_entry. */
enum resume_point { RESUME_NONE, RESUME_SELF_SUSPEND, RESUME_SYSTEM_SUSPEND };
static enum resume_point resume_point;
static uint64_t resume_ctx;
static uint64_t resume_entry_count;

struct stats {
  uint64_t count;
  uint64_t residency;
};
static struct stats self_powerdown_before;

#define RAM_CANARY 0x0123456789ABCDEFull
static uint64_t ram_canary;

/* --- Reporting ----------------------------------------------------------------------- */

static uint64_t psci(uint32_t fid, uint64_t a1, uint64_t a2, uint64_t a3) {
  return smccc(conduit, fid, a1, a2, a3);
}

/* The pass's own form of a function with two forms, and the other one. */
static uint32_t form_of_pass(uint32_t fid32) {
  return pass == 0 ? fid32 : fid32 | SMC64_BIT;
}

static uint32_t other_form(uint32_t fid32) {
  return pass == 0 ? fid32 | SMC64_BIT : fid32;
}

static struct stats read_stats(unsigned cpu, uint32_t power_state) {
  return (struct stats){
      .count = psci(PSCI_STAT_COUNT, psci_target_of(cpu), power_state, 0),
      .residency = psci(PSCI_STAT_RESIDENCY, psci_target_of(cpu), power_state, 0),
  };
}

static void check_stats_grew(struct stats before, struct stats after, unsigned suspends, const char* state_name,
                             unsigned cpu) {
  tap_eq(after.count - before.count, suspends, "STAT_COUNT(vCPU %u, %s) grew by %u", cpu, state_name, suspends);
  tap_eq(after.residency - before.residency, (uint64_t)suspends * SUSPEND_RESIDENCY_US,
         "STAT_RESIDENCY(vCPU %u, %s) grew by %u us", cpu, state_name, suspends * SUSPEND_RESIDENCY_US);
}

/*
 * DEN0022F.b CPU_ON entry state: the entry state psci_entry recorded for `cpu`'s latest entry,
 * which must be the first one since `count_before` was read.
 */
static void check_entry_state(unsigned cpu, uint64_t want_ctx, uint64_t count_before, const char* what) {
  const struct psci_entry_state* e = &psci_entry_states[cpu];
  bool gprs_zero = true;

  tap_eq(e->count - count_before, 1, "%s: vCPU %u entered at the entry point once", what, cpu);
  tap_eq(e->x[0], want_ctx, "%s: vCPU %u has x0 = context_id", what, cpu);
  for (unsigned i = 1; i < ARRAY_SIZE(e->x); ++i) {
    if (e->x[i] != 0) {
      gprs_zero = false;
      tap_diag("  x%u = 0x%016lx", i, e->x[i]);
    }
  }
  tap_ok(gprs_zero, "%s: vCPU %u has x1..x30 zero", what, cpu);
  bool state_ok = e->current_el == CURRENT_EL_EL1 && e->spsel == SPSEL_SP_ELX &&
                  (e->daif & DAIF_ALL_MASKED) == DAIF_ALL_MASKED && (e->sctlr_el1 & SCTLR_EL1_M) == 0;
  tap_ok(state_ok, "%s: vCPU %u is at EL1h with DAIF masked and the MMU off", what, cpu);
  if (!state_ok)
    tap_diag("  CurrentEL 0x%lx, SPSel %lu, DAIF 0x%lx, SCTLR_EL1 0x%lx", e->current_el, e->spsel, e->daif,
             e->sctlr_el1);
}

/* --- Secondaries ----------------------------------------------------------------------- */

__attribute__((noreturn)) static void secondary_cpu_off(struct mailbox* mb) {
  /* DEN0022F.b CPU_OFF: CPU_OFF does not return. If it does, say so and park. */
  mb->result[0] = smccc((enum conduit)mb->conduit, PSCI_CPU_OFF, 0, 0, 0);
  smp_store(&mb->step, STEP_OFF_REFUSED);
  for (;;) __asm__ volatile("wfi");
}

/* Bounded wait for vCPU 0; a time-out is noted for vCPU 0 to report. */
static bool secondary_wait(struct mailbox* mb, const uint32_t* flag, uint32_t at_least) {
  if (spin_until_at_least(flag, at_least, SPIN_LIMIT)) return true;
  smp_store(&mb->gave_up, 1);
  return false;
}

static void secondary_task(unsigned cpu, struct mailbox* mb) {
  enum conduit c = (enum conduit)mb->conduit;

  switch (mb->task) {
    case TASK_RACE:
      if (secondary_wait(mb, &race_go, 1)) {
        mb->result[0] = smccc(c, mb->fid, mb->arg, entry_point(), make_ctx(mb->fid, CTX_RACE, cpu));
        smp_fetch_add(&race_done, 1);
      }
      return;
    case TASK_STANDBY:
      if (!secondary_wait(mb, &mb->go, GO_RUN)) return;
      for (unsigned i = 0; i < STANDBY_ROUNDS; ++i)
        mb->result[i] = smccc(c, mb->fid, POWER_STATE_CORE_STANDBY, entry_point(), 0);
      return;
    case TASK_POWERDOWN:
      if (!secondary_wait(mb, &mb->go, GO_RUN)) return;
      mb->result[0] = smccc(c, mb->fid, POWER_STATE_CORE_POWERDOWN, ADDR_LOW, 0);
      mb->task = TASK_POWERDOWN_WOKEN;
      smp_store(&mb->step, STEP_SUSPENDING);
      /* Does not return: the vCPU wakes at psci_entry as TASK_POWERDOWN_WOKEN. */
      mb->result[1] = smccc(c, mb->fid, POWER_STATE_CORE_POWERDOWN, entry_point(), mb->arg);
      return;
    default: /* TASK_HOLD */ return;
  }
}

__attribute__((noreturn)) static void boot_cpu_resumed(uint64_t context_id);

/* Called by psci_entry on every vCPU that enters it. */
void psci_entry_main(unsigned cpu, uint64_t context_id) {
  if (cpu == 0) {
    boot_cpu_resumed(context_id); /* does not return */
    return;
  }
  struct mailbox* mb = &mailboxes[cpu];
  mb->mpidr = read_sysreg(mpidr_el1);
  if (mb->task == TASK_POWERDOWN_WOKEN) {
    smp_store(&mb->woken, 1);
  } else {
    smp_store(&mb->step, STEP_STARTED);
    secondary_task(cpu, mb);
  }
  smp_store(&mb->step, STEP_DONE);
  secondary_wait(mb, &mb->go, GO_OFF);
  secondary_cpu_off(mb);
}

/* --- Driving the secondaries from vCPU 0 ----------------------------------------------- */

static void prepare_mailbox(unsigned cpu, enum task task, uint32_t fid, uint64_t arg) {
  struct mailbox* mb = &mailboxes[cpu];
  *mb = (struct mailbox){
      .task = task,
      .conduit = conduit,
      .fid = fid,
      .arg = arg,
  };
  for (unsigned i = 0; i < ARRAY_SIZE(mb->result); ++i) mb->result[i] = RESULT_UNSET;
  __atomic_thread_fence(__ATOMIC_RELEASE); /* the mailbox before the CPU_ON that reads it */
}

/* CPU_ON over the pass's conduit; the target must already have its mailbox. */
static uint64_t cpu_on(uint32_t fid, unsigned cpu, uint64_t ctx) {
  return psci(fid, psci_target_of(cpu), entry_point(), ctx);
}

static bool wait_step(unsigned cpu, enum step step) {
  const struct mailbox* mb = &mailboxes[cpu];
  if (spin_until_at_least(&mb->step, step, SPIN_LIMIT)) return true;
  tap_diag("  vCPU %u did not reach step %u: at step %u%s", cpu, step, smp_load(&mb->step),
           smp_load(&mb->gave_up) ? ", gave up waiting for vCPU 0" : "");
  return false;
}

static uint64_t affinity(unsigned cpu) {
  return psci(PSCI_AFFINITY_INFO, psci_target_of(cpu), 0, 0);
}

/* DEN0022F.b CPU_OFF: CPU_OFF takes effect once the vCPU stops; the caller polls for OFF. */
static bool wait_off(unsigned cpu) {
  return psci_wait_affinity(conduit, psci_target_of(cpu), PSCI_AFFINITY_OFF, POLL_LIMIT) == PSCI_AFFINITY_OFF;
}

/*
 * Starts `cpu` with `task` (which calls task_fid with arg) through CPU_ON form on_fid and
 * waits until it runs; reports failures.
 */
static bool start_task(unsigned cpu, enum task task, uint32_t task_fid, uint64_t arg, uint32_t on_fid,
                       const char* why) {
  prepare_mailbox(cpu, task, task_fid, arg);
  uint64_t r = cpu_on(on_fid, cpu, make_ctx(on_fid, CTX_START, cpu));
  tap_eq(r, PSCI_RET_SUCCESS, "CPU_ON%s(vCPU %u) for %s is SUCCESS", width(on_fid), cpu, why);
  if (r != PSCI_RET_SUCCESS) return false;
  bool started = wait_step(cpu, STEP_STARTED);
  tap_ok(started, "vCPU %u started (%s)", cpu, why);
  return started;
}

static void release_and_wait_off(unsigned cpu) {
  smp_store(&mailboxes[cpu].go, GO_OFF);
  tap_ok(wait_off(cpu), "after CPU_OFF, AFFINITY_INFO(vCPU %u) reaches OFF", cpu);
}

/* --- Discovery and AFFINITY_INFO ---------------------------------------------------- */

/* DEN0022F.b MPIDR target format, docs/architecture.md "The platform": probe indexes 1, 2, ...
 * until INVALID_PARAMETERS. */
static void test_discovery(void) {
  unsigned n = 1;
  bool others_off = true;

  for (; n <= GUEST_MAX_CPUS; ++n) {
    uint64_t r = affinity(n);
    if (r == PSCI_RET_INVALID_PARAMS) break;
    if (r != PSCI_AFFINITY_OFF) {
      others_off = false;
      tap_diag("  AFFINITY_INFO(vCPU %u, 0) = %ld", n, (int64_t)r);
    }
  }
  tap_ok(n <= GUEST_MAX_CPUS, "AFFINITY_INFO finds %u vCPU(s), at most %u", n, GUEST_MAX_CPUS);
  if (n > GUEST_MAX_CPUS) n = GUEST_MAX_CPUS;
  tap_ok(others_off, "AFFINITY_INFO(level 0) reports every secondary OFF at the start");
  if (pass == 0) {
    ncpus = n;
    tap_diag("%u vCPU(s)", ncpus);
  } else {
    tap_eq(n, ncpus, "AFFINITY_INFO finds as many vCPUs as in the first pass");
  }
  tap_eq(read_sysreg(mpidr_el1), mpidr_of(0), "vCPU 0 reads MPIDR_EL1 = 0x%lx", mpidr_of(0));
}

struct target_case {
  uint64_t target;
  const char* name;
};

/* DEN0022F.b AFFINITY_INFO: levels 0 and 1 exist; bad targets and levels are INVALID_PARAMETERS. */
static void test_affinity_info(void) {
  static const uint32_t fids[] = {PSCI_AFFINITY_INFO, PSCI_AFFINITY_INFO_64};
  const struct target_case bad_targets[] = {
      {mpidr_of(0), "MPIDR_EL1 of vCPU 0 (bit 31 set)"},
      {TARGET_BIT24, "bit 24 set"},
      {TARGET_AFF0_16, "Aff0 = 16"},
      {psci_target_of(ncpus), "one past the last vCPU"},
  };

  for (unsigned f = 0; f < ARRAY_SIZE(fids); ++f) {
    uint32_t fid = fids[f];
    const char* w = width(fid);
    tap_eq(psci(fid, psci_target_of(0), 0, 0), PSCI_AFFINITY_ON, "AFFINITY_INFO%s(vCPU 0, 0) is ON", w);
    tap_eq(psci(fid, psci_target_of(0), 1, 0), PSCI_AFFINITY_ON, "AFFINITY_INFO%s(vCPU 0, 1) is ON (its cluster is on)",
           w);
    for (uint64_t level = 2; level <= 4; ++level)
      tap_eq(psci(fid, psci_target_of(0), level, 0), PSCI_RET_INVALID_PARAMS,
             "AFFINITY_INFO%s(vCPU 0, level %lu) is INVALID_PARAMETERS", w, level);
    for (unsigned t = 0; t < ARRAY_SIZE(bad_targets); ++t)
      tap_eq(psci(fid, bad_targets[t].target, 0, 0), PSCI_RET_INVALID_PARAMS,
             "AFFINITY_INFO%s(0x%lx: %s, 0) is INVALID_PARAMETERS", w, bad_targets[t].target, bad_targets[t].name);
    tap_eq(psci(fid, TARGET_CLUSTER_4, 1, 0), PSCI_RET_INVALID_PARAMS,
           "AFFINITY_INFO%s(0x%llx: no such cluster, 1) is INVALID_PARAMETERS", w, TARGET_CLUSTER_4);
  }
  tap_eq(psci(PSCI_AFFINITY_INFO_64, TARGET_AFF3, 0, 0), PSCI_RET_INVALID_PARAMS,
         "AFFINITY_INFO64(0x%llx: Aff3 = 1, 0) is INVALID_PARAMETERS", TARGET_AFF3);
  /* DEN0028 Table 2-1, register use: an SMC32 call sees only the low 32 bits of each argument. */
  tap_eq(psci(PSCI_AFFINITY_INFO, HIGH_GARBAGE | psci_target_of(0), 0, 0), PSCI_AFFINITY_ON,
         "AFFINITY_INFO(0x%llx, 0) ignores bits 63:32 of the target: ON", HIGH_GARBAGE | psci_target_of(0));
}

/* --- Discovery: PSCI_FEATURES and MIGRATE ---------------------------------------------- */

struct expectation {
  uint32_t fid;
  uint64_t want;
  const char* name;
};

/* DEN0022F.b PSCI_FEATURES, docs/architecture.md "Model decisions": feature word 0 = original
 * power_state format, no OS-initiated mode. */
static const struct expectation psci_features[] = {
    {PSCI_CPU_SUSPEND, 0, "CPU_SUSPEND"},
    {PSCI_CPU_SUSPEND_64, 0, "CPU_SUSPEND64"},
    {PSCI_CPU_OFF, 0, "CPU_OFF"},
    {PSCI_CPU_ON, 0, "CPU_ON"},
    {PSCI_CPU_ON_64, 0, "CPU_ON64"},
    {PSCI_AFFINITY_INFO, 0, "AFFINITY_INFO"},
    {PSCI_AFFINITY_INFO_64, 0, "AFFINITY_INFO64"},
    {PSCI_SYSTEM_SUSPEND, 0, "SYSTEM_SUSPEND"},
    {PSCI_SYSTEM_SUSPEND_64, 0, "SYSTEM_SUSPEND64"},
    {PSCI_NODE_HW_STATE, 0, "NODE_HW_STATE"},
    {PSCI_NODE_HW_STATE_64, 0, "NODE_HW_STATE64"},
    {PSCI_STAT_RESIDENCY, 0, "STAT_RESIDENCY"},
    {PSCI_STAT_RESIDENCY_64, 0, "STAT_RESIDENCY64"},
    {PSCI_STAT_COUNT, 0, "STAT_COUNT"},
    {PSCI_STAT_COUNT_64, 0, "STAT_COUNT64"},
    {PSCI_MEM_PROTECT, 0, "MEM_PROTECT"},
    {PSCI_MEM_PROTECT_CHECK_RANGE, 0, "MEM_PROTECT_CHECK_RANGE"},
    {PSCI_MEM_PROTECT_CHECK_RANGE_64, 0, "MEM_PROTECT_CHECK_RANGE64"},
    {PSCI_MIGRATE, PSCI_RET_NOT_SUPPORTED, "MIGRATE"},
    {PSCI_MIGRATE_INFO_UP_CPU, PSCI_RET_NOT_SUPPORTED, "MIGRATE_INFO_UP_CPU"},
    {PSCI_CPU_FREEZE, PSCI_RET_NOT_SUPPORTED, "CPU_FREEZE"},
    {PSCI_CPU_DEFAULT_SUSPEND, PSCI_RET_NOT_SUPPORTED, "CPU_DEFAULT_SUSPEND"},
    {PSCI_SET_SUSPEND_MODE, PSCI_RET_NOT_SUPPORTED, "SET_SUSPEND_MODE"},
    {PSCI_SYSTEM_OFF2, PSCI_RET_NOT_SUPPORTED, "SYSTEM_OFF2"},
};

static void test_features(void) {
  for (unsigned i = 0; i < ARRAY_SIZE(psci_features); ++i) {
    const struct expectation* e = &psci_features[i];
    tap_eq(psci(PSCI_FEATURES, e->fid, 0, 0), e->want, "PSCI_FEATURES(%s) = %ld", e->name, (int64_t)e->want);
  }
}

/* DEN0022F.b MIGRATE_INFO_TYPE: no Trusted OS to migrate. */
static void test_migrate(void) {
  static const struct expectation calls[] = {
      {PSCI_MIGRATE, PSCI_RET_NOT_SUPPORTED, "MIGRATE(vCPU 0)"},
      {PSCI_MIGRATE_64, PSCI_RET_NOT_SUPPORTED, "MIGRATE64(vCPU 0)"},
      {PSCI_MIGRATE_INFO_UP_CPU, PSCI_RET_NOT_SUPPORTED, "MIGRATE_INFO_UP_CPU"},
      {PSCI_MIGRATE_INFO_UP_CPU_64, PSCI_RET_NOT_SUPPORTED, "MIGRATE_INFO_UP_CPU64"},
  };
  tap_eq(psci(PSCI_MIGRATE_INFO_TYPE, 0, 0, 0), PSCI_MIGRATE_INFO_NO_TOS_MIGRATION,
         "MIGRATE_INFO_TYPE is 2 (no Trusted OS migration)");
  for (unsigned i = 0; i < ARRAY_SIZE(calls); ++i)
    tap_eq(psci(calls[i].fid, psci_target_of(0), 0, 0), calls[i].want, "%s is NOT_SUPPORTED", calls[i].name);
}

/* --- CPU_ON errors --------------------------------------------------------------------- */

/*
 * DEN0022F.b CPU_ON, docs/architecture.md "Model decisions": target first (INVALID_PARAMETERS),
 * then the entry point (INVALID_ADDRESS), then the target's state (ALREADY_ON).
 */
static void test_cpu_on_errors(void) {
  static const uint32_t fids[] = {PSCI_CPU_ON, PSCI_CPU_ON_64};
  const struct target_case bad_targets[] = {
      {mpidr_of(0), "MPIDR_EL1 of vCPU 0 (bit 31 set)"},
      {TARGET_AFF0_16, "Aff0 = 16"},
      {psci_target_of(ncpus), "one past the last vCPU"},
  };
  const uint64_t entry = entry_point();

  for (unsigned f = 0; f < ARRAY_SIZE(fids); ++f) {
    uint32_t fid = fids[f];
    const char* w = width(fid);
    for (unsigned t = 0; t < ARRAY_SIZE(bad_targets); ++t)
      tap_eq(psci(fid, bad_targets[t].target, entry, 0), PSCI_RET_INVALID_PARAMS,
             "CPU_ON%s(0x%lx: %s) is INVALID_PARAMETERS", w, bad_targets[t].target, bad_targets[t].name);
    tap_eq(psci(fid, TARGET_BIT24, ADDR_LOW, 0), PSCI_RET_INVALID_PARAMS,
           "CPU_ON%s(0x%llx: bit 24 set, entry 0x%llx) is INVALID_PARAMETERS (target first)", w, TARGET_BIT24,
           ADDR_LOW);
    tap_eq(psci(fid, psci_target_of(0), ADDR_LOW, 0), PSCI_RET_INVALID_ADDRESS,
           "CPU_ON%s(vCPU 0, entry 0x%llx) is INVALID_ADDRESS (entry before state)", w, ADDR_LOW);
    tap_eq(psci(fid, psci_target_of(0), entry, 0), PSCI_RET_ALREADY_ON, "CPU_ON%s(vCPU 0: the caller) is ALREADY_ON",
           w);
  }
  tap_eq(psci(PSCI_CPU_ON_64, TARGET_AFF3, entry, 0), PSCI_RET_INVALID_PARAMS,
         "CPU_ON64(0x%llx: Aff3 = 1) is INVALID_PARAMETERS", TARGET_AFF3);

  if (ncpus < 2) return;

  /* An OFF target with a bad entry point stays OFF. */
  static const uint64_t bad_entries[] = {ADDR_LOW, ADDR_BELOW_RAM, ADDR_MISALIGNED};
  for (unsigned f = 0; f < ARRAY_SIZE(fids); ++f) {
    for (unsigned e = 0; e < ARRAY_SIZE(bad_entries); ++e)
      tap_eq(psci(fids[f], psci_target_of(1), bad_entries[e], 0), PSCI_RET_INVALID_ADDRESS,
             "CPU_ON%s(vCPU 1, entry 0x%lx) is INVALID_ADDRESS", width(fids[f]), bad_entries[e]);
  }
  tap_eq(psci(PSCI_CPU_ON_64, psci_target_of(1), ADDR_ABOVE_RAM, 0), PSCI_RET_INVALID_ADDRESS,
         "CPU_ON64(vCPU 1, entry 0x%llx) is INVALID_ADDRESS", (unsigned long long)ADDR_ABOVE_RAM);
  tap_eq(affinity(1), PSCI_AFFINITY_OFF, "vCPU 1 is still OFF after the refused CPU_ONs");
}

/* --- NODE_HW_STATE ---------------------------------------------------------------------- */

/* DEN0022F.b NODE_HW_STATE: HW_ON / HW_OFF per core (level 0) and cluster (level 1). */
static void test_node_hw_state(void) {
  static const uint32_t fids[] = {PSCI_NODE_HW_STATE, PSCI_NODE_HW_STATE_64};

  for (unsigned f = 0; f < ARRAY_SIZE(fids); ++f) {
    uint32_t fid = fids[f];
    const char* w = width(fid);
    tap_eq(psci(fid, psci_target_of(0), 0, 0), PSCI_HW_ON, "NODE_HW_STATE%s(vCPU 0, 0) is HW_ON", w);
    tap_eq(psci(fid, psci_target_of(0), 1, 0), PSCI_HW_ON, "NODE_HW_STATE%s(vCPU 0, 1) is HW_ON", w);
    for (uint64_t level = 2; level <= 3; ++level)
      tap_eq(psci(fid, psci_target_of(0), level, 0), PSCI_RET_INVALID_PARAMS,
             "NODE_HW_STATE%s(vCPU 0, level %lu) is INVALID_PARAMETERS", w, level);
    tap_eq(psci(fid, mpidr_of(0), 0, 0), PSCI_RET_INVALID_PARAMS,
           "NODE_HW_STATE%s(0x%lx: bit 31 set, 0) is INVALID_PARAMETERS", w, mpidr_of(0));
    tap_eq(psci(fid, psci_target_of(ncpus), 0, 0), PSCI_RET_INVALID_PARAMS,
           "NODE_HW_STATE%s(one past the last vCPU, 0) is INVALID_PARAMETERS", w);
  }
}

/* --- MEM_PROTECT --------------------------------------------------------------------------- */

struct range_case {
  uint64_t base;
  uint64_t length;
  uint64_t want;
  const char* name;
};

/* DEN0022F.b MEM_PROTECT: MEM_PROTECT returns the previous setting; all of RAM is protectable. */
static void test_mem_protect(void) {
  tap_eq(psci(PSCI_MEM_PROTECT, 1, 0, 0), 0, "MEM_PROTECT(1) returns 0 (was disabled)");
  tap_eq(psci(PSCI_MEM_PROTECT, 1, 0, 0), 1, "MEM_PROTECT(1) returns 1 (was enabled)");
  tap_eq(psci(PSCI_MEM_PROTECT, MEM_PROTECT_BAD_ENABLE, 0, 0), PSCI_RET_INVALID_PARAMS,
         "MEM_PROTECT(%u) is INVALID_PARAMETERS", MEM_PROTECT_BAD_ENABLE);
  tap_eq(psci(PSCI_MEM_PROTECT, 0, 0, 0), 1, "MEM_PROTECT(0) returns 1 (still enabled)");
  tap_eq(psci(PSCI_MEM_PROTECT, 0, 0, 0), 0, "MEM_PROTECT(0) returns 0 (was disabled)");

  const struct range_case ranges[] = {
      {RAM_BASE, PAGE, PSCI_RET_SUCCESS, "the first page of RAM"},
      {entry_point(), 16 * PAGE, PSCI_RET_SUCCESS, "64 KiB of the image"},
      {RAM_BASE, 0, PSCI_RET_DENIED, "length 0"},
      {RAM_BASE - PAGE, 2 * PAGE, PSCI_RET_DENIED, "straddling the start of RAM"},
      {ADDR_LOW, PAGE, PSCI_RET_DENIED, "below RAM"},
      {UART_BASE, PAGE, PSCI_RET_DENIED, "the UART"},
  };
  static const uint32_t fids[] = {PSCI_MEM_PROTECT_CHECK_RANGE, PSCI_MEM_PROTECT_CHECK_RANGE_64};
  for (unsigned f = 0; f < ARRAY_SIZE(fids); ++f) {
    for (unsigned i = 0; i < ARRAY_SIZE(ranges); ++i) {
      const struct range_case* r = &ranges[i];
      tap_eq(psci(fids[f], r->base, r->length, 0), r->want, "MEM_PROTECT_CHECK_RANGE%s(0x%lx, 0x%lx: %s) is %s",
             width(fids[f]), r->base, r->length, r->name, r->want == PSCI_RET_SUCCESS ? "SUCCESS" : "DENIED");
    }
  }
  tap_eq(psci(PSCI_MEM_PROTECT_CHECK_RANGE_64, ~PAGE + 1, 2 * PAGE, 0), PSCI_RET_DENIED,
         "MEM_PROTECT_CHECK_RANGE64 of a range that wraps around is DENIED");
}

/* --- CPU_SUSPEND and STAT on vCPU 0 ----------------------------------------------------- */

/* DEN0022F.b CPU_SUSPEND: only the two declared states are accepted. */
static void test_cpu_suspend_errors(void) {
  static const uint32_t fids[] = {PSCI_CPU_SUSPEND, PSCI_CPU_SUSPEND_64};
  static const uint32_t bad_states[] = {0x00000001u, 0x01000000u, 0x40000000u, 0x00010001u};
  static const uint64_t bad_entries[] = {ADDR_LOW, ADDR_BELOW_RAM};
  struct stats standby = read_stats(0, POWER_STATE_CORE_STANDBY);
  struct stats powerdown = read_stats(0, POWER_STATE_CORE_POWERDOWN);

  for (unsigned f = 0; f < ARRAY_SIZE(fids); ++f) {
    uint32_t fid = fids[f];
    const char* w = width(fid);
    for (unsigned s = 0; s < ARRAY_SIZE(bad_states); ++s)
      tap_eq(psci(fid, bad_states[s], entry_point(), 0), PSCI_RET_INVALID_PARAMS,
             "CPU_SUSPEND%s(power_state 0x%08x) is INVALID_PARAMETERS", w, bad_states[s]);
    for (unsigned e = 0; e < ARRAY_SIZE(bad_entries); ++e)
      tap_eq(psci(fid, POWER_STATE_CORE_POWERDOWN, bad_entries[e], 0), PSCI_RET_INVALID_ADDRESS,
             "CPU_SUSPEND%s(power-down, entry 0x%lx) is INVALID_ADDRESS", w, bad_entries[e]);
  }
  tap_eq(psci(PSCI_CPU_SUSPEND_64, POWER_STATE_CORE_POWERDOWN, ADDR_ABOVE_RAM, 0), PSCI_RET_INVALID_ADDRESS,
         "CPU_SUSPEND64(power-down, entry 0x%llx) is INVALID_ADDRESS", (unsigned long long)ADDR_ABOVE_RAM);

  struct stats standby_after = read_stats(0, POWER_STATE_CORE_STANDBY);
  struct stats powerdown_after = read_stats(0, POWER_STATE_CORE_POWERDOWN);
  tap_ok(standby_after.count == standby.count && powerdown_after.count == powerdown.count,
         "refused CPU_SUSPEND calls are not counted by STAT_COUNT");
}

/* DEN0022F.b CPU_SUSPEND (standby returns SUCCESS), PSCI_STAT_COUNT / PSCI_STAT_RESIDENCY. */
static void test_standby_self(void) {
  struct stats before = read_stats(0, POWER_STATE_CORE_STANDBY);
  bool all_success = true;

  for (unsigned i = 0; i < STANDBY_ROUNDS; ++i) {
    uint32_t fid = i % 2 ? PSCI_CPU_SUSPEND_64 : PSCI_CPU_SUSPEND;
    uint64_t r = psci(fid, POWER_STATE_CORE_STANDBY, entry_point(), 0);
    if (r != PSCI_RET_SUCCESS) {
      all_success = false;
      tap_diag("  CPU_SUSPEND%s(standby) = %ld", width(fid), (int64_t)r);
    }
  }
  tap_ok(all_success, "CPU_SUSPEND(standby) and CPU_SUSPEND64(standby) return SUCCESS");

  uint64_t t0 = read_cntvct();
  psci(PSCI_CPU_SUSPEND, POWER_STATE_CORE_STANDBY, entry_point(), 0);
  uint64_t ticks = read_cntvct() - t0;
  tap_ok(ticks >= SUSPEND_RESIDENCY_US * COUNTER_TICKS_PER_US,
         "a standby suspend lasts at least %u us of virtual time (CNTVCT_EL0)", SUSPEND_RESIDENCY_US);
  if (ticks < SUSPEND_RESIDENCY_US * COUNTER_TICKS_PER_US) tap_diag("  CNTVCT_EL0 advanced %lu ticks", ticks);

  struct stats after = read_stats(0, POWER_STATE_CORE_STANDBY);
  check_stats_grew(before, after, STANDBY_ROUNDS + 1, "standby", 0);

  tap_eq(psci(PSCI_STAT_COUNT_64, psci_target_of(0), POWER_STATE_CORE_STANDBY, 0), after.count,
         "STAT_COUNT64 agrees with STAT_COUNT");
  tap_eq(psci(PSCI_STAT_RESIDENCY_64, psci_target_of(0), POWER_STATE_CORE_STANDBY, 0), after.residency,
         "STAT_RESIDENCY64 agrees with STAT_RESIDENCY");
}

/* DEN0022F.b PSCI_STAT_COUNT and PSCI_STAT_RESIDENCY: STAT calls take a valid target and a declared
 * power_state. */
static void test_stat_errors(void) {
  static const uint32_t fids[] = {PSCI_STAT_COUNT, PSCI_STAT_COUNT_64, PSCI_STAT_RESIDENCY, PSCI_STAT_RESIDENCY_64};
  static const char* const names[] = {"STAT_COUNT", "STAT_COUNT64", "STAT_RESIDENCY", "STAT_RESIDENCY64"};

  for (unsigned f = 0; f < ARRAY_SIZE(fids); ++f) {
    tap_eq(psci(fids[f], psci_target_of(0), 0x00000001u, 0), PSCI_RET_INVALID_PARAMS,
           "%s(vCPU 0, power_state 0x00000001) is INVALID_PARAMETERS", names[f]);
    tap_eq(psci(fids[f], mpidr_of(0), POWER_STATE_CORE_STANDBY, 0), PSCI_RET_INVALID_PARAMS,
           "%s(0x%lx: bit 31 set, standby) is INVALID_PARAMETERS", names[f], mpidr_of(0));
    tap_eq(psci(fids[f], psci_target_of(ncpus), POWER_STATE_CORE_STANDBY, 0), PSCI_RET_INVALID_PARAMS,
           "%s(one past the last vCPU, standby) is INVALID_PARAMETERS", names[f]);
  }
}

/* DEN0022F.b SYSTEM_SUSPEND: the entry point is checked first. */
static void test_system_suspend_bad_entry(void) {
  static const uint32_t fids[] = {PSCI_SYSTEM_SUSPEND, PSCI_SYSTEM_SUSPEND_64};
  static const uint64_t bad_entries[] = {ADDR_LOW, ADDR_BELOW_RAM};

  for (unsigned f = 0; f < ARRAY_SIZE(fids); ++f) {
    for (unsigned e = 0; e < ARRAY_SIZE(bad_entries); ++e)
      tap_eq(psci(fids[f], bad_entries[e], make_ctx(fids[f], CTX_NEVER, 0), 0), PSCI_RET_INVALID_ADDRESS,
             "SYSTEM_SUSPEND%s(entry 0x%lx) is INVALID_ADDRESS", width(fids[f]), bad_entries[e]);
  }
}

/* --- With several vCPUs --------------------------------------------------------------------- */

/*
 * DEN0022F.b power states, CPU_ON, CPU_ON entry state, CPU_OFF: vCPU 1 goes OFF -> ON -> OFF -> ON
 * -> OFF, started once with the SMC64 form and once with the SMC32 form (garbage in bits 63:32 of
 * every argument).
 */
static void test_on_off_walk(void) {
  const unsigned cpu = 1;
  const struct {
    uint32_t fid;
    uint64_t garbage;
    const char* label;
    const char* how;
  } starts[] = {
      {PSCI_CPU_ON_64, 0, "walk CPU_ON64", ""},
      {PSCI_CPU_ON, HIGH_GARBAGE, "walk CPU_ON", " with 0xa5a5a5a5 in bits 63:32 of each argument"},
  };

  tap_eq(affinity(cpu), PSCI_AFFINITY_OFF, "walk: vCPU %u starts OFF", cpu);
  tap_eq(psci(PSCI_AFFINITY_INFO_64, psci_target_of(cpu), 0, 0), PSCI_AFFINITY_OFF,
         "walk: AFFINITY_INFO64 agrees: OFF");
  for (unsigned s = 0; s < ARRAY_SIZE(starts); ++s) {
    uint32_t fid = starts[s].fid;
    uint64_t g = starts[s].garbage;
    uint64_t ctx = g | make_ctx(fid, CTX_WALK, s);
    uint64_t count_before = psci_entry_states[cpu].count;

    prepare_mailbox(cpu, TASK_HOLD, fid, 0);
    uint64_t r = psci(fid, g | psci_target_of(cpu), g | entry_point(), ctx);
    tap_eq(r, PSCI_RET_SUCCESS, "walk: CPU_ON%s(vCPU %u)%s is SUCCESS", width(fid), cpu, starts[s].how);
    if (r != PSCI_RET_SUCCESS) continue;
    tap_eq(affinity(cpu), PSCI_AFFINITY_ON, "walk: AFFINITY_INFO(vCPU %u) is ON as soon as CPU_ON returns", cpu);
    tap_eq(psci(fid, psci_target_of(cpu), entry_point(), ctx), PSCI_RET_ALREADY_ON,
           "walk: a second CPU_ON%s(vCPU %u) is ALREADY_ON", width(fid), cpu);
    bool started = wait_step(cpu, STEP_STARTED);
    tap_ok(started, "walk: vCPU %u runs", cpu);
    if (!started) continue;
    check_entry_state(cpu, is_smc64(fid) ? ctx : (uint32_t)ctx, count_before, starts[s].label);
    tap_eq(mailboxes[cpu].mpidr, mpidr_of(cpu), "walk: vCPU %u reads MPIDR_EL1 = 0x%lx", cpu, mpidr_of(cpu));
    tap_eq(psci(PSCI_NODE_HW_STATE, psci_target_of(cpu), 0, 0), PSCI_HW_ON,
           "walk: NODE_HW_STATE(vCPU %u, 0) is HW_ON while it runs", cpu);
    release_and_wait_off(cpu);
    tap_eq(affinity(cpu), PSCI_AFFINITY_OFF, "walk: vCPU %u is OFF again", cpu);
    tap_eq(psci(PSCI_NODE_HW_STATE, psci_target_of(cpu), 0, 0), PSCI_HW_OFF,
           "walk: NODE_HW_STATE(vCPU %u, 0) is HW_OFF", cpu);
  }
}

/*
 * DEN0022F.b AFFINITY_INFO (level 1 = cluster of 16), NODE_HW_STATE, SYSTEM_SUSPEND (SYSTEM_SUSPEND is
 * DENIED while another vCPU is on, after the entry point check).
 */
static void test_clusters_and_held_cpu(void) {
  const unsigned last = ncpus - 1;

  /* Cluster 0 is on through vCPU 0 even though vCPU 1 is off. */
  tap_eq(affinity(1), PSCI_AFFINITY_OFF, "AFFINITY_INFO(vCPU 1, 0) is OFF");
  tap_eq(psci(PSCI_AFFINITY_INFO, psci_target_of(1), 1, 0), PSCI_AFFINITY_ON,
         "AFFINITY_INFO(vCPU 1, 1) is ON: vCPU 0 is in its cluster");
  tap_eq(psci(PSCI_NODE_HW_STATE, psci_target_of(1), 0, 0), PSCI_HW_OFF, "NODE_HW_STATE(vCPU 1, 0) is HW_OFF");
  tap_eq(psci(PSCI_NODE_HW_STATE, psci_target_of(1), 1, 0), PSCI_HW_ON,
         "NODE_HW_STATE(vCPU 1, 1) is HW_ON: vCPU 0 is in its cluster");

  /* A second cluster, all off, then on through its last vCPU. */
  const bool two_clusters = ncpus > GUEST_CPUS_PER_CLUSTER;
  const unsigned first1 = GUEST_CPUS_PER_CLUSTER;
  if (two_clusters) {
    tap_eq(psci(PSCI_AFFINITY_INFO_64, psci_target_of(first1), 1, 0), PSCI_AFFINITY_OFF,
           "AFFINITY_INFO64(vCPU %u, 1) is OFF: cluster 1 is all off", first1);
    tap_eq(psci(PSCI_NODE_HW_STATE_64, psci_target_of(first1), 1, 0), PSCI_HW_OFF,
           "NODE_HW_STATE64(vCPU %u, 1) is HW_OFF: cluster 1 is all off", first1);
  }

  const unsigned held = two_clusters && last >= 2 * GUEST_CPUS_PER_CLUSTER ? 2 * GUEST_CPUS_PER_CLUSTER - 1 : last;
  if (!start_task(held, TASK_HOLD, 0, 0, PSCI_CPU_ON_64, "the cluster checks")) return;
  tap_eq(affinity(held), PSCI_AFFINITY_ON, "AFFINITY_INFO(vCPU %u, 0) is ON", held);
  tap_eq(psci(PSCI_NODE_HW_STATE, psci_target_of(held), 0, 0), PSCI_HW_ON, "NODE_HW_STATE(vCPU %u, 0) is HW_ON", held);
  if (two_clusters) {
    tap_eq(psci(PSCI_AFFINITY_INFO, psci_target_of(first1), 1, 0), PSCI_AFFINITY_ON,
           "AFFINITY_INFO(vCPU %u, 1) is ON: vCPU %u is on", first1, held);
    tap_eq(psci(PSCI_NODE_HW_STATE, psci_target_of(first1), 1, 0), PSCI_HW_ON,
           "NODE_HW_STATE(vCPU %u, 1) is HW_ON: vCPU %u is on", first1, held);
    if (held != first1) tap_eq(affinity(first1), PSCI_AFFINITY_OFF, "AFFINITY_INFO(vCPU %u, 0) is still OFF", first1);
  }

  static const uint32_t fids[] = {PSCI_SYSTEM_SUSPEND, PSCI_SYSTEM_SUSPEND_64};
  for (unsigned f = 0; f < ARRAY_SIZE(fids); ++f) {
    const char* w = width(fids[f]);
    uint64_t never = make_ctx(fids[f], CTX_NEVER, 0);
    tap_eq(psci(fids[f], ADDR_LOW, never, 0), PSCI_RET_INVALID_ADDRESS,
           "SYSTEM_SUSPEND%s(entry 0x%llx) with vCPU %u on is INVALID_ADDRESS", w, ADDR_LOW, held);
    tap_eq(psci(fids[f], entry_point(), never, 0), PSCI_RET_DENIED, "SYSTEM_SUSPEND%s with vCPU %u on is DENIED", w,
           held);
  }

  release_and_wait_off(held);
  if (two_clusters)
    tap_eq(psci(PSCI_AFFINITY_INFO, psci_target_of(first1), 1, 0), PSCI_AFFINITY_OFF,
           "AFFINITY_INFO(vCPU %u, 1) is OFF again", first1);
}

/*
 * DEN0022F.b power states, docs/architecture.md "Model decisions": vCPUs 1..N-2 call CPU_ON for
 * vCPU N-1 together, released by one flag, and vCPU 0 joins once the first of them is done (so a
 * secondary's call can win); the target is ON as soon as one call returns, so exactly one caller
 * gets SUCCESS.
 */
static void test_cpu_on_race(void) {
  const unsigned target = ncpus - 1;
  const unsigned callers = ncpus - 1; /* vCPU 0 and vCPUs 1 .. N-2 */
  bool ready[GUEST_MAX_CPUS] = {false};
  unsigned not_ready = 0;

  smp_store(&race_go, 0);
  smp_store(&race_done, 0);
  prepare_mailbox(target, TASK_HOLD, PSCI_CPU_ON, 0);
  for (unsigned cpu = 1; cpu < target; ++cpu) {
    uint32_t fid = cpu % 2 ? PSCI_CPU_ON : PSCI_CPU_ON_64;
    prepare_mailbox(cpu, TASK_RACE, fid, psci_target_of(target));
    uint64_t r = cpu_on(PSCI_CPU_ON_64, cpu, make_ctx(PSCI_CPU_ON_64, CTX_START, cpu));
    ready[cpu] = r == PSCI_RET_SUCCESS && wait_step(cpu, STEP_STARTED);
    if (!ready[cpu]) {
      ++not_ready;
      tap_diag("  racer vCPU %u did not start (CPU_ON %ld)", cpu, (int64_t)r);
    }
  }
  tap_ok(not_ready == 0, "race: %u racing vCPU(s) started", callers - 1);

  uint64_t count_before = psci_entry_states[target].count;
  smp_store(&race_go, 1);
  if (not_ready < callers - 1) spin_until_at_least(&race_done, 1, SPIN_LIMIT);
  uint64_t results[GUEST_MAX_CPUS];
  results[0] = cpu_on(PSCI_CPU_ON_64, target, make_ctx(PSCI_CPU_ON_64, CTX_RACE, 0));

  unsigned finished = 0;
  for (unsigned cpu = 1; cpu < target; ++cpu) {
    results[cpu] = RESULT_UNSET;
    if (ready[cpu] && wait_step(cpu, STEP_DONE)) {
      results[cpu] = mailboxes[cpu].result[0];
      ++finished;
    }
  }
  tap_ok(finished == callers - 1 - not_ready && smp_load(&race_done) == finished,
         "race: every racing vCPU made its call");

  unsigned successes = 0, already_on = 0, winner = 0;
  for (unsigned cpu = 0; cpu < target; ++cpu) {
    if (results[cpu] == PSCI_RET_SUCCESS) {
      ++successes;
      winner = cpu;
    } else if (results[cpu] == PSCI_RET_ALREADY_ON) {
      ++already_on;
    } else {
      tap_diag("  vCPU %u: CPU_ON returned %ld", cpu, (int64_t)results[cpu]);
    }
  }
  tap_eq(successes, 1, "race: %u caller(s) of CPU_ON(vCPU %u): exactly one SUCCESS", callers, target);
  tap_eq(already_on, callers - 1, "race: the other %u caller(s) get ALREADY_ON", callers - 1);

  if (successes == 1 && wait_step(target, STEP_STARTED)) {
    uint32_t fid = winner == 0 ? PSCI_CPU_ON_64 : mailboxes[winner].fid;
    uint64_t want = make_ctx(fid, CTX_RACE, winner);
    tap_eq(psci_entry_states[target].count - count_before, 1, "race: vCPU %u started once", target);
    tap_eq(psci_entry_states[target].x[0], want, "race: vCPU %u got the winner's (vCPU %u) context_id", target, winner);
    tap_eq(mailboxes[target].mpidr, mpidr_of(target), "race: vCPU %u reads MPIDR_EL1 = 0x%lx", target,
           mpidr_of(target));
  } else {
    tap_ok(false, "race: vCPU %u started once", target);
  }

  for (unsigned cpu = 1; cpu <= target; ++cpu) smp_store(&mailboxes[cpu].go, GO_OFF);
  bool all_off = true;
  for (unsigned cpu = 1; cpu <= target; ++cpu) {
    if (!wait_off(cpu)) {
      all_off = false;
      tap_diag("  vCPU %u did not turn off", cpu);
    }
  }
  tap_ok(all_off, "race: vCPUs 1..%u are OFF again", target);
}

/* DEN0022F.b CPU_SUSPEND, PSCI_STAT_COUNT: another vCPU's standby suspends show in its statistics. */
static void test_standby_other(void) {
  const unsigned cpu = ncpus - 1;
  const uint32_t fid = form_of_pass(PSCI_CPU_SUSPEND);

  if (!start_task(cpu, TASK_STANDBY, fid, 0, PSCI_CPU_ON, "standby suspends")) return;
  struct stats before = read_stats(cpu, POWER_STATE_CORE_STANDBY);
  smp_store(&mailboxes[cpu].go, GO_RUN);
  bool done = wait_step(cpu, STEP_DONE);
  tap_ok(done, "vCPU %u finished %u standby suspends", cpu, STANDBY_ROUNDS);
  if (done) {
    bool all_success = true;
    for (unsigned i = 0; i < STANDBY_ROUNDS; ++i)
      all_success = all_success && mailboxes[cpu].result[i] == PSCI_RET_SUCCESS;
    tap_ok(all_success, "CPU_SUSPEND%s(standby) on vCPU %u returns SUCCESS", width(fid), cpu);
    check_stats_grew(before, read_stats(cpu, POWER_STATE_CORE_STANDBY), STANDBY_ROUNDS, "standby", cpu);
  }
  release_and_wait_off(cpu);
}

/*
 * DEN0022F.b CPU_SUSPEND, CPU_ON entry state, power states: a power-down suspend does not return;
 * the vCPU wakes at the entry point with the entry state of CPU_ON, and reads as ON meanwhile.
 */
static void test_powerdown_other(void) {
  const unsigned cpu = 1;
  const uint32_t fid = form_of_pass(PSCI_CPU_SUSPEND);
  const uint64_t ctx = make_ctx(fid, CTX_POWERDOWN, cpu);

  if (!start_task(cpu, TASK_POWERDOWN, fid, ctx, PSCI_CPU_ON_64, "a power-down suspend")) return;
  struct mailbox* mb = &mailboxes[cpu];
  uint64_t count_before = psci_entry_states[cpu].count;
  struct stats before = read_stats(cpu, POWER_STATE_CORE_POWERDOWN);
  smp_store(&mb->go, GO_RUN);

  bool suspending = wait_step(cpu, STEP_SUSPENDING);
  tap_ok(suspending, "vCPU %u reached its power-down suspend", cpu);
  if (!suspending) {
    release_and_wait_off(cpu);
    return;
  }
  /*
   * Until it reports back from the wake-up it is ON (running or suspended), so CPU_ON
   * finds it ALREADY_ON; it then stays on until released.
   */
  const uint64_t never = make_ctx(PSCI_CPU_ON, CTX_NEVER, cpu);
  unsigned polls = 0, not_on = 0, not_already_on = 0;
  while (smp_load(&mb->step) < STEP_DONE && polls < POLL_LIMIT) {
    ++polls;
    if (affinity(cpu) != PSCI_AFFINITY_ON) ++not_on;
    if (cpu_on(PSCI_CPU_ON, cpu, never) != PSCI_RET_ALREADY_ON) ++not_already_on;
  }
  tap_eq(not_on, 0, "AFFINITY_INFO(vCPU %u) is ON throughout its power-down suspend", cpu);
  tap_eq(not_already_on, 0, "CPU_ON(vCPU %u) is ALREADY_ON throughout its power-down suspend", cpu);
  bool done = wait_step(cpu, STEP_DONE);
  tap_eq(mb->result[0], PSCI_RET_INVALID_ADDRESS,
         "CPU_SUSPEND%s(power-down, entry 0x%llx) on vCPU %u is INVALID_ADDRESS", width(fid), ADDR_LOW, cpu);
  tap_ok(done && smp_load(&mb->woken) == 1 && mb->result[1] == RESULT_UNSET,
         "CPU_SUSPEND%s(power-down) on vCPU %u does not return; it wakes at the entry point", width(fid), cpu);
  if (mb->result[1] != RESULT_UNSET) tap_diag("  it returned %ld", (int64_t)mb->result[1]);
  if (done && mb->woken) check_entry_state(cpu, ctx, count_before, "power-down wake-up");
  check_stats_grew(before, read_stats(cpu, POWER_STATE_CORE_POWERDOWN), 1, "power-down", cpu);
  release_and_wait_off(cpu);
}

static void test_smp(void) {
  if (ncpus < 2) {
    tap_diag("SMP checks need >= 2 vCPUs; found %u: single-vCPU checks only", ncpus);
    return;
  }
  test_on_off_walk();
  test_clusters_and_held_cpu();
  test_cpu_on_race();
  test_standby_other();
  test_powerdown_other();
}

/* --- The pass and its non-returning calls ---------------------------------------------- */

__attribute__((noreturn)) static void start_pass(unsigned p);
__attribute__((noreturn)) static void after_self_suspend(bool woke);
__attribute__((noreturn)) static void after_system_suspend(bool woke);

__attribute__((noreturn)) static void finish(void) {
  tap_prefix("");
  int failed = tap_done();
  semihost_exit_extended((uint64_t)(failed > MAX_EXIT_STATUS ? MAX_EXIT_STATUS : failed));
}

/* vCPU 0 entered psci_entry: continue where the pass suspended. */
static void boot_cpu_resumed(uint64_t context_id) {
  enum resume_point at = resume_point;
  resume_point = RESUME_NONE;

  switch (at) {
    case RESUME_SELF_SUSPEND: after_self_suspend(true);
    case RESUME_SYSTEM_SUSPEND: after_system_suspend(true);
    case RESUME_NONE: break;
  }
  tap_ok(false, "vCPU 0 entered the entry point unexpectedly (context_id 0x%lx)", context_id);
  finish();
}

/* Prepares vCPU 0's wake-up at psci_entry; returns the context id to pass. */
static uint64_t expect_resume(enum resume_point at, uint32_t fid, enum ctx_kind kind) {
  resume_ctx = make_ctx(fid, kind, pass);
  resume_entry_count = psci_entry_states[0].count;
  resume_point = at;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  return resume_ctx;
}

/* DEN0022F.b CPU_SUSPEND: vCPU 0 powers itself down; it wakes in after_self_suspend(). */
__attribute__((noreturn)) static void suspend_self(void) {
  const uint32_t fid = form_of_pass(PSCI_CPU_SUSPEND);

  self_powerdown_before = read_stats(0, POWER_STATE_CORE_POWERDOWN);
  uint64_t ctx = expect_resume(RESUME_SELF_SUSPEND, fid, CTX_SELF_SUSPEND);
  uint64_t r = psci(fid, POWER_STATE_CORE_POWERDOWN, entry_point(), ctx);
  resume_point = RESUME_NONE;
  tap_diag("  CPU_SUSPEND%s(power-down) returned %ld", width(fid), (int64_t)r);
  after_self_suspend(false);
}

static void after_self_suspend(bool woke) {
  const uint32_t fid = form_of_pass(PSCI_CPU_SUSPEND);

  tap_ok(woke, "CPU_SUSPEND%s(power-down) on vCPU 0 does not return; it wakes at the entry point", width(fid));
  if (woke) check_entry_state(0, resume_ctx, resume_entry_count, "vCPU 0 power-down wake-up");
  check_stats_grew(self_powerdown_before, read_stats(0, POWER_STATE_CORE_POWERDOWN), 1, "power-down", 0);
  tap_eq(affinity(0), PSCI_AFFINITY_ON, "AFFINITY_INFO(vCPU 0, 0) is ON after the wake-up");

  /* DEN0022F.b SYSTEM_SUSPEND: SYSTEM_SUSPEND needs every other vCPU OFF. */
  bool all_off = true;
  for (unsigned cpu = 1; cpu < ncpus; ++cpu) {
    if (affinity(cpu) != PSCI_AFFINITY_OFF) {
      all_off = false;
      tap_diag("  vCPU %u is not OFF", cpu);
    }
  }
  tap_ok(all_off, "every secondary is OFF before SYSTEM_SUSPEND");
  tap_eq(psci(PSCI_MEM_PROTECT, 0, 0, 0), 0, "MEM_PROTECT is left disabled");
  tap_eq(guest_exception_count() - exceptions_at_pass_start, 0, "vCPU 0 took no exception in this pass");

  const uint32_t sys_fid = other_form(PSCI_SYSTEM_SUSPEND);
  ram_canary = RAM_CANARY ^ pass;
  uint64_t ctx = expect_resume(RESUME_SYSTEM_SUSPEND, sys_fid, CTX_SYSTEM_SUSPEND);
  uint64_t r = psci(sys_fid, entry_point(), ctx, 0);
  resume_point = RESUME_NONE;
  tap_diag("  SYSTEM_SUSPEND%s returned %ld", width(sys_fid), (int64_t)r);
  after_system_suspend(false);
}

static void after_system_suspend(bool woke) {
  const uint32_t sys_fid = other_form(PSCI_SYSTEM_SUSPEND);

  tap_ok(woke,
         "SYSTEM_SUSPEND%s with every secondary OFF does not return; vCPU 0 wakes at the "
         "entry point",
         width(sys_fid));
  if (woke) check_entry_state(0, resume_ctx, resume_entry_count, "SYSTEM_SUSPEND wake-up");
  tap_eq(ram_canary, RAM_CANARY ^ pass, "RAM is kept across SYSTEM_SUSPEND");

  if (pass + 1 < PASSES) start_pass(pass + 1);
  finish();
}

static void start_pass(unsigned p) {
  pass = p;
  conduit = pass_conduits[p];
  tap_prefix(pass_prefixes[p]);
  exceptions_at_pass_start = guest_exception_count();

  test_discovery();
  test_affinity_info();
  test_features();
  test_migrate();
  test_cpu_on_errors();
  test_node_hw_state();
  test_mem_protect();
  test_stat_errors();
  test_system_suspend_bad_entry();
  test_smp();
  test_cpu_suspend_errors();
  test_standby_self();
  suspend_self();
}

/* RAM's end from /memory@40000000's reg (two address and two size cells, as the platform's
 * device tree has them), then the first address at or above it with low half ADDR_NARROWED. */
static void find_addr_above_ram(void) {
  struct gfdt tree;
  uint32_t len = 0;
  const void* reg = 0;
  if (gfdt_init(&tree, (const void*)(uintptr_t)guest_boot_x0) == 0) {
    int memory = gfdt_path(&tree, "/memory@40000000");
    reg = memory >= 0 ? gfdt_prop(&tree, memory, "reg", &len) : 0;
  }
  if (reg == 0 || len != 16) {
    tap_diag("no /memory@40000000 reg in the device tree: assuming RAM ends below 0x%llx",
             (unsigned long long)addr_above_ram);
    return;
  }
  uint64_t base = ((uint64_t)gfdt_cell(reg, 0) << 32) | gfdt_cell(reg, 1);
  uint64_t size = ((uint64_t)gfdt_cell(reg, 2) << 32) | gfdt_cell(reg, 3);
  uint64_t end = base + size;
  uint64_t a = (end & ~0xFFFFFFFFull) | ADDR_NARROWED;
  if (a < end) a += 1ull << 32;
  addr_above_ram = a;
}

int main(void) {
  tap_diag("smp-conformance: PSCI with several vCPUs over HVC, then SMC");
  find_addr_above_ram();
  start_pass(0);
}
