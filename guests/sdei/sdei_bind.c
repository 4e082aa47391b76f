/*
 * SDEI events bound to interrupts (DEN0054C SDEI_INTERRUPT_BIND, SDEI_INTERRUPT_RELEASE;
 * TF-A's dispatcher for what the specification leaves to the firmware), on vCPU 0 over HVC:
 *
 *  - discovery: FEATURES(BIND_SLOTS) = 3 private + 3 shared; BIND of a PPI gives a private
 *    slot (1000..), of an SPI a shared one (2000..), the same event for the same INTID.
 *  - REGISTER is DENIED while the guest has the interrupt active (it acknowledged it as an
 *    IRQ), SUCCESS once it ends it; from then on the GIC hides the PPI from the guest
 *    (GICR_IGROUPR0 / ISENABLER0 bits RAZ/WI, IAR1 and HPPIR1 never name it).
 *  - the EL1 physical timer (PPI 30) fires into bind_spin_probe, which runs with PSTATE.DAIF
 *    all masked and every register, NZCV, ELR_EL1 and SPSR_EL1 set to sentinels: the handler
 *    is entered with x0 = 1000, x1 = the argument, x2 = a PC inside the loop, x3 = the
 *    interrupted PSTATE, x4..x30 and SP as interrupted, ELR_EL1 / SPSR_EL1 untouched; after
 *    COMPLETE every register reads back as it was (the interrupted context, bit for bit).
 *  - a level that stays high is dispatched again after each COMPLETE (the interrupt is
 *    deactivated there), until the handler clears its source;
 *  - PE_MASK and DISABLE hold a triggered interrupt back; PE_UNMASK / ENABLE dispatch it
 *    before the call returns; WFI with PSTATE.I set ends for the event.
 *  - UNREGISTER gives the interrupt back (Group 1, lowest priority, disabled, visible again),
 *    then RELEASE frees the slot; the PL011's SPI bound to a shared slot delivers its TX
 *    interrupt as event 2000.
 * Prints the dispatch latency (CNTPCT in the handler - CNTP_CVAL). TAP; exit status = number
 * of failures. smccc-emu only: QEMU's virt board has no SDEI firmware.
 */
#include <stdbool.h>
#include <stdint.h>

#include "guest/console.h"
#include "guest/counter.h"
#include "guest/gic.h"
#include "guest/pl011.h"
#include "guest/smccc.h"
#include "guest/tap.h"
#include "guest/timer.h"
#include "sdei_asm.h"

/* The SGI_base frame's copies of the distributor's per-INTID blocks (IHI 0069H §12.10). */
#define GICR_IGROUPR0 GICD_IGROUPR
#define GICR_ISENABLER0 GICD_ISENABLER
#define GICR_IPRIORITYR GICD_IPRIORITYR
#define PL011_INT_TX (1u << 5) /* transmit (PL011 TRM §3.3.13) */

#define PRIVATE_SLOT 1000u
#define SHARED_SLOT 2000u
#define HANDLER_ARG 0xB14D000000000A11ull
#define PSTATE_NZCV 0xF0000000ull
#define PSTATE_DAIF 0x3C0ull
#define EL1H 0x5ull
#define SENTINEL(n) (0x5E17000000000000ull | ((uint64_t)(n) << 8) | (n))
#define SENTINEL_NZCV 0xA0000000ull /* N and C */
#define SENTINEL_ELR 0x40001234ull
#define SENTINEL_SPSR 0x60000005ull

/* The record sdei_asm.S fills at entry (layout in sdei_asm.h). */
struct sdei_record {
  uint64_t x[31];
  uint64_t sp, nzcv, daif, current_el, spsel, elr, spsr, busy, reserved;
};
_Static_assert(sizeof(struct sdei_record) == REC_SIZE, "record layout");
struct completion {
  uint64_t value, how;
};

/* bind_probe.S */
struct spin_probe {
  uint64_t in[31];
  uint64_t nzcv_in, daif_in, elr_in, spsr_in;
  volatile uint64_t flag;
  uint64_t sp_in;
  uint64_t out[31];
  uint64_t nzcv_out, daif_out, elr_out, spsr_out, sp_out;
};
_Static_assert(__builtin_offsetof(struct spin_probe, flag) == 280, "probe layout");
_Static_assert(__builtin_offsetof(struct spin_probe, out) == 296, "probe layout");
_Static_assert(__builtin_offsetof(struct spin_probe, sp_out) == 576, "probe layout");
void bind_spin_probe(struct spin_probe* p);
extern const uint32_t bind_spin_loop[], bind_spin_end[];
void sdei_entry_normal(void); /* sdei_asm.S */

#define barrier() __asm__ volatile("" ::: "memory")

/* --- What the handler does ------------------------------------------------------------------- */

enum action {
  ACT_STOP_TIMER, /* clear the source (CNTP_CTL = 0) and set the flag */
  ACT_KEEP_LEVEL, /* leave the timer high for the first `keep` entries */
  ACT_UART,       /* clear the PL011's TX interrupt */
};
static volatile enum action action;
static volatile unsigned keep;
static volatile unsigned entries;
static volatile struct sdei_record first_entry;
static volatile uint64_t entry_counter, handler_iar, handler_hppir;
static struct spin_probe* volatile probe;

struct completion sdei_handler_c(struct sdei_record* r, unsigned level) {
  (void)level;
  if (entries++ == 0) {
    entry_counter = read_cntpct();
    first_entry = *r;
    handler_hppir = gic_read_icc(S3_0_C12_C12_2); /* ICC_HPPIR1_EL1 */
    handler_iar = gic_read_icc(S3_0_C12_C12_0);   /* ICC_IAR1_EL1 */
  }
  switch (action) {
    case ACT_KEEP_LEVEL:
      if (entries <= keep) break;
      /* fall through */
    case ACT_STOP_TIMER: set_cntp_ctl(0); break;
    case ACT_UART:
      *pl011(PL011_IMSC) = 0;
      *pl011(PL011_ICR) = PL011_INT_ALL;
      break;
  }
  if (probe != 0 && !(action == ACT_KEEP_LEVEL && entries <= keep)) probe->flag = 1;
  return (struct completion){SDEI_EV_HANDLED, 0};
}

__attribute__((noreturn)) void sdei_complete_returned(uint64_t x0) {
  gprintf("# COMPLETE returned 0x%lx\n", x0);
  for (;;) __asm__ volatile("wfi");
}

__attribute__((noreturn)) void sdei_entry_reentered_c(unsigned level) {
  gprintf("# handler re-entered at level %u\n", level);
  for (;;) __asm__ volatile("wfi");
}

/* --- Helpers --------------------------------------------------------------------------------- */

static uint64_t sdei(uint32_t fid, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5) {
  struct smccc_regs r = {.x = {fid, a1, a2, a3, a4, a5}};
  smccc_call(CONDUIT_HVC, &r);
  return r.x[0];
}
#define sdei1(fid, a1) sdei((fid), (a1), 0, 0, 0, 0)

static bool ppi_bit(uint32_t reg, unsigned intid) {
  return (*gicr_sgi32(0, reg) >> intid) & 1;
}

static void arm_timer(uint64_t ticks_ahead) {
  set_cntp_cval(read_cntpct() + ticks_ahead);
  set_cntp_ctl(TIMER_ENABLE);
}

static void reset_handler(enum action a) {
  action = a;
  entries = 0;
  probe = 0;
  barrier();
}

/* --- The checks ------------------------------------------------------------------------------ */

static void test_bind(void) {
  tap_eq(sdei1(SDEI_FEATURES, SDEI_FEATURE_BIND_SLOTS), 0x30003,
         "FEATURES(BIND_SLOTS) = 0x30003: 3 private slots in [15:0], 3 shared in [31:16]");
  tap_eq(sdei1(SDEI_INTERRUPT_BIND, GIC_INTID_PTIMER), PRIVATE_SLOT, "BIND(30) = 1000, a private slot");
  tap_eq(sdei1(SDEI_INTERRUPT_BIND, GIC_INTID_PTIMER), PRIVATE_SLOT, "BIND(30) again = 1000");
  tap_eq(sdei((uint32_t)SDEI_EVENT_GET_INFO, PRIVATE_SLOT, 0, 0, 0, 0), 0, "GET_INFO(1000, EV_TYPE) = private");
  tap_eq(sdei((uint32_t)SDEI_EVENT_GET_INFO, PRIVATE_SLOT, 1, 0, 0, 0), 0,
         "GET_INFO(1000, EV_SIGNALED) = 0: only its interrupt triggers it");
  tap_eq(sdei((uint32_t)SDEI_EVENT_SIGNAL, PRIVATE_SLOT, 0, 0, 0, 0), SDEI_RET_INVALID_PARAMETERS,
         "SIGNAL(1000) is INVALID_PARAMETERS");
  tap_eq(sdei1(SDEI_INTERRUPT_BIND, 8), SDEI_RET_INVALID_PARAMETERS, "BIND(8), an SGI, is INVALID_PARAMETERS");
}

/* The guest takes PPI 30 as an IRQ and keeps it active: REGISTER must wait for its EOI. */
static void test_register_while_active(void) {
  gic_enable(0, GIC_INTID_PTIMER, 0x80);
  arm_timer(0);
  while (gic_read_icc(S3_0_C12_C12_2) != GIC_INTID_PTIMER) /* HPPIR1; PSTATE.I is set */
    ;
  uint64_t intid = gic_read_icc(S3_0_C12_C12_0); /* IAR1: now active */
  tap_eq(intid, GIC_INTID_PTIMER, "the guest acknowledges PPI 30 as an IRQ (IAR1 = 30)");
  tap_eq(sdei(SDEI_EVENT_REGISTER, PRIVATE_SLOT, (uintptr_t)sdei_entry_normal, HANDLER_ARG, 0, 0), SDEI_RET_DENIED,
         "REGISTER(1000) while the guest has PPI 30 active is DENIED");
  set_cntp_ctl(0);
  gic_write_icc(S3_0_C12_C12_1, GIC_INTID_PTIMER); /* EOIR1: priority drop and deactivation */
  tap_eq(sdei(SDEI_EVENT_REGISTER, PRIVATE_SLOT, (uintptr_t)sdei_entry_normal, HANDLER_ARG, 0, 0), 0,
         "REGISTER(1000) after its EOI is SUCCESS");
  tap_ok(!ppi_bit(GICR_IGROUPR0, GIC_INTID_PTIMER) && !ppi_bit(GICR_ISENABLER0, GIC_INTID_PTIMER),
         "the firmware owns PPI 30: its GICR_IGROUPR0 and ISENABLER0 bits read 0");
  *gicr_sgi32(0, GICR_ISENABLER0) = 1u << GIC_INTID_PTIMER;
  tap_ok(!ppi_bit(GICR_ISENABLER0, GIC_INTID_PTIMER), "a guest write to GICR_ISENABLER0 bit 30 is ignored");
  tap_eq(sdei1(SDEI_EVENT_ENABLE, PRIVATE_SLOT), 0, "ENABLE(1000) is SUCCESS");
  tap_eq(sdei((uint32_t)SDEI_PE_UNMASK, 0, 0, 0, 0, 0), 0, "PE_UNMASK is SUCCESS");
}

static void check_interrupted_context(struct spin_probe* p) {
  unsigned bad = 0;
  for (unsigned i = 1; i <= 30; ++i)
    if (i != 28 && p->out[i] != p->in[i]) {
      gprintf("# x%u = 0x%lx, was 0x%lx\n", i, p->out[i], p->in[i]);
      ++bad;
    }
  tap_eq(bad, 0, "after COMPLETE x1..x27, x29, x30 are the interrupted values");
  tap_ok(p->out[0] == (uintptr_t)&p->flag && p->out[28] == 1, "x0 is still &flag, x28 the flag the handler wrote");
  tap_eq(p->nzcv_out, SENTINEL_NZCV, "NZCV is restored");
  tap_eq(p->daif_out, PSTATE_DAIF, "DAIF is restored: all masked");
  tap_eq(p->sp_out, p->sp_in, "SP is restored");
  tap_ok(p->elr_out == SENTINEL_ELR && p->spsr_out == SENTINEL_SPSR, "ELR_EL1 and SPSR_EL1 were never touched");
}

static void check_entry(volatile struct sdei_record* r, struct spin_probe* p) {
  tap_ok(r->x[0] == PRIVATE_SLOT && r->x[1] == HANDLER_ARG, "handler entered with x0 = 1000, x1 = its argument");
  tap_ok(r->x[2] >= (uintptr_t)bind_spin_loop && r->x[2] < (uintptr_t)bind_spin_end,
         "x2 = the interrupted PC, inside the spin loop (0x%lx)", r->x[2]);
  tap_eq(r->x[3] & (PSTATE_NZCV | PSTATE_DAIF | 0xF), SENTINEL_NZCV | PSTATE_DAIF | EL1H,
         "x3 = the interrupted PSTATE: EL1h, DAIF masked, NZCV");
  unsigned bad = 0;
  for (unsigned i = 4; i <= 30; ++i) bad += i != 28 && r->x[i] != p->in[i];
  tap_eq(bad, 0, "x4..x27, x29, x30 at entry are the interrupted values");
  tap_ok(r->daif == PSTATE_DAIF && r->current_el == 0x4 && r->spsel == 1, "the handler runs at EL1h with DAIF masked");
  tap_ok(r->elr == SENTINEL_ELR && r->spsr == SENTINEL_SPSR,
         "ELR_EL1 and SPSR_EL1 at entry are the interrupted values");
  tap_eq(handler_iar, GIC_SPURIOUS, "inside the handler ICC_IAR1_EL1 reads 1023: PPI 30 is not the guest's");
  tap_eq(handler_hppir, GIC_SPURIOUS, "and ICC_HPPIR1_EL1 reads 1023");
}

/* PPI 30 fires into a loop with everything masked: SDEI dispatches anyway, and COMPLETE gives
 * the loop back exactly as it was. */
static void test_dispatch_into_masked_loop(void) {
  static struct spin_probe p;
  for (unsigned i = 0; i < 31; ++i) p.in[i] = SENTINEL(i);
  p.nzcv_in = SENTINEL_NZCV;
  p.daif_in = PSTATE_DAIF;
  p.elr_in = SENTINEL_ELR;
  p.spsr_in = SENTINEL_SPSR;
  p.flag = 0;
  reset_handler(ACT_STOP_TIMER);
  probe = &p;
  const uint64_t cval = read_cntpct() + 2000;
  set_cntp_cval(cval);
  set_cntp_ctl(TIMER_ENABLE);
  bind_spin_probe(&p);
  probe = 0;
  tap_eq(entries, 1, "the timer-bound event was dispatched once");
  gprintf("# dispatch latency: %lu ticks after CNTP_CVAL\n", entry_counter - cval);
  tap_ok(entry_counter >= cval, "not before the timer's deadline");
  check_entry(&first_entry, &p);
  check_interrupted_context(&p);
  tap_eq(sdei1(SDEI_EVENT_STATUS, PRIVATE_SLOT), SDEI_STATUS_REGISTERED | SDEI_STATUS_ENABLED,
         "STATUS(1000) = registered, enabled, not running");
}

/* COMPLETE deactivates the interrupt: a level still high dispatches again. */
static void test_level_redelivery(void) {
  static struct spin_probe p;
  p.flag = 0;
  p.daif_in = PSTATE_DAIF;
  reset_handler(ACT_KEEP_LEVEL);
  keep = 2;
  probe = &p;
  arm_timer(100);
  bind_spin_probe(&p);
  probe = 0;
  tap_eq(entries, 3, "a level left high is dispatched again after each COMPLETE (3 entries, cleared in the 3rd)");
}

static void test_mask_disable_wfi(void) {
  reset_handler(ACT_STOP_TIMER);
  tap_eq(sdei((uint32_t)SDEI_PE_MASK, 0, 0, 0, 0, 0), 1, "PE_MASK is 1");
  arm_timer(0);
  for (volatile unsigned i = 0; i < 10000; ++i)
    ;
  tap_eq(entries, 0, "masked: the triggered interrupt waits");
  sdei((uint32_t)SDEI_PE_UNMASK, 0, 0, 0, 0, 0);
  tap_eq(entries, 1, "PE_UNMASK dispatches it before it returns");

  reset_handler(ACT_STOP_TIMER);
  sdei1(SDEI_EVENT_DISABLE, PRIVATE_SLOT);
  arm_timer(0);
  for (volatile unsigned i = 0; i < 10000; ++i)
    ;
  tap_eq(entries, 0, "disabled: the triggered interrupt waits");
  sdei1(SDEI_EVENT_ENABLE, PRIVATE_SLOT);
  tap_eq(entries, 1, "ENABLE dispatches it before it returns");

  reset_handler(ACT_STOP_TIMER);
  const uint64_t cval = read_cntpct() + 62500; /* 1 ms */
  set_cntp_cval(cval);
  set_cntp_ctl(TIMER_ENABLE);
  unsigned wakeups = 0;
  while (entries == 0) {
    __asm__ volatile("wfi" ::: "memory"); /* PSTATE.I is set all along */
    ++wakeups;
  }
  gprintf("# WFI: %u wake-up(s), dispatch latency %lu ticks\n", wakeups, entry_counter - cval);
  tap_ok(entries == 1 && entry_counter >= cval, "WFI with PSTATE.I set ends for the event, at its deadline");
}

static void test_give_back(void) {
  tap_eq(sdei1(SDEI_INTERRUPT_RELEASE, PRIVATE_SLOT), SDEI_RET_DENIED, "RELEASE(1000) while registered is DENIED");
  tap_eq(sdei1(SDEI_EVENT_UNREGISTER, PRIVATE_SLOT), 0, "UNREGISTER(1000) is SUCCESS");
  tap_ok(ppi_bit(GICR_IGROUPR0, GIC_INTID_PTIMER) && !ppi_bit(GICR_ISENABLER0, GIC_INTID_PTIMER) &&
             *gicr_sgi8(0, GICR_IPRIORITYR + GIC_INTID_PTIMER) == 0xF8,
         "PPI 30 is the guest's again: Group 1, disabled, the lowest priority (0xF8)");
  *gicr_sgi32(0, GICR_ISENABLER0) = 1u << GIC_INTID_PTIMER;
  tap_ok(ppi_bit(GICR_ISENABLER0, GIC_INTID_PTIMER), "and GICR_ISENABLER0 bit 30 can be set again");
  gic_disable(0, GIC_INTID_PTIMER);
  tap_eq(sdei1(SDEI_INTERRUPT_RELEASE, PRIVATE_SLOT), 0, "RELEASE(1000) is SUCCESS");
  tap_eq(sdei1(SDEI_INTERRUPT_RELEASE, PRIVATE_SLOT), SDEI_RET_INVALID_PARAMETERS,
         "RELEASE(1000) again is INVALID_PARAMETERS: not bound");
  tap_eq(sdei(SDEI_EVENT_REGISTER, PRIVATE_SLOT, (uintptr_t)sdei_entry_normal, HANDLER_ARG, 0, 0), SDEI_RET_DENIED,
         "REGISTER(1000) unbound is DENIED");
}

/* The PL011's SPI on a shared slot: its TX interrupt becomes event 2000 on vCPU 0. */
static void test_shared_uart(void) {
  tap_eq(sdei1(SDEI_INTERRUPT_BIND, GIC_INTID_UART), SHARED_SLOT, "BIND(33), the PL011's SPI, = 2000");
  tap_eq(sdei((uint32_t)SDEI_EVENT_GET_INFO, SHARED_SLOT, 0, 0, 0, 0), 1, "GET_INFO(2000, EV_TYPE) = shared");
  tap_eq(sdei(SDEI_EVENT_REGISTER, SHARED_SLOT, (uintptr_t)sdei_entry_normal, 7, 0, 0), 0,
         "REGISTER(2000, RM_ANY) is SUCCESS");
  tap_eq(*gicd64(GICD_IROUTER + 8 * GIC_INTID_UART), 0, "GICD_IROUTER33 reads 0 while the firmware owns it");
  sdei1(SDEI_EVENT_ENABLE, SHARED_SLOT);
  reset_handler(ACT_UART);
  *pl011(PL011_ICR) = PL011_INT_ALL;
  *pl011(PL011_IMSC) = PL011_INT_TX;
  console_puts("# a character with the TX interrupt unmasked\n");
  tap_ok(entries == 1 && first_entry.x[0] == SHARED_SLOT && first_entry.x[1] == 7,
         "the TX interrupt was dispatched once as event 2000 (x1 = 7)");
  tap_eq(sdei1(SDEI_EVENT_UNREGISTER, SHARED_SLOT), 0, "UNREGISTER(2000) is SUCCESS");
  tap_eq(sdei1(SDEI_INTERRUPT_RELEASE, SHARED_SLOT), 0, "RELEASE(2000) is SUCCESS");
}

int main(void) {
  gic_init_distributor();
  gic_init_cpu(0, false);
  tap_diag("sdei-bind: SDEI events bound to interrupts, over HVC");
  test_bind();
  test_register_while_active();
  test_dispatch_into_masked_loop();
  test_level_redelivery();
  test_mask_disable_wfi();
  test_give_back();
  test_shared_uart();
  return tap_done();
}
