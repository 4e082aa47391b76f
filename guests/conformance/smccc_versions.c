/*
 * smccc-versions.elf: the SMCCC version the firmware reports decides what it offers, over
 * HVC and then SMC. Run with `--fw-reg smccc-version=0x1000N` (N = 1..6; default 1.2).
 *
 * Each call below exists from the DEN0028 version that added it: at an earlier version it
 * must be unknown (NOT_SUPPORTED) and SMCCC_ARCH_FEATURES must say -1; from that version on
 * both must say it is there. SMCCC_ARCH_FEATURE_AVAILABILITY's bitmasks (1 = the feature is
 * enabled for this world, TF-A's encoding) are checked against the ID registers this CPU
 * shows. TAP; exit status = number of failures.
 */
#include <stdbool.h>
#include <stdint.h>

#include "guest/arch.h"
#include "guest/smccc.h"
#include "guest/tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define V(minor) (0x10000u | (minor))

static enum conduit conduit;

static struct smccc_regs call(uint32_t fid, uint64_t x1) {
  struct smccc_regs r = {.x = {fid, x1}};
  smccc_call(conduit, &r);
  return r;
}

/* A call, the SMCCC version that added it, and ARCH_FEATURES' answer once it is there. */
struct gated {
  uint32_t fid;
  uint64_t x1;
  unsigned since;
  uint64_t feature;
  const char* name;
};

static const struct gated gated_calls[] = {
    {SMCCC_ARCH_FEATURES, SMCCC_VERSION, V(1), 0, "SMCCC_ARCH_FEATURES"},
    {SMCCC_ARCH_WORKAROUND_1, 0, V(1), SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED, "WORKAROUND_1"},
    {SMCCC_ARCH_SOC_ID, SMCCC_SOC_ID_VERSION, V(2), 0, "SMCCC_ARCH_SOC_ID"},
    {SMCCC_ARCH_FEATURE_AVAILABILITY64, SMCCC_FEAT_AVAIL_SCR_EL3, V(5), 0, "SMCCC_ARCH_FEATURE_AVAILABILITY"},
    {SMCCC_ARCH_SOC_ID64, SMCCC_SOC_ID_NAME, V(6), 0, "SMCCC_ARCH_SOC_ID64"},
    /* Arm's CVE-2024-7881 interface: NOT_SUPPORTED from ARCH_FEATURES = not affected. */
    {SMCCC_ARCH_WORKAROUND_4, 0, V(6), SMCCC_RET_NOT_SUPPORTED, "WORKAROUND_4"},
};

static void check_gated(unsigned version) {
  for (unsigned i = 0; i < ARRAY_SIZE(gated_calls); ++i) {
    const struct gated* g = &gated_calls[i];
    const bool there = version >= g->since;
    tap_eq(call(SMCCC_ARCH_FEATURES, g->fid).x[0], there ? g->feature : SMCCC_RET_NOT_SUPPORTED,
           "SMCCC_ARCH_FEATURES(%s) %s at 1.%u (since 1.%u)", g->name, there ? "reports it" : "is -1",
           smccc_version_minor(version), smccc_version_minor(g->since));
    const uint64_t x0 = call(g->fid, g->x1).x[0];
    tap_ok(there ? x0 != SMCCC_RET_NOT_SUPPORTED : x0 == SMCCC_RET_NOT_SUPPORTED, "%s is %s (x0 = %ld)", g->name,
           there ? "answered" : "NOT_SUPPORTED", (int64_t)x0);
  }
  /* The SMC32 form of FEATURE_AVAILABILITY never exists: its bitmask needs 64 bits. */
  tap_eq(call(SMCCC_ARCH_FEATURES, 0x80000003u).x[0], SMCCC_RET_NOT_SUPPORTED,
         "SMCCC_ARCH_FEATURES(0x80000003, no SMC32 FEATURE_AVAILABILITY) is -1");
  /* PSCI_FEATURES(SMCCC_VERSION) is how a PSCI 1.x client finds SMCCC >= 1.1 at all. */
  tap_eq(call(PSCI_FEATURES, SMCCC_VERSION).x[0], 0, "PSCI_FEATURES(SMCCC_VERSION) = 0");
}

static void check_workaround_4(unsigned version) {
  if (version < V(6)) return;
  struct smccc_regs r = {.x = {SMCCC_ARCH_WORKAROUND_4, 11, 12, 13, 14}};
  smccc_call(conduit, &r);
  tap_ok(r.x[0] == 0 && r.x[4] == 14, "WORKAROUND_4 is a no-op returning 0 and keeps x4");
}

static unsigned field(uint64_t reg, unsigned shift) {
  return (unsigned)(reg >> shift) & 0xFu;
}

/* Bit b of the answer for `reg` against what the ID registers say about its feature. */
static void check_bit(uint64_t mask, unsigned bit, bool feature, const char* what) {
  const bool set = (mask >> bit) & 1u;
  tap_ok(set == feature, "FEATURE_AVAILABILITY %s: bit %u = %d, ID registers say %s", what, bit, set,
         feature ? "present" : "absent");
}

static void check_feature_availability(unsigned version) {
  if (version < V(5)) return;
  const uint64_t pfr0 = read_sysreg(id_aa64pfr0_el1);
  const uint64_t pfr1 = read_sysreg(id_aa64pfr1_el1);
  const uint64_t isar0 = read_sysreg(id_aa64isar0_el1);
  const uint64_t isar1 = read_sysreg(id_aa64isar1_el1);
  const uint64_t dfr0 = read_sysreg(id_aa64dfr0_el1);

  struct smccc_regs scr = call(SMCCC_ARCH_FEATURE_AVAILABILITY64, SMCCC_FEAT_AVAIL_SCR_EL3);
  tap_eq(scr.x[0], 0, "FEATURE_AVAILABILITY(SCR_EL3) succeeds");
  tap_diag("SCR_EL3 view 0x%016lx", scr.x[1]);
  /* PAuth: APA [7:4], API [11:8], GPA [27:24], GPI [31:28] (Arm ARM ID_AA64ISAR1_EL1). */
  const bool pauth = field(isar1, 4) || field(isar1, 8) || field(isar1, 24) || field(isar1, 28);
  check_bit(scr.x[1], 16, pauth, "SCR_EL3.APK (PAuth)");
  check_bit(scr.x[1], 40, field(isar0, 60) != 0, "SCR_EL3.TRNDR (FEAT_RNG)");
  check_bit(scr.x[1], 26, field(pfr1, 8) >= 2, "SCR_EL3.ATA (MTE2)");
  check_bit(scr.x[1], 41, field(pfr1, 24) != 0, "SCR_EL3.EnTP2 (SME)");

  struct smccc_regs cptr = call(SMCCC_ARCH_FEATURE_AVAILABILITY64, SMCCC_FEAT_AVAIL_CPTR_EL3);
  tap_eq(cptr.x[0], 0, "FEATURE_AVAILABILITY(CPTR_EL3) succeeds");
  tap_diag("CPTR_EL3 view 0x%016lx", cptr.x[1]);
  check_bit(cptr.x[1], 10, field(pfr0, 16) != 0xF, "CPTR_EL3.TFP flipped (FP/SIMD)");
  check_bit(cptr.x[1], 8, field(pfr0, 32) != 0, "CPTR_EL3.EZ (SVE)");
  check_bit(cptr.x[1], 12, field(pfr1, 24) != 0, "CPTR_EL3.ESM (SME)");

  struct smccc_regs mdcr = call(SMCCC_ARCH_FEATURE_AVAILABILITY64, SMCCC_FEAT_AVAIL_MDCR_EL3);
  tap_eq(mdcr.x[0], 0, "FEATURE_AVAILABILITY(MDCR_EL3) succeeds");
  tap_diag("MDCR_EL3 view 0x%016lx", mdcr.x[1]);
  const unsigned pmu = field(dfr0, 8);
  check_bit(mdcr.x[1], 6, pmu != 0 && pmu != 0xF, "MDCR_EL3.TPM flipped (PMUv3)");
  check_bit(mdcr.x[1], 9, true, "MDCR_EL3.TDA flipped (debug registers)");

  struct smccc_regs mpam = call(SMCCC_ARCH_FEATURE_AVAILABILITY64, SMCCC_FEAT_AVAIL_MPAM3_EL3);
  const bool has_mpam = field(pfr0, 40) != 0;
  tap_ok(has_mpam || (mpam.x[0] == SMCCC_RET_INVALID_PARAMETER && mpam.x[1] == 0),
         "FEATURE_AVAILABILITY(MPAM3_EL3) without MPAM is INVALID_PARAMETER, x1 = 0");
  struct smccc_regs bad = call(SMCCC_ARCH_FEATURE_AVAILABILITY64, 0x1E1101u);
  tap_ok(bad.x[0] == SMCCC_RET_INVALID_PARAMETER && bad.x[1] == 0,
         "FEATURE_AVAILABILITY(0x1E1101, no such register) is INVALID_PARAMETER, x1 = 0");
}

static void check_soc_name(unsigned version) {
  if (version < V(6)) return;
  struct smccc_regs r = call(SMCCC_ARCH_SOC_ID64, SMCCC_SOC_ID_NAME);
  char name[SMCCC_SOC_NAME_BYTES];
  const int len = smccc_unpack_string(&r, 1, name, sizeof name);
  tap_ok(r.x[0] == 0 && len > 0, "SOC_ID64(name) returns a NUL-terminated name in x1..x17");
  if (len > 0) tap_diag("SoC name \"%s\"", name);
}

static void run_conduit(enum conduit c, unsigned version) {
  conduit = c;
  tap_prefix(c == CONDUIT_HVC ? "hvc: " : "smc: ");
  tap_eq(call(SMCCC_VERSION, 0).x[0], version, "SMCCC_VERSION is the same over both conduits");
  check_gated(version);
  check_workaround_4(version);
  check_feature_availability(version);
  check_soc_name(version);
}

int main(void) {
  conduit = CONDUIT_HVC;
  const unsigned version = (unsigned)call(SMCCC_VERSION, 0).x[0];
  tap_diag("smccc-versions: SMCCC_VERSION 0x%x (%u.%u)", version, smccc_version_major(version),
           smccc_version_minor(version));
  tap_ok(version >= V(1) && version <= V(6), "SMCCC_VERSION is 1.1..1.6");
  run_conduit(CONDUIT_HVC, version);
  run_conduit(CONDUIT_SMC, version);
  tap_prefix("");
  int failed = tap_done();
  return failed > 255 ? 255 : failed;
}
