/*
 * timer-irq.elf: the EL1 generic timers and their interrupts through the GICv3 (Arm ARM DDI
 * 0487 D11.2.4; GIC IHI 0069H): CTL reset, ISTATUS/TVAL after expiry, IMASK keeping the PPI
 * from being pending, one-shot interrupts programmed through CVAL and through TVAL on both
 * timers, a periodic 1 ms tick, PSTATE.I masking (the IRQ is taken right after
 * `msr daifclr, #2`), WFI completing for a masked interrupt (Arm ARM D1.6.2), an IRQ taken
 * from EL0 (the lower-EL vector), and a one-second idle WFI.
 *
 * The latency of each interrupt (CNTVCT in the handler - CVAL) is printed as a `#` line, so
 * two runs compare byte for byte on smccc-emu, where time is virtual, exact and repeatable;
 * there it must also be small (LATENCY_TICKS), ISTATUS must be set at the first read after
 * CVAL and the idle second must be one WFI. QEMU 7.2 runs its timers in host time and sets
 * ISTATUS from a host timer callback (so the guest polls for it): those checks are skipped
 * (`# skip host time`) when the KVM vendor UID says the platform is not smccc-emu.
 * TAP; exit status = number of failures. Runs unchanged under
 * `qemu-system-aarch64 -M virt,gic-version=3 -cpu max -semihosting -nographic -kernel`.
 */
#include <stdbool.h>
#include <stdint.h>

#include "guest/arch.h"
#include "guest/counter.h"
#include "guest/exceptions.h"
#include "guest/gic.h"
#include "guest/irq.h"
#include "guest/platform.h"
#include "guest/tap.h"
#include "guest/timer.h"

#define TICKS_PER_MS 62500u
#define LATENCY_TICKS 20u /* on smccc-emu: the entry's trap cost (100 ns) and a block or two */
#define PERIODIC_TICKS 10u
#define IDLE_TICKS 62500000u        /* one second */
#define ISTATUS_WAIT_TICKS 6250000u /* 100 ms: QEMU updates ISTATUS from a host timer callback */
#define IDLE_MAX_WAKEUPS 2u         /* on smccc-emu the WFI sleeps until the deadline: one wake-up */

static bool exact; /* smccc-emu: virtual time, so latencies are exact */

static volatile unsigned irq_count;
static volatile unsigned irq_last_intid;
static volatile uint64_t irq_last_counter, irq_last_elr, irq_last_spsr;
static volatile uint64_t periodic_next; /* 0: one-shot (the handler disables the timer) */
static volatile uint64_t latencies[PERIODIC_TICKS + 4];

/* Acknowledge, note when, then re-arm (periodic) or stop the timer, and end the interrupt. */
static void on_irq(uint64_t elr, uint64_t spsr) {
  const unsigned intid = gic_ack();
  const uint64_t now = read_cntvct();
  if (intid == GIC_SPURIOUS) return;
  const uint64_t cval = intid == GIC_INTID_VTIMER ? cntv_cval() : cntp_cval();
  if (irq_count < sizeof latencies / sizeof latencies[0]) latencies[irq_count] = now - cval;
  irq_last_intid = intid;
  irq_last_counter = now;
  irq_last_elr = elr;
  irq_last_spsr = spsr;
  if (intid == GIC_INTID_VTIMER && periodic_next != 0) {
    periodic_next += TICKS_PER_MS;
    set_cntv_cval(periodic_next);
  } else if (intid == GIC_INTID_VTIMER) {
    set_cntv_ctl(0);
  } else {
    set_cntp_ctl(0);
  }
  ++irq_count;
  gic_eoi(intid);
}

/* WFIs until n interrupts in all were handled (IRQs unmasked); returns how many WFIs returned. */
static unsigned wait_irqs(unsigned n) {
  unsigned wakeups = 0;
  while (irq_count < n) {
    __asm__ volatile("wfi");
    ++wakeups;
  }
  return wakeups;
}

static void check_latency(unsigned index, const char* what) {
  tap_diag("%s: latency %llu ticks", what, (unsigned long long)latencies[index]);
  if (exact)
    tap_ok(latencies[index] <= LATENCY_TICKS, "%s: taken within %u ticks of CVAL", what, LATENCY_TICKS);
  else
    tap_skip("host time", "%s: latency", what);
}

/* Polls CNTV_CTL_EL0 after the counter has passed CVAL until ISTATUS is set (at most
 * ISTATUS_WAIT_TICKS); returns how many reads that took, 0 if it never was. */
static unsigned poll_istatus(uint64_t cval) {
  while (read_cntvct() < cval + 100)
    ;
  for (unsigned reads = 1;; ++reads) {
    if (cntv_ctl() & TIMER_ISTATUS) return reads;
    if (read_cntvct() > cval + ISTATUS_WAIT_TICKS) return 0;
  }
}

static void test_registers(void) {
  tap_eq(cntv_ctl() & (TIMER_ENABLE | TIMER_IMASK), 0, "CNTV_CTL_EL0: ENABLE and IMASK reset to 0");
  tap_eq(cntp_ctl() & (TIMER_ENABLE | TIMER_IMASK), 0, "CNTP_CTL_EL0: ENABLE and IMASK reset to 0");
  set_cntv_ctl(TIMER_ENABLE | TIMER_IMASK);
  set_cntv_tval(TICKS_PER_MS);
  /* A loaded host can hold QEMU's vCPU past CVAL between the two reads: then ISTATUS may be
   * set, and the read says nothing (on smccc-emu the counter never jumps like that). */
  const uint64_t ctl = cntv_ctl();
  const bool late = read_cntvct() >= cntv_cval();
  if (late) tap_diag("the counter passed CVAL before ISTATUS was read");
  tap_ok(late || (ctl & TIMER_ISTATUS) == 0, "ISTATUS clear before CVAL");
  const unsigned reads = poll_istatus(cntv_cval());
  tap_ok(reads != 0, "ISTATUS set once the counter passed CVAL (ENABLE and IMASK set)");
  tap_diag("ISTATUS seen at read %u after CVAL", reads);
  if (exact)
    tap_eq(reads, 1, "ISTATUS is set at the first read after CVAL");
  else
    tap_skip("host time", "ISTATUS at the first read after CVAL");
  tap_ok(cntv_tval() < 0, "TVAL is negative (signed 32-bit) after expiry");
  tap_ok(gic_hppir() != GIC_INTID_VTIMER, "IMASK keeps the PPI from being pending while ISTATUS is 1 (HPPIR1 = %llu)",
         (unsigned long long)gic_hppir());
  set_cntv_ctl(TIMER_ENABLE);
  tap_eq(gic_hppir(), GIC_INTID_VTIMER, "without IMASK the virtual timer's PPI 27 is the highest pending");
  set_cntv_ctl(0);
  tap_ok(gic_hppir() != GIC_INTID_VTIMER, "with ENABLE clear it is not pending any more");
  tap_eq(cntv_ctl() & TIMER_ISTATUS, 0, "and ISTATUS reads 0 with ENABLE clear");
}

static void test_one_shots(void) {
  irq_unmask();
  set_cntv_cval(read_cntvct() + 500);
  set_cntv_ctl(TIMER_ENABLE);
  wait_irqs(1);
  tap_eq(irq_last_intid, GIC_INTID_VTIMER, "a CVAL one-shot on the virtual timer arrives as INTID 27");
  check_latency(0, "virtual CVAL one-shot");
  set_cntv_tval(800);
  set_cntv_ctl(TIMER_ENABLE);
  wait_irqs(2);
  check_latency(1, "virtual TVAL one-shot");
  set_cntp_tval(700);
  set_cntp_ctl(TIMER_ENABLE);
  wait_irqs(3);
  tap_eq(irq_last_intid, GIC_INTID_PTIMER, "the physical timer's one-shot arrives as INTID 30");
  check_latency(2, "physical TVAL one-shot");
  irq_mask();
}

static void test_periodic(void) {
  const unsigned first = irq_count;
  const uint64_t start = read_cntvct();
  periodic_next = start + TICKS_PER_MS;
  set_cntv_cval(periodic_next);
  set_cntv_ctl(TIMER_ENABLE);
  irq_unmask();
  wait_irqs(first + PERIODIC_TICKS);
  irq_mask();
  set_cntv_ctl(0);
  periodic_next = 0;
  const uint64_t elapsed = irq_last_counter - start;
  tap_ok(elapsed >= PERIODIC_TICKS * TICKS_PER_MS, "10 ticks of 1 ms take at least 10 ms (%llu ticks)",
         (unsigned long long)elapsed);
  uint64_t worst = 0;
  for (unsigned i = first; i < first + PERIODIC_TICKS && i < sizeof latencies / sizeof latencies[0]; ++i) {
    tap_diag("periodic tick %u: latency %llu ticks", i - first, (unsigned long long)latencies[i]);
    worst = latencies[i] > worst ? latencies[i] : worst;
  }
  if (exact)
    tap_ok(worst <= LATENCY_TICKS, "every periodic tick within %u ticks of its CVAL", LATENCY_TICKS);
  else
    tap_skip("host time", "periodic latency");
}

static void test_masking(void) {
  const unsigned before = irq_count;
  set_cntv_tval(300);
  set_cntv_ctl(TIMER_ENABLE);
  const uint64_t cval = cntv_cval();
  while (read_cntvct() < cval + 200)
    ;
  tap_eq(irq_count, before, "with PSTATE.I set the expired timer's IRQ is not taken");
  uint64_t after;
  __asm__ volatile("adr %0, 1f\n\tmsr daifclr, #2\n1:\tnop" : "=r"(after) : : "memory");
  irq_mask();
  tap_eq(irq_count, before + 1, "it is taken once `msr daifclr, #2` clears PSTATE.I");
  tap_eq(irq_last_elr, after, "ELR_EL1 is the instruction after the MSR");

  /* WFI completes for a pending interrupt even when PSTATE.I masks it (Arm ARM D1.6.2). */
  set_cntv_tval(400);
  set_cntv_ctl(TIMER_ENABLE);
  __asm__ volatile("wfi");
  tap_ok((cntv_ctl() & TIMER_ISTATUS) != 0, "WFI returned once the masked timer interrupt was pending");
  tap_eq(irq_count, before + 1, "and no handler ran");
  set_cntv_ctl(0);
}

/* SCTLR_EL1.UMA lets EL0 write PSTATE.I with MSR DAIFClr (Arm ARM D1.10.2); run_at_el0 enters
 * EL0 with DAIF masked. */
#define SCTLR_EL1_UMA (1ull << 9)
static volatile unsigned el0_target; /* irq_count the EL0 code waits for */
static volatile uint64_t el0_start, el0_end;

static void el0_wait_for_timer(void) {
  __asm__ volatile("adr %0, 1f\n1:\tmsr daifclr, #2" : "=r"(el0_start) : : "memory");
  while (irq_count < el0_target)
    ;
  __asm__ volatile("adr %0, ." : "=r"(el0_end));
}

/* An IRQ taken from EL0 enters at VBAR_EL1 + 0x480 (lower EL, AArch64) and returns there. */
static void test_el0(void) {
  const uint64_t sctlr = read_sysreg(sctlr_el1);
  __asm__ volatile("msr sctlr_el1, %0\n\tisb" : : "r"(sctlr | SCTLR_EL1_UMA));
  el0_target = irq_count + 1;
  set_cntv_tval(2000);
  set_cntv_ctl(TIMER_ENABLE);
  run_at_el0(el0_wait_for_timer);
  irq_mask();
  __asm__ volatile("msr sctlr_el1, %0\n\tisb" : : "r"(sctlr));
  tap_eq(irq_count, el0_target, "the timer IRQ is taken at EL0 and the EL0 code carries on after it");
  tap_eq(spsr_el(irq_last_spsr), 0, "SPSR_EL1.M says it came from EL0 (the lower-EL vector)");
  tap_ok(irq_last_elr >= el0_start && irq_last_elr <= el0_end, "ELR_EL1 is inside the EL0 wait loop");
}

static void test_idle(void) {
  const unsigned before = irq_count;
  const uint64_t start = read_cntvct();
  set_cntv_cval(start + IDLE_TICKS);
  set_cntv_ctl(TIMER_ENABLE);
  irq_unmask();
  const unsigned wakeups = wait_irqs(before + 1);
  irq_mask();
  tap_ok(irq_last_counter - start >= IDLE_TICKS, "a WFI until a timer 1 s ahead wakes after it");
  tap_diag("idle wake-up latency %llu ticks, %u WFI wake-ups",
           (unsigned long long)(irq_last_counter - start - IDLE_TICKS), wakeups);
  /* Idle means asleep: the WFI loop runs about once, not once per host timer tick. (The
   * system test also checks the run's instruction count against the virtual second.) */
  if (exact)
    tap_ok(wakeups <= IDLE_MAX_WAKEUPS, "the idle second took at most %u WFI wake-ups", IDLE_MAX_WAKEUPS);
  else
    tap_skip("host time", "idle WFI wake-ups");
}

int main(void) {
  exact = guest_on_smccc_emu();
  tap_diag("platform: %s", guest_platform_name());
  gic_init_distributor();
  gic_init_cpu(0, false);
  gic_enable(0, GIC_INTID_VTIMER, 0x80);
  gic_enable(0, GIC_INTID_PTIMER, 0x80);
  guest_set_irq_handler(on_irq);
  test_registers();
  test_one_shots();
  test_periodic();
  test_masking();
  test_el0();
  test_idle();
  return tap_done();
}
