/*
 * random-calls.elf: seeded random firmware calls from every vCPU (issue 14, reliability).
 *
 * Each vCPU makes CALLS calls (default 12500) chosen from the table below, which lists every
 * function the firmware implements, with random arguments, random upper halves of x0 (only W0
 * is the FID, DEN0028 §2.5), the SVE hint bit set at random (SMCCC 1.3, §2.5.1), HVC or SMC at
 * random, and now and then an immediate other than #0 or a random FID. Calls that would end the
 * run or lose the caller's context are contained, not left out: their arguments are shaped so
 * the call returns (see `shape`). Three functions are never called at random: SYSTEM_OFF (the
 * last call of the run), SYSTEM_RESET (it reboots: the run would start again) and CPU_OFF of
 * the caller (each secondary ends with it, from _start).
 *
 * Checked on every call (README "What the firmware answers"): an unknown call (no such FID, or
 * an immediate other than #0) answers x0 = -1 with x1..x17 unchanged; an SDEI call changes only
 * x0; every other call leaves x4..x17 unchanged (SOC_ID's name, which fills x1..x17, is not
 * checked); an SMC32/HVC32 call's x0 is 32 bits or a sign-extended negative code and what it
 * writes to x1..x3 is 32 bits (DEN0028 §3.1). Each broken rule is counted; the first ones are printed.
 *
 * Output (only vCPU 0 prints, at the end): the table (`# fid 0x... NAME`, then the functions
 * never called at random), per vCPU the number of calls, the SDEI handler dispatches and an
 * FNV-1a hash over every (FID, x0..x3) answer, per FID the number of answers that were zero,
 * negative and positive, and the number of broken rules. Then PSCI SYSTEM_OFF (exit status 0).
 * Run twice with the same --seed, --epoch and --append, it prints the same bytes.
 *
 * --append "seed=N calls=M" sets the generator's seed (default 1) and the calls per vCPU.
 */
#include <stdbool.h>
#include <stdint.h>

#include "guest/console.h"
#include "guest/fdt.h"
#include "guest/smccc.h"
#include "guest/smp.h"

#include <stddef.h>
int memcmp(const void* a, const void* b, size_t n); /* runtime/string.c */

/* --- The functions (the service tables of firmware/; the system test compares) ------------ */

enum shape {
  SHAPE_ANY,           /* every argument random */
  SHAPE_CPU_ON,        /* entry = _start, or an address outside RAM (INVALID_ADDRESS) */
  SHAPE_CPU_SUSPEND,   /* StateType bit 16 clear: a standby state or INVALID_PARAMETERS */
  SHAPE_OUTSIDE_RAM,   /* x1 = an address outside RAM: SYSTEM_SUSPEND answers INVALID_ADDRESS */
  SHAPE_SYSTEM_OFF2,   /* type 2..: not HIBERNATE_OFF or 0, INVALID_PARAMETERS (DEN0022F.b SYSTEM_OFF2) */
  SHAPE_RESET2,        /* reset_type 1..0x7FFFFFFF: reserved, INVALID_PARAMETERS (DEN0022 §5.17) */
  SHAPE_SDEI_REGISTER, /* entry = random_sdei_handler, or outside RAM (INVALID_PARAMETERS);
                        * mostly an event that exists and flags RM_ANY or RM_PE */
  SHAPE_SDEI_EVENT,    /* x1 mostly an event that exists, x2 mostly a vCPU's MPIDR */
  SHAPE_NEVER,         /* not called at random (ends the run or the caller) */
};

enum check {
  KEEPS_X4,   /* x4..x17 unchanged */
  KEEPS_X1,   /* SDEI: only x0 written (README; TF-A's SMC_RET1) */
  KEEPS_NONE, /* SOC_ID: its name fills x1..x17 */
};

struct fn {
  uint32_t fid;
  uint8_t shape;
  uint8_t check;
  const char* name;
};

/* To add a function: one line here (the system test fails until every routable FID is here). */
static const struct fn table[] = {
    {0x80000000u, SHAPE_ANY, KEEPS_X4, "SMCCC_VERSION"},
    {0x80000001u, SHAPE_ANY, KEEPS_X4, "SMCCC_ARCH_FEATURES"},
    {0x80000002u, SHAPE_ANY, KEEPS_X4, "SMCCC_ARCH_SOC_ID"},
    {0xC0000002u, SHAPE_ANY, KEEPS_NONE, "SMCCC_ARCH_SOC_ID64"},
    {0xC0000003u, SHAPE_ANY, KEEPS_X4, "SMCCC_ARCH_FEATURE_AVAILABILITY"},
    {0x80000004u, SHAPE_ANY, KEEPS_X4, "SMCCC_ARCH_WORKAROUND_4"},
    {0x80003FFFu, SHAPE_ANY, KEEPS_X4, "SMCCC_ARCH_WORKAROUND_3"},
    {0x80007FFFu, SHAPE_ANY, KEEPS_X4, "SMCCC_ARCH_WORKAROUND_2"},
    {0x80008000u, SHAPE_ANY, KEEPS_X4, "SMCCC_ARCH_WORKAROUND_1"},
    {0x84000000u, SHAPE_ANY, KEEPS_X4, "PSCI_VERSION"},
    {0x84000001u, SHAPE_CPU_SUSPEND, KEEPS_X4, "PSCI_CPU_SUSPEND"},
    {0xC4000001u, SHAPE_CPU_SUSPEND, KEEPS_X4, "PSCI_CPU_SUSPEND64"},
    {0x84000002u, SHAPE_NEVER, KEEPS_X4, "PSCI_CPU_OFF"},
    {0x84000003u, SHAPE_CPU_ON, KEEPS_X4, "PSCI_CPU_ON"},
    {0xC4000003u, SHAPE_CPU_ON, KEEPS_X4, "PSCI_CPU_ON64"},
    {0x84000004u, SHAPE_ANY, KEEPS_X4, "PSCI_AFFINITY_INFO"},
    {0xC4000004u, SHAPE_ANY, KEEPS_X4, "PSCI_AFFINITY_INFO64"},
    {0x84000006u, SHAPE_ANY, KEEPS_X4, "PSCI_MIGRATE_INFO_TYPE"},
    {0x84000008u, SHAPE_NEVER, KEEPS_X4, "PSCI_SYSTEM_OFF"},
    {0x84000009u, SHAPE_NEVER, KEEPS_X4, "PSCI_SYSTEM_RESET"},
    {0x8400000Au, SHAPE_ANY, KEEPS_X4, "PSCI_FEATURES"},
    {0x8400000Du, SHAPE_ANY, KEEPS_X4, "PSCI_NODE_HW_STATE"},
    {0xC400000Du, SHAPE_ANY, KEEPS_X4, "PSCI_NODE_HW_STATE64"},
    {0x8400000Eu, SHAPE_OUTSIDE_RAM, KEEPS_X4, "PSCI_SYSTEM_SUSPEND"},
    {0xC400000Eu, SHAPE_OUTSIDE_RAM, KEEPS_X4, "PSCI_SYSTEM_SUSPEND64"},
    {0x84000010u, SHAPE_ANY, KEEPS_X4, "PSCI_STAT_RESIDENCY"},
    {0xC4000010u, SHAPE_ANY, KEEPS_X4, "PSCI_STAT_RESIDENCY64"},
    {0x84000011u, SHAPE_ANY, KEEPS_X4, "PSCI_STAT_COUNT"},
    {0xC4000011u, SHAPE_ANY, KEEPS_X4, "PSCI_STAT_COUNT64"},
    {0x84000015u, SHAPE_SYSTEM_OFF2, KEEPS_X4, "PSCI_SYSTEM_OFF2"},
    {0xC4000015u, SHAPE_SYSTEM_OFF2, KEEPS_X4, "PSCI_SYSTEM_OFF2_64"},
    {0x84000012u, SHAPE_RESET2, KEEPS_X4, "PSCI_SYSTEM_RESET2"},
    {0xC4000012u, SHAPE_RESET2, KEEPS_X4, "PSCI_SYSTEM_RESET2_64"},
    {0x84000013u, SHAPE_ANY, KEEPS_X4, "PSCI_MEM_PROTECT"},
    {0x84000014u, SHAPE_ANY, KEEPS_X4, "PSCI_MEM_PROTECT_CHECK_RANGE"},
    {0xC4000014u, SHAPE_ANY, KEEPS_X4, "PSCI_MEM_PROTECT_CHECK_RANGE64"},
    {0xC4000020u, SHAPE_ANY, KEEPS_X1, "SDEI_VERSION"},
    {0xC4000021u, SHAPE_SDEI_REGISTER, KEEPS_X1, "SDEI_EVENT_REGISTER"},
    {0xC4000022u, SHAPE_SDEI_EVENT, KEEPS_X1, "SDEI_EVENT_ENABLE"},
    {0xC4000023u, SHAPE_SDEI_EVENT, KEEPS_X1, "SDEI_EVENT_DISABLE"},
    {0xC4000024u, SHAPE_ANY, KEEPS_X1, "SDEI_EVENT_CONTEXT"},
    {0xC4000025u, SHAPE_ANY, KEEPS_X1, "SDEI_EVENT_COMPLETE"},
    {0xC4000026u, SHAPE_ANY, KEEPS_X1, "SDEI_EVENT_COMPLETE_AND_RESUME"},
    {0xC4000027u, SHAPE_SDEI_EVENT, KEEPS_X1, "SDEI_EVENT_UNREGISTER"},
    {0xC4000028u, SHAPE_SDEI_EVENT, KEEPS_X1, "SDEI_EVENT_STATUS"},
    {0xC4000029u, SHAPE_SDEI_EVENT, KEEPS_X1, "SDEI_EVENT_GET_INFO"},
    {0xC400002Au, SHAPE_SDEI_EVENT, KEEPS_X1, "SDEI_EVENT_ROUTING_SET"},
    {0xC400002Bu, SHAPE_ANY, KEEPS_X1, "SDEI_PE_MASK"},
    {0xC400002Cu, SHAPE_ANY, KEEPS_X1, "SDEI_PE_UNMASK"},
    {0xC400002Du, SHAPE_ANY, KEEPS_X1, "SDEI_INTERRUPT_BIND"},
    {0xC400002Eu, SHAPE_SDEI_EVENT, KEEPS_X1, "SDEI_INTERRUPT_RELEASE"},
    {0xC400002Fu, SHAPE_SDEI_EVENT, KEEPS_X1, "SDEI_EVENT_SIGNAL"},
    {0xC4000030u, SHAPE_ANY, KEEPS_X1, "SDEI_FEATURES"},
    {0xC4000031u, SHAPE_ANY, KEEPS_X1, "SDEI_PRIVATE_RESET"},
    {0xC4000032u, SHAPE_ANY, KEEPS_X1, "SDEI_SHARED_RESET"},
    {0x84000050u, SHAPE_ANY, KEEPS_X4, "TRNG_VERSION"},
    {0x84000051u, SHAPE_ANY, KEEPS_X4, "TRNG_FEATURES"},
    {0x84000052u, SHAPE_ANY, KEEPS_X4, "TRNG_GET_UUID"},
    {0x84000053u, SHAPE_ANY, KEEPS_X4, "TRNG_RND32"},
    {0xC4000053u, SHAPE_ANY, KEEPS_X4, "TRNG_RND64"},
    {0x8400FF00u, SHAPE_ANY, KEEPS_X4, "STD_SVC_CALL_COUNT"},
    {0x8400FF01u, SHAPE_ANY, KEEPS_X4, "STD_SVC_CALL_UID"},
    {0x8400FF03u, SHAPE_ANY, KEEPS_X4, "STD_SVC_REVISION"},
    {0xC5000020u, SHAPE_ANY, KEEPS_X4, "PV_TIME_FEATURES"},
    {0xC5000021u, SHAPE_ANY, KEEPS_X4, "PV_TIME_ST"},
    {0x86000000u, SHAPE_ANY, KEEPS_X4, "KVM_FEATURES"},
    {0x86000001u, SHAPE_ANY, KEEPS_X4, "KVM_PTP"},
    {0xC6000040u, SHAPE_ANY, KEEPS_X4, "KVM_DISCOVER_IMPL_VER"},
    {0xC6000041u, SHAPE_ANY, KEEPS_X4, "KVM_DISCOVER_IMPL_CPUS"},
    {0x8600FF01u, SHAPE_ANY, KEEPS_X4, "VENDOR_HYP_CALL_UID"},
};
#define TABLE_SIZE (sizeof table / sizeof table[0])

/* Called an eighth as often: each undoes what the SDEI calls set up (registrations, unmasking),
 * so at the full rate hardly an event would ever be registered, enabled and signalled. */
static const uint32_t rare[] = {0xC400002Bu /* PE_MASK */, 0xC4000031u /* PRIVATE_RESET */,
                                0xC4000032u /* SHARED_RESET */, 0xC4000027u /* UNREGISTER */};

static bool is_rare(const struct fn* f) {
  for (unsigned i = 0; f != 0 && i < sizeof rare / sizeof rare[0]; ++i) {
    if (rare[i] == f->fid) return true;
  }
  return false;
}

/* --- Shared state ------------------------------------------------------------------------- */

#define MAX_CPUS 8
#define RAM_BASE 0x40000000ull
#define MAX_REPORTED 8

struct counts {
  uint32_t calls, zero, negative, positive;
};

static struct counts per_fn[MAX_CPUS][TABLE_SIZE];
static uint32_t unknown_calls[MAX_CPUS];
static uint64_t hash[MAX_CPUS];
static uint32_t made[MAX_CPUS];
static uint32_t violations[MAX_CPUS];
static uint32_t entered[MAX_CPUS]; /* entries into secondary_main; only the first runs calls */
static uint32_t finished;          /* secondaries done with their calls */
static uint64_t seed = 1;
static uint32_t calls_per_cpu = 12500;
static unsigned cpus = 1;
uint64_t random_sdei_dispatches[GUEST_MAX_CPUS]; /* counted by random_sdei_handler */
void random_sdei_handler(void);

/* --- Random numbers: xorshift64* (Vigna, 2016), one stream per vCPU ----------------------- */

struct rng {
  uint64_t s;
};

static uint64_t next(struct rng* r) {
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * 0x2545F4914F6CDD1Dull;
}

static uint64_t below(struct rng* r, uint64_t n) {
  return next(r) % n;
}

/* An address no --memory can make RAM: below RAM (the device windows) or above 2^47. */
static uint64_t outside_ram(struct rng* r) {
  return (next(r) & 1) ? below(r, RAM_BASE) & ~3ull : (1ull << 47) | (next(r) & 0xFFFFFFFFFFFCull);
}

/* Event 0 (built in), the bind slots (1000.., 2000..) and numbers that are no event. */
static const uint32_t events[] = {0, 0, 0, 1, 2, 3, 1000, 1001, 1002, 2000, 2001, 2002, 0x80000000u};

static uint64_t event(struct rng* r) {
  return events[below(r, sizeof events / sizeof events[0])];
}

/* Values the services look at closely, sometimes anything. */
static uint64_t argument(struct rng* r) {
  switch (below(r, 9)) {
    case 0: return below(r, 9);
    case 1: return psci_target_of((unsigned)below(r, 6)) | ((next(r) & 1) ? MPIDR_EL1_RES1 : 0);
    case 2: return RAM_BASE + (below(r, 128u << 20) & ~(uint64_t)(next(r) & 1 ? 0x3F : 0));
    case 3: return event(r);
    case 4: return below(r, 300); /* INTIDs: SGIs, PPIs, SPIs and beyond the GIC's */
    case 5: return table[below(r, TABLE_SIZE)].fid;
    case 6: return ~0ull - below(r, 4);
    case 7: return next(r) & 0xFFFFFFFFu;
    default: return next(r);
  }
}

static void shape(struct rng* r, uint8_t how, struct smccc_regs* regs) {
  switch (how) {
    case SHAPE_CPU_ON: regs->x[2] = (next(r) & 1) ? (uint64_t)(uintptr_t)_start : outside_ram(r); break;
    case SHAPE_CPU_SUSPEND:
      regs->x[1] &= ~(1ull << 16); /* DEN0022 §5.4.2: StateType 1 = power down */
      break;
    case SHAPE_OUTSIDE_RAM: regs->x[1] = outside_ram(r); break;
    case SHAPE_SYSTEM_OFF2: regs->x[1] = 2 + below(r, 0xFFFFFFF0u); break;
    case SHAPE_RESET2: regs->x[1] = 1 + below(r, 0x7FFFFFFFu); break;
    case SHAPE_SDEI_REGISTER:
      if (below(r, 4) != 0) regs->x[1] = event(r);
      regs->x[2] = (next(r) & 1) ? (uint64_t)(uintptr_t)random_sdei_handler : outside_ram(r);
      if (below(r, 4) != 0) regs->x[4] = below(r, 2); /* RM_ANY or RM_PE (DEN0054C §5.1.2) */
      if (below(r, 2) != 0) regs->x[5] = mpidr_of((unsigned)below(r, 5));
      break;
    case SHAPE_SDEI_EVENT:
      if (below(r, 4) != 0) regs->x[1] = event(r);
      if (below(r, 2) != 0) regs->x[2] = (next(r) & 1) ? below(r, 2) : mpidr_of((unsigned)below(r, 5));
      break;
    default: break;
  }
}

/* --- One call ------------------------------------------------------------------------------ */

static const struct fn* lookup(uint32_t fid) {
  fid &= ~SMCCC_SVE_HINT;
  for (unsigned i = 0; i < TABLE_SIZE; ++i) {
    if (table[i].fid == fid) return &table[i];
  }
  return 0;
}

static void report(unsigned cpu, uint32_t n, const char* what, const struct smccc_regs* in,
                   const struct smccc_regs* out) {
  if (violations[cpu]++ >= MAX_REPORTED) return;
  gprintf("# cpu%u call %u: %s: x0 %016lx -> %016lx, x1 %016lx -> %016lx\n", cpu, n, what, in->x[0], out->x[0],
          in->x[1], out->x[1]);
}

static void check(unsigned cpu, uint32_t n, const struct fn* f, bool imm1, const struct smccc_regs* in,
                  const struct smccc_regs* out) {
  const bool unknown = f == 0 || imm1;
  const unsigned kept = unknown || f->check == KEEPS_X1 ? 1 : f->check == KEEPS_X4 ? 4 : SMCCC_NUM_REGS;
  if (unknown && out->x[0] != SMCCC_RET_NOT_SUPPORTED) report(cpu, n, "unknown call not NOT_SUPPORTED", in, out);
  for (unsigned i = kept; i < SMCCC_NUM_REGS; ++i) {
    if (out->x[i] != in->x[i]) {
      report(cpu, n, "a register the call must keep changed", in, out);
      break;
    }
  }
  if (!unknown && (f->fid & (1u << 30)) == 0) {
    const int64_t x0 = (int64_t)out->x[0];
    if (!(x0 < 0 && x0 >= INT32_MIN) && out->x[0] > 0xFFFFFFFFu) report(cpu, n, "SMC32 x0 above 32 bits", in, out);
    for (unsigned i = 1; i < 4; ++i) { /* a register the call did not write keeps its 64 bits */
      if (out->x[i] != in->x[i] && out->x[i] > 0xFFFFFFFFu) report(cpu, n, "SMC32 result above 32 bits", in, out);
    }
  }
}

static void count(unsigned cpu, const struct fn* f, bool imm1, const struct smccc_regs* out) {
  for (unsigned i = 0; i < 4; ++i) {
    uint64_t v = out->x[i];
    for (unsigned b = 0; b < 8; ++b, v >>= 8) hash[cpu] = (hash[cpu] ^ (v & 0xFF)) * 0x100000001B3ull;
  }
  if (f == 0 || imm1) {
    ++unknown_calls[cpu];
    return;
  }
  struct counts* c = &per_fn[cpu][f - table];
  ++c->calls;
  const int64_t x0 = (int64_t)out->x[0];
  if (x0 == 0) {
    ++c->zero;
  } else if (x0 < 0) {
    ++c->negative;
  } else {
    ++c->positive;
  }
}

static void one_call(unsigned cpu, struct rng* r, uint32_t n) {
  struct smccc_regs in;
  const struct fn* f;
  const uint64_t kind = below(r, 32);
  uint64_t fid;
  do {
    if (kind == 0) {
      fid = next(r) & 0xFFFFFFFFu; /* a random FID: unknown unless it names one above */
    } else {
      fid = table[below(r, TABLE_SIZE)].fid | ((next(r) & 7) == 0 ? SMCCC_SVE_HINT : 0);
    }
    f = lookup((uint32_t)fid);
  } while (f != 0 && (f->shape == SHAPE_NEVER || (is_rare(f) && below(r, 8) != 0)));
  if ((next(r) & 3) == 0) fid |= next(r) << 32; /* only W0 is the FID */
  in.x[0] = fid;
  for (unsigned i = 1; i < SMCCC_NUM_REGS; ++i) in.x[i] = i <= 5 ? argument(r) : next(r);
  if (f != 0) shape(r, f->shape, &in);
  const enum conduit conduit = (next(r) & 1) ? CONDUIT_SMC : CONDUIT_HVC;
  const bool imm1 = below(r, 64) == 0;
  struct smccc_regs out = in;
  if (imm1) {
    smccc_call_imm1(conduit, &out);
  } else {
    smccc_call(conduit, &out);
  }
  check(cpu, n, f, imm1, &in, &out);
  count(cpu, f, imm1, &out);
}

static void run_calls(unsigned cpu) {
  struct rng r = {seed * 0x9E3779B97F4A7C15ull + cpu + 1};
  hash[cpu] = 0xCBF29CE484222325ull;
  for (uint32_t n = 0; n < calls_per_cpu; ++n) {
    one_call(cpu, &r, n);
    made[cpu] = n + 1;
  }
}

void secondary_main(unsigned cpu, uint64_t context_id) {
  (void)context_id;
  if (cpu >= MAX_CPUS || smp_fetch_add(&entered[cpu], 1) != 0) return; /* started again: CPU_OFF */
  run_calls(cpu);
  smp_fetch_add(&finished, 1);
}

/* --- Set-up and summary (vCPU 0) ----------------------------------------------------------- */

static uint64_t parse_number(const char* s, const char* end) {
  uint64_t v = 0;
  for (; s < end && *s >= '0' && *s <= '9'; ++s) v = v * 10 + (uint64_t)(*s - '0');
  return v;
}

/* "seed=N" and "calls=M" in /chosen/bootargs (--append). */
static void read_bootargs(void) {
  struct gfdt t;
  if (gfdt_init(&t, (const void*)(uintptr_t)guest_boot_x0) != 0) return;
  const int chosen = gfdt_path(&t, "/chosen");
  uint32_t len = 0;
  const char* args = chosen < 0 ? 0 : gfdt_prop(&t, chosen, "bootargs", &len);
  for (uint32_t i = 0; args != 0 && i < len; ++i) {
    if (i + 5 <= len && memcmp(args + i, "seed=", 5) == 0) seed = parse_number(args + i + 5, args + len);
    if (i + 6 <= len && memcmp(args + i, "calls=", 6) == 0) {
      calls_per_cpu = (uint32_t)parse_number(args + i + 6, args + len);
    }
  }
  const int cpu_node = gfdt_path(&t, "/cpus");
  unsigned n = 0;
  for (int c = cpu_node < 0 ? -1 : gfdt_first_child(&t, cpu_node); c >= 0; c = gfdt_next_sibling(&t, c)) {
    if (memcmp(gfdt_name(&t, c), "cpu@", 4) == 0) ++n;
  }
  cpus = n == 0 ? 1 : n > MAX_CPUS ? MAX_CPUS : n;
}

static void print_table(void) {
  for (unsigned i = 0; i < TABLE_SIZE; ++i) {
    if (table[i].shape != SHAPE_NEVER) gprintf("# fid 0x%08x %s\n", table[i].fid, table[i].name);
  }
  for (unsigned i = 0; i < TABLE_SIZE; ++i) {
    if (table[i].shape == SHAPE_NEVER) gprintf("# never at random 0x%08x %s\n", table[i].fid, table[i].name);
  }
}

static uint32_t print_summary(void) {
  uint32_t total = 0, broken = 0;
  for (unsigned c = 0; c < cpus; ++c) {
    gprintf("cpu%u: calls %u, sdei dispatches %lu, hash %016lx, broken rules %u\n", c, made[c],
            random_sdei_dispatches[c], hash[c], violations[c]);
    total += made[c];
    broken += violations[c];
  }
  for (unsigned i = 0; i < TABLE_SIZE; ++i) {
    struct counts sum = {0, 0, 0, 0};
    for (unsigned c = 0; c < cpus; ++c) {
      sum.calls += per_fn[c][i].calls;
      sum.zero += per_fn[c][i].zero;
      sum.negative += per_fn[c][i].negative;
      sum.positive += per_fn[c][i].positive;
    }
    if (table[i].shape == SHAPE_NEVER) continue;
    gprintf("%-32s calls %5u: zero %5u, negative %5u, positive %5u\n", table[i].name, sum.calls, sum.zero, sum.negative,
            sum.positive);
  }
  uint32_t unknown = 0;
  for (unsigned c = 0; c < cpus; ++c) unknown += unknown_calls[c];
  gprintf("unknown calls %u\n", unknown);
  gprintf("# %u calls on %u vCPUs, %u broken rules\n", total, cpus, broken);
  return broken;
}

int main(void) {
  read_bootargs();
  gprintf("# random-calls: seed %lu, %u calls per vCPU, %u vCPUs\n", seed, calls_per_cpu, cpus);
  print_table();
  entered[0] = 1;
  for (unsigned c = 1; c < cpus; ++c)
    smccc(CONDUIT_HVC, PSCI_CPU_ON_64, psci_target_of(c), (uint64_t)(uintptr_t)_start, 0);
  run_calls(0);
  const bool all = spin_until_equal(&finished, cpus - 1, SPIN_LIMIT);
  for (unsigned c = 1; c < cpus; ++c) psci_wait_affinity(CONDUIT_HVC, psci_target_of(c), PSCI_AFFINITY_OFF, SPIN_LIMIT);
  if (!all) gprintf("# only %u of %u secondaries finished\n", smp_load(&finished), cpus - 1);
  const uint32_t broken = print_summary();
  if (!all || broken != 0) return 1;
  smccc(CONDUIT_HVC, PSCI_SYSTEM_OFF, 0, 0, 0);
  return 2; /* SYSTEM_OFF returned */
}
