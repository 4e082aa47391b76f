/*
 * ptp.elf: the KVM vendor hypervisor service (owner 6) with KVM_PTP, as the smccc-emu firmware
 * model answers it, checked once over HVC and once over SMC. TAP on the console; exit status =
 * number of failures (capped at 255).
 *
 * Expected values are the model's decided answers: Linux's KVM hypercall documentation
 * (Documentation/virt/kvm/arm/hypercalls.rst, ptp_kvm) and README "What the firmware answers
 * today". In smccc-emu the wall clock KVM_PTP
 * returns is virtual: wall_ns = epoch + counter * 16 ns, with an epoch fixed for the run. The
 * guest prints that epoch as "# ptp epoch <decimal ns>" so the host can compare it with the
 * --epoch it passed.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest/counter.h"
#include "guest/smccc.h"
#include "guest/tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_EXIT_STATUS 255 /* statuses above are truncated by the host */

#define KVM_FEATURES_FEATURES_AND_PTP 0x3u /* bit 0: KVM_FEATURES itself, bit 1: PTP */
#define NS_PER_TICK 16u                    /* 62.5 MHz generic counter (README "time") */
#define PTP_CALLS_PER_SELECTOR 10u
#define NARROWED (1ull << 32) /* selector + NARROWED is the selector once narrowed to W1 */
#define ALL_ONES (~0ull)

/* KVM's UUID 28b46fb6-2ec5-11e9-a9ca-4b564d003a74 in SMCCC UID packing (Linux
 * include/linux/arm-smccc.h, ARM_SMCCC_VENDOR_HYP_UID_KVM). */
static const uint32_t kvm_uid[4] = {0xB66FB428u, 0xE911C52Eu, 0x564BCAA9u, 0x743A004Du};

/* --- Calls with sentinels ------------------------------------------------------------- */

struct outcome {
  uint64_t x[4];
};

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

/* x0 = fid, x1 = a1; x2..x17 hold sentinels (x2, x3 are results and must be overwritten). */
static struct outcome vendor_call(uint32_t fid, uint64_t a1) {
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
  return (struct outcome){{r.x[0], r.x[1], r.x[2], r.x[3]}};
}

/* --- Reporting ------------------------------------------------------------------------ */

static void diag_outcome(const struct outcome* o) {
  tap_diag("  x0 = 0x%016lx, x1 = 0x%016lx, x2 = 0x%016lx, x3 = 0x%016lx", o->x[0], o->x[1], o->x[2], o->x[3]);
}

/* --- Discovery ------------------------------------------------------------------------ */

/* Documentation/virt/kvm/arm/hypercalls.rst: KVM's UID, and a features bitmap with exactly FEATURES
 * and PTP. */
static void test_discovery(void) {
  struct outcome uid = vendor_call(VENDOR_HYP_CALL_UID, sentinel(1));
  bool uid_ok = true;
  for (unsigned i = 0; i < 4; ++i) uid_ok = uid_ok && uid.x[i] == kvm_uid[i];
  tap_ok(uid_ok, "Vendor Hypervisor UID is KVM's 28b46fb6-2ec5-11e9-a9ca-4b564d003a74");
  if (!uid_ok) diag_outcome(&uid);

  struct outcome features = vendor_call(VENDOR_HYP_KVM_FEATURES, sentinel(1));
  bool features_ok =
      features.x[0] == KVM_FEATURES_FEATURES_AND_PTP && features.x[1] == 0 && features.x[2] == 0 && features.x[3] == 0;
  tap_ok(features_ok, "KVM_FEATURES is 0x3 (FEATURES and PTP) with x1..x3 zero");
  if (!features_ok) diag_outcome(&features);
}

/* --- KVM_PTP -------------------------------------------------------------------------- */

/* The run's epoch, wall_ns - counter * 16, from the first successful KVM_PTP call. */
static bool have_epoch;
static uint64_t run_epoch;
static unsigned epoch_mismatches;

struct selector {
  uint64_t x1;
  const char* name;
  bool physical;
};

static const struct selector selectors[] = {
    {KVM_PTP_VIRT_COUNTER, "virtual counter, x1 = 0", false},
    {KVM_PTP_PHYS_COUNTER, "physical counter, x1 = 1", true},
    {NARROWED | KVM_PTP_VIRT_COUNTER, "x1 = 0x100000000, the virtual counter once narrowed", false},
    {NARROWED | KVM_PTP_PHYS_COUNTER, "x1 = 0x100000001, the physical counter once narrowed", true},
};

static uint64_t read_selected_counter(const struct selector* s) {
  return s->physical ? read_cntpct() : read_cntvct();
}

/*
 * ptp_kvm.rst KVM_PTP, docs/architecture.md "Virtual time and determinism": PTP_CALLS_PER_SELECTOR
 * calls. Each returns the wall clock in x0:x1 and the counter in x2:x3, 32 bits per register, bit
 * 31 of x0 clear; the counter lies between the counter read just before the call and the one read
 * just after (CNTVOFF is 0, so the virtual and physical counters agree); wall_ns - counter * 16 is
 * the run's epoch.
 */
static void test_ptp(const struct selector* s) {
  const char* counter_name = s->physical ? "CNTPCT_EL0" : "CNTVCT_EL0";
  unsigned bad_shape = 0, outside = 0, other_epoch = 0;
  struct outcome shape_example = {{0}}, range_example = {{0}};
  uint64_t range_before = 0, range_after = 0;

  for (unsigned i = 0; i < PTP_CALLS_PER_SELECTOR; ++i) {
    uint64_t before = read_selected_counter(s);
    struct outcome o = vendor_call(VENDOR_HYP_KVM_PTP, s->x1);
    uint64_t after = read_selected_counter(s);

    bool shape = (o.x[0] & 0x80000000u) == 0;
    for (unsigned r = 0; r < 4; ++r) shape = shape && (o.x[r] >> 32) == 0;
    if (!shape) {
      if (bad_shape++ == 0) shape_example = o;
      continue;
    }

    uint64_t wall_ns = o.x[0] << 32 | o.x[1];
    uint64_t counter = o.x[2] << 32 | o.x[3];
    if ((counter < before || counter > after) && outside++ == 0) {
      range_example = o;
      range_before = before;
      range_after = after;
    }
    uint64_t epoch = wall_ns - counter * NS_PER_TICK;
    if (!have_epoch) {
      have_epoch = true;
      run_epoch = epoch;
    } else if (epoch != run_epoch && other_epoch++ == 0) {
      tap_diag("  wall_ns %lu - counter %lu * 16 = %lu, not the run's epoch %lu", wall_ns, counter, epoch, run_epoch);
    }
  }
  bool any_valid = bad_shape < PTP_CALLS_PER_SELECTOR;

  tap_ok(bad_shape == 0, "KVM_PTP(%s) x %u: bits 63:32 of x0..x3 and bit 31 of x0 are clear", s->name,
         PTP_CALLS_PER_SELECTOR);
  if (bad_shape) {
    tap_diag("  %u calls failed; the first:", bad_shape);
    diag_outcome(&shape_example);
  }
  tap_ok(any_valid && outside == 0, "KVM_PTP(%s) x %u: %s read before <= counter <= %s read after", s->name,
         PTP_CALLS_PER_SELECTOR, counter_name, counter_name);
  if (outside) {
    tap_diag("  %u calls outside; the first: before %lu, after %lu", outside, range_before, range_after);
    diag_outcome(&range_example);
  }
  tap_ok(any_valid && other_epoch == 0, "KVM_PTP(%s) x %u: wall_ns - counter * 16 is the run's fixed epoch", s->name,
         PTP_CALLS_PER_SELECTOR);
  epoch_mismatches += other_epoch;
}

/* ptp_kvm.rst KVM_PTP: a selector other than 0 or 1 (after narrowing) is -1 with x1..x3 zero. */
static void test_ptp_bad_selector(uint64_t x1) {
  struct outcome o = vendor_call(VENDOR_HYP_KVM_PTP, x1);
  bool ok = o.x[0] == ALL_ONES && o.x[1] == 0 && o.x[2] == 0 && o.x[3] == 0;
  tap_ok(ok, "KVM_PTP(x1 = 0x%lx) is NOT_SUPPORTED (x0 all ones) with x1..x3 zero", x1);
  if (!ok) diag_outcome(&o);
}

/* docs/architecture.md "The call path" (SMCCC 1.2): registers that are not results are preserved. */
static void test_preservation(void) {
  tap_ok(preservation.clobbered == 0, "x4..x17 are preserved by all %u vendor calls", preservation.calls);
  if (preservation.clobbered)
    tap_diag("  %u calls clobbered a register; the first: FID 0x%08x, x%u = 0x%016lx", preservation.clobbered,
             preservation.fid, preservation.reg, preservation.value);
}

static void run_pass(enum conduit c, const char* prefix) {
  static const uint64_t bad_selectors[] = {2, 0xFFFFFFFFu, NARROWED | 2};

  conduit = c;
  preservation = (struct preservation){0};
  tap_prefix(prefix);

  test_discovery();
  for (unsigned i = 0; i < ARRAY_SIZE(selectors); ++i) test_ptp(&selectors[i]);
  for (unsigned i = 0; i < ARRAY_SIZE(bad_selectors); ++i) test_ptp_bad_selector(bad_selectors[i]);
  test_preservation();
}

int main(void) {
  tap_diag("ptp: KVM vendor service and KVM_PTP over HVC, then SMC");
  run_pass(CONDUIT_HVC, "hvc: ");
  run_pass(CONDUIT_SMC, "smc: ");
  tap_prefix("");
  if (have_epoch)
    tap_diag("ptp epoch %lu", run_epoch);
  else
    tap_diag("ptp epoch unknown: no KVM_PTP call succeeded");
  tap_ok(have_epoch && epoch_mismatches == 0,
         "the epoch is the same in every KVM_PTP answer, both selectors and both conduits");
  int failed = tap_done();
  return failed > MAX_EXIT_STATUS ? MAX_EXIT_STATUS : failed;
}
