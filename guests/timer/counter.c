/*
 * counter.elf: the virtual generic counter and cycle counter (docs/architecture.md "Virtual time
 * and determinism": one instruction is 1 ns of virtual time; the generic counter runs at 62.5 MHz,
 * one tick per 16 ns; PMCCNTR_EL0 counts one cycle per ns). TAP on the console; exit status =
 * number of failures.
 *
 * The run must be deterministic: every counter value read is printed (tap_diag), so two runs
 * can be compared byte for byte.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest/counter.h"
#include "guest/smccc.h"
#include "guest/smp.h"
#include "guest/tap.h"

#define CNTFRQ_HZ 62500000u
#define NS_PER_TICK 16u
#define MONOTONIC_READS 100000u

/* busy_loop(): four instructions per iteration, one of them the loop branch. */
#define LOOP_INSNS_PER_ITERATION 4u

/*
 * Accepted ratio measured / expected: the reads themselves and the loop set-up add a little
 * time; the model must not lose any.
 */
#define TOLERANCE_LOW_PERCENT 90u
#define TOLERANCE_HIGH_PERCENT 130u

/* Two vCPUs read CNTVCT after a barrier; their clocks stay this close (10000-instruction slices). */
#define CLOSE_TICKS 20000u
#define SECOND_CPU 1u
#define SECOND_CPU_CONTEXT 0xC0C0u
#define POLL_LIMIT 1000000u

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

static bool within_tolerance(uint64_t measured, uint64_t expected) {
  return measured * 100u >= expected * TOLERANCE_LOW_PERCENT && measured * 100u <= expected * TOLERANCE_HIGH_PERCENT;
}

/* docs/architecture.md "Virtual time and determinism": CNTFRQ_EL0 describes the virtual counter's
 * 62.5 MHz. */
static void test_frequency(void) {
  uint64_t frq = read_cntfrq();
  tap_ok(frq == CNTFRQ_HZ, "CNTFRQ_EL0 is %u", CNTFRQ_HZ);
  tap_diag("CNTFRQ_EL0 = %lu", frq);
}

/* docs/architecture.md "Virtual time and determinism": a counter never goes backwards, and it moves
 * while work is done. */
static void test_monotonic(const char* name, uint64_t (*read)(void)) {
  uint64_t first = read();
  uint64_t previous = first;
  unsigned backwards = 0;

  for (unsigned i = 1; i < MONOTONIC_READS; ++i) {
    uint64_t now = read();
    if (now < previous) ++backwards;
    previous = now;
  }
  tap_diag("%s: first %lu, last %lu", name, first, previous);
  tap_ok(backwards == 0, "%s never goes backwards over %u reads", name, MONOTONIC_READS);
  tap_ok(previous > first, "%s advances over %u reads", name, MONOTONIC_READS);
}

static uint64_t cntvct(void) {
  return read_cntvct();
}

static uint64_t cntpct(void) {
  return read_cntpct();
}

/* docs/architecture.md "Virtual time and determinism": K iterations of the loop take K * 4 ns: K /
 * 4 counter ticks, K * 4 cycles. */
static void test_busy_loop(uint64_t iterations) {
  const uint64_t ns = iterations * LOOP_INSNS_PER_ITERATION;
  const uint64_t ticks = ns / NS_PER_TICK;

  uint64_t v0 = read_cntvct();
  uint64_t p0 = read_cntpct();
  uint64_t c0 = read_pmccntr();
  busy_loop(iterations);
  uint64_t c1 = read_pmccntr();
  uint64_t p1 = read_cntpct();
  uint64_t v1 = read_cntvct();

  tap_diag("loop of %lu iterations: CNTVCT %lu -> %lu, CNTPCT %lu -> %lu, PMCCNTR %lu -> %lu", iterations, v0, v1, p0,
           p1, c0, c1);
  tap_ok(v1 >= v0 && within_tolerance(v1 - v0, ticks),
         "CNTVCT_EL0 advances by about %lu ticks over %lu loop instructions", ticks, ns);
  tap_ok(p1 >= p0 && within_tolerance(p1 - p0, ticks),
         "CNTPCT_EL0 advances by about %lu ticks over %lu loop instructions", ticks, ns);
  tap_ok(c1 >= c0 && within_tolerance(c1 - c0, ns),
         "PMCCNTR_EL0 advances by about %lu cycles over %lu loop instructions", ns, ns);
}

/*
 * docs/architecture.md "Virtual time and determinism" and README "time": a counter read counts
 * every instruction before it, so two PMCCNTR_EL0 reads with 8 NOPs between them in one
 * straight-line block are 9 cycles apart.
 */
static void test_exact_read(void) {
  uint64_t first, second;

  __asm__ volatile(
      "mrs %0, pmccntr_el0\n\t"
      "nop\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n\t"
      "mrs %1, pmccntr_el0"
      : "=&r"(first), "=r"(second));
  tap_diag("two reads in one block: PMCCNTR %lu -> %lu", first, second);
  tap_eq(second - first, 9, "PMCCNTR_EL0 reads 8 NOPs apart in one block differ by 9 cycles");
}

/* --- Two vCPUs ------------------------------------------------------------------------ */

static uint32_t arrived[2]; /* the barrier: [0] vCPU 0, [1] the second vCPU */
static uint32_t stamped;
static uint64_t second_stamp;

/* The second vCPU, started at _start by CPU_ON; start.S turns it off when this returns. */
void secondary_main(unsigned cpu, uint64_t context_id) {
  if (cpu != SECOND_CPU || context_id != SECOND_CPU_CONTEXT) return;
  smp_store(&arrived[1], 1);
  if (!spin_until_equal(&arrived[0], 1, SPIN_LIMIT)) return;
  second_stamp = read_cntvct();
  smp_store(&stamped, 1);
}

/* docs/architecture.md "Virtual time and determinism": the scheduler keeps the vCPUs' virtual
 * clocks close together. */
static void test_two_cpus(void) {
  const char* what = "two vCPUs read CNTVCT_EL0 after a barrier";
  uint64_t r = smccc(CONDUIT_HVC, PSCI_CPU_ON_64, psci_target_of(SECOND_CPU), (uintptr_t)_start, SECOND_CPU_CONTEXT);
  if (r != PSCI_RET_SUCCESS) {
    tap_diag("CPU_ON(vCPU %u) returned %ld", SECOND_CPU, (int64_t)r);
    tap_skip("CPU_ON of a second vCPU failed", "%s within %u ticks", what, CLOSE_TICKS);
    return;
  }

  smp_store(&arrived[0], 1);
  bool met = spin_until_equal(&arrived[1], 1, SPIN_LIMIT);
  uint64_t mine = read_cntvct();
  bool got = met && spin_until_equal(&stamped, 1, SPIN_LIMIT);
  tap_ok(got, "the second vCPU passed the barrier");
  if (got) {
    uint64_t diff = mine > second_stamp ? mine - second_stamp : second_stamp - mine;
    tap_diag("CNTVCT_EL0: vCPU 0 %lu, vCPU %u %lu", mine, SECOND_CPU, second_stamp);
    tap_ok(diff < CLOSE_TICKS, "%s within %u ticks", what, CLOSE_TICKS);
  }
  uint64_t state = psci_wait_affinity(CONDUIT_HVC, psci_target_of(SECOND_CPU), PSCI_AFFINITY_OFF, POLL_LIMIT);
  if (state != PSCI_AFFINITY_OFF) tap_diag("vCPU %u did not turn off (AFFINITY_INFO %ld)", SECOND_CPU, (int64_t)state);
}

int main(void) {
  static const uint64_t loop_iterations[] = {100000u, 1000000u};

  tap_diag("counter: virtual generic counter and cycle counter");
  pmu_enable_cycle_counter();
  test_frequency();
  test_monotonic("CNTVCT_EL0", cntvct);
  test_monotonic("CNTPCT_EL0", cntpct);
  for (unsigned i = 0; i < sizeof loop_iterations / sizeof loop_iterations[0]; ++i) test_busy_loop(loop_iterations[i]);
  test_exact_read();
  test_two_cpus();
  return tap_done();
}
