/*
 * pvtime.elf: paravirtualised stolen time (DEN0057A) as the smccc-emu firmware model answers
 * it. TAP on the console; exit status = number of failures (capped at 255).
 *
 * 1. On vCPU 0 alone, once over HVC and once over SMC: discovery, PV_TIME_FEATURES,
 *    PV_TIME_ST, the 64-byte record it points at, and stolen_time's bounds. Without a record
 *    (PV_TIME_ST = all ones, e.g. --pv-time=off) it says "# pv-time: not configured", checks
 *    that FEATURES agrees and skips the record checks.
 * 2. A measurement over HVC for the host test (run with --cpus 4 and --pcpus 1 or 4): every
 *    vCPU calls PV_TIME_ST, reads CNTVCT_EL0 and stolen_time, runs exactly
 *    MEASURE_INSTRUCTIONS instructions, reads both again and publishes the deltas. vCPU 0
 *    prints "# pv-time vcpu <i> elapsed_ns <e> stolen_ns <s>" per vCPU and checks that no vCPU
 *    had more time stolen than elapsed.
 *
 * Expected values are the model's decided answers: DEN0057A (PV stolen time) and README
 * "What the firmware answers today".
 *
 * The guest deliberately writes over its own record once (Documentation/virt/kvm/arm/pvtime.rst
 * says a guest must not) to see PV_TIME_ST re-initialise every byte of it.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest/arch.h"
#include "guest/counter.h"
#include "guest/smccc.h"
#include "guest/smp.h"
#include "guest/tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_EXIT_STATUS 255 /* statuses above are truncated by the host */

/* Guest platform (docs/architecture.md "The platform") with the emulator's default --memory. */
#define RAM_BASE 0x40000000ull
#define DEFAULT_RAM_SIZE (128ull << 20)
#define PV_REGION_SIZE 0x10000ull /* the records are in the last 64 KiB of RAM */

/* DEN0057A stolen time structure: the stolen-time record. */
#define PV_RECORD_SIZE 64u
#define PV_RECORD_REVISION 0u    /* le32 */
#define PV_RECORD_ATTRIBUTES 4u  /* le32 */
#define PV_RECORD_STOLEN_TIME 8u /* le64, ns */
#define PV_RECORD_WORDS (PV_RECORD_SIZE / 8u)
#define NO_RECORD (~0ull) /* PV_TIME_ST without a configured record */
#define SCRIBBLE 0xA5A5A5A5A5A5A5A5ull

#define NS_PER_TICK 16u         /* 62.5 MHz generic counter (README "time") */
#define ROUNDING_NS NS_PER_TICK /* elapsed time is only known to one tick */
#define HIGH_GARBAGE 0xA5A5A5A500000000ull

/* busy_loop(): four instructions per iteration, one of them the loop branch. */
#define LOOP_INSNS_PER_ITERATION 4u
#define MEASURE_INSTRUCTIONS 2000000u
#define BOUNDS_ROUNDS 200u            /* reads of stolen_time on vCPU 0 alone */
#define BOUNDS_ROUND_ITERATIONS 2500u /* 10000 instructions between reads */

#define MEASURE_CONTEXT 0x5701E2ull /* CPU_ON context id of the measuring vCPUs */
#define POLL_LIMIT 1000000u

extern char __stacks_end[]; /* link.ld: the end of the image */

/* Runs `iterations` (>= 1) iterations of exactly LOOP_INSNS_PER_ITERATION instructions. */
static void busy_loop(uint64_t iterations) {
  __asm__ volatile(
      "1:\n\t"
      "subs %0, %0, #1\n\t"
      "nop\n\t"
      "nop\n\t"
      "b.ne 1b"
      : "+r"(iterations)
      :
      : "cc");
}

/* --- The record (little-endian; the guest is little-endian too) ----------------------- */

static volatile uint64_t* record_word(uint64_t ipa, unsigned offset) {
  return (volatile uint64_t*)(uintptr_t)(ipa + offset);
}

static uint32_t record_revision(uint64_t ipa) {
  return *(volatile uint32_t*)(uintptr_t)(ipa + PV_RECORD_REVISION);
}

static uint32_t record_attributes(uint64_t ipa) {
  return *(volatile uint32_t*)(uintptr_t)(ipa + PV_RECORD_ATTRIBUTES);
}

/* DEN0057A stolen time structure: one single-copy-atomic 64-bit load, as Linux reads it. */
static uint64_t record_stolen(uint64_t ipa) {
  return *record_word(ipa, PV_RECORD_STOLEN_TIME);
}

/* --- Calls with sentinels ------------------------------------------------------------- */

/* Every call of a pass checks that x4..x17 come back unchanged; the first clobber is kept. */
struct preservation {
  unsigned calls;
  unsigned clobbered;
  uint32_t fid;
  unsigned reg;
  uint64_t value;
};

static enum conduit conduit;
static struct preservation preservation;

static uint64_t sentinel(unsigned reg) {
  return 0x5E57000000000000ull | ((uint64_t)reg << 32) | (0xC0DE0000u + reg);
}

/* x0 = fid, x1 = a1, x2..x17 sentinels; returns x0. */
static uint64_t pv_call(uint32_t fid, uint64_t a1) {
  struct smccc_regs r = {.x = {fid, a1}};
  for (unsigned i = 2; i < SMCCC_NUM_REGS; ++i) r.x[i] = sentinel(i);
  smccc_call(conduit, &r);

  ++preservation.calls;
  for (unsigned i = 4; i < SMCCC_NUM_REGS; ++i) {
    if (r.x[i] != sentinel(i) && preservation.clobbered++ == 0) {
      preservation.fid = fid;
      preservation.reg = i;
      preservation.value = r.x[i];
    }
  }
  return r.x[0];
}

/* --- Reporting ------------------------------------------------------------------------ */

static void diag_record(uint64_t ipa) {
  for (unsigned i = 0; i < PV_RECORD_WORDS; ++i)
    tap_diag("  record +%-2u: 0x%016lx", i * 8u, *record_word(ipa, i * 8u));
}

/* --- Part 1: vCPU 0 alone, per conduit --------------------------------------------------- */

static bool configured;    /* vCPU 0 has a record (decided in the first pass) */
static uint64_t vcpu0_ipa; /* its IPA, from the first pass */

struct expectation {
  uint64_t arg;
  bool if_configured; /* 0 when a record is configured, else -1 */
  const char* name;
};

/* DEN0057A function IDs; pvtime.rst: FEATURES knows FEATURES and ST, and only when there is a record. */
static const struct expectation pv_features[] = {
    {PV_TIME_FEATURES, true, "PV_TIME_FEATURES"},
    {PV_TIME_ST, true, "PV_TIME_ST"},
    {HIGH_GARBAGE | PV_TIME_ST, true, "PV_TIME_ST with bits 63:32 of x1 set"},
    {0xC5000022u, false, "0xC5000022, the withdrawn PV_TIME_LPT"},
    {0x85000020u, false, "0x85000020, no SMC32 PV_TIME_FEATURES"},
    {0x85000021u, false, "0x85000021, no SMC32 PV_TIME_ST"},
    {PSCI_VERSION, false, "PSCI_VERSION, not a PV time function"},
};

static void test_features(void) {
  const uint64_t supported = configured ? SMCCC_RET_SUCCESS : SMCCC_RET_NOT_SUPPORTED;

  tap_eq(pv_call(SMCCC_ARCH_FEATURES, PV_TIME_FEATURES), SMCCC_RET_SUCCESS,
         "SMCCC_ARCH_FEATURES(PV_TIME_FEATURES) = 0");
  for (unsigned i = 0; i < ARRAY_SIZE(pv_features); ++i) {
    const struct expectation* e = &pv_features[i];
    uint64_t want = e->if_configured ? supported : SMCCC_RET_NOT_SUPPORTED;
    tap_eq(pv_call(PV_TIME_FEATURES, e->arg), want, "PV_TIME_FEATURES(%s) = %ld%s", e->name, (int64_t)want,
           e->if_configured ? (configured ? " (record configured)" : " (no record)") : "");
  }
  /* DEN0057A function IDs: only the SMC64 forms exist. */
  tap_eq(pv_call(0x85000020u, 0), SMCCC_RET_NOT_SUPPORTED, "0x85000020 (SMC32 PV_TIME_FEATURES) is NOT_SUPPORTED");
  tap_eq(pv_call(0x85000021u, 0), SMCCC_RET_NOT_SUPPORTED, "0x85000021 (SMC32 PV_TIME_ST) is NOT_SUPPORTED");
}

static bool record_is_zero(uint64_t ipa) {
  for (unsigned i = 0; i < PV_RECORD_WORDS; ++i) {
    if (*record_word(ipa, i * 8u) != 0) return false;
  }
  return true;
}

/* docs/architecture.md, "Virtual time and determinism" and "The platform": a 64-byte aligned record
 * in RAM, above this image, at its fixed place. */
static void test_record_location(uint64_t ipa) {
  const uint64_t ram_end = RAM_BASE + DEFAULT_RAM_SIZE;
  const uint64_t want = ram_end - PV_REGION_SIZE; /* + 64 * index; vCPU 0 */

  tap_ok(ipa % PV_RECORD_SIZE == 0 && ipa >= (uintptr_t)__stacks_end && ipa + PV_RECORD_SIZE <= ram_end,
         "PV_TIME_ST: the record is 64-byte aligned, inside RAM (0x%llx..0x%lx) and above "
         "the image",
         RAM_BASE, ram_end);
  tap_eq(ipa, want, "PV_TIME_ST: vCPU 0's record is at RAM end - 0x10000 = 0x%lx", want);
}

/* pvtime.rst; DEN0057A stolen time structure: right after PV_TIME_ST the whole record is zero, even
 * if it was not. */
static void test_record_reinitialised(void) {
  /* Straight after the pass's first PV_TIME_ST: only vCPU 0 runs, nothing is stolen. */
  bool zero = record_is_zero(vcpu0_ipa);
  tap_ok(zero,
         "right after PV_TIME_ST: revision 0, attributes 0, stolen_time 0, bytes 16..63 "
         "zero");
  if (!zero) diag_record(vcpu0_ipa);

  for (unsigned i = 0; i < PV_RECORD_WORDS; ++i) *record_word(vcpu0_ipa, i * 8u) = SCRIBBLE;
  uint64_t ipa = pv_call(PV_TIME_ST, sentinel(1));
  tap_eq(ipa, vcpu0_ipa, "PV_TIME_ST called again returns the same IPA");
  zero = record_is_zero(vcpu0_ipa);
  tap_ok(zero, "PV_TIME_ST called again re-zeroes the whole record the guest wrote over");
  if (!zero) diag_record(vcpu0_ipa);
}

/*
 * DEN0057A stolen time structure, docs/architecture.md "Virtual time and determinism": stolen_time
 * never decreases and never exceeds the virtual time since PV_TIME_ST (CNTVCT_EL0 ticks * 16 ns, +
 * 16 ns for the tick not yet counted).
 */
static void test_stolen_bounds(void) {
  uint64_t start = read_cntvct();
  uint64_t ipa = pv_call(PV_TIME_ST, sentinel(1));
  uint64_t previous = 0;
  unsigned decreases = 0, excess = 0;

  for (unsigned i = 0; i < BOUNDS_ROUNDS; ++i) {
    busy_loop(BOUNDS_ROUND_ITERATIONS);
    uint64_t stolen = record_stolen(ipa);
    uint64_t elapsed_ns = (read_cntvct() - start) * NS_PER_TICK;
    if (stolen < previous && decreases++ == 0) tap_diag("  round %u: stolen_time %lu after %lu", i, stolen, previous);
    if (stolen > elapsed_ns + ROUNDING_NS && excess++ == 0)
      tap_diag("  round %u: stolen_time %lu > elapsed %lu ns + %u", i, stolen, elapsed_ns, ROUNDING_NS);
    previous = stolen;
  }
  tap_diag("stolen_time after %u rounds on vCPU 0 alone: %lu ns", BOUNDS_ROUNDS, previous);
  tap_eq(decreases, 0, "stolen_time never decreases over %u reads", BOUNDS_ROUNDS);
  tap_eq(excess, 0, "stolen_time never exceeds the virtual time since PV_TIME_ST + %u ns", ROUNDING_NS);
}

/* docs/architecture.md "The call path" (SMCCC 1.2): registers that are not results are preserved. */
static void test_preservation(void) {
  tap_ok(preservation.clobbered == 0, "x4..x17 are preserved by all %u calls", preservation.calls);
  if (preservation.clobbered)
    tap_diag("  %u calls clobbered a register; the first: FID 0x%08x, x%u = 0x%016lx", preservation.clobbered,
             preservation.fid, preservation.reg, preservation.value);
}

static void run_pass(unsigned pass, enum conduit c, const char* prefix) {
  conduit = c;
  preservation = (struct preservation){0};
  tap_prefix(prefix);

  uint64_t ipa = pv_call(PV_TIME_ST, sentinel(1));
  if (pass == 0) {
    configured = ipa != NO_RECORD;
    vcpu0_ipa = ipa;
    if (configured)
      tap_diag("PV_TIME_ST: vCPU 0's record is at 0x%lx", ipa);
    else
      tap_diag("pv-time: not configured");
  } else {
    tap_eq(ipa, vcpu0_ipa, "PV_TIME_ST returns what it returned in the first pass");
  }

  test_features();
  if (configured) {
    if (pass == 0) test_record_location(ipa);
    test_record_reinitialised();
    test_stolen_bounds();
  } else {
    tap_skip("pv-time not configured", "PV_TIME_ST record checks");
  }
  test_preservation();
}

/* --- Part 2: the measurement ----------------------------------------------------------- */

/* What each vCPU publishes; written by that vCPU before it sets `published`. */
struct report {
  uint64_t ipa;
  uint32_t revision;
  uint32_t attributes;
  uint64_t elapsed_ns;
  uint64_t stolen_ns;
  uint32_t published; /* the fields above are final */
  uint32_t gave_up;   /* a secondary's wait for `go` timed out */
};

static struct report reports[GUEST_MAX_CPUS];
static uint32_t arrived;  /* secondaries waiting for go */
static uint32_t go;       /* set by vCPU 0 */
static uint32_t finished; /* secondaries that published their report */

/* PV_TIME_ST, CNTVCT and stolen_time, MEASURE_INSTRUCTIONS instructions, CNTVCT and stolen_time. */
static void measure(struct report* r) {
  struct smccc_regs regs = {.x = {PV_TIME_ST}};
  smccc_call(CONDUIT_HVC, &regs);
  uint64_t ipa = regs.x[0];

  r->ipa = ipa;
  if (ipa == NO_RECORD) {
    smp_store(&r->published, 1);
    return;
  }
  r->revision = record_revision(ipa);
  r->attributes = record_attributes(ipa);
  uint64_t c0 = read_cntvct();
  uint64_t s0 = record_stolen(ipa);
  busy_loop(MEASURE_INSTRUCTIONS / LOOP_INSNS_PER_ITERATION);
  uint64_t c1 = read_cntvct();
  uint64_t s1 = record_stolen(ipa);
  r->elapsed_ns = (c1 - c0) * NS_PER_TICK;
  r->stolen_ns = s1 - s0;
  smp_store(&r->published, 1);
}

/* A measuring secondary, started at _start; start.S calls CPU_OFF when this returns. */
void secondary_main(unsigned cpu, uint64_t context_id) {
  if (context_id != MEASURE_CONTEXT || cpu >= GUEST_MAX_CPUS) return;
  struct report* r = &reports[cpu];
  smp_fetch_add(&arrived, 1);
  if (spin_until_equal(&go, 1, SPIN_LIMIT))
    measure(r);
  else
    r->gave_up = 1;
  smp_fetch_add(&finished, 1);
}

/* DEN0022F.b AFFINITY_INFO as in smp-conformance: probe indexes 1, 2, ... until INVALID_PARAMETERS. */
static unsigned count_cpus(void) {
  unsigned n = 1;
  while (n < GUEST_MAX_CPUS &&
         smccc(CONDUIT_HVC, PSCI_AFFINITY_INFO, psci_target_of(n), 0, 0) != PSCI_RET_INVALID_PARAMS)
    ++n;
  return n;
}

static void report_measurement(unsigned ncpus) {
  bool layout_ok = true;

  for (unsigned cpu = 0; cpu < ncpus; ++cpu) {
    const struct report* r = &reports[cpu];
    if (!smp_load(&r->published)) {
      tap_ok(false, "pv-time vcpu %u published its measurement", cpu);
      if (r->gave_up) tap_diag("  it gave up waiting for vCPU 0's go");
      continue;
    }
    if (r->ipa == NO_RECORD) {
      tap_diag("pv-time vcpu %u: no record", cpu);
      tap_skip("no record for this vCPU", "pv-time vcpu %u: stolen_ns <= elapsed_ns + %u", cpu, ROUNDING_NS);
      continue;
    }
    tap_diag("pv-time vcpu %u elapsed_ns %lu stolen_ns %lu", cpu, r->elapsed_ns, r->stolen_ns);
    tap_ok(r->stolen_ns <= r->elapsed_ns + ROUNDING_NS, "pv-time vcpu %u: stolen_ns <= elapsed_ns + %u", cpu,
           ROUNDING_NS);
    if (r->ipa != reports[0].ipa + (uint64_t)cpu * PV_RECORD_SIZE || r->revision != 0 || r->attributes != 0) {
      layout_ok = false;
      tap_diag("  vCPU %u: record at 0x%lx, revision %u, attributes %u", cpu, r->ipa, r->revision, r->attributes);
    }
  }
  tap_ok(layout_ok,
         "every vCPU's record is at vCPU 0's + 64 * index, with revision 0 and "
         "attributes 0");
}

static void run_measurement(void) {
  unsigned ncpus = count_cpus();
  unsigned started = 0;

  tap_prefix("");
  tap_diag("measurement: %u vCPU(s), %u instructions each", ncpus, MEASURE_INSTRUCTIONS);
  if (!configured) {
    tap_skip("pv-time not configured", "stolen-time measurement on %u vCPU(s)", ncpus);
    return;
  }

  /* The secondaries start in index order; a failed CPU_ON ends the list. */
  for (unsigned cpu = 1; cpu < ncpus; ++cpu) {
    uint64_t r = smccc(CONDUIT_HVC, PSCI_CPU_ON_64, psci_target_of(cpu), (uintptr_t)_start, MEASURE_CONTEXT);
    if (r != PSCI_RET_SUCCESS) {
      tap_diag("CPU_ON(vCPU %u) returned %ld", cpu, (int64_t)r);
      break;
    }
    ++started;
  }
  tap_eq(started, ncpus - 1, "CPU_ON starts every secondary for the measurement");
  bool all_arrived = spin_until_at_least(&arrived, started, SPIN_LIMIT);
  tap_ok(all_arrived, "all %u secondaries are ready to measure", started);

  smp_store(&go, 1);
  measure(&reports[0]);
  bool all_finished = spin_until_at_least(&finished, started, SPIN_LIMIT);
  tap_ok(all_finished, "all %u secondaries finished measuring", started);
  report_measurement(ncpus);

  bool all_off = true;
  for (unsigned cpu = 1; cpu <= started; ++cpu) {
    if (psci_wait_affinity(CONDUIT_HVC, psci_target_of(cpu), PSCI_AFFINITY_OFF, POLL_LIMIT) != PSCI_AFFINITY_OFF) {
      all_off = false;
      tap_diag("  vCPU %u did not turn off", cpu);
    }
  }
  tap_ok(all_off, "every secondary is OFF after its measurement (CPU_OFF)");
}

/* pvtime.rst: PV_TIME_ST resets stolen_time, whatever the measurement left there. */
static void test_reset_after_measurement(enum conduit c, const char* prefix) {
  conduit = c;
  tap_prefix(prefix);
  uint64_t before = record_stolen(vcpu0_ipa);
  uint64_t ipa = pv_call(PV_TIME_ST, sentinel(1));
  uint64_t after = record_stolen(vcpu0_ipa);
  tap_ok(ipa == vcpu0_ipa && after == 0, "PV_TIME_ST on vCPU 0 after the measurement resets stolen_time (it was %lu)",
         before);
  if (ipa != vcpu0_ipa || after != 0) tap_diag("  PV_TIME_ST returned 0x%lx, stolen_time then %lu", ipa, after);
}

int main(void) {
  tap_diag("pvtime: PV stolen time over HVC, then SMC; then a measurement on every vCPU");
  run_pass(0, CONDUIT_HVC, "hvc: ");
  run_pass(1, CONDUIT_SMC, "smc: ");
  run_measurement();
  if (configured) {
    test_reset_after_measurement(CONDUIT_HVC, "hvc: ");
    test_reset_after_measurement(CONDUIT_SMC, "smc: ");
  }
  tap_prefix("");
  int failed = tap_done();
  return failed > MAX_EXIT_STATUS ? MAX_EXIT_STATUS : failed;
}
