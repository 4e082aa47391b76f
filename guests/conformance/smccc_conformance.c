/*
 * smccc-conformance.elf: checks the smccc-emu firmware model's answers, once over HVC and
 * once over SMC, and reports TAP on the console. Exit status = number of failures.
 *
 * Expected values are the model's decided answers: SMCCC (DEN0028), PSCI (DEN0022) and
 * where they leave room, README "What the firmware answers today".
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest/arch.h"
#include "guest/exceptions.h"
#include "guest/smccc.h"
#include "guest/tap.h"

#define SMCCC_VERSION_1_2 0x10002u
#define PSCI_VERSION_1_1 0x10001u
#define PSCI_MIGRATE_INFO_NO_TOS_MIGRATION 2u
#define KVM_FEATURES_BIT_FEATURES 1u /* bit 0: the FEATURES call itself */
#define MAX_CALL_COUNT 0x10000u      /* an owner range has 16-bit function numbers */
#define MAX_EXIT_STATUS 255          /* statuses above are truncated by the host */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Probes in probes.S. */
void el0_hvc_probe(void);
void el0_smc_probe(void);
extern const uint32_t el0_hvc_probe_insn[];
extern const uint32_t el0_smc_probe_insn[];
extern uint64_t el0_probe_x0;
int el1_udf_probe(void);
extern const uint32_t el1_udf_insn[];
#define HIGH_REGS 13 /* x18..x30 */
void smccc_call_high(enum conduit conduit, struct smccc_regs* r, uint64_t high[HIGH_REGS]);

static enum conduit conduit;
/* What SMCCC_VERSION says: SOC_ID's SMC64 form (and its name type) and FEATURE_AVAILABILITY
 * exist only from 1.6 and 1.5 (DEN0028); smccc-versions.elf checks the rest of the gating. */
static uint64_t smccc_version;
#define SMCCC_VERSION_1_5 0x10005u
#define SMCCC_VERSION_1_6 0x10006u

/* --- Calls with sentinels ------------------------------------------------------------ */

/* Input and output registers of one call; untouched inputs hold distinct sentinels. */
struct call {
  struct smccc_regs in;
  struct smccc_regs out;
};

struct named_fid {
  uint32_t fid;
  const char* name;
};

/* A query (or call) and the x0 it must return. */
struct expectation {
  uint32_t fid;
  uint64_t want;
  const char* name;
};

static uint64_t sentinel(unsigned reg) {
  return 0x5E57000000000000ull | ((uint64_t)reg << 32) | (0xC0DE0000u + reg);
}

static struct call call_prepare(uint64_t x0) {
  struct call c = {.in.x[0] = x0};
  for (unsigned i = 1; i < SMCCC_NUM_REGS; ++i) c.in.x[i] = sentinel(i);
  return c;
}

static void call_run(struct call* c) {
  c->out = c->in;
  smccc_call(conduit, &c->out);
}

static struct call call0(uint64_t fid) {
  struct call c = call_prepare(fid);
  call_run(&c);
  return c;
}

static struct call call1(uint64_t fid, uint64_t a1) {
  struct call c = call_prepare(fid);
  c.in.x[1] = a1;
  call_run(&c);
  return c;
}

static bool unchanged(const struct call* c, unsigned first, unsigned last) {
  for (unsigned i = first; i <= last; ++i) {
    if (c->out.x[i] != c->in.x[i]) return false;
  }
  return true;
}

static bool all_zero(const struct call* c, unsigned first, unsigned last) {
  for (unsigned i = first; i <= last; ++i) {
    if (c->out.x[i] != 0) return false;
  }
  return true;
}

static bool words_equal(const struct call* c, const uint32_t want[4]) {
  for (unsigned i = 0; i < 4; ++i) {
    if (c->out.x[i] != want[i]) return false;
  }
  return true;
}

/* --- Reporting ----------------------------------------------------------------------- */

static void diag_regs(const struct call* c, unsigned first, unsigned last) {
  for (unsigned i = first; i <= last; ++i) tap_diag("  x%-2u = 0x%016lx (in 0x%016lx)", i, c->out.x[i], c->in.x[i]);
}

/* On failure also shows the registers the check looked at. */
static void check_regs(bool cond, const struct call* c, unsigned first, unsigned last, const char* fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void check_regs(bool cond, const struct call* c, unsigned first, unsigned last, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tap_vok(cond, fmt, ap);
  va_end(ap);
  if (!cond) diag_regs(c, first, last);
}

/* --- SMCCC core ---------------------------------------------------------------------- */

/* DEN0028 SMCCC_VERSION: 1.2 or later here; single-value results zero x1..x3 (as KVM). */
static void test_smccc_version(void) {
  struct call c = call0(SMCCC_VERSION);
  smccc_version = c.out.x[0];
  tap_diag("SMCCC_VERSION 0x%lx", smccc_version);
  tap_ok(smccc_version >= SMCCC_VERSION_1_2 && smccc_version <= SMCCC_VERSION_1_6,
         "SMCCC_VERSION is 1.2..1.6 (the x0..x17 rules below are 1.2's)");
  check_regs(all_zero(&c, 1, 3), &c, 1, 3, "SMCCC_VERSION zeroes x1..x3");
  check_regs(unchanged(&c, 4, 17), &c, 4, 17, "SMCCC_VERSION preserves x4..x17");
}

/* DEN0028 SMCCC_ARCH_FEATURES: implemented arch calls 0, workarounds in their own encodings,
 * others -1. */
static const struct expectation arch_features[] = {
    {SMCCC_VERSION, 0, "SMCCC_VERSION"},
    {SMCCC_ARCH_FEATURES, 0, "SMCCC_ARCH_FEATURES"},
    {SMCCC_ARCH_SOC_ID, 0, "SMCCC_ARCH_SOC_ID"},
    {SMCCC_ARCH_WORKAROUND_1, SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED, "WORKAROUND_1"},
    {SMCCC_ARCH_WORKAROUND_2, SMCCC_RET_NOT_REQUIRED, "WORKAROUND_2"},
    {SMCCC_ARCH_WORKAROUND_3, SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED, "WORKAROUND_3"},
    {SMCCC_ARCH_WORKAROUND_4, SMCCC_RET_NOT_SUPPORTED, "WORKAROUND_4"},
    {PSCI_VERSION, SMCCC_RET_NOT_SUPPORTED, "PSCI_VERSION (own discovery)"},
    {0x82000000u, SMCCC_RET_NOT_SUPPORTED, "SiP 0x82000000"},
};

static void test_arch_features(void) {
  for (unsigned i = 0; i < ARRAY_SIZE(arch_features); ++i) {
    const struct expectation* e = &arch_features[i];
    tap_eq(call1(SMCCC_ARCH_FEATURES, e->fid).out.x[0], e->want, "SMCCC_ARCH_FEATURES(%s) = %ld", e->name,
           (int64_t)e->want);
  }
  const uint64_t soc64 = smccc_version >= SMCCC_VERSION_1_6 ? 0 : SMCCC_RET_NOT_SUPPORTED;
  tap_eq(call1(SMCCC_ARCH_FEATURES, SMCCC_ARCH_SOC_ID64).out.x[0], soc64,
         "SMCCC_ARCH_FEATURES(SMCCC_ARCH_SOC_ID64) = %ld (SMCCC 1.6)", (int64_t)soc64);
  const uint64_t avail = smccc_version >= SMCCC_VERSION_1_5 ? 0 : SMCCC_RET_NOT_SUPPORTED;
  tap_eq(call1(SMCCC_ARCH_FEATURES, SMCCC_ARCH_FEATURE_AVAILABILITY64).out.x[0], avail,
         "SMCCC_ARCH_FEATURES(FEATURE_AVAILABILITY) = %ld (SMCCC 1.5)", (int64_t)avail);
}

/* DEN0028 SMCCC_ARCH_SOC_ID: SoC version/revision words have bit 31 clear. */
static bool soc_word_valid(uint64_t x0) {
  return (int64_t)x0 >= 0 && (x0 & 0x80000000u) == 0;
}

/* DEN0028 Table 2-1, register use: SMC32 calls use only the low 32 bits of x0 and of each argument. */
static void test_smc32_narrowing(void) {
  uint64_t soc_version = call1(SMCCC_ARCH_SOC_ID, SMCCC_SOC_ID_VERSION).out.x[0];
  uint64_t soc_wide = call1(SMCCC_ARCH_SOC_ID, 0x100000000ull).out.x[0];

  tap_eq(call1(SMCCC_ARCH_FEATURES, 0xFFFFFFFF80000000ull).out.x[0], 0,
         "SMCCC_ARCH_FEATURES ignores the upper half of x1 (0xFFFFFFFF80000000)");
  tap_eq(call1(PSCI_FEATURES, 0xDEAD00008400000Aull).out.x[0], 0,
         "PSCI_FEATURES ignores the upper half of x1 (0xDEAD00008400000A)");
  tap_ok(soc_word_valid(soc_wide) && soc_wide == soc_version,
         "SMCCC_ARCH_SOC_ID with x1 = 0x100000000 is type 0 (version)");
  tap_eq(call0(0xFFFFFFFF00000000ull | SMCCC_VERSION).out.x[0], smccc_version,
         "SMCCC_VERSION ignores the upper half of x0; result upper half is zero");
}

/* docs/architecture.md, "The call path" and "Model decisions": NOT_SUPPORTED changes x0 only
 * (DEN0028 Unknown Function Identifier; KVM zeroes x1..x3). */
static const struct named_fid unknown_fids[] = {
    {0x82000000u, "SiP service"},
    {0x83000000u, "OEM service"},
    {0xC3000000u, "64-bit OEM service"},
    {PSCI_CPU_FREEZE, "CPU_FREEZE, not implemented"},
    {0x04000000u, "yielding call"},
    {0x84020000u, "fast call with reserved bits 23:17 set"},
    {0x8500FF01u, "Standard Hypervisor UID, not defined"},
};

static void test_unknown_fids(void) {
  for (unsigned i = 0; i < ARRAY_SIZE(unknown_fids); ++i) {
    const struct named_fid* e = &unknown_fids[i];
    struct call c = call0(e->fid);
    check_regs(c.out.x[0] == SMCCC_RET_NOT_SUPPORTED && unchanged(&c, 1, 17), &c, 0, 17,
               "0x%08x (%s) is NOT_SUPPORTED and leaves x1..x17 unchanged", e->fid, e->name);
  }
}

/* DEN0028 v1.3 SVE hint: the SVE hint bit 16 is ignored when decoding a fast call. */
static void test_sve_hint(void) {
  tap_eq(call0(SMCCC_VERSION | SMCCC_SVE_HINT).out.x[0], smccc_version,
         "SMCCC_VERSION with the SVE hint bit (0x80010000) is served");
  tap_eq(call1(PSCI_FEATURES | SMCCC_SVE_HINT, PSCI_VERSION).out.x[0], 0,
         "PSCI_FEATURES with the SVE hint bit (0x8401000A) is served");
}

/* DEN0028 (SMCCC calls use immediate #0), as KVM's handle_smc: a non-zero immediate is not an SMCCC
 * call. */
static void test_nonzero_immediate(void) {
  struct call c = call_prepare(SMCCC_VERSION);
  c.out = c.in;
  smccc_call_imm1(conduit, &c.out);
  check_regs(c.out.x[0] == SMCCC_RET_NOT_SUPPORTED && unchanged(&c, 1, 17), &c, 0, 17,
             "#1 immediate: SMCCC_VERSION is NOT_SUPPORTED, x1..x17 unchanged");
}

static bool printable_ascii(const char* s) {
  for (; *s; ++s) {
    if (*s < 0x20 || *s > 0x7E) return false;
  }
  return true;
}

static bool name_padding_zero(const struct smccc_regs* r, unsigned len) {
  for (unsigned k = len; k < SMCCC_SOC_NAME_BYTES; ++k) {
    if (smccc_regs_byte(r, 1, k) != 0) return false;
  }
  return true;
}

/* DEN0028: SMCCC_ARCH_SOC_ID types 0 and 1 (32-bit), 2 only through SOC_ID64. */
static void test_soc_id(void) {
  uint64_t version = call1(SMCCC_ARCH_SOC_ID, SMCCC_SOC_ID_VERSION).out.x[0];
  uint64_t revision = call1(SMCCC_ARCH_SOC_ID, SMCCC_SOC_ID_REVISION).out.x[0];
  tap_ok(soc_word_valid(version), "SOC_ID(version) is non-negative with bit 31 clear");
  tap_ok(soc_word_valid(revision), "SOC_ID(revision) is non-negative with bit 31 clear");
  tap_diag("SoC version 0x%08lx, revision 0x%08lx", version, revision);

  if (smccc_version < SMCCC_VERSION_1_6) {
    struct call n = call1(SMCCC_ARCH_SOC_ID64, SMCCC_SOC_ID_NAME);
    check_regs(n.out.x[0] == SMCCC_RET_NOT_SUPPORTED && unchanged(&n, 1, 17), &n, 0, 17,
               "SOC_ID64(name) before SMCCC 1.6 is NOT_SUPPORTED, x1..x17 unchanged");
    tap_eq(call1(SMCCC_ARCH_SOC_ID, SMCCC_SOC_ID_NAME).out.x[0], SMCCC_RET_INVALID_PARAMETER,
           "SOC_ID(name) through the 32-bit FID is INVALID_PARAMETER");
    return;
  }
  struct call n = call1(SMCCC_ARCH_SOC_ID64, SMCCC_SOC_ID_NAME);
  char name[SMCCC_SOC_NAME_BYTES];
  int len = smccc_unpack_string(&n.out, 1, name, sizeof name);
  tap_eq(n.out.x[0], SMCCC_RET_SUCCESS, "SOC_ID64(name) succeeds");
  tap_ok(len > 0 && printable_ascii(name), "SOC_ID64(name) is a non-empty NUL-terminated printable ASCII string");
  tap_ok(len >= 0 && name_padding_zero(&n.out, (unsigned)len), "SOC_ID64(name) bytes after the NUL are zero");
  if (len >= 0) tap_diag("SoC name \"%s\"", name);

  tap_eq(call1(SMCCC_ARCH_SOC_ID, SMCCC_SOC_ID_NAME).out.x[0], SMCCC_RET_INVALID_PARAMETER,
         "SOC_ID(name) through the 32-bit FID is INVALID_PARAMETER");
  tap_eq(call1(SMCCC_ARCH_SOC_ID, 3).out.x[0], SMCCC_RET_INVALID_PARAMETER, "SOC_ID(type 3) is INVALID_PARAMETER");
}

/* DEN0028 register use: x18..x30 are preserved, even by a call that returns in all of x1..x17. */
static void test_high_registers_preserved(void) {
  struct smccc_regs r = {.x = {SMCCC_ARCH_SOC_ID64, SMCCC_SOC_ID_NAME}};
  uint64_t high[HIGH_REGS];
  bool kept = true;

  for (unsigned i = 0; i < HIGH_REGS; ++i) high[i] = sentinel(18 + i);
  smccc_call_high(conduit, &r, high);
  for (unsigned i = 0; i < HIGH_REGS; ++i) {
    if (high[i] != sentinel(18 + i)) {
      kept = false;
      tap_diag("  x%u = 0x%016lx", 18 + i, high[i]);
    }
  }
  tap_ok(kept, "SOC_ID64(name) preserves x18..x30");
}

/* DEN0028 SMCCC_ARCH_WORKAROUND_*, docs/architecture.md "Model decisions": executing a workaround
 * is a no-op returning 0. */
static void test_workarounds(void) {
  static const struct named_fid workarounds[] = {
      {SMCCC_ARCH_WORKAROUND_1, "WORKAROUND_1"},
      {SMCCC_ARCH_WORKAROUND_2, "WORKAROUND_2(1)"},
      {SMCCC_ARCH_WORKAROUND_3, "WORKAROUND_3"},
  };
  for (unsigned i = 0; i < ARRAY_SIZE(workarounds); ++i) {
    const struct named_fid* e = &workarounds[i];
    struct call c = call1(e->fid, 1); /* x1 = 1: WORKAROUND_2 "enable"; ignored by 1, 3 */
    check_regs(c.out.x[0] == SMCCC_RET_SUCCESS && unchanged(&c, 4, 17), &c, 0, 17, "%s returns 0 and preserves x4..x17",
               e->name);
  }
}

/* --- PSCI ---------------------------------------------------------------------------- */

/* DEN0022F.b PSCI_FEATURES, docs/architecture.md "Model decisions" (PSCI 1.1): what PSCI_FEATURES
 * reports. */
static const struct expectation psci_features[] = {
    {PSCI_VERSION, 0, "PSCI_VERSION"},
    {PSCI_FEATURES, 0, "PSCI_FEATURES"},
    {PSCI_SYSTEM_OFF, 0, "SYSTEM_OFF"},
    {PSCI_SYSTEM_RESET, 0, "SYSTEM_RESET"},
    {PSCI_SYSTEM_RESET2, 0, "SYSTEM_RESET2"},
    {PSCI_SYSTEM_RESET2_64, 0, "SYSTEM_RESET2 64-bit"},
    {PSCI_MIGRATE_INFO_TYPE, 0, "MIGRATE_INFO_TYPE"},
    {SMCCC_VERSION, 0, "SMCCC_VERSION"},
    {PSCI_CPU_FREEZE, PSCI_RET_NOT_SUPPORTED, "CPU_FREEZE"},
    {0x8400001Fu, PSCI_RET_NOT_SUPPORTED, "reserved PSCI 0x8400001F"},
    {VENDOR_HYP_KVM_FEATURES, PSCI_RET_NOT_SUPPORTED, "non-PSCI 0x86000000"},
};

/* DEN0022F.b PSCI_VERSION, MIGRATE_INFO_TYPE, PSCI_FEATURES. */
static void test_psci_discovery(void) {
  tap_eq(call0(PSCI_VERSION).out.x[0], PSCI_VERSION_1_1, "PSCI_VERSION is 1.1 (0x10001)");
  for (unsigned i = 0; i < ARRAY_SIZE(psci_features); ++i) {
    const struct expectation* e = &psci_features[i];
    tap_eq(call1(PSCI_FEATURES, e->fid).out.x[0], e->want, "PSCI_FEATURES(%s) = %ld", e->name, (int64_t)e->want);
  }
  tap_eq(call0(PSCI_MIGRATE_INFO_TYPE).out.x[0], PSCI_MIGRATE_INFO_NO_TOS_MIGRATION,
         "MIGRATE_INFO_TYPE is 2 (no Trusted OS migration)");
}

/*
 * DEN0022F.b SYSTEM_RESET2, docs/architecture.md "Model decisions": only the architectural warm
 * reset (type 0) is supported. Type 0 is never issued here: it would reset the machine.
 */
static void test_system_reset2_rejects(void) {
  static const uint32_t fids[] = {PSCI_SYSTEM_RESET2, PSCI_SYSTEM_RESET2_64};
  static const uint64_t types[] = {1, 0x80000000u};

  for (unsigned f = 0; f < ARRAY_SIZE(fids); ++f) {
    for (unsigned t = 0; t < ARRAY_SIZE(types); ++t) {
      struct call c = call_prepare(fids[f]);
      c.in.x[1] = types[t];
      c.in.x[2] = 0; /* cookie */
      call_run(&c);
      tap_eq(c.out.x[0], PSCI_RET_INVALID_PARAMS, "SYSTEM_RESET2 0x%08x type 0x%lx is INVALID_PARAMETERS", fids[f],
             types[t]);
    }
  }
}

/* --- Per-owner queries --------------------------------------------------------------- */

/* smccc-emu Standard Service UUID 163b0ea2-b73d-4050-af49-848c8f4153dc, DEN0028 General Service
 * Queries packing. */
static const uint32_t std_svc_uid[4] = {0xA20E3B16u, 0x50403DB7u, 0x8C8449AFu, 0xDC53418Fu};
/* KVM UUID 28b46fb6-2ec5-11e9-a9ca-4b564d003a74 (Linux include/linux/arm-smccc.h,
 * ARM_SMCCC_VENDOR_HYP_UID_KVM). */
static const uint32_t kvm_uid[4] = {0xB66FB428u, 0xE911C52Eu, 0x564BCAA9u, 0x743A004Du};

/* DEN0028 General Service Queries: Standard Secure service Call Count / UID / Revision. */
static void test_std_service_queries(void) {
  struct call count = call0(STD_SVC_CALL_COUNT);
  struct call uid = call0(STD_SVC_UID);
  struct call rev = call0(STD_SVC_REVISION);

  tap_ok(count.out.x[0] > 0 && count.out.x[0] <= MAX_CALL_COUNT, "Standard Service Call Count is positive");
  tap_diag("Standard Service Call Count %ld", (int64_t)count.out.x[0]);
  check_regs(words_equal(&uid, std_svc_uid), &uid, 0, 3,
             "Standard Service UID is 163b0ea2-b73d-4050-af49-848c8f4153dc");
  check_regs(rev.out.x[0] == 0 && rev.out.x[1] == 1, &rev, 0, 1, "Standard Service Revision is 0.1");
}

/* Documentation/virt/kvm/arm/hypercalls.rst: KVM vendor hypervisor UID and FEATURES. */
static void test_kvm_vendor_service(void) {
  struct call uid = call0(VENDOR_HYP_CALL_UID);
  struct call features = call0(VENDOR_HYP_KVM_FEATURES);

  check_regs(words_equal(&uid, kvm_uid), &uid, 0, 3,
             "Vendor Hypervisor UID is KVM's 28b46fb6-2ec5-11e9-a9ca-4b564d003a74");
  check_regs((features.out.x[0] & KVM_FEATURES_BIT_FEATURES) && all_zero(&features, 1, 3), &features, 0, 3,
             "KVM_FEATURES has bit 0 set and x1..x3 zero");
}

/* --- Exceptions ---------------------------------------------------------------------- */

/* docs/architecture.md, "Exceptions into the guest" and "Model decisions": HVC/SMC at EL0 is
 * UNDEFINED (EC 0, IL 1, ELR = the instruction). */
static void test_el0_call_is_undefined(void) {
  bool hvc = conduit == CONDUIT_HVC;
  const char* insn = hvc ? "HVC" : "SMC";
  uintptr_t insn_addr = (uintptr_t)(hvc ? el0_hvc_probe_insn : el0_smc_probe_insn);

  el0_probe_x0 = 0;
  uint64_t before = guest_exception_count();
  int rc = run_at_el0(hvc ? el0_hvc_probe : el0_smc_probe);
  bool one = guest_exception_count() - before == 1;
  struct guest_exception e = guest_last_exception();

  tap_ok(rc == 0 && one, "%s #0 at EL0 takes exactly one exception, then returns to EL1", insn);
  tap_ok(one && e.from_el0 && esr_ec(e.esr) == ESR_EC_UNKNOWN && (e.esr & ESR_IL),
         "%s #0 at EL0 is UNDEFINED (from EL0, EC 0x00, IL 1)", insn);
  if (one) tap_diag("  ESR_EL1 0x%08lx, ELR_EL1 0x%016lx", e.esr, e.elr);
  tap_ok(one && e.elr == insn_addr, "%s #0 at EL0 reports ELR_EL1 = its own address", insn);
  tap_eq(el0_probe_x0, SMCCC_VERSION, "%s #0 at EL0 reaches no firmware (x0 unchanged)", insn);
}

/* docs/architecture.md "Exceptions into the guest": UDF at EL1 is delivered to VBAR_EL1 and the
 * runtime skips it. */
static void test_udf_at_el1(void) {
  uint64_t before = guest_exception_count();
  int continued = el1_udf_probe();
  bool one = guest_exception_count() - before == 1;
  struct guest_exception e = guest_last_exception();

  tap_ok(one, "UDF #0 at EL1 takes exactly one exception");
  tap_ok(one && !e.from_el0 && spsr_el(e.spsr) == 1 && esr_ec(e.esr) == ESR_EC_UNKNOWN && (e.esr & ESR_IL),
         "UDF #0 at EL1 is reported from EL1 with EC 0x00, IL 1");
  tap_ok(one && e.elr == (uintptr_t)el1_udf_insn, "UDF #0 at EL1 reports ELR_EL1 = its address");
  tap_ok(continued == 1, "execution continues after the UDF");
}

/* --- Driver -------------------------------------------------------------------------- */

static void run_conduit(enum conduit c) {
  conduit = c;
  tap_prefix(c == CONDUIT_HVC ? "hvc: " : "smc: ");

  uint64_t before = guest_exception_count();
  test_smccc_version();
  test_arch_features();
  test_smc32_narrowing();
  test_unknown_fids();
  test_sve_hint();
  test_nonzero_immediate();
  test_soc_id();
  test_high_registers_preserved();
  test_workarounds();
  test_psci_discovery();
  test_system_reset2_rejects();
  test_std_service_queries();
  test_kvm_vendor_service();
  tap_ok(guest_exception_count() == before, "no exception was taken by the calls above");

  test_el0_call_is_undefined();
}

int main(void) {
  tap_diag("smccc-conformance: smccc-emu firmware model over HVC, then SMC");
  run_conduit(CONDUIT_HVC);
  run_conduit(CONDUIT_SMC);

  tap_prefix("");
  test_udf_at_el1();

  int failed = tap_done();
  return failed > MAX_EXIT_STATUS ? MAX_EXIT_STATUS : failed;
}
