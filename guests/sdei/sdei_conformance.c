/*
 * sdei-conformance.elf: SDEI (DEN0054C) as the smccc-emu firmware model answers it,
 * checked once over HVC and once over SMC, reported as TAP on the console. Exit status =
 * number of failures (capped at 255).
 *
 * Expects the events the host test declares and the one signal it sends:
 *
 *   smccc-emu run --cpus N --sdei-event 1:private:critical:signalable \
 *       --sdei-event 2:shared:normal --sdei-signal 2@3000000 sdei-conformance.elf
 *
 * event 0 private, normal, signalable (always there); event 1 private, critical, signalable;
 * event 2 shared, normal, not signalable, signalled once by the host when virtual time
 * reaches 3 ms. Works with N = 1 (the checks that need a second vCPU are left out, with a
 * note) and any N >= 2 (they use vCPU 1).
 *
 * Order: first, over HVC only, the host-signalled event 2 (registered at once, then vCPU 0
 * stays masked past 4 ms of virtual time, so the event must be pending; the PE_UNMASK that
 * follows must deliver it before returning). Then each pass: discovery, unknown events,
 * GET_INFO, the event-0 state machine outside handlers, PE masking, shared-event routing,
 * resets, then the dispatch checks (entry registers, EVENT_CONTEXT, COMPLETE with both
 * statuses, COMPLETE_AND_RESUME, a critical event nested in a normal one, UNREGISTER from a
 * running handler) and, with N >= 2, event 0 signalled to vCPU 1 and its reset by CPU_OFF /
 * CPU_ON.
 *
 * The handlers are entered through the stubs of sdei_asm.S, which give each vCPU and
 * nesting level its own stack. Handlers on vCPU 0 only record what they see (C hooks below);
 * vCPU 0 checks and prints after the call that caused the dispatch has returned. Only
 * vCPU 0 prints.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/arch.h"
#include "guest/console.h"
#include "guest/counter.h"
#include "guest/semihosting.h"
#include "guest/smccc.h"
#include "guest/smp.h"
#include "guest/tap.h"
#include "sdei_asm.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_EXIT_STATUS 255 /* statuses above are truncated by the host */

/* --- The platform under test ------------------------------------------------------------------ */

#define EV_SOFTWARE 0u /* private, normal, signalable */
#define EV_CRITICAL 1u /* private, critical, signalable (--sdei-event 1:private:critical:...) */
#define EV_SHARED 2u   /* shared, normal, not signalable (--sdei-event 2:shared:normal) */
#define NUM_EVENTS 3u

#define SDEI_VERSION_1_1 0x0001000100000000ull /* 1.1, vendor 0 */

/* --sdei-signal 2@3000000; the counter ticks every 16 ns of virtual time (docs/architecture.md
 * "Virtual time and determinism"). */
#define NS_PER_TICK 16ull
#define HOST_SIGNAL_NS 3000000ull
#define HOST_WAIT_NS 4000000ull     /* stay masked until then: the signal has been sent */
#define HOST_GIVE_UP_NS 20000000ull /* unmasked: stop waiting for a late delivery */
#define HOST_WAIT_POLLS 10000000ull /* bound on the counter polls, should time stand still */

/* DEN0022F.b MPIDR target format: affinity values that name no vCPU. */
#define TARGET_AFF0_16 0x10ull     /* Aff0 = 16: clusters have 16 cores */
#define TARGET_AFF3 0x100000000ull /* Aff3 = 1 */

/* PSTATE / SPSR fields (Arm ARM C5.2.18). */
#define PSTATE_N (1ull << 31)
#define PSTATE_Z (1ull << 30)
#define PSTATE_C (1ull << 29)
#define PSTATE_V (1ull << 28)
#define PSTATE_NZCV_MASK 0xF0000000ull
#define PSTATE_EL1H 0x5ull
#define DAIF_D_A_CLEAR 0x0C0ull /* I and F masked, D and A not: differs from a handler's */

/* Waits for a dispatch that should be immediate, or for vCPU 1. */
#define DISPATCH_SPIN_LIMIT 1000000u

/* Values ELR_EL1 / SPSR_EL1 hold across a dispatch (DEN0054C handler entry: left alone). */
#define ELR_MAGIC 0x4008ABC0ull
#define SPSR_MAGIC 0x600003C4ull

/* --- Layouts shared with sdei_asm.S ----------------------------------------------------------- */

struct sdei_record {
  uint64_t x[31];
  uint64_t sp;
  uint64_t nzcv;
  uint64_t daif;
  uint64_t current_el;
  uint64_t spsel;
  uint64_t elr;
  uint64_t spsr;
  uint64_t busy;
  uint64_t reserved;
};
_Static_assert(offsetof(struct sdei_record, x) == REC_X0, "record layout");
_Static_assert(offsetof(struct sdei_record, sp) == REC_SP, "record layout");
_Static_assert(offsetof(struct sdei_record, nzcv) == REC_NZCV, "record layout");
_Static_assert(offsetof(struct sdei_record, daif) == REC_DAIF, "record layout");
_Static_assert(offsetof(struct sdei_record, current_el) == REC_CURRENT_EL, "record layout");
_Static_assert(offsetof(struct sdei_record, spsel) == REC_SPSEL, "record layout");
_Static_assert(offsetof(struct sdei_record, elr) == REC_ELR, "record layout");
_Static_assert(offsetof(struct sdei_record, spsr) == REC_SPSR, "record layout");
_Static_assert(offsetof(struct sdei_record, busy) == REC_BUSY, "record layout");
_Static_assert(sizeof(struct sdei_record) == REC_SIZE, "record layout");

struct probe_out {
  uint64_t x[31];
  uint64_t nzcv;
  uint64_t daif;
  uint64_t sp;
};

struct call_probe {
  uint64_t in[31];
  uint64_t nzcv_in;
  uint64_t daif_in;
  uint64_t conduit;
  uint64_t sp_before;
  uint64_t pad;
  struct probe_out out;
};
_Static_assert(offsetof(struct call_probe, in) == PROBE_IN, "probe layout");
_Static_assert(offsetof(struct call_probe, nzcv_in) == PROBE_NZCV_IN, "probe layout");
_Static_assert(offsetof(struct call_probe, daif_in) == PROBE_DAIF_IN, "probe layout");
_Static_assert(offsetof(struct call_probe, conduit) == PROBE_CONDUIT, "probe layout");
_Static_assert(offsetof(struct call_probe, sp_before) == PROBE_SP_BEFORE, "probe layout");
_Static_assert(offsetof(struct call_probe, out) == PROBE_OUT, "probe layout");
_Static_assert(offsetof(struct probe_out, x) == OUT_X0, "probe layout");
_Static_assert(offsetof(struct probe_out, nzcv) == OUT_NZCV, "probe layout");
_Static_assert(offsetof(struct probe_out, daif) == OUT_DAIF, "probe layout");
_Static_assert(offsetof(struct probe_out, sp) == OUT_SP, "probe layout");
_Static_assert(sizeof(struct call_probe) == PROBE_SIZE, "probe layout");

struct resume_record {
  uint64_t x[31];
  uint64_t sp;
  uint64_t elr;
  uint64_t spsr;
  uint64_t daif;
  uint64_t current_el;
  uint64_t spsel;
  uint64_t count;
};
_Static_assert(offsetof(struct resume_record, sp) == RES_SP, "resume layout");
_Static_assert(offsetof(struct resume_record, elr) == RES_ELR, "resume layout");
_Static_assert(offsetof(struct resume_record, spsr) == RES_SPSR, "resume layout");
_Static_assert(offsetof(struct resume_record, daif) == RES_DAIF, "resume layout");
_Static_assert(offsetof(struct resume_record, current_el) == RES_CURRENT_EL, "resume layout");
_Static_assert(offsetof(struct resume_record, spsel) == RES_SPSEL, "resume layout");
_Static_assert(offsetof(struct resume_record, count) == RES_COUNT, "resume layout");
_Static_assert(sizeof(struct resume_record) == RES_SIZE, "resume layout");

_Static_assert(FID_SDEI_EVENT_COMPLETE == SDEI_EVENT_COMPLETE, "FID");
_Static_assert(FID_SDEI_EVENT_COMPLETE_AND_RESUME == SDEI_EVENT_COMPLETE_AND_RESUME, "FID");

/* sdei_asm.S */
void sdei_entry_normal(void);
void sdei_entry_critical(void);
void sdei_call_probe(struct call_probe* p);
void sdei_resume_target(void);
extern const uint32_t sdei_probe_hvc_return[];
extern const uint32_t sdei_probe_smc_return[];
extern volatile struct resume_record sdei_resume_record;

/* What a handler tells its stub (returned in x0, x1). */
struct completion {
  uint64_t value; /* COMPLETE status, or the resume address */
  uint64_t how;   /* HOW_SMC | HOW_RESUME */
};

/* Called from sdei_asm.S only. */
struct completion sdei_handler_c(struct sdei_record* r, unsigned level);
__attribute__((noreturn)) void sdei_complete_returned(uint64_t x0);
__attribute__((noreturn)) void sdei_entry_reentered_c(unsigned level);

/* Handler-written state is read back after the calls that let the handler run. */
#define compiler_barrier() __asm__ volatile("" ::: "memory")

/* --- Pass state ------------------------------------------------------------------------------- */

#define PASSES 2
static const enum conduit pass_conduits[PASSES] = {CONDUIT_HVC, CONDUIT_SMC};
static const char* const pass_prefixes[PASSES] = {"hvc: ", "smc: "};

static unsigned pass;
static enum conduit conduit;
static unsigned ncpus;

static uint64_t entry_normal(void) {
  return (uintptr_t)sdei_entry_normal;
}

static uint64_t entry_critical(void) {
  return (uintptr_t)sdei_entry_critical;
}

/* ep_argument per event and pass, so a stale registration shows. */
static uint64_t event_arg(unsigned ev) {
  return 0xA46E000000000000ull | ((uint64_t)pass << 16) | ev;
}

static uint64_t probe_return(enum conduit c) {
  return c == CONDUIT_HVC ? (uintptr_t)sdei_probe_hvc_return : (uintptr_t)sdei_probe_smc_return;
}

static uint64_t self_target(void) {
  return psci_target_of(0);
}

/* --- Reporting -------------------------------------------------------------------------------- */

__attribute__((noreturn)) static void finish(void) {
  tap_prefix("");
  int failed = tap_done();
  semihost_exit_extended((uint64_t)(failed > MAX_EXIT_STATUS ? MAX_EXIT_STATUS : failed));
}

/* --- SDEI calls from vCPU 0 ------------------------------------------------------------------- */

/* Every call fills the registers it does not use (up to x17) with sentinels and counts the
 * calls that change any of x4..x17 (DEN0028 register use: SMCCC 1.2 preserves them). */
struct preservation {
  unsigned calls;
  unsigned clobbered;
  uint32_t fid;
  unsigned reg;
  uint64_t value;
};
static struct preservation preservation;

static uint64_t call_sentinel(unsigned reg) {
  return 0x5E57000000000000ull | ((uint64_t)reg << 32) | (0xC0DE0000u + reg);
}

static uint64_t sdei_n(uint32_t fid, unsigned nargs, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5) {
  const uint64_t args[5] = {a1, a2, a3, a4, a5};
  struct smccc_regs r = {.x = {fid}};
  for (unsigned i = 1; i < SMCCC_NUM_REGS; ++i) r.x[i] = i <= nargs ? args[i - 1] : call_sentinel(i);
  smccc_call(conduit, &r);
  compiler_barrier();

  ++preservation.calls;
  for (unsigned i = 4; i < SMCCC_NUM_REGS; ++i) {
    uint64_t want = i <= nargs ? args[i - 1] : call_sentinel(i);
    if (r.x[i] != want && preservation.clobbered++ == 0) {
      preservation.fid = fid;
      preservation.reg = i;
      preservation.value = r.x[i];
    }
  }
  return r.x[0];
}

static uint64_t sdei0(uint32_t fid) {
  return sdei_n(fid, 0, 0, 0, 0, 0, 0);
}

static uint64_t sdei1(uint32_t fid, uint64_t a1) {
  return sdei_n(fid, 1, a1, 0, 0, 0, 0);
}

static uint64_t sdei2(uint32_t fid, uint64_t a1, uint64_t a2) {
  return sdei_n(fid, 2, a1, a2, 0, 0, 0);
}

static uint64_t sdei3(uint32_t fid, uint64_t a1, uint64_t a2, uint64_t a3) {
  return sdei_n(fid, 3, a1, a2, a3, 0, 0);
}

static uint64_t ev_register(uint64_t ev, uint64_t entry, uint64_t arg, uint64_t flags, uint64_t affinity) {
  return sdei_n(SDEI_EVENT_REGISTER, 5, ev, entry, arg, flags, affinity);
}

static uint64_t ev_status(uint64_t ev) {
  return sdei1(SDEI_EVENT_STATUS, ev);
}

static uint64_t ev_info(uint64_t ev, uint64_t selector) {
  return sdei2(SDEI_EVENT_GET_INFO, ev, selector);
}

static uint64_t ev_signal(uint64_t ev, uint64_t target) {
  return sdei2(SDEI_EVENT_SIGNAL, ev, target);
}

static uint64_t ev_context(uint64_t index) {
  return sdei1(SDEI_EVENT_CONTEXT, index);
}

#define STATUS_RE (SDEI_STATUS_REGISTERED | SDEI_STATUS_ENABLED)
#define STATUS_RUNNING_RE (SDEI_STATUS_RUNNING | STATUS_RE)

static const char* status_name(uint64_t s) {
  static const char* const names[8] = {
      "unregistered", "registered",         "(enabled only?)",         "registered+enabled",
      "running only", "running+registered", "(running+enabled only?)", "running+registered+enabled",
  };
  return s < 8 ? names[s] : "an error";
}

/* A call's result, then STATUS(ev) after it. */
static void step(uint64_t got, uint64_t want, unsigned ev, uint64_t status_want, const char* fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void step(uint64_t got, uint64_t want, unsigned ev, uint64_t status_want, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tap_veq(got, want, fmt, ap);
  va_end(ap);
  tap_eq(ev_status(ev), status_want, "  then STATUS(%u) = %lu (%s)", ev, status_want, status_name(status_want));
}

static void expect_status(unsigned ev, uint64_t want, const char* when) {
  tap_eq(ev_status(ev), want, "STATUS(%u) %s = %lu (%s)", ev, when, want, status_name(want));
}

/* --- What handlers on vCPU 0 see -------------------------------------------------------------- */

enum log_kind { LOG_ENTER = 1, LOG_COMPLETE, LOG_MARK, LOG_BACK };
#define LOG(kind, ev) ((uint16_t)((kind) << 8 | (ev)))
#define LOG_MAX 32u

static uint16_t log_buf[LOG_MAX];
static unsigned log_len;

static void log_push(uint16_t entry) {
  if (log_len < LOG_MAX) log_buf[log_len] = entry;
  ++log_len;
}

static void log_print(const char* label, const uint16_t* entries, unsigned n) {
  static const char* const kinds[] = {"?", "enter", "complete", "mark", "back"};
  gprintf("#   %s:", label);
  for (unsigned i = 0; i < n && i < LOG_MAX; ++i) {
    unsigned kind = entries[i] >> 8;
    if (kind == LOG_BACK)
      gprintf(" back");
    else
      gprintf(" %s(%u)", kind < ARRAY_SIZE(kinds) ? kinds[kind] : "?", entries[i] & 0xFFu);
  }
  gprintf("\n");
}

static void check_log(const uint16_t* want, unsigned n, const char* what) {
  bool same = log_len == n;
  for (unsigned i = 0; same && i < n; ++i) same = log_buf[i] == want[i];
  tap_ok(same, "order: %s", what);
  if (!same) {
    log_print("got", log_buf, log_len);
    log_print("expected", want, n);
  }
}

/* One event's latest dispatch on vCPU 0. */
struct dispatch {
  unsigned count;
  unsigned level;
  struct sdei_record entry;
  uint64_t context[SMCCC_NUM_REGS]; /* EVENT_CONTEXT(0..17) read first thing */
};
static struct dispatch dispatches[NUM_EVENTS];
static unsigned unknown_dispatches;

typedef struct completion (*hook_fn)(void);
static hook_fn hooks[NUM_EVENTS];

static struct completion complete_with(uint64_t status) {
  return (struct completion){status, conduit == CONDUIT_SMC ? HOW_SMC : 0};
}

static struct completion resume_at(uint64_t address) {
  return (struct completion){address, HOW_RESUME | (conduit == CONDUIT_SMC ? HOW_SMC : 0)};
}

static void reset_observations(void) {
  for (unsigned ev = 0; ev < NUM_EVENTS; ++ev) {
    dispatches[ev].count = 0;
    hooks[ev] = NULL;
  }
  unknown_dispatches = 0;
  log_len = 0;
  compiler_barrier();
}

static unsigned dispatch_count(unsigned ev) {
  compiler_barrier();
  return dispatches[ev].count;
}

/* --- Secondary (vCPU 1) ----------------------------------------------------------------------- */

enum sec_task { SEC_NONE = 0, SEC_ARM, SEC_CHECK_RESET };
enum sec_step {
  SEC_IDLE = 0,
  SEC_REGISTERED_MASKED, /* event 0 registered + enabled, PE still masked */
  SEC_UNMASKED_DISABLED, /* event 0 disabled, PE unmasked */
  SEC_ARMED,             /* event 0 enabled again: waiting for the signal */
  SEC_DONE,
};

struct secondary {
  uint32_t task;
  uint32_t conduit;
  uint32_t step;
  uint32_t go;      /* vCPU 0 lets it past step k by setting go = k */
  uint32_t gave_up; /* a wait for vCPU 0 timed out */
  uint32_t handled; /* its event-0 handler ran */
  uint64_t arg;
  uint64_t mask_at_start;      /* PE_MASK: 0 = it was masked already */
  uint64_t status_at_start;    /* STATUS(0) */
  uint64_t private_reset;      /* SEC_CHECK_RESET: PRIVATE_RESET */
  uint64_t status_after_reset; /* SEC_CHECK_RESET: STATUS(0) after it */
  uint64_t reg, enable, disable, unmask, enable_again;
  uint64_t handler_x[4];
  uint64_t handler_level, handler_daif, handler_current_el, handler_spsel;
  uint64_t handler_status;
  uint64_t handler_cpu;
};
static struct secondary sec;

static uint64_t sec_call(uint32_t fid, uint64_t a1, uint64_t a2, uint64_t a3) {
  return smccc((enum conduit)sec.conduit, fid, a1, a2, a3);
}

static bool sec_wait_go(uint32_t at_least) {
  if (spin_until_at_least(&sec.go, at_least, SPIN_LIMIT)) return true;
  smp_store(&sec.gave_up, 1);
  return false;
}

static struct completion secondary_handler(unsigned cpu, const struct sdei_record* r, unsigned level) {
  for (unsigned i = 0; i < 4; ++i) sec.handler_x[i] = r->x[i];
  sec.handler_level = level;
  sec.handler_daif = r->daif;
  sec.handler_current_el = r->current_el;
  sec.handler_spsel = r->spsel;
  sec.handler_cpu = cpu;
  sec.handler_status = sec_call(SDEI_EVENT_STATUS, EV_SOFTWARE, 0, 0);
  smp_store(&sec.handled, 1);
  return (struct completion){SDEI_EV_HANDLED, sec.conduit == CONDUIT_SMC ? HOW_SMC : 0};
}

/* vCPU 1, started at _start by CPU_ON; _start calls CPU_OFF over HVC when this returns. */
void secondary_main(unsigned cpu, uint64_t context_id) {
  (void)context_id;
  if (cpu != 1) return;
  sec.mask_at_start = sec_call(SDEI_PE_MASK, 0, 0, 0);
  sec.status_at_start = sec_call(SDEI_EVENT_STATUS, EV_SOFTWARE, 0, 0);
  if (sec.task == SEC_CHECK_RESET) {
    /* As Linux's CPU hot-plug does before it takes a CPU down, but afterwards. */
    sec.private_reset = sec_call(SDEI_PRIVATE_RESET, 0, 0, 0);
    sec.status_after_reset = sec_call(SDEI_EVENT_STATUS, EV_SOFTWARE, 0, 0);
    smp_store(&sec.step, SEC_DONE);
    return;
  }

  struct smccc_regs r = {.x = {SDEI_EVENT_REGISTER, EV_SOFTWARE, entry_normal(), sec.arg, SDEI_RM_ANY, 0}};
  smccc_call((enum conduit)sec.conduit, &r);
  sec.reg = r.x[0];
  sec.enable = sec_call(SDEI_EVENT_ENABLE, EV_SOFTWARE, 0, 0);
  smp_store(&sec.step, SEC_REGISTERED_MASKED);

  if (sec_wait_go(SEC_REGISTERED_MASKED)) {
    sec.disable = sec_call(SDEI_EVENT_DISABLE, EV_SOFTWARE, 0, 0);
    sec.unmask = sec_call(SDEI_PE_UNMASK, 0, 0, 0);
    smp_store(&sec.step, SEC_UNMASKED_DISABLED);
  }
  if (sec_wait_go(SEC_UNMASKED_DISABLED)) {
    sec.enable_again = sec_call(SDEI_EVENT_ENABLE, EV_SOFTWARE, 0, 0);
    smp_store(&sec.step, SEC_ARMED);
    /* vCPU 0 signals event 0 here; the handler interrupts this wait. */
    spin_until_equal(&sec.handled, 1, SPIN_LIMIT);
  }
  /* Left registered, enabled and unmasked: CPU_OFF / CPU_ON masks the PE and keeps the
     registration (DEN0054C PE masking; TF-A's sdei_cpu_on_init only masks). */
  smp_store(&sec.step, SEC_DONE);
}

/* --- The handler entry (from the stubs) ------------------------------------------------------- */

struct completion sdei_handler_c(struct sdei_record* r, unsigned level) {
  unsigned cpu = cpu_index();
  if (cpu != 0) return secondary_handler(cpu, r, level);

  uint64_t ev = r->x[0];
  if (ev >= NUM_EVENTS) {
    ++unknown_dispatches;
    log_push(LOG(LOG_ENTER, 0xFF));
    return complete_with(SDEI_EV_HANDLED);
  }
  log_push(LOG(LOG_ENTER, ev));
  struct dispatch* d = &dispatches[ev];
  d->entry = *r;
  d->level = level;
  ++d->count;
  for (unsigned i = 0; i < SMCCC_NUM_REGS; ++i) d->context[i] = ev_context(i);

  struct completion c = hooks[ev] ? hooks[ev]() : complete_with(SDEI_EV_HANDLED);
  log_push(LOG(LOG_COMPLETE, ev));
  return c;
}

void sdei_complete_returned(uint64_t x0) {
  tap_ok(false,
         "EVENT_COMPLETE / COMPLETE_AND_RESUME from a handler does not return "
         "(it returned %ld)",
         (int64_t)x0);
  finish();
}

void sdei_entry_reentered_c(unsigned level) {
  tap_ok(false, "no %s handler is entered while another one runs on the same vCPU",
         level == SDEI_LEVEL_CRITICAL ? "critical" : "normal");
  finish();
}

/* --- Probes ----------------------------------------------------------------------------------- */

static uint64_t probe_sentinel(unsigned tag, unsigned reg) {
  return 0x5D0E000000000000ull | ((uint64_t)tag << 40) | ((uint64_t)reg << 32) | (0xFACE0000u + reg * 0x101u);
}

/* x0 = fid, x1, x2 = args, x3..x30 = sentinels of `tag`. */
static void probe_prepare(struct call_probe* p, uint32_t fid, uint64_t a1, uint64_t a2, unsigned tag, uint64_t nzcv,
                          uint64_t daif) {
  *p = (struct call_probe){.nzcv_in = nzcv, .daif_in = daif, .conduit = conduit};
  p->in[0] = fid;
  p->in[1] = a1;
  p->in[2] = a2;
  for (unsigned i = 3; i < 31; ++i) p->in[i] = probe_sentinel(tag + pass * 16u, i);
  for (unsigned i = 0; i < 31; ++i) p->out.x[i] = 0xDEADull << 48 | i;
}

static void probe_run(struct call_probe* p) {
  compiler_barrier();
  sdei_call_probe(p);
  compiler_barrier();
}

/* ELR_EL1 and SPSR_EL1 set to known values (read back: the CPU may drop RES0 bits). */
static uint64_t elr_before, spsr_before;

static void set_elr_spsr(void) {
  __asm__ volatile("msr elr_el1, %0\n\tmsr spsr_el1, %1" ::"r"(ELR_MAGIC), "r"(SPSR_MAGIC));
  elr_before = read_sysreg(elr_el1);
  spsr_before = read_sysreg(spsr_el1);
}

static uint64_t interrupted_pstate(const struct call_probe* p) {
  return p->nzcv_in | p->daif_in | PSTATE_EL1H;
}

/* DEN0054C handler entry and SDEI_EVENT_COMPLETE: after COMPLETE, everything as before the call
 * except x0..x3 (results). */
static void check_probe_intact(const struct call_probe* p, const char* what) {
  unsigned bad = 0;
  for (unsigned i = 4; i < 31; ++i) {
    if (p->out.x[i] != p->in[i]) {
      if (bad++ < 4) tap_diag("  x%u = 0x%016lx, was 0x%016lx", i, p->out.x[i], p->in[i]);
    }
  }
  tap_ok(bad == 0, "%s: x4..x30 as before the call", what);
  tap_eq(p->out.sp, p->sp_before, "%s: SP as before the call", what);
  tap_eq(p->out.nzcv, p->nzcv_in, "%s: NZCV as before the call", what);
  tap_eq(p->out.daif, p->daif_in, "%s: DAIF as before the call", what);
}

/*
 * DEN0054C handler entry: a handler entered for `ev` that interrupted the code right after probe p's
 * call: x0..x3, x4..x30 and SP as interrupted, PSTATE EL1h with DAIF masked and the
 * interrupted NZCV, ELR_EL1 / SPSR_EL1 untouched; then EVENT_CONTEXT(0..17) = what the
 * interrupted code holds after COMPLETE.
 */
static void check_entry(unsigned ev, const struct call_probe* p, unsigned level, const char* what) {
  const struct dispatch* d = &dispatches[ev];
  const struct sdei_record* e = &d->entry;

  tap_eq(e->x[0], ev, "%s: handler x0 = event number %u", what, ev);
  tap_eq(e->x[1], event_arg(ev), "%s: handler x1 = ep_argument 0x%lx", what, event_arg(ev));
  tap_eq(e->x[2], probe_return(conduit), "%s: handler x2 = interrupted PC, the instruction after the %s", what,
         conduit == CONDUIT_HVC ? "HVC" : "SMC");
  tap_eq(e->x[3], interrupted_pstate(p), "%s: handler x3 = interrupted PSTATE (NZCV 0x%lx, DAIF 0x%lx, EL1h)", what,
         p->nzcv_in >> 28, p->daif_in);
  unsigned bad = 0;
  for (unsigned i = 4; i < 31; ++i) {
    if (e->x[i] != p->in[i] && bad++ < 4) tap_diag("  x%u = 0x%016lx, interrupted 0x%016lx", i, e->x[i], p->in[i]);
  }
  tap_ok(bad == 0, "%s: handler x4..x30 as interrupted", what);
  tap_eq(e->sp, p->sp_before, "%s: handler entered on the interrupted SP_EL1", what);
  tap_eq(e->nzcv, p->nzcv_in, "%s: handler NZCV as interrupted", what);
  tap_ok(e->daif == DAIF_ALL_MASKED && e->current_el == CURRENT_EL_EL1 && e->spsel == SPSEL_SP_ELX,
         "%s: handler runs at EL1h with D, A, I, F masked", what);
  if (!(e->daif == DAIF_ALL_MASKED && e->current_el == CURRENT_EL_EL1 && e->spsel == SPSEL_SP_ELX))
    tap_diag("  DAIF 0x%lx, CurrentEL 0x%lx, SPSel %lu", e->daif, e->current_el, e->spsel);
  tap_ok(e->elr == elr_before && e->spsr == spsr_before, "%s: ELR_EL1 and SPSR_EL1 untouched by the dispatch", what);
  if (!(e->elr == elr_before && e->spsr == spsr_before))
    tap_diag("  ELR_EL1 0x%lx (was 0x%lx), SPSR_EL1 0x%lx (was 0x%lx)", e->elr, elr_before, e->spsr, spsr_before);
  tap_eq(d->level, level, "%s: entered through the %s entry point", what,
         level == SDEI_LEVEL_CRITICAL ? "critical" : "normal");

  bool same = true;
  for (unsigned i = 0; i < 4; ++i) same = same && d->context[i] == p->out.x[i];
  tap_ok(same, "%s: EVENT_CONTEXT(0..3) = x0..x3 the interrupted code holds after COMPLETE", what);
  if (!same)
    for (unsigned i = 0; i < 4; ++i) tap_diag("  x%u: context 0x%lx, after 0x%lx", i, d->context[i], p->out.x[i]);
  bad = 0;
  for (unsigned i = 4; i < SMCCC_NUM_REGS; ++i) {
    if (d->context[i] != p->in[i] && bad++ < 4)
      tap_diag("  EVENT_CONTEXT(%u) = 0x%lx, interrupted x%u 0x%lx", i, d->context[i], i, p->in[i]);
  }
  tap_ok(bad == 0, "%s: EVENT_CONTEXT(4..17) = interrupted x4..x17", what);
}

/* --- Host-signalled shared event 2 (once, over HVC, at the start) ----------------------------- */

static struct {
  uint64_t status2, type, routing_mode, routing_aff, signal, status0_after_signal;
  unsigned count0_after_signal;
} in_host;

static struct completion hook_host_event(void) {
  in_host.status2 = ev_status(EV_SHARED);
  in_host.type = ev_info(EV_SHARED, SDEI_INFO_EV_TYPE);
  in_host.routing_mode = ev_info(EV_SHARED, SDEI_INFO_EV_ROUTING_MODE);
  in_host.routing_aff = ev_info(EV_SHARED, SDEI_INFO_EV_ROUTING_AFF);
  /* DEN0054C dispatch conditions: a normal event cannot preempt a running normal handler. */
  in_host.signal = ev_signal(EV_SOFTWARE, self_target());
  in_host.count0_after_signal = dispatches[EV_SOFTWARE].count;
  log_push(LOG(LOG_MARK, EV_SHARED));
  in_host.status0_after_signal = ev_status(EV_SOFTWARE);
  return complete_with(SDEI_EV_HANDLED);
}

static uint64_t ticks_of_ns(uint64_t ns) {
  return ns / NS_PER_TICK;
}

static void test_host_event(void) {
  tap_diag("host-signalled shared event %u (--sdei-signal %u@%llu)", EV_SHARED, EV_SHARED, HOST_SIGNAL_NS);
  tap_eq(sdei0(SDEI_PE_MASK), 0, "PE_MASK at boot is 0: vCPU 0 starts masked");
  uint64_t start = read_cntvct();
  tap_ok(start < ticks_of_ns(HOST_SIGNAL_NS), "event %u is set up before the host signals it (counter %lu < %lu)",
         EV_SHARED, start, ticks_of_ns(HOST_SIGNAL_NS));

  reset_observations();
  hooks[EV_SHARED] = hook_host_event;
  tap_eq(ev_register(EV_SHARED, entry_normal(), event_arg(EV_SHARED), SDEI_RM_ANY, 0), 0,
         "REGISTER(%u, RM_ANY) is SUCCESS", EV_SHARED);
  tap_eq(sdei1(SDEI_EVENT_ENABLE, EV_SHARED), 0, "ENABLE(%u) is SUCCESS", EV_SHARED);
  tap_eq(ev_register(EV_SOFTWARE, entry_normal(), event_arg(EV_SOFTWARE), SDEI_RM_ANY, 0), 0, "REGISTER(%u) is SUCCESS",
         EV_SOFTWARE);
  tap_eq(sdei1(SDEI_EVENT_ENABLE, EV_SOFTWARE), 0, "ENABLE(%u) is SUCCESS", EV_SOFTWARE);
  tap_eq(ev_info(EV_SHARED, SDEI_INFO_EV_TYPE), SDEI_EVENT_TYPE_SHARED, "GET_INFO(%u, EV_TYPE) = 1 (shared)",
         EV_SHARED);

  /* DEN0054C dispatch conditions, PE masking: while the only PE is masked, the event stays pending. */
  uint64_t polls = 0;
  while (read_cntvct() < ticks_of_ns(HOST_WAIT_NS) && polls < HOST_WAIT_POLLS) ++polls;
  tap_ok(read_cntvct() >= ticks_of_ns(HOST_WAIT_NS), "virtual time passes %llu ns while vCPU 0 waits masked",
         HOST_WAIT_NS);
  tap_eq(dispatch_count(EV_SHARED), 0, "masked: the handler of event %u has not run", EV_SHARED);
  expect_status(EV_SHARED, STATUS_RE, "while pending on a masked PE");

  /* DEN0054C dispatch conditions: PE_UNMASK makes it deliverable; it runs as the call returns. */
  static struct call_probe p;
  probe_prepare(&p, SDEI_PE_UNMASK, call_sentinel(1), call_sentinel(2), 1, PSTATE_N | PSTATE_C, DAIF_ALL_MASKED);
  set_elr_spsr();
  probe_run(&p);
  log_push(LOG(LOG_BACK, 0));

  tap_eq(p.out.x[0], 0, "PE_UNMASK returns 0");
  unsigned count = dispatch_count(EV_SHARED);
  tap_eq(count, 1, "event %u is delivered right after PE_UNMASK returns", EV_SHARED);
  if (count == 1) {
    check_entry(EV_SHARED, &p, SDEI_LEVEL_NORMAL, "event 2 after PE_UNMASK");
    tap_eq(in_host.status2, STATUS_RUNNING_RE, "in its handler, STATUS(%u) = 7 (running, enabled, registered)",
           EV_SHARED);
    tap_eq(in_host.type, SDEI_EVENT_TYPE_SHARED, "in its handler, GET_INFO(%u, EV_TYPE) = 1", EV_SHARED);
    tap_eq(in_host.routing_mode, SDEI_RM_ANY, "in its handler, GET_INFO(%u, ROUTING_MODE) = 0 (RM_ANY)", EV_SHARED);
    tap_eq(in_host.routing_aff, SDEI_RET_INVALID_PARAMETERS,
           "in its handler, GET_INFO(%u, ROUTING_AFF) is INVALID_PARAMETERS for RM_ANY", EV_SHARED);
    tap_eq(in_host.signal, 0, "in its handler, SIGNAL(0, vCPU 0) is SUCCESS");
    tap_eq(in_host.count0_after_signal, 0, "normal event 0 does not preempt the normal handler of event %u", EV_SHARED);
    expect_status(EV_SHARED, STATUS_RE, "after its COMPLETE");
    tap_eq(in_host.status0_after_signal, STATUS_RE, "in that handler, STATUS(0) = 3 (pending is not running)");
    tap_eq(dispatch_count(EV_SOFTWARE), 1, "event 0 is dispatched once event %u completes", EV_SHARED);
    const uint16_t want[] = {LOG(LOG_ENTER, EV_SHARED),   LOG(LOG_MARK, EV_SHARED),       LOG(LOG_COMPLETE, EV_SHARED),
                             LOG(LOG_ENTER, EV_SOFTWARE), LOG(LOG_COMPLETE, EV_SOFTWARE), LOG(LOG_BACK, 0)};
    check_log(want, ARRAY_SIZE(want), "event 2 runs, signals 0, completes; then 0 runs; then PE_UNMASK returns");
    if (dispatch_count(EV_SOFTWARE) == 1)
      check_entry(EV_SOFTWARE, &p, SDEI_LEVEL_NORMAL, "event 0 after event 2's COMPLETE");
    check_probe_intact(&p, "PE_UNMASK with two dispatches");
  } else if (count == 0) {
    /* Not delivered at PE_UNMASK: is it delivered at all? */
    uint64_t late = 0;
    while (dispatch_count(EV_SHARED) == 0 && read_cntvct() < ticks_of_ns(HOST_GIVE_UP_NS) && late < HOST_WAIT_POLLS)
      ++late;
    tap_ok(dispatch_count(EV_SHARED) > 0, "the handler of event %u runs at all (waited unmasked until %llu ns)",
           EV_SHARED, HOST_GIVE_UP_NS);
  }

  tap_eq(sdei0(SDEI_PE_MASK), 1, "PE_MASK after that is 1 (it was unmasked)");
  tap_eq(sdei1(SDEI_EVENT_UNREGISTER, EV_SOFTWARE), 0, "UNREGISTER(0) is SUCCESS");
  tap_eq(sdei1(SDEI_EVENT_UNREGISTER, EV_SHARED), 0, "UNREGISTER(%u) is SUCCESS", EV_SHARED);
  expect_status(EV_SHARED, 0, "after UNREGISTER");
}

/* --- Calls without dispatch ------------------------------------------------------------------- */

static void test_discovery(void) {
  tap_eq(sdei0(SDEI_VERSION), SDEI_VERSION_1_1, "SDEI_VERSION = 0x%016llx (1.1, vendor 0)", SDEI_VERSION_1_1);
  tap_eq(sdei1(SDEI_FEATURES, SDEI_FEATURE_BIND_SLOTS), 0x30003,
         "FEATURES(BIND_SLOTS) = 0x30003: 3 private and 3 shared bind slots");
  tap_eq(sdei1(SDEI_FEATURES, SDEI_FEATURE_RELATIVE_MODE), SDEI_RET_INVALID_PARAMETERS,
         "FEATURES(RELATIVE_MODE) is INVALID_PARAMETERS (unsupported)");
  tap_eq(sdei1(SDEI_FEATURES, 2), SDEI_RET_INVALID_PARAMETERS, "FEATURES(2) is INVALID_PARAMETERS");

  /* SGIs cannot be bound; the GIC has 224 SPIs, so 256 and up do not exist. Binding real
   * interrupts is the sdei-bind guest's part. */
  static const uint64_t interrupts[] = {0, 15, 256, 1019, 1020, 0xFFFFFFFF};
  for (unsigned i = 0; i < ARRAY_SIZE(interrupts); ++i)
    tap_eq(sdei1(SDEI_INTERRUPT_BIND, interrupts[i]), SDEI_RET_INVALID_PARAMETERS,
           "INTERRUPT_BIND(%lu) is INVALID_PARAMETERS", interrupts[i]);
  static const uint64_t events[] = {0, 1, 2, 3, 1000, 2000};
  for (unsigned i = 0; i < ARRAY_SIZE(events); ++i)
    tap_eq(sdei1(SDEI_INTERRUPT_RELEASE, events[i]), SDEI_RET_INVALID_PARAMETERS,
           "INTERRUPT_RELEASE(%lu) is INVALID_PARAMETERS: not a bound slot", events[i]);

  /* DEN0054C function IDs: SMC64 only; 0x33..0x3F reserved. */
  static const uint32_t unknown[] = {0xC4000033u, 0xC400003Fu, 0x84000020u, 0x8400002Fu};
  for (unsigned i = 0; i < ARRAY_SIZE(unknown); ++i)
    tap_eq(sdei0(unknown[i]), SDEI_RET_NOT_SUPPORTED, "FID 0x%08x is NOT_SUPPORTED", unknown[i]);
}

static void test_unknown_events(void) {
  static const uint64_t events[] = {3, 7, 0x80000000u, 0xFFFFFFFFu};
  for (unsigned i = 0; i < ARRAY_SIZE(events); ++i) {
    uint64_t ev = events[i];
    tap_eq(ev_register(ev, entry_normal(), 0, SDEI_RM_ANY, 0), SDEI_RET_INVALID_PARAMETERS,
           "REGISTER(unknown event 0x%lx) is INVALID_PARAMETERS", ev);
    tap_eq(sdei1(SDEI_EVENT_ENABLE, ev), SDEI_RET_INVALID_PARAMETERS, "ENABLE(0x%lx) is INVALID_PARAMETERS", ev);
    tap_eq(sdei1(SDEI_EVENT_DISABLE, ev), SDEI_RET_INVALID_PARAMETERS, "DISABLE(0x%lx) is INVALID_PARAMETERS", ev);
    tap_eq(sdei1(SDEI_EVENT_UNREGISTER, ev), SDEI_RET_INVALID_PARAMETERS, "UNREGISTER(0x%lx) is INVALID_PARAMETERS",
           ev);
    tap_eq(ev_status(ev), SDEI_RET_INVALID_PARAMETERS, "STATUS(0x%lx) is INVALID_PARAMETERS", ev);
    tap_eq(ev_info(ev, SDEI_INFO_EV_TYPE), SDEI_RET_INVALID_PARAMETERS,
           "GET_INFO(0x%lx, EV_TYPE) is INVALID_PARAMETERS", ev);
    tap_eq(sdei3(SDEI_EVENT_ROUTING_SET, ev, SDEI_RM_ANY, 0), SDEI_RET_INVALID_PARAMETERS,
           "ROUTING_SET(0x%lx) is INVALID_PARAMETERS", ev);
    tap_eq(ev_signal(ev, self_target()), SDEI_RET_INVALID_PARAMETERS, "SIGNAL(0x%lx, vCPU 0) is INVALID_PARAMETERS",
           ev);
  }
}

/* DEN0054C SDEI_EVENT_GET_INFO with the model's choices: SIGNALED = 1 for a signalable event. */
static void test_get_info(void) {
  struct info_case {
    unsigned ev;
    uint64_t type, signaled, priority;
  };
  static const struct info_case cases[] = {
      {EV_SOFTWARE, SDEI_EVENT_TYPE_PRIVATE, 1, SDEI_EVENT_PRIORITY_NORMAL},
      {EV_CRITICAL, SDEI_EVENT_TYPE_PRIVATE, 1, SDEI_EVENT_PRIORITY_CRITICAL},
      {EV_SHARED, SDEI_EVENT_TYPE_SHARED, 0, SDEI_EVENT_PRIORITY_NORMAL},
  };
  for (unsigned i = 0; i < ARRAY_SIZE(cases); ++i) {
    const struct info_case* c = &cases[i];
    const bool shared = c->type == SDEI_EVENT_TYPE_SHARED;
    tap_eq(ev_info(c->ev, SDEI_INFO_EV_TYPE), c->type, "GET_INFO(%u, EV_TYPE) = %lu", c->ev, c->type);
    tap_eq(ev_info(c->ev, SDEI_INFO_EV_SIGNALED), c->signaled, "GET_INFO(%u, EV_SIGNALED) = %lu", c->ev, c->signaled);
    tap_eq(ev_info(c->ev, SDEI_INFO_EV_PRIORITY), c->priority, "GET_INFO(%u, EV_PRIORITY) = %lu", c->ev, c->priority);
    /* Unregistered: private → INVALID_PARAMETERS, shared → DENIED. */
    uint64_t routing = shared ? SDEI_RET_DENIED : SDEI_RET_INVALID_PARAMETERS;
    tap_eq(ev_info(c->ev, SDEI_INFO_EV_ROUTING_MODE), routing, "GET_INFO(%u, ROUTING_MODE) unregistered is %s", c->ev,
           shared ? "DENIED" : "INVALID_PARAMETERS");
    tap_eq(ev_info(c->ev, SDEI_INFO_EV_ROUTING_AFF), routing, "GET_INFO(%u, ROUTING_AFF) unregistered is %s", c->ev,
           shared ? "DENIED" : "INVALID_PARAMETERS");
    tap_eq(ev_info(c->ev, 5), SDEI_RET_INVALID_PARAMETERS, "GET_INFO(%u, 5) is INVALID_PARAMETERS", c->ev);
    tap_eq(ev_info(c->ev, 0xFFFFFFFFu), SDEI_RET_INVALID_PARAMETERS, "GET_INFO(%u, 0xFFFFFFFF) is INVALID_PARAMETERS",
           c->ev);
  }
  /* Private events have no routing, registered or not. */
  tap_eq(ev_register(EV_SOFTWARE, entry_normal(), event_arg(EV_SOFTWARE), SDEI_RM_ANY, 0), 0, "REGISTER(0) is SUCCESS");
  tap_eq(ev_info(EV_SOFTWARE, SDEI_INFO_EV_ROUTING_MODE), SDEI_RET_INVALID_PARAMETERS,
         "GET_INFO(0, ROUTING_MODE) registered is INVALID_PARAMETERS (private)");
  tap_eq(ev_info(EV_SOFTWARE, SDEI_INFO_EV_ROUTING_AFF), SDEI_RET_INVALID_PARAMETERS,
         "GET_INFO(0, ROUTING_AFF) registered is INVALID_PARAMETERS (private)");
  tap_eq(sdei1(SDEI_EVENT_UNREGISTER, EV_SOFTWARE), 0, "UNREGISTER(0) is SUCCESS");
}

/* DEN0054C event states for event 0 on vCPU 0, which stays masked: no dispatch can happen. */
static void test_state_walk(void) {
  const uint64_t entry = entry_normal(), arg = event_arg(EV_SOFTWARE);
  const unsigned ev = EV_SOFTWARE;

  reset_observations();
  tap_eq(sdei0(SDEI_PRIVATE_RESET), 0, "PRIVATE_RESET is SUCCESS");
  expect_status(ev, 0, "at the start");

  /* r e g */
  step(sdei1(SDEI_EVENT_ENABLE, ev), SDEI_RET_DENIED, ev, 0, "unregistered: ENABLE(0) is DENIED");
  step(sdei1(SDEI_EVENT_DISABLE, ev), SDEI_RET_DENIED, ev, 0, "unregistered: DISABLE(0) is DENIED");
  step(sdei1(SDEI_EVENT_UNREGISTER, ev), SDEI_RET_DENIED, ev, 0, "unregistered: UNREGISTER(0) is DENIED");
  step(ev_context(0), SDEI_RET_DENIED, ev, 0, "outside a handler: EVENT_CONTEXT(0) is DENIED");
  step(ev_context(17), SDEI_RET_DENIED, ev, 0, "outside a handler: EVENT_CONTEXT(17) is DENIED");
  step(sdei1(SDEI_EVENT_COMPLETE, SDEI_EV_HANDLED), SDEI_RET_DENIED, ev, 0,
       "outside a handler: COMPLETE(HANDLED) returns DENIED");
  step(sdei1(SDEI_EVENT_COMPLETE, SDEI_EV_FAILED), SDEI_RET_DENIED, ev, 0,
       "outside a handler: COMPLETE(FAILED) returns DENIED");
  step(sdei1(SDEI_EVENT_COMPLETE_AND_RESUME, (uintptr_t)sdei_resume_target), SDEI_RET_DENIED, ev, 0,
       "outside a handler: COMPLETE_AND_RESUME returns DENIED");
  step(sdei3(SDEI_EVENT_ROUTING_SET, ev, SDEI_RM_ANY, 0), SDEI_RET_INVALID_PARAMETERS, ev, 0,
       "ROUTING_SET(0) is INVALID_PARAMETERS (private)");
  step(ev_signal(ev, self_target()), SDEI_RET_INVALID_PARAMETERS, ev, 0,
       "unregistered: SIGNAL(0, vCPU 0) is INVALID_PARAMETERS");

  /* REGISTER's argument checks. */
  step(ev_register(ev, 0, arg, SDEI_RM_ANY, 0), SDEI_RET_INVALID_PARAMETERS, ev, 0,
       "REGISTER(0, entry 0) is INVALID_PARAMETERS");
  step(ev_register(ev, 0x1000, arg, SDEI_RM_ANY, 0), SDEI_RET_INVALID_PARAMETERS, ev, 0,
       "REGISTER(0, entry 0x1000: not RAM) is INVALID_PARAMETERS");
  step(ev_register(ev, entry, arg, SDEI_REGISTER_RELATIVE, 0), SDEI_RET_INVALID_PARAMETERS, ev, 0,
       "REGISTER(0, flags RELATIVE) is INVALID_PARAMETERS");
  step(ev_register(ev, entry, arg, SDEI_REGISTER_RM_PE, TARGET_AFF0_16), SDEI_RET_INVALID_PARAMETERS, ev, 0,
       "REGISTER(0, RM_PE, Aff0 = 16: no such PE) is INVALID_PARAMETERS");
  /* A private event targets its own PE whatever the mode (TF-A accepts RM_PE so). */
  step(ev_register(ev, entry, arg, SDEI_REGISTER_RM_PE, self_target()), 0, ev, SDEI_STATUS_REGISTERED,
       "REGISTER(0, RM_PE, vCPU 0) is SUCCESS (private: mode ignored)");
  step(sdei1(SDEI_EVENT_UNREGISTER, ev), 0, ev, 0, "UNREGISTER(0) is SUCCESS");
  step(ev_register(ev, entry, arg, 4, 0), SDEI_RET_INVALID_PARAMETERS, ev, 0,
       "REGISTER(0, flags 4) is INVALID_PARAMETERS");
  step(ev_register(ev, entry, arg, 1ull << 63, 0), SDEI_RET_INVALID_PARAMETERS, ev, 0,
       "REGISTER(0, flags bit 63) is INVALID_PARAMETERS");

  /* r e G */
  step(ev_register(ev, entry, arg, SDEI_RM_ANY, 0), 0, ev, SDEI_STATUS_REGISTERED, "REGISTER(0) is SUCCESS");
  step(ev_register(ev, entry, arg, SDEI_RM_ANY, 0), SDEI_RET_DENIED, ev, SDEI_STATUS_REGISTERED,
       "registered: REGISTER(0) again is DENIED");
  step(ev_register(ev, entry_critical(), arg + 1, SDEI_RM_ANY, 0), SDEI_RET_DENIED, ev, SDEI_STATUS_REGISTERED,
       "registered: REGISTER(0) with another handler is DENIED");
  step(sdei1(SDEI_EVENT_DISABLE, ev), 0, ev, SDEI_STATUS_REGISTERED,
       "registered: DISABLE(0) is SUCCESS (already disabled)");
  step(ev_context(0), SDEI_RET_DENIED, ev, SDEI_STATUS_REGISTERED, "registered: EVENT_CONTEXT(0) is DENIED");
  step(sdei1(SDEI_EVENT_COMPLETE, SDEI_EV_HANDLED), SDEI_RET_DENIED, ev, SDEI_STATUS_REGISTERED,
       "registered: COMPLETE returns DENIED");
  step(ev_signal(ev, self_target()), SDEI_RET_INVALID_PARAMETERS, ev, SDEI_STATUS_REGISTERED,
       "registered, disabled: SIGNAL(0, vCPU 0) is INVALID_PARAMETERS");

  /* r E G */
  step(sdei1(SDEI_EVENT_ENABLE, ev), 0, ev, STATUS_RE, "ENABLE(0) is SUCCESS");
  step(sdei1(SDEI_EVENT_ENABLE, ev), 0, ev, STATUS_RE, "ENABLE(0) again is SUCCESS");
  step(ev_register(ev, entry, arg, SDEI_RM_ANY, 0), SDEI_RET_DENIED, ev, STATUS_RE, "enabled: REGISTER(0) is DENIED");
  step(ev_signal(ev, self_target()), SDEI_RET_INVALID_PARAMETERS, ev, STATUS_RE,
       "enabled, vCPU 0 masked: SIGNAL(0, vCPU 0) is INVALID_PARAMETERS");
  step(sdei1(SDEI_EVENT_COMPLETE_AND_RESUME, (uintptr_t)sdei_resume_target), SDEI_RET_DENIED, ev, STATUS_RE,
       "enabled: COMPLETE_AND_RESUME returns DENIED");
  step(ev_context(1), SDEI_RET_DENIED, ev, STATUS_RE, "enabled: EVENT_CONTEXT(1) is DENIED");
  step(sdei3(SDEI_EVENT_ROUTING_SET, ev, SDEI_RM_ANY, 0), SDEI_RET_INVALID_PARAMETERS, ev, STATUS_RE,
       "enabled: ROUTING_SET(0) is INVALID_PARAMETERS (private)");
  step(sdei1(SDEI_EVENT_DISABLE, ev), 0, ev, SDEI_STATUS_REGISTERED, "DISABLE(0) is SUCCESS");
  step(sdei1(SDEI_EVENT_ENABLE, ev), 0, ev, STATUS_RE, "ENABLE(0) is SUCCESS again");
  step(sdei1(SDEI_EVENT_UNREGISTER, ev), 0, ev, 0, "enabled: UNREGISTER(0) is SUCCESS (and disables)");
  step(sdei1(SDEI_EVENT_UNREGISTER, ev), SDEI_RET_DENIED, ev, 0, "UNREGISTER(0) again is DENIED");
  step(sdei1(SDEI_EVENT_ENABLE, ev), SDEI_RET_DENIED, ev, 0, "after UNREGISTER: ENABLE(0) is DENIED");
  step(ev_register(ev, entry, arg, SDEI_RM_ANY, 0), 0, ev, SDEI_STATUS_REGISTERED,
       "REGISTER(0) after UNREGISTER is SUCCESS, disabled");
  step(sdei1(SDEI_EVENT_UNREGISTER, ev), 0, ev, 0, "registered: UNREGISTER(0) is SUCCESS");

  /* Event 1 has the same private state machine. */
  step(ev_register(EV_CRITICAL, entry_critical(), event_arg(EV_CRITICAL), SDEI_REGISTER_RM_PE, TARGET_AFF0_16),
       SDEI_RET_INVALID_PARAMETERS, EV_CRITICAL, 0, "REGISTER(1, RM_PE, Aff0 = 16: no such PE) is INVALID_PARAMETERS");
  step(ev_register(EV_CRITICAL, entry_critical(), event_arg(EV_CRITICAL), SDEI_RM_ANY, 0), 0, EV_CRITICAL,
       SDEI_STATUS_REGISTERED, "REGISTER(1) is SUCCESS");
  step(sdei1(SDEI_EVENT_ENABLE, EV_CRITICAL), 0, EV_CRITICAL, STATUS_RE, "ENABLE(1) is SUCCESS");
  step(ev_signal(EV_CRITICAL, self_target()), SDEI_RET_INVALID_PARAMETERS, EV_CRITICAL, STATUS_RE,
       "vCPU 0 masked: SIGNAL(1, vCPU 0) is INVALID_PARAMETERS");

  /* PRIVATE_RESET unregisters every private event of this PE. */
  step(ev_register(ev, entry, arg, SDEI_RM_ANY, 0), 0, ev, SDEI_STATUS_REGISTERED, "REGISTER(0) is SUCCESS");
  tap_eq(sdei0(SDEI_PRIVATE_RESET), 0, "PRIVATE_RESET with events 0 and 1 registered is 0");
  expect_status(EV_SOFTWARE, 0, "after PRIVATE_RESET");
  expect_status(EV_CRITICAL, 0, "after PRIVATE_RESET");
  tap_eq(sdei0(SDEI_PRIVATE_RESET), 0, "PRIVATE_RESET with nothing registered is SUCCESS");

  tap_eq(dispatch_count(EV_SOFTWARE) + dispatch_count(EV_CRITICAL) + unknown_dispatches, 0,
         "no handler ran during the walk");
}

/* DEN0054C PE masking with the model's PE_MASK answer (1 = changed, 0 = already masked). */
static void test_mask(void) {
  reset_observations();
  tap_eq(sdei0(SDEI_PE_MASK), 0, "PE_MASK while masked is 0");
  tap_eq(sdei0(SDEI_PE_UNMASK), 0, "PE_UNMASK is 0");
  tap_eq(sdei0(SDEI_PE_UNMASK), 0, "PE_UNMASK while unmasked is 0");
  tap_eq(ev_signal(EV_SOFTWARE, self_target()), SDEI_RET_INVALID_PARAMETERS,
         "unmasked, event 0 unregistered: SIGNAL(0, vCPU 0) is INVALID_PARAMETERS");
  tap_eq(ev_register(EV_SOFTWARE, entry_normal(), event_arg(EV_SOFTWARE), SDEI_RM_ANY, 0), 0, "REGISTER(0) is SUCCESS");
  tap_eq(ev_signal(EV_SOFTWARE, self_target()), SDEI_RET_INVALID_PARAMETERS,
         "unmasked, event 0 disabled: SIGNAL(0, vCPU 0) is INVALID_PARAMETERS");
  tap_eq(sdei0(SDEI_PE_MASK), 1, "PE_MASK while unmasked is 1");
  tap_eq(sdei0(SDEI_PE_MASK), 0, "PE_MASK again is 0");
  tap_eq(sdei1(SDEI_EVENT_ENABLE, EV_SOFTWARE), 0, "ENABLE(0) is SUCCESS");
  tap_eq(ev_signal(EV_SOFTWARE, self_target()), SDEI_RET_INVALID_PARAMETERS,
         "masked, event 0 enabled: SIGNAL(0, vCPU 0) is INVALID_PARAMETERS");
  tap_eq(ev_signal(EV_SHARED, self_target()), SDEI_RET_INVALID_PARAMETERS,
         "SIGNAL(%u, vCPU 0) is INVALID_PARAMETERS (not signalable)", EV_SHARED);

  /* Targets that name no vCPU (DEN0022F.b MPIDR target format, as PSCI takes them). */
  const uint64_t bad_targets[] = {psci_target_of(ncpus), TARGET_AFF0_16, TARGET_AFF3};
  tap_eq(sdei0(SDEI_PE_UNMASK), 0, "PE_UNMASK is 0");
  for (unsigned i = 0; i < ARRAY_SIZE(bad_targets); ++i)
    tap_eq(ev_signal(EV_SOFTWARE, bad_targets[i]), SDEI_RET_INVALID_PARAMETERS,
           "SIGNAL(0, 0x%lx: no such vCPU) is INVALID_PARAMETERS", bad_targets[i]);
  tap_eq(sdei0(SDEI_PE_MASK), 1, "PE_MASK is 1");
  tap_eq(sdei1(SDEI_EVENT_UNREGISTER, EV_SOFTWARE), 0, "UNREGISTER(0) is SUCCESS");
  tap_eq(dispatch_count(EV_SOFTWARE) + unknown_dispatches, 0, "no handler ran during the mask checks");
}

/* DEN0054C SDEI_EVENT_GET_INFO, SDEI_EVENT_ROUTING_SET: shared event 2's routing (never signalled
 * here). */
static void test_shared_routing(void) {
  const unsigned ev = EV_SHARED;
  const uint64_t entry = entry_normal(), arg = event_arg(EV_SHARED);
  const uint64_t last = psci_target_of(ncpus - 1), none = psci_target_of(ncpus);

  reset_observations();
  expect_status(ev, 0, "at the start");
  step(sdei3(SDEI_EVENT_ROUTING_SET, ev, SDEI_RM_ANY, 0), SDEI_RET_DENIED, ev, 0,
       "unregistered: ROUTING_SET(2, RM_ANY) is DENIED");
  step(sdei1(SDEI_EVENT_ENABLE, ev), SDEI_RET_DENIED, ev, 0, "unregistered: ENABLE(2) is DENIED");
  step(ev_register(ev, entry, arg, SDEI_REGISTER_RM_PE, none), SDEI_RET_INVALID_PARAMETERS, ev, 0,
       "REGISTER(2, RM_PE, 0x%lx: no such vCPU) is INVALID_PARAMETERS", none);
  step(ev_register(ev, entry, arg, SDEI_REGISTER_RM_PE, TARGET_AFF0_16), SDEI_RET_INVALID_PARAMETERS, ev, 0,
       "REGISTER(2, RM_PE, Aff0 = 16) is INVALID_PARAMETERS");
  step(ev_register(ev, entry, arg, SDEI_REGISTER_RELATIVE, 0), SDEI_RET_INVALID_PARAMETERS, ev, 0,
       "REGISTER(2, RELATIVE) is INVALID_PARAMETERS");
  step(ev_register(ev, entry, arg, SDEI_REGISTER_RM_PE | SDEI_REGISTER_RELATIVE, last), SDEI_RET_INVALID_PARAMETERS, ev,
       0, "REGISTER(2, RM_PE | RELATIVE) is INVALID_PARAMETERS");
  step(ev_register(ev, entry, arg, 8, 0), SDEI_RET_INVALID_PARAMETERS, ev, 0,
       "REGISTER(2, flags 8) is INVALID_PARAMETERS");
  step(ev_register(ev, 0, arg, SDEI_RM_ANY, 0), SDEI_RET_INVALID_PARAMETERS, ev, 0,
       "REGISTER(2, entry 0) is INVALID_PARAMETERS");

  step(ev_register(ev, entry, arg, SDEI_REGISTER_RM_PE, last), 0, ev, SDEI_STATUS_REGISTERED,
       "REGISTER(2, RM_PE, vCPU %u) is SUCCESS", ncpus - 1);
  tap_eq(ev_info(ev, SDEI_INFO_EV_ROUTING_MODE), SDEI_RM_PE, "GET_INFO(2, ROUTING_MODE) = 1 (RM_PE)");
  tap_eq(ev_info(ev, SDEI_INFO_EV_ROUTING_AFF), last, "GET_INFO(2, ROUTING_AFF) = 0x%lx", last);
  step(ev_register(ev, entry, arg, SDEI_RM_ANY, 0), SDEI_RET_DENIED, ev, SDEI_STATUS_REGISTERED,
       "registered: REGISTER(2) again is DENIED");
  step(sdei3(SDEI_EVENT_ROUTING_SET, ev, 2, 0), SDEI_RET_INVALID_PARAMETERS, ev, SDEI_STATUS_REGISTERED,
       "ROUTING_SET(2, mode 2) is INVALID_PARAMETERS");
  step(sdei3(SDEI_EVENT_ROUTING_SET, ev, SDEI_RM_PE, none), SDEI_RET_INVALID_PARAMETERS, ev, SDEI_STATUS_REGISTERED,
       "ROUTING_SET(2, RM_PE, no such vCPU) is INVALID_PARAMETERS");
  step(sdei3(SDEI_EVENT_ROUTING_SET, ev, SDEI_RM_ANY, 0), 0, ev, SDEI_STATUS_REGISTERED,
       "registered, disabled: ROUTING_SET(2, RM_ANY) is SUCCESS");
  tap_eq(ev_info(ev, SDEI_INFO_EV_ROUTING_MODE), SDEI_RM_ANY, "GET_INFO(2, ROUTING_MODE) = 0 (RM_ANY)");
  tap_eq(ev_info(ev, SDEI_INFO_EV_ROUTING_AFF), SDEI_RET_INVALID_PARAMETERS,
         "GET_INFO(2, ROUTING_AFF) with RM_ANY is INVALID_PARAMETERS");
  step(sdei3(SDEI_EVENT_ROUTING_SET, ev, SDEI_RM_PE, self_target()), 0, ev, SDEI_STATUS_REGISTERED,
       "ROUTING_SET(2, RM_PE, vCPU 0) is SUCCESS");
  tap_eq(ev_info(ev, SDEI_INFO_EV_ROUTING_MODE), SDEI_RM_PE, "GET_INFO(2, ROUTING_MODE) = 1 (RM_PE) again");
  tap_eq(ev_info(ev, SDEI_INFO_EV_ROUTING_AFF), self_target(), "GET_INFO(2, ROUTING_AFF) = 0x%lx", self_target());
  step(sdei1(SDEI_EVENT_ENABLE, ev), 0, ev, STATUS_RE, "ENABLE(2) is SUCCESS");
  step(sdei3(SDEI_EVENT_ROUTING_SET, ev, SDEI_RM_ANY, 0), SDEI_RET_DENIED, ev, STATUS_RE,
       "enabled: ROUTING_SET(2, RM_ANY) is DENIED");
  tap_eq(ev_info(ev, SDEI_INFO_EV_ROUTING_MODE), SDEI_RM_PE, "GET_INFO(2, ROUTING_MODE) still 1 (RM_PE)");
  step(ev_signal(ev, self_target()), SDEI_RET_INVALID_PARAMETERS, ev, STATUS_RE,
       "SIGNAL(2, vCPU 0) registered and enabled is INVALID_PARAMETERS (not signalable)");
  step(sdei1(SDEI_EVENT_DISABLE, ev), 0, ev, SDEI_STATUS_REGISTERED, "DISABLE(2) is SUCCESS");
  step(sdei1(SDEI_EVENT_UNREGISTER, ev), 0, ev, 0, "UNREGISTER(2) is SUCCESS");
  tap_eq(ev_info(ev, SDEI_INFO_EV_ROUTING_MODE), SDEI_RET_DENIED,
         "GET_INFO(2, ROUTING_MODE) unregistered again is DENIED");

  /* Resets: SHARED_RESET unregisters shared events; PRIVATE_RESET leaves them alone. */
  step(ev_register(ev, entry, arg, SDEI_RM_ANY, 0), 0, ev, SDEI_STATUS_REGISTERED, "REGISTER(2, RM_ANY) is SUCCESS");
  tap_eq(sdei0(SDEI_PRIVATE_RESET), 0, "PRIVATE_RESET is SUCCESS");
  expect_status(ev, SDEI_STATUS_REGISTERED, "after PRIVATE_RESET (shared: untouched)");
  step(sdei1(SDEI_EVENT_ENABLE, ev), 0, ev, STATUS_RE, "ENABLE(2) is SUCCESS");
  tap_eq(sdei0(SDEI_SHARED_RESET), 0, "SHARED_RESET with event 2 enabled is SUCCESS");
  expect_status(ev, 0, "after SHARED_RESET");
  tap_eq(sdei0(SDEI_SHARED_RESET), 0, "SHARED_RESET with nothing registered is SUCCESS");
  step(ev_register(EV_SOFTWARE, entry, event_arg(EV_SOFTWARE), SDEI_RM_ANY, 0), 0, EV_SOFTWARE, SDEI_STATUS_REGISTERED,
       "REGISTER(0) is SUCCESS");
  tap_eq(sdei0(SDEI_SHARED_RESET), 0, "SHARED_RESET is SUCCESS");
  expect_status(EV_SOFTWARE, SDEI_STATUS_REGISTERED, "after SHARED_RESET (private: untouched)");
  tap_eq(sdei1(SDEI_EVENT_UNREGISTER, EV_SOFTWARE), 0, "UNREGISTER(0) is SUCCESS");
  tap_eq(dispatch_count(EV_SHARED) + unknown_dispatches, 0, "no handler ran during the routing checks");
}

/* --- Dispatch --------------------------------------------------------------------------------- */

/* Registers event 0 (and 1 if asked) on vCPU 0, enables, unmasks; reports failures. */
static bool arm_events(bool with_critical) {
  bool ok = sdei0(SDEI_PRIVATE_RESET) == 0;
  ok = ev_register(EV_SOFTWARE, entry_normal(), event_arg(EV_SOFTWARE), SDEI_RM_ANY, 0) == 0 && ok;
  ok = sdei1(SDEI_EVENT_ENABLE, EV_SOFTWARE) == 0 && ok;
  if (with_critical) {
    ok = ev_register(EV_CRITICAL, entry_critical(), event_arg(EV_CRITICAL), SDEI_RM_ANY, 0) == 0 && ok;
    ok = sdei1(SDEI_EVENT_ENABLE, EV_CRITICAL) == 0 && ok;
  }
  ok = sdei0(SDEI_PE_UNMASK) == 0 && ok;
  tap_ok(ok, "set up: event 0%s registered and enabled, vCPU 0 unmasked", with_critical ? " and 1" : "");
  return ok;
}

static void disarm_events(void) {
  bool ok = sdei0(SDEI_PE_MASK) == 1;
  ok = sdei0(SDEI_PRIVATE_RESET) == 0 && ok;
  ok = ev_status(EV_SOFTWARE) == 0 && ev_status(EV_CRITICAL) == 0 && ok;
  tap_ok(ok, "clean up: PE_MASK = 1, PRIVATE_RESET = 0, events 0 and 1 unregistered");
}

/* DEN0054C event states from inside a running handler (state R E G). */
static struct {
  uint64_t status, register_again, disable, status_disabled, disable_again, enable, status_enabled, routing_set,
      context_18, context_255, type, complete_status;
} in_run;

static struct completion hook_running(void) {
  in_run.status = ev_status(EV_SOFTWARE);
  in_run.register_again = ev_register(EV_SOFTWARE, entry_normal(), event_arg(EV_SOFTWARE), SDEI_RM_ANY, 0);
  in_run.disable = sdei1(SDEI_EVENT_DISABLE, EV_SOFTWARE);
  in_run.status_disabled = ev_status(EV_SOFTWARE);
  in_run.disable_again = sdei1(SDEI_EVENT_DISABLE, EV_SOFTWARE);
  in_run.enable = sdei1(SDEI_EVENT_ENABLE, EV_SOFTWARE);
  in_run.status_enabled = ev_status(EV_SOFTWARE);
  in_run.routing_set = sdei3(SDEI_EVENT_ROUTING_SET, EV_SOFTWARE, SDEI_RM_ANY, 0);
  in_run.context_18 = ev_context(18);
  in_run.context_255 = ev_context(255);
  in_run.type = ev_info(EV_SOFTWARE, SDEI_INFO_EV_TYPE);
  return complete_with(in_run.complete_status);
}

/*
 * DEN0054C dispatch conditions, SDEI_EVENT_CONTEXT: SIGNAL(0) to vCPU 0 itself runs the handler
 * before the call returns; the handler sees the interrupted state; COMPLETE (HANDLED, then FAILED)
 * puts every register, NZCV and DAIF back.
 */
static void test_dispatch_complete(void) {
  struct variant {
    uint64_t status;
    const char* name;
    uint64_t nzcv;
    uint64_t daif;
    unsigned tag;
  };
  static const struct variant variants[] = {
      {SDEI_EV_HANDLED, "COMPLETE(HANDLED)", PSTATE_N | PSTATE_V, DAIF_ALL_MASKED, 2},
      {SDEI_EV_FAILED, "COMPLETE(FAILED)", PSTATE_Z | PSTATE_C, DAIF_D_A_CLEAR, 3},
  };
  static struct call_probe p;

  reset_observations();
  if (!arm_events(false)) return;
  tap_eq(dispatch_count(EV_SOFTWARE), 0, "nothing pending: no handler ran on PE_UNMASK");

  for (unsigned v = 0; v < ARRAY_SIZE(variants); ++v) {
    const struct variant* var = &variants[v];
    reset_observations();
    hooks[EV_SOFTWARE] = hook_running;
    in_run.complete_status = var->status;
    probe_prepare(&p, SDEI_EVENT_SIGNAL, EV_SOFTWARE, self_target(), var->tag, var->nzcv, var->daif);
    set_elr_spsr();
    probe_run(&p);
    log_push(LOG(LOG_BACK, 0));

    tap_diag("SIGNAL(0, vCPU 0) with DAIF 0x%lx, handler ends with %s", var->daif, var->name);
    tap_eq(p.out.x[0], 0, "SIGNAL(0, vCPU 0) is SUCCESS");
    unsigned count = dispatch_count(EV_SOFTWARE);
    tap_eq(count, 1, "the handler ran once, before SIGNAL returned");
    const uint16_t want[] = {LOG(LOG_ENTER, EV_SOFTWARE), LOG(LOG_COMPLETE, EV_SOFTWARE), LOG(LOG_BACK, 0)};
    check_log(want, ARRAY_SIZE(want), "handler, then back after the call");
    if (count != 1) continue;
    check_entry(EV_SOFTWARE, &p, SDEI_LEVEL_NORMAL, "signal to self");
    tap_eq(in_run.status, STATUS_RUNNING_RE, "in the handler, STATUS(0) = 7");
    tap_eq(in_run.register_again, SDEI_RET_DENIED, "in the handler, REGISTER(0) is DENIED");
    tap_eq(in_run.disable, 0, "in the handler, DISABLE(0) is SUCCESS");
    tap_eq(in_run.status_disabled, SDEI_STATUS_RUNNING | SDEI_STATUS_REGISTERED,
           "  then STATUS(0) = 5 (running, registered)");
    tap_eq(in_run.disable_again, 0, "in the handler, DISABLE(0) again is SUCCESS");
    tap_eq(in_run.enable, 0, "in the handler, ENABLE(0) is SUCCESS");
    tap_eq(in_run.status_enabled, STATUS_RUNNING_RE, "  then STATUS(0) = 7");
    tap_eq(in_run.routing_set, SDEI_RET_INVALID_PARAMETERS,
           "in the handler, ROUTING_SET(0) is INVALID_PARAMETERS (private)");
    tap_eq(in_run.context_18, SDEI_RET_INVALID_PARAMETERS, "in the handler, EVENT_CONTEXT(18) is INVALID_PARAMETERS");
    tap_eq(in_run.context_255, SDEI_RET_INVALID_PARAMETERS, "in the handler, EVENT_CONTEXT(255) is INVALID_PARAMETERS");
    tap_eq(in_run.type, SDEI_EVENT_TYPE_PRIVATE, "in the handler, GET_INFO(0, EV_TYPE) = 0");
    check_probe_intact(&p, var->name);
    expect_status(EV_SOFTWARE, STATUS_RE, "after COMPLETE");
    tap_eq(ev_context(0), SDEI_RET_DENIED, "after COMPLETE, EVENT_CONTEXT(0) is DENIED");
  }
  disarm_events();
}

/* DEN0054C SDEI_EVENT_COMPLETE_AND_RESUME: COMPLETE_AND_RESUME enters sdei_resume_target like an
 * exception. */
static struct completion hook_resume(void) {
  return resume_at((uintptr_t)sdei_resume_target);
}

static void test_complete_and_resume(void) {
  static struct call_probe p;

  reset_observations();
  if (!arm_events(false)) return;
  hooks[EV_SOFTWARE] = hook_resume;
  uint64_t resumes_before = sdei_resume_record.count;
  probe_prepare(&p, SDEI_EVENT_SIGNAL, EV_SOFTWARE, self_target(), 4, PSTATE_C | PSTATE_V, DAIF_D_A_CLEAR);
  set_elr_spsr();
  probe_run(&p);
  log_push(LOG(LOG_BACK, 0));

  tap_eq(p.out.x[0], 0, "SIGNAL(0, vCPU 0) is SUCCESS");
  unsigned count = dispatch_count(EV_SOFTWARE);
  tap_eq(count, 1, "the handler ran once, before SIGNAL returned");
  if (count == 1) check_entry(EV_SOFTWARE, &p, SDEI_LEVEL_NORMAL, "before COMPLETE_AND_RESUME");
  uint64_t resumes = sdei_resume_record.count - resumes_before;
  tap_eq(resumes, 1, "COMPLETE_AND_RESUME entered the resume address once");
  if (resumes == 1) {
    const volatile struct resume_record* r = &sdei_resume_record;
    tap_eq(r->elr, probe_return(conduit), "at the resume address, ELR_EL1 = interrupted PC (after the %s)",
           conduit == CONDUIT_HVC ? "HVC" : "SMC");
    tap_eq(r->spsr, interrupted_pstate(&p), "at the resume address, SPSR_EL1 = interrupted PSTATE");
    tap_ok(r->daif == DAIF_ALL_MASKED && r->current_el == CURRENT_EL_EL1 && r->spsel == SPSEL_SP_ELX,
           "at the resume address: EL1h with D, A, I, F masked");
    if (!(r->daif == DAIF_ALL_MASKED && r->current_el == CURRENT_EL_EL1 && r->spsel == SPSEL_SP_ELX))
      tap_diag("  DAIF 0x%lx, CurrentEL 0x%lx, SPSel %lu", r->daif, r->current_el, r->spsel);
    bool same = true;
    for (unsigned i = 0; i < 4; ++i) same = same && r->x[i] == p.out.x[i];
    tap_ok(same && r->x[0] == 0, "at the resume address, x0..x3 = the interrupted x0..x3 (x0 = SUCCESS)");
    unsigned bad = 0;
    for (unsigned i = 4; i < 31; ++i)
      if (r->x[i] != p.in[i] && bad++ < 4) tap_diag("  x%u = 0x%lx, interrupted 0x%lx", i, r->x[i], p.in[i]);
    tap_ok(bad == 0, "at the resume address, x4..x30 as interrupted");
    tap_eq(r->sp, p.sp_before, "at the resume address, SP as interrupted");
  }
  const uint16_t want[] = {LOG(LOG_ENTER, EV_SOFTWARE), LOG(LOG_COMPLETE, EV_SOFTWARE), LOG(LOG_BACK, 0)};
  check_log(want, ARRAY_SIZE(want), "handler, resume address, then back after the call");
  check_probe_intact(&p, "after the resume address ERETs");
  expect_status(EV_SOFTWARE, STATUS_RE, "after COMPLETE_AND_RESUME");
  disarm_events();
}

/* DEN0054C event priorities, SDEI_EVENT_CONTEXT: critical event 1 preempts event 0's handler. */
static struct call_probe nested_probe;
static struct {
  uint64_t context0_after, context4_after, status1_after;
  uint64_t status0_in_critical, status1_in_critical;
} in_nest;

static struct completion hook_nest_normal(void) {
  probe_prepare(&nested_probe, SDEI_EVENT_SIGNAL, EV_CRITICAL, self_target(), 6, PSTATE_N | PSTATE_Z | PSTATE_C,
                DAIF_ALL_MASKED);
  probe_run(&nested_probe);
  log_push(LOG(LOG_MARK, EV_SOFTWARE));
  in_nest.context0_after = ev_context(0);
  in_nest.context4_after = ev_context(4);
  in_nest.status1_after = ev_status(EV_CRITICAL);
  return complete_with(SDEI_EV_HANDLED);
}

static struct completion hook_nest_critical(void) {
  in_nest.status0_in_critical = ev_status(EV_SOFTWARE);
  in_nest.status1_in_critical = ev_status(EV_CRITICAL);
  return complete_with(SDEI_EV_HANDLED);
}

static void test_nesting(void) {
  static struct call_probe p;

  reset_observations();
  if (!arm_events(true)) return;
  hooks[EV_SOFTWARE] = hook_nest_normal;
  hooks[EV_CRITICAL] = hook_nest_critical;
  probe_prepare(&p, SDEI_EVENT_SIGNAL, EV_SOFTWARE, self_target(), 5, PSTATE_V, DAIF_ALL_MASKED);
  set_elr_spsr();
  probe_run(&p);
  log_push(LOG(LOG_BACK, 0));

  tap_eq(p.out.x[0], 0, "SIGNAL(0, vCPU 0) is SUCCESS");
  const uint16_t want[] = {LOG(LOG_ENTER, EV_SOFTWARE), LOG(LOG_ENTER, EV_CRITICAL),    LOG(LOG_COMPLETE, EV_CRITICAL),
                           LOG(LOG_MARK, EV_SOFTWARE),  LOG(LOG_COMPLETE, EV_SOFTWARE), LOG(LOG_BACK, 0)};
  check_log(want, ARRAY_SIZE(want), "0 runs, signals 1, 1 runs at once and completes into 0, 0 completes");
  unsigned count0 = dispatch_count(EV_SOFTWARE), count1 = dispatch_count(EV_CRITICAL);
  tap_ok(count0 == 1 && count1 == 1, "each handler ran once (0: %u, 1: %u)", count0, count1);
  if (count0 != 1 || count1 != 1) {
    disarm_events();
    return;
  }
  check_entry(EV_SOFTWARE, &p, SDEI_LEVEL_NORMAL, "normal event 0");
  tap_eq(nested_probe.out.x[0], 0, "in 0's handler, SIGNAL(1, vCPU 0) is SUCCESS");
  check_entry(EV_CRITICAL, &nested_probe, SDEI_LEVEL_CRITICAL, "critical event 1 nested in 0");
  tap_eq(in_nest.status0_in_critical, STATUS_RUNNING_RE, "in the critical handler, STATUS(0) = 7 (running)");
  tap_eq(in_nest.status1_in_critical, STATUS_RUNNING_RE, "in the critical handler, STATUS(1) = 7 (running)");
  check_probe_intact(&nested_probe, "0's handler after 1 completes into it");
  tap_eq(in_nest.context0_after, p.out.x[0],
         "back in 0's handler, EVENT_CONTEXT(0) is the original interrupted x0 again");
  tap_eq(in_nest.context4_after, p.in[4], "back in 0's handler, EVENT_CONTEXT(4) is the original interrupted x4 again");
  tap_eq(in_nest.status1_after, STATUS_RE, "back in 0's handler, STATUS(1) = 3");
  check_probe_intact(&p, "the code 0 interrupted, after both COMPLETEs");
  expect_status(EV_SOFTWARE, STATUS_RE, "after both handlers");
  expect_status(EV_CRITICAL, STATUS_RE, "after both handlers");
  disarm_events();
}

/* DEN0054C event states: UNREGISTER in the running handler is PENDING until COMPLETE. */
static struct {
  uint64_t unregister, status, enable, disable, register_again, unregister_private_reset, status_after_reset, context0;
} in_unreg;

static struct completion hook_unregister(void) {
  in_unreg.unregister = sdei1(SDEI_EVENT_UNREGISTER, EV_SOFTWARE);
  in_unreg.status = ev_status(EV_SOFTWARE);
  in_unreg.enable = sdei1(SDEI_EVENT_ENABLE, EV_SOFTWARE);
  in_unreg.disable = sdei1(SDEI_EVENT_DISABLE, EV_SOFTWARE);
  in_unreg.register_again = ev_register(EV_SOFTWARE, entry_normal(), event_arg(EV_SOFTWARE), SDEI_RM_ANY, 0);
  in_unreg.unregister_private_reset = sdei0(SDEI_PRIVATE_RESET);
  in_unreg.status_after_reset = ev_status(EV_SOFTWARE);
  in_unreg.context0 = ev_context(0);
  return complete_with(SDEI_EV_HANDLED);
}

static void test_unregister_running(void) {
  static struct call_probe p;

  reset_observations();
  if (!arm_events(false)) return;
  hooks[EV_SOFTWARE] = hook_unregister;
  probe_prepare(&p, SDEI_EVENT_SIGNAL, EV_SOFTWARE, self_target(), 7, PSTATE_Z, DAIF_ALL_MASKED);
  set_elr_spsr();
  probe_run(&p);
  log_push(LOG(LOG_BACK, 0));

  tap_eq(p.out.x[0], 0, "SIGNAL(0, vCPU 0) is SUCCESS");
  unsigned count = dispatch_count(EV_SOFTWARE);
  tap_eq(count, 1, "the handler ran once, before SIGNAL returned");
  if (count == 1) {
    tap_eq(in_unreg.unregister, SDEI_RET_PENDING, "in the handler, UNREGISTER(0) is PENDING");
    tap_eq(in_unreg.status, SDEI_STATUS_RUNNING, "  then STATUS(0) = 4 (running only)");
    tap_eq(in_unreg.enable, SDEI_RET_DENIED, "unregister pending: ENABLE(0) is DENIED");
    tap_eq(in_unreg.disable, SDEI_RET_DENIED, "unregister pending: DISABLE(0) is DENIED");
    tap_eq(in_unreg.register_again, SDEI_RET_DENIED, "unregister pending: REGISTER(0) is DENIED");
    tap_eq(in_unreg.unregister_private_reset, SDEI_RET_DENIED,
           "unregister pending: PRIVATE_RESET is DENIED (0 still runs)");
    tap_eq(in_unreg.status_after_reset, SDEI_STATUS_RUNNING, "  then STATUS(0) = 4 still");
    tap_eq(in_unreg.context0, p.out.x[0], "unregister pending: EVENT_CONTEXT(0) still answers (interrupted x0)");
    check_probe_intact(&p, "after COMPLETE of an unregistered handler");
  }
  expect_status(EV_SOFTWARE, 0, "after COMPLETE (the unregistration finished)");
  tap_eq(ev_signal(EV_SOFTWARE, self_target()), SDEI_RET_INVALID_PARAMETERS,
         "then SIGNAL(0, vCPU 0) is INVALID_PARAMETERS (unregistered)");
  tap_eq(ev_register(EV_SOFTWARE, entry_normal(), event_arg(EV_SOFTWARE), SDEI_RM_ANY, 0), 0,
         "then REGISTER(0) is SUCCESS again");
  tap_eq(dispatch_count(EV_SOFTWARE), 1, "no further dispatch of event 0");
  disarm_events();
}

/* --- vCPU 1 ----------------------------------------------------------------------------------- */

static bool sec_wait_step(enum sec_step step) {
  if (spin_until_at_least(&sec.step, step, SPIN_LIMIT)) return true;
  tap_diag("  vCPU 1 did not reach step %u: at step %u%s", step, smp_load(&sec.step),
           smp_load(&sec.gave_up) ? ", gave up waiting for vCPU 0" : "");
  return false;
}

static bool start_secondary(enum sec_task task, const char* why) {
  sec = (struct secondary){
      .task = task,
      .conduit = conduit,
      .arg = event_arg(EV_SOFTWARE) | 0x100,
  };
  __atomic_thread_fence(__ATOMIC_RELEASE);
  uint64_t r = smccc(conduit, PSCI_CPU_ON_64, psci_target_of(1), (uintptr_t)_start, 0);
  tap_eq(r, PSCI_RET_SUCCESS, "CPU_ON64(vCPU 1) for %s is SUCCESS", why);
  return r == PSCI_RET_SUCCESS;
}

static bool wait_secondary_off(void) {
  bool off = psci_wait_affinity(conduit, psci_target_of(1), PSCI_AFFINITY_OFF, 1000000u) == PSCI_AFFINITY_OFF;
  tap_ok(off, "vCPU 1 is OFF again");
  return off;
}

/* DEN0054C private events, SDEI_EVENT_SIGNAL, PE masking: private state per PE, SIGNAL to another
 * PE, reset by CPU_ON. */
static void test_secondary(void) {
  const uint64_t t1 = psci_target_of(1);

  if (ncpus < 2) {
    tap_diag("the checks with a second vCPU need --cpus >= 2; found %u vCPU", ncpus);
    return;
  }
  reset_observations();
  tap_eq(ev_register(EV_SOFTWARE, entry_normal(), event_arg(EV_SOFTWARE), SDEI_RM_ANY, 0), 0,
         "vCPU 0: REGISTER(0) is SUCCESS");

  if (!start_secondary(SEC_ARM, "event 0 there")) return;
  bool at = sec_wait_step(SEC_REGISTERED_MASKED);
  tap_ok(at, "vCPU 1 registered event 0");
  if (!at) goto out;
  tap_eq(sec.mask_at_start, 0, "vCPU 1 starts masked: its PE_MASK is 0");
  tap_eq(sec.status_at_start, 0, "vCPU 1: STATUS(0) = 0 although vCPU 0 registered event 0 (private)");
  tap_eq(sec.reg, 0, "vCPU 1: REGISTER(0) is SUCCESS");
  tap_eq(sec.enable, 0, "vCPU 1: ENABLE(0) is SUCCESS");
  expect_status(EV_SOFTWARE, SDEI_STATUS_REGISTERED,
                "on vCPU 0 (registered, not enabled) after vCPU 1's REGISTER and ENABLE");
  tap_eq(ev_signal(EV_SOFTWARE, t1), SDEI_RET_INVALID_PARAMETERS,
         "SIGNAL(0, vCPU 1) while vCPU 1 is masked is INVALID_PARAMETERS");

  smp_store(&sec.go, SEC_REGISTERED_MASKED);
  if (!sec_wait_step(SEC_UNMASKED_DISABLED)) goto out;
  tap_eq(sec.disable, 0, "vCPU 1: DISABLE(0) is SUCCESS");
  tap_eq(sec.unmask, 0, "vCPU 1: PE_UNMASK is 0");
  tap_eq(ev_signal(EV_SOFTWARE, t1), SDEI_RET_INVALID_PARAMETERS,
         "SIGNAL(0, vCPU 1) with event 0 disabled there is INVALID_PARAMETERS");

  smp_store(&sec.go, SEC_UNMASKED_DISABLED);
  if (!sec_wait_step(SEC_ARMED)) goto out;
  tap_eq(sec.enable_again, 0, "vCPU 1: ENABLE(0) is SUCCESS");
  tap_eq(ev_signal(EV_CRITICAL, t1), SDEI_RET_INVALID_PARAMETERS,
         "SIGNAL(1, vCPU 1) with event 1 unregistered there is INVALID_PARAMETERS");
  tap_eq(ev_signal(EV_SHARED, t1), SDEI_RET_INVALID_PARAMETERS,
         "SIGNAL(2, vCPU 1) is INVALID_PARAMETERS (not signalable)");
  tap_eq(ev_signal(EV_SOFTWARE, t1), 0, "SIGNAL(0, vCPU 1) is SUCCESS");
  at = sec_wait_step(SEC_DONE);
  tap_ok(at && smp_load(&sec.handled) == 1, "vCPU 1's handler ran");
  if (at && sec.handled) {
    tap_eq(sec.handler_cpu, 1, "it ran on vCPU 1");
    tap_eq(sec.handler_x[0], EV_SOFTWARE, "vCPU 1's handler: x0 = 0");
    tap_eq(sec.handler_x[1], sec.arg, "vCPU 1's handler: x1 = vCPU 1's ep_argument");
    tap_eq(sec.handler_x[3] & ~PSTATE_NZCV_MASK, DAIF_ALL_MASKED | PSTATE_EL1H,
           "vCPU 1's handler: x3 = interrupted PSTATE, EL1h with DAIF masked");
    tap_ok(sec.handler_level == SDEI_LEVEL_NORMAL && sec.handler_daif == DAIF_ALL_MASKED &&
               sec.handler_current_el == CURRENT_EL_EL1 && sec.handler_spsel == SPSEL_SP_ELX,
           "vCPU 1's handler runs at EL1h with DAIF masked, via the normal entry point");
    tap_eq(sec.handler_status, STATUS_RUNNING_RE, "vCPU 1's handler: STATUS(0) = 7");
  }
  tap_eq(dispatch_count(EV_SOFTWARE), 0, "no handler ran on vCPU 0");
  expect_status(EV_SOFTWARE, SDEI_STATUS_REGISTERED, "on vCPU 0 still");

out:
  smp_store(&sec.go, SEC_DONE);
  if (!wait_secondary_off()) goto done;

  /* CPU_OFF, CPU_ON: the new start is masked; its private registrations are kept until
     PRIVATE_RESET (DEN0054C PE masking; TF-A's sdei_cpu_on_init only masks). */
  if (start_secondary(SEC_CHECK_RESET, "the reset check") && sec_wait_step(SEC_DONE)) {
    tap_eq(sec.mask_at_start, 0, "after CPU_OFF and CPU_ON, vCPU 1 is masked again");
    tap_eq(sec.status_at_start, SDEI_STATUS_REGISTERED | SDEI_STATUS_ENABLED,
           "after CPU_OFF and CPU_ON, event 0 is still registered and enabled on vCPU 1");
    tap_eq(sec.private_reset, 0, "vCPU 1: PRIVATE_RESET is SUCCESS");
    tap_eq(sec.status_after_reset, 0, "vCPU 1: after PRIVATE_RESET, STATUS(0) = 0");
    wait_secondary_off();
  }
done:
  tap_eq(sdei1(SDEI_EVENT_UNREGISTER, EV_SOFTWARE), 0, "vCPU 0: UNREGISTER(0) is SUCCESS");
}

/* --- Passes ----------------------------------------------------------------------------------- */

/* DEN0022F.b MPIDR target format, docs/architecture.md "The platform": probe AFFINITY_INFO for
 * indexes 1, 2, ... until INVALID_PARAMETERS. */
static unsigned count_cpus(void) {
  unsigned n = 1;
  while (n < GUEST_MAX_CPUS &&
         smccc(CONDUIT_HVC, PSCI_AFFINITY_INFO, psci_target_of(n), 0, 0) != PSCI_RET_INVALID_PARAMS)
    ++n;
  return n;
}

static void run_pass(unsigned p) {
  pass = p;
  conduit = pass_conduits[p];
  tap_prefix(pass_prefixes[p]);
  preservation = (struct preservation){0};

  if (p == 0) test_host_event();
  test_discovery();
  test_unknown_events();
  test_get_info();
  test_state_walk();
  test_mask();
  test_shared_routing();
  test_dispatch_complete();
  test_complete_and_resume();
  test_nesting();
  test_unregister_running();
  test_secondary();

  tap_eq(sdei0(SDEI_PE_MASK), 0, "at the end of the pass vCPU 0 is masked");
  tap_eq(sdei0(SDEI_PRIVATE_RESET), 0, "PRIVATE_RESET at the end of the pass is SUCCESS");
  tap_eq(sdei0(SDEI_SHARED_RESET), 0, "SHARED_RESET at the end of the pass is SUCCESS");
  tap_eq(unknown_dispatches, 0, "no handler ran for an event other than 0, 1, 2");
  tap_ok(preservation.clobbered == 0, "x4..x17 unchanged by every SDEI call (%u calls)", preservation.calls);
  if (preservation.clobbered)
    tap_diag("  %u call(s); first: FID 0x%08x changed x%u to 0x%lx", preservation.clobbered, preservation.fid,
             preservation.reg, preservation.value);
}

int main(void) {
  tap_diag("sdei-conformance: SDEI over HVC, then SMC");
  ncpus = count_cpus();
  tap_diag("%u vCPU(s)", ncpus);
  for (unsigned p = 0; p < PASSES; ++p) run_pass(p);
  finish();
}
