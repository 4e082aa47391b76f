/*
 * fidelity.elf: the SMCCC register rules that the firmware's fast paths must keep, once over
 * HVC and once over SMC. Each check is named after the rule it guards (DEN0028 section):
 *
 *   §2.6 a defined call writes x0..x3, x1..x3 zero when unused (KVM's smccc_set_retval), and
 *        keeps x4..x17;
 *   §5.2 an unknown FID answers NOT_SUPPORTED in x0 and changes nothing else;
 *        an immediate other than #0 is not an SMCCC call (KVM's handle_hvc / handle_smc):
 *        NOT_SUPPORTED, nothing else changed;
 *   §2.5 the FID is W0: x0[63:32] is ignored;
 *   §2.5.1 the SVE hint (bit 16) is ignored when the FID is decoded;
 *   §3.2 an SMC32 function reads only W1..W7 of its arguments;
 *   §3.1 SMC32 results are W0..W7: upper halves zero, a negative status sign-extended.
 *
 * Every input register holds a distinct sentinel, so a register written by mistake shows.
 * TAP; exit status = number of failures.
 */
#include <stdbool.h>
#include <stdint.h>

#include "guest/smccc.h"
#include "guest/tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HIGH_GARBAGE 0xA5A5A5A500000000ull
#define KVM_FEATURES_PTP (1u << 1) /* KVM_FEATURES R0 bit 1: KVM_PTP (hypercalls.rst) */
#define NO_SUCH_MPIDR 0xFFull      /* Aff0 = 255: no such vCPU here (nor under QEMU's -smp 1) */

static enum conduit conduit;

struct call {
  struct smccc_regs in;
  struct smccc_regs out;
};

static uint64_t sentinel(unsigned reg) {
  return 0x5E57000000000000ull | ((uint64_t)reg << 32) | (0xC0DE0000u + reg);
}

/* x0 = x0, x1..x3 = args (when given), the rest sentinels. */
static struct call run(uint64_t x0, unsigned nargs, const uint64_t* args, bool imm1) {
  struct call c = {.in.x[0] = x0};
  for (unsigned i = 1; i < SMCCC_NUM_REGS; ++i) c.in.x[i] = i <= nargs ? args[i - 1] : sentinel(i);
  c.out = c.in;
  if (imm1) {
    smccc_call_imm1(conduit, &c.out);
  } else {
    smccc_call(conduit, &c.out);
  }
  return c;
}

static struct call call0(uint64_t x0) {
  return run(x0, 0, 0, false);
}

static bool kept(const struct call* c, unsigned first, unsigned last) {
  for (unsigned i = first; i <= last; ++i) {
    if (c->out.x[i] != c->in.x[i]) return false;
  }
  return true;
}

static bool zero(const struct call* c, unsigned first, unsigned last) {
  for (unsigned i = first; i <= last; ++i) {
    if (c->out.x[i] != 0) return false;
  }
  return true;
}

static bool upper_halves_zero(const struct call* c, unsigned first, unsigned last) {
  for (unsigned i = first; i <= last; ++i) {
    if (c->out.x[i] >> 32) return false;
  }
  return true;
}

static void show(const struct call* c, unsigned last) {
  for (unsigned i = 0; i <= last; ++i) tap_diag("  x%-2u = 0x%016lx (in 0x%016lx)", i, c->out.x[i], c->in.x[i]);
}

static void check(bool ok, const struct call* c, unsigned last, const char* what) {
  tap_ok(ok, "%s", what);
  if (!ok) show(c, last);
}

static uint64_t psci_version;

/* §2.6: SMCCC_VERSION and PSCI_VERSION return one value; x1..x3 are zeroed, x4..x17 kept. */
static void test_defined_call_zeroes_x1_x3(void) {
  const struct call s = call0(SMCCC_VERSION);
  check((int64_t)s.out.x[0] > 0 && zero(&s, 1, 3) && kept(&s, 4, 17), &s, 17,
        "DEN0028 §2.6: SMCCC_VERSION writes x0, zeroes x1..x3, keeps x4..x17");
  const struct call p = call0(PSCI_VERSION);
  psci_version = p.out.x[0];
  check((int64_t)p.out.x[0] > 0 && zero(&p, 1, 3) && kept(&p, 4, 17), &p, 17,
        "DEN0028 §2.6: PSCI_VERSION writes x0, zeroes x1..x3, keeps x4..x17");
}

/* §5.2: NOT_SUPPORTED in x0 and nothing else, for FIDs no service owns or defines. */
static void test_unknown_fid_touches_x0_only(void) {
  static const uint32_t fids[] = {0x83000000u, 0x8400001Fu, 0xC4000000u, 0x8600FF7Fu};
  for (unsigned i = 0; i < ARRAY_SIZE(fids); ++i) {
    const struct call c = call0(fids[i]);
    tap_ok(c.out.x[0] == SMCCC_RET_NOT_SUPPORTED && kept(&c, 1, 17),
           "DEN0028 §5.2: unknown FID 0x%08x is NOT_SUPPORTED, x1..x17 unchanged", fids[i]);
    if (c.out.x[0] != SMCCC_RET_NOT_SUPPORTED || !kept(&c, 1, 17)) show(&c, 17);
  }
}

/* An SMCCC call uses immediate #0: PSCI_VERSION with #1 is not one (KVM's handle_hvc). */
static void test_nonzero_immediate_touches_x0_only(void) {
  const struct call c = run(PSCI_VERSION, 0, 0, true);
  check(c.out.x[0] == SMCCC_RET_NOT_SUPPORTED && kept(&c, 1, 17), &c, 17,
        "DEN0028 §5.2 (immediate #1 is no SMCCC call): PSCI_VERSION is NOT_SUPPORTED, x1..x17 unchanged");
}

/* §2.5: only W0 is the FID. */
static void test_x0_upper_half_ignored(void) {
  const struct call c = call0(HIGH_GARBAGE | PSCI_VERSION);
  check(c.out.x[0] == psci_version && zero(&c, 1, 3) && kept(&c, 4, 17), &c, 17,
        "DEN0028 §2.5: x0 = 0xA5A5A5A584000000 is PSCI_VERSION (x0[63:32] ignored)");
  const struct call v = call0(0xFFFFFFFF00000000ull | SMCCC_VERSION);
  check(v.out.x[0] == call0(SMCCC_VERSION).out.x[0] && zero(&v, 1, 3), &v, 3,
        "DEN0028 §2.5: x0 = 0xFFFFFFFF80000000 is SMCCC_VERSION (x0[63:32] ignored)");
}

/* §2.5.1: the SVE hint is not part of the function number. */
static void test_sve_hint_ignored(void) {
  const struct call c = call0(PSCI_VERSION | SMCCC_SVE_HINT);
  check(c.out.x[0] == psci_version && zero(&c, 1, 3) && kept(&c, 4, 17), &c, 17,
        "DEN0028 §2.5.1: 0x84010000 (SVE hint) is PSCI_VERSION, x1..x3 zeroed");
  const uint64_t arg = PSCI_VERSION;
  const struct call f = run(PSCI_FEATURES | SMCCC_SVE_HINT, 1, &arg, false);
  check(f.out.x[0] == 0, &f, 3,
        "DEN0028 §2.5.1: PSCI_FEATURES with the SVE hint answers PSCI_FEATURES(PSCI_VERSION) = 0");
  const struct call u = call0(0x83000000u | SMCCC_SVE_HINT);
  check(u.out.x[0] == SMCCC_RET_NOT_SUPPORTED && kept(&u, 1, 17), &u, 17,
        "DEN0028 §2.5.1: 0x83010000 (unknown FID with the hint) is NOT_SUPPORTED, x1..x17 unchanged");
}

/* §3.2: W1..W7 only. AFFINITY_INFO(0, 0) with garbage above is vCPU 0 at level 0: ON. */
static void test_smc32_arguments_narrowed(void) {
  const uint64_t args[2] = {HIGH_GARBAGE, HIGH_GARBAGE};
  const struct call a = run(PSCI_AFFINITY_INFO, 2, args, false);
  check(a.out.x[0] == PSCI_AFFINITY_ON && zero(&a, 1, 3), &a, 3,
        "DEN0028 §3.2: PSCI_AFFINITY_INFO (SMC32) reads W1, W2 only: x1 = x2 = 0xA5A5A5A500000000 is CPU 0, ON");
  const uint64_t fid = HIGH_GARBAGE | PSCI_VERSION;
  const struct call f = run(PSCI_FEATURES, 1, &fid, false);
  check(f.out.x[0] == 0, &f, 3,
        "DEN0028 §3.2: PSCI_FEATURES (SMC32) reads W1 only: 0xA5A5A5A584000000 is PSCI_VERSION");
}

/* §3.1: W0..W7; a negative status stays negative in all 64 bits (Linux compares x0 whole). */
static void test_smc32_results_truncated(void) {
  const uint64_t args[3] = {NO_SUCH_MPIDR, 0x40080000u, 0};
  const struct call on = run(PSCI_CPU_ON, 3, args, false);
  check(on.out.x[0] == PSCI_RET_INVALID_PARAMS && zero(&on, 1, 3), &on, 3,
        "DEN0028 §3.1: PSCI_CPU_ON (SMC32) of no such CPU is INVALID_PARAMETERS sign-extended (0xFFFFFFFFFFFFFFFE)");
  /* KVM_PTP (HVC32) returns the 64-bit wall clock and counter as W0:W1 and W2:W3. */
  const struct call feat = call0(VENDOR_HYP_KVM_FEATURES);
  if (feat.out.x[0] == SMCCC_RET_NOT_SUPPORTED || (feat.out.x[0] & KVM_FEATURES_PTP) == 0) {
    tap_skip("no KVM_PTP", "DEN0028 §3.1: KVM_PTP (SMC32) results are 32 bits wide");
    return;
  }
  const uint64_t selector = KVM_PTP_VIRT_COUNTER;
  const struct call ptp = run(VENDOR_HYP_KVM_PTP, 1, &selector, false);
  check((int64_t)ptp.out.x[0] >= 0 && upper_halves_zero(&ptp, 0, 3) && kept(&ptp, 4, 17), &ptp, 17,
        "DEN0028 §3.1: KVM_PTP (SMC32) results x0..x3 have bits 63:32 clear, x4..x17 kept");
}

static void run_conduit(enum conduit c) {
  conduit = c;
  tap_prefix(c == CONDUIT_HVC ? "hvc: " : "smc: ");
  test_defined_call_zeroes_x1_x3();
  test_unknown_fid_touches_x0_only();
  test_nonzero_immediate_touches_x0_only();
  test_x0_upper_half_ignored();
  test_sve_hint_ignored();
  test_smc32_arguments_narrowed();
  test_smc32_results_truncated();
}

int main(void) {
  tap_diag("fidelity: SMCCC register rules over HVC, then SMC");
  run_conduit(CONDUIT_HVC);
  run_conduit(CONDUIT_SMC);
  tap_prefix("");
  return tap_done();
}
