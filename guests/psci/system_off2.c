/*
 * system-off2.elf: PSCI 1.3 SYSTEM_OFF2 (DEN0022F.b §5.12, §5.16), over HVC and then SMC.
 * Run with `--fw-reg psci-version=0x10003` (or 0x10002 / 0x10001 for the version gating).
 *
 * From PSCI 1.3: PSCI_FEATURES(SYSTEM_OFF2) is the supported-types bitmask, bit 0
 * HIBERNATE_OFF, in both forms; a type other than HIBERNATE_OFF (1) or 0, or a non-zero
 * cookie, is INVALID_PARAMETERS and returns (x1.. untouched); then, if nothing failed, the
 * guest hibernates with the call its bootargs name: `off2=hvc|smc`, `form=32|64`,
 * `type=0|1` (default HVC, SMC32, type 1). It must not return. Before 1.3 the function is
 * NOT_SUPPORTED and PSCI_FEATURES says -1; the guest then exits through semihosting with the
 * number of failures. TAP.
 */
#include <stdbool.h>
#include <stdint.h>

#include "guest/fdt.h"
#include "guest/smccc.h"
#include "guest/tap.h"

#define PSCI_VERSION_1_3 0x10003u
#define OFF2_TYPE_HIBERNATE 1u
#define OFF2_TYPES_HIBERNATE 1u /* PSCI_FEATURES bitmask: bit 0 */

static enum conduit conduit;

static struct smccc_regs call(uint32_t fid, uint64_t x1, uint64_t x2) {
  struct smccc_regs r = {.x = {fid, x1, x2, 0x5E3, 0x5E4}};
  smccc_call(conduit, &r);
  return r;
}

/* A rejected SYSTEM_OFF2: INVALID_PARAMETERS in x0 only. */
static void check_rejected(uint32_t fid, uint64_t type, uint64_t cookie, const char* why) {
  struct smccc_regs r = call(fid, type, cookie);
  tap_ok(r.x[0] == PSCI_RET_INVALID_PARAMS && r.x[1] == type && r.x[2] == cookie && r.x[3] == 0x5E3,
         "SYSTEM_OFF2%s(0x%lx, 0x%lx) is INVALID_PARAMETERS, x1..x3 kept (%s)", fid == PSCI_SYSTEM_OFF2_64 ? "_64" : "",
         type, cookie, why);
}

static void check_conduit(unsigned version) {
  tap_prefix(conduit == CONDUIT_HVC ? "hvc: " : "smc: ");
  tap_eq(call(PSCI_VERSION, 0, 0).x[0], version, "PSCI_VERSION is the same on both conduits");
  if (version < PSCI_VERSION_1_3) {
    tap_eq(call(PSCI_FEATURES, PSCI_SYSTEM_OFF2, 0).x[0], PSCI_RET_NOT_SUPPORTED,
           "before PSCI 1.3, PSCI_FEATURES(SYSTEM_OFF2) is NOT_SUPPORTED");
    tap_eq(call(PSCI_FEATURES, PSCI_SYSTEM_OFF2_64, 0).x[0], PSCI_RET_NOT_SUPPORTED,
           "before PSCI 1.3, PSCI_FEATURES(SYSTEM_OFF2_64) is NOT_SUPPORTED");
    tap_eq(call(PSCI_SYSTEM_OFF2, OFF2_TYPE_HIBERNATE, 0).x[0], PSCI_RET_NOT_SUPPORTED,
           "before PSCI 1.3, SYSTEM_OFF2 is NOT_SUPPORTED");
    tap_eq(call(PSCI_SYSTEM_OFF2_64, OFF2_TYPE_HIBERNATE, 0).x[0], PSCI_RET_NOT_SUPPORTED,
           "before PSCI 1.3, SYSTEM_OFF2_64 is NOT_SUPPORTED");
    return;
  }
  tap_eq(call(PSCI_FEATURES, PSCI_SYSTEM_OFF2, 0).x[0], OFF2_TYPES_HIBERNATE,
         "PSCI_FEATURES(SYSTEM_OFF2) = 1: HIBERNATE_OFF supported");
  tap_eq(call(PSCI_FEATURES, PSCI_SYSTEM_OFF2_64, 0).x[0], OFF2_TYPES_HIBERNATE,
         "PSCI_FEATURES(SYSTEM_OFF2_64) = 1: HIBERNATE_OFF supported");
  check_rejected(PSCI_SYSTEM_OFF2, 2, 0, "type 2 is reserved");
  check_rejected(PSCI_SYSTEM_OFF2, 0x80000001u, 0, "vendor types are not offered");
  check_rejected(PSCI_SYSTEM_OFF2, OFF2_TYPE_HIBERNATE, 1, "the cookie must be 0");
  check_rejected(PSCI_SYSTEM_OFF2_64, 0x100000001ull, 0, "SMC64: all of x1 is the type");
  check_rejected(PSCI_SYSTEM_OFF2_64, 0, 0x100000000ull, "SMC64: all of x2 is the cookie");
}

/* The value after "key=" in the bootargs, or 0. */
static const char* bootarg(const char* args, const char* key) {
  for (const char* p = args; p && *p; ++p) {
    if (p != args && p[-1] != ' ') continue;
    const char *k = key, *q = p;
    while (*k && *q == *k) {
      ++k;
      ++q;
    }
    if (*k == '\0' && *q == '=') return q + 1;
  }
  return 0;
}

static const char* bootargs(void) {
  static struct gfdt tree;
  if (gfdt_init(&tree, (const void*)guest_boot_x0) != 0) return "";
  const int chosen = gfdt_path(&tree, "/chosen");
  const char* args = chosen >= 0 ? gfdt_prop(&tree, chosen, "bootargs", 0) : 0;
  return args ? args : "";
}

int main(void) {
  conduit = CONDUIT_HVC;
  const unsigned version = (unsigned)call(PSCI_VERSION, 0, 0).x[0];
  tap_diag("system-off2: PSCI_VERSION 0x%x", version);
  check_conduit(version);
  conduit = CONDUIT_SMC;
  check_conduit(version);
  tap_prefix("");
  const int failed = tap_done();
  if (failed != 0 || version < PSCI_VERSION_1_3) return failed > 255 ? 255 : failed;

  const char* args = bootargs();
  const char* via = bootarg(args, "off2");
  const char* form = bootarg(args, "form");
  const char* type = bootarg(args, "type");
  conduit = via && via[0] == 's' ? CONDUIT_SMC : CONDUIT_HVC;
  const bool wide = form && form[0] == '6';
  const uint64_t t = type && type[0] == '0' ? 0 : OFF2_TYPE_HIBERNATE;
  tap_diag("hibernating: SYSTEM_OFF2%s(type %lu, cookie 0) over %s", wide ? "_64" : "", t,
           conduit == CONDUIT_SMC ? "SMC" : "HVC");
  const uint64_t x0 = call(wide ? PSCI_SYSTEM_OFF2_64 : PSCI_SYSTEM_OFF2, t, 0).x[0];
  tap_diag("SYSTEM_OFF2 returned %ld", (int64_t)x0);
  return 1;
}
