/*
 * ipi.elf: software-generated interrupts between 2..8 vCPUs through the GICv3 (IHI 0069H
 * §12.2.21 ICC_SGI1R_EL1, §4.8 priority and preemption, §4.1.1 EOImode), N found by probing
 * PSCI AFFINITY_INFO, every other vCPU started with CPU_ON:
 * - every ordered pair: sender s sends SGI 1 + s to each other vCPU; each target counts what
 *   arrived by INTID, so the sender is identified, and nothing reaches the sender itself;
 * - IRM = 1 (every vCPU but the sender) and a target list with three bits in one write;
 * - on vCPU 0: two pending SGIs are taken higher priority first; inside a handler a higher
 *   priority SGI preempts and an equal one does not; RPR follows;
 * - EOImode 0 and 1 by polling ICC_IAR1_EL1 with IRQs masked: EOIR drops the priority and, with
 *   EOImode 1, the SGI stays active (and is not signalled again) until ICC_DIR_EL1.
 * The other vCPUs wait in WFI: an SGI wakes them. TAP; exit status = number of failures.
 * Runs unchanged under `qemu-system-aarch64 -M virt,gic-version=3 -cpu max -smp 8 -semihosting`.
 */
#include <stdbool.h>
#include <stdint.h>

#include "guest/arch.h"
#include "guest/gic.h"
#include "guest/irq.h"
#include "guest/smccc.h"
#include "guest/smp.h"
#include "guest/tap.h"

#define MAX_CPUS 8u
#define SGI_COMMAND 15u /* from vCPU 0: run the command in command[cpu] */
#define SGI_BROADCAST 9u
#define SGI_LIST 10u
#define SGI_LOW 11u       /* priority 0xA0 */
#define SGI_HIGH 12u      /* priority 0x40 */
#define SGI_PREEMPTED 13u /* priority 0xA0; its handler raises SGI_HIGH */
#define SGI_EQUAL_A 5u    /* priority 0xA0; its handler raises SGI_EQUAL_B */
#define SGI_EQUAL_B 6u    /* priority 0xA0 */
#define SGI_POLLED 4u
#define WAIT 500000000u /* polls; QEMU runs the vCPUs in parallel, in host time */

enum command { CMD_NONE, CMD_SEND_ALL, CMD_EXIT };

static unsigned cpus;
static uint32_t hits[MAX_CPUS][16]; /* hits[target][intid] */
static uint32_t command[MAX_CPUS];
static uint32_t done[MAX_CPUS];
static uint32_t started;
static unsigned order[16], order_len; /* vCPU 0's handler log: intid, or 100 + intid at the end */
static volatile uint64_t rpr_inside;
static volatile bool priority_phase; /* vCPU 0's handler plays its priority games only then */

static void log_event(unsigned v) {
  if (order_len < 16) order[order_len++] = v;
}

static void irq_handler(uint64_t elr, uint64_t spsr) {
  (void)elr, (void)spsr;
  const unsigned cpu = cpu_index();
  const unsigned intid = gic_ack();
  if (intid >= 16) return; /* spurious */
  smp_fetch_add(&hits[cpu][intid], 1);
  const bool games = cpu == 0 && priority_phase;
  if (games && intid >= SGI_LOW && intid <= SGI_PREEMPTED) log_event(intid);
  if (games && (intid == SGI_PREEMPTED || intid == SGI_EQUAL_A)) {
    log_event(intid);
    rpr_inside = gic_rpr();
    gic_send_sgi(intid == SGI_PREEMPTED ? SGI_HIGH : SGI_EQUAL_B, 0);
    irq_unmask(); /* let what has a higher group priority in */
    for (volatile int i = 0; i < 100; ++i)
      ;
    irq_mask();
    log_event(100 + intid);
  } else if (games && intid == SGI_EQUAL_B) {
    log_event(intid);
  }
  gic_eoi(intid);
}

static void send_to_all_others(unsigned self) {
  for (unsigned t = 0; t < cpus; ++t) {
    if (t != self) gic_send_sgi(1 + self, t);
  }
}

void secondary_main(unsigned cpu, uint64_t context_id) {
  (void)context_id;
  gic_init_cpu(cpu, false);
  for (unsigned i = 0; i < 16; ++i) gic_enable(cpu, i, 0x80);
  guest_set_irq_handler(irq_handler);
  smp_fetch_add(&started, 1);
  irq_unmask();
  for (;;) {
    __asm__ volatile("wfi");
    const uint32_t c = smp_load(&command[cpu]);
    if (c == CMD_SEND_ALL) {
      smp_store(&command[cpu], CMD_NONE);
      send_to_all_others(cpu);
      smp_store(&done[cpu], 1);
    } else if (c == CMD_EXIT) {
      irq_mask();
      return; /* the runtime powers the vCPU off */
    }
  }
}

static unsigned probe_cpus(void) {
  unsigned n = 1;
  while (n < MAX_CPUS && smccc(CONDUIT_HVC, PSCI_AFFINITY_INFO_64, psci_target_of(n), 0, 0) != PSCI_RET_INVALID_PARAMS)
    ++n;
  return n;
}

static bool wait_hits(unsigned intid, const bool* expect) {
  for (unsigned t = 0; t < cpus; ++t) {
    if (expect[t] && !spin_until_at_least(&hits[t][intid], 1, WAIT)) return false;
  }
  return true;
}

static void test_pairs(void) {
  unsigned good = 0, stray = 0;
  for (unsigned s = 0; s < cpus; ++s) {
    if (s == 0) {
      send_to_all_others(0);
    } else {
      smp_store(&command[s], CMD_SEND_ALL);
      gic_send_sgi(SGI_COMMAND, s);
      spin_until_equal(&done[s], 1, WAIT);
    }
    bool expect[MAX_CPUS] = {0};
    for (unsigned t = 0; t < cpus; ++t) expect[t] = t != s;
    wait_hits(1 + s, expect);
    for (unsigned t = 0; t < cpus; ++t) {
      const uint32_t n = smp_load(&hits[t][1 + s]);
      good += t != s && n == 1;
      if (t != s && n != 1) tap_diag("vCPU %u got %u SGIs %u from vCPU %u", t, (unsigned)n, 1 + s, s);
    }
    stray += smp_load(&hits[s][1 + s]);
  }
  tap_eq(good, cpus * (cpus - 1), "every vCPU got exactly one SGI from each other vCPU, INTID = 1 + sender");
  tap_eq(stray, 0, "no vCPU got its own SGI");
}

static void test_irm_and_list(void) {
  gic_send_sgi_others(SGI_BROADCAST);
  bool all[MAX_CPUS] = {0};
  for (unsigned t = 1; t < cpus; ++t) all[t] = true;
  tap_ok(wait_hits(SGI_BROADCAST, all), "IRM = 1 reaches every other vCPU");
  tap_eq(smp_load(&hits[0][SGI_BROADCAST]), 0, "IRM = 1 does not reach the sender");
  /* Aff1 0, target list bits 1..3 (those that exist). */
  gic_send_sgi_list(SGI_LIST, 0, (uint16_t)(0xEu & ((1u << cpus) - 1)));
  bool some[MAX_CPUS] = {0};
  for (unsigned t = 1; t < cpus && t <= 3; ++t) some[t] = true;
  tap_ok(wait_hits(SGI_LIST, some), "one ICC_SGI1R_EL1 write with three target-list bits reaches those vCPUs");
  unsigned others = 0;
  for (unsigned t = 0; t < cpus; ++t) others += !some[t] && smp_load(&hits[t][SGI_LIST]) != 0;
  tap_eq(others, 0, "and no other");
}

static void test_priorities(void) {
  gic_enable(0, SGI_LOW, 0xA0);
  gic_enable(0, SGI_HIGH, 0x40);
  gic_enable(0, SGI_PREEMPTED, 0xA0);
  gic_enable(0, SGI_EQUAL_A, 0xA0);
  gic_enable(0, SGI_EQUAL_B, 0xA0);
  priority_phase = true;
  order_len = 0;
  gic_send_sgi(SGI_LOW, 0);
  gic_send_sgi(SGI_HIGH, 0);
  irq_unmask();
  irq_mask();
  tap_ok(order_len == 2 && order[0] == SGI_HIGH && order[1] == SGI_LOW,
         "two pending SGIs: the higher priority (0x40) is taken before the lower (0xA0)");
  order_len = 0;
  gic_send_sgi(SGI_PREEMPTED, 0);
  irq_unmask();
  irq_mask();
  tap_ok(order_len == 4 && order[0] == SGI_PREEMPTED && order[2] == SGI_HIGH && order[3] == 100 + SGI_PREEMPTED,
         "a higher-priority SGI preempts a running handler that unmasks IRQs");
  tap_eq(rpr_inside, 0xA0, "ICC_RPR_EL1 in the handler is its priority");
  order_len = 0;
  gic_send_sgi(SGI_EQUAL_A, 0);
  irq_unmask();
  irq_mask();
  tap_ok(order_len == 3 && order[0] == SGI_EQUAL_A && order[1] == 100 + SGI_EQUAL_A && order[2] == SGI_EQUAL_B,
         "an SGI of equal priority waits until the running handler ends");
  tap_eq(gic_rpr(), 0xFF, "ICC_RPR_EL1 is idle afterwards");
  priority_phase = false;
}

static void test_eoi_modes(void) {
  gic_enable(0, SGI_POLLED, 0x60);
  for (unsigned mode = 0; mode < 2; ++mode) {
    gic_set_eoi_mode(mode != 0);
    gic_send_sgi(SGI_POLLED, 0);
    const unsigned first = gic_ack();
    tap_eq(first, SGI_POLLED, "EOImode %u: ICC_IAR1_EL1 acknowledges the SGI", mode);
    tap_eq(gic_rpr(), 0x60, "EOImode %u: the running priority is the SGI's", mode);
    gic_eoi(SGI_POLLED);
    tap_eq(gic_rpr(), 0xFF, "EOImode %u: ICC_EOIR1_EL1 drops the priority", mode);
    tap_eq(gic_is_active(0, SGI_POLLED), mode, "EOImode %u: the SGI is %s", mode,
           mode ? "still active" : "deactivated");
    gic_send_sgi(SGI_POLLED, 0);
    const unsigned again = gic_ack();
    tap_eq(again, mode ? GIC_SPURIOUS : SGI_POLLED, "EOImode %u: sent again, it is %s", mode,
           mode ? "not signalled while active" : "acknowledged");
    if (mode) {
      gic_dir(SGI_POLLED);
      tap_eq(gic_is_active(0, SGI_POLLED), 0, "EOImode 1: ICC_DIR_EL1 deactivates it");
      tap_eq(gic_ack(), SGI_POLLED, "EOImode 1: then the pending one is acknowledged");
      gic_eoi(SGI_POLLED);
      gic_dir(SGI_POLLED);
    } else {
      gic_eoi(SGI_POLLED);
    }
  }
  gic_set_eoi_mode(false);
}

int main(void) {
  cpus = probe_cpus();
  tap_diag("%u vCPUs", cpus);
  gic_init_distributor();
  gic_init_cpu(0, false);
  for (unsigned i = 0; i < 16; ++i) gic_enable(0, i, 0x80);
  guest_set_irq_handler(irq_handler);
  for (unsigned i = 1; i < cpus; ++i)
    smccc(CONDUIT_HVC, PSCI_CPU_ON_64, psci_target_of(i), (uint64_t)(uintptr_t)_start, i);
  tap_ok(spin_until_equal(&started, cpus - 1, WAIT), "%u secondary vCPUs started and set up their GIC", cpus - 1);
  irq_unmask();
  test_pairs();
  test_irm_and_list();
  irq_mask();
  test_priorities();
  test_eoi_modes();
  for (unsigned i = 1; i < cpus; ++i) {
    smp_store(&command[i], CMD_EXIT);
    gic_send_sgi(SGI_COMMAND, i);
  }
  return tap_done();
}
