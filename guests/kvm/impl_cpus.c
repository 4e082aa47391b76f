/*
 * kvm-impl.elf: KVM 6.15's target-implementation calls (Linux Documentation/virt/kvm/arm/
 * hypercalls.rst), as Linux's kvm_guest.c uses them, over HVC and then SMC.
 *
 * Bootargs `impl=N`: the host lists N implementations and offers both calls
 * (VENDOR_HYP_BMAP_2 = 3); without it, the calls must be hidden (BMAP_2 = 0, KVM's reset
 * value). Checks: the vendor UID is KVM's; KVM_FEATURES R2 bits 0 and 1 (functions 64, 65) are
 * set exactly when the calls are offered; DISCOVER_IMPL_VER gives SUCCESS, major version 1 with
 * bits 63:32 clear, N and x3 = 0; DISCOVER_IMPL_CPUS(i) succeeds for i < N (MIDR bits 63:32
 * clear) and gives the same answer on both conduits; i = N, 0x100000000 and ~0 are
 * INVALID_PARAMETER with x1..x3 = 0; the SMC32 FIDs 0x86000040 / 0x86000041 are unknown.
 * Hidden: both calls NOT_SUPPORTED with x1..x17 unchanged. Each implementation is printed as
 * `# impl <i> midr=0x... revidr=0x... aidr=0x...` (once, from the HVC pass). TAP; exit status
 * = number of failures.
 */
#include <stdbool.h>
#include <stdint.h>

#include "guest/fdt.h"
#include "guest/smccc.h"
#include "guest/tap.h"

#define KVM_DISCOVER_IMPL_VER 0xC6000040u
#define KVM_DISCOVER_IMPL_CPUS 0xC6000041u
#define KVM_FEATURES_R2_IMPL 0x3u /* function numbers 64 and 65 */
#define MAX_IMPL 16

static enum conduit conduit;
static uint64_t first_pass[MAX_IMPL][3];

static struct smccc_regs call(uint32_t fid, uint64_t x1) {
  struct smccc_regs r = {.x = {fid, x1}};
  for (unsigned i = 2; i < SMCCC_NUM_REGS; ++i) r.x[i] = 0x5E00u + i;
  smccc_call(conduit, &r);
  return r;
}

static bool untouched(const struct smccc_regs* r, unsigned from) {
  for (unsigned i = from; i < SMCCC_NUM_REGS; ++i) {
    if (r->x[i] != 0x5E00u + i) return false;
  }
  return true;
}

static long expected_count(void) {
  static struct gfdt tree;
  if (gfdt_init(&tree, (const void*)guest_boot_x0) != 0) return -1;
  const int chosen = gfdt_path(&tree, "/chosen");
  const char* args = chosen >= 0 ? gfdt_prop(&tree, chosen, "bootargs", 0) : 0;
  for (const char* p = args; p && *p; ++p) {
    if ((p == args || p[-1] == ' ') && p[0] == 'i' && p[1] == 'm' && p[2] == 'p' && p[3] == 'l' && p[4] == '=') {
      long n = 0;
      for (p += 5; *p >= '0' && *p <= '9'; ++p) n = n * 10 + (*p - '0');
      return n;
    }
  }
  return -1;
}

static void check_hidden(void) {
  tap_eq(call(VENDOR_HYP_KVM_FEATURES, 0).x[2] & KVM_FEATURES_R2_IMPL, 0,
         "KVM_FEATURES R2 bits 0-1 clear: DISCOVER_IMPL_* not offered");
  struct smccc_regs v = call(KVM_DISCOVER_IMPL_VER, 0);
  tap_ok(v.x[0] == SMCCC_RET_NOT_SUPPORTED && untouched(&v, 2), "DISCOVER_IMPL_VER is NOT_SUPPORTED, x2..x17 kept");
  struct smccc_regs c = call(KVM_DISCOVER_IMPL_CPUS, 0);
  tap_ok(c.x[0] == SMCCC_RET_NOT_SUPPORTED && untouched(&c, 2), "DISCOVER_IMPL_CPUS is NOT_SUPPORTED, x2..x17 kept");
}

static void check_offered(unsigned n, bool print) {
  tap_eq(call(VENDOR_HYP_KVM_FEATURES, 0).x[2] & KVM_FEATURES_R2_IMPL, KVM_FEATURES_R2_IMPL,
         "KVM_FEATURES R2 bits 0-1 set: DISCOVER_IMPL_VER and _CPUS offered");
  struct smccc_regs v = call(KVM_DISCOVER_IMPL_VER, 0);
  tap_eq(v.x[0], SMCCC_RET_SUCCESS, "DISCOVER_IMPL_VER succeeds");
  tap_ok((v.x[1] >> 32) == 0 && smccc_version_major(v.x[1]) == 1, "DISCOVER_IMPL_VER: version %u.%u, bits 63:32 clear",
         smccc_version_major(v.x[1]), smccc_version_minor(v.x[1]));
  tap_eq(v.x[2], n, "DISCOVER_IMPL_VER: %u implementations", n);
  tap_eq(v.x[3], 0, "DISCOVER_IMPL_VER: x3 is zero");
  for (unsigned i = 0; i < n && i < MAX_IMPL; ++i) {
    struct smccc_regs c = call(KVM_DISCOVER_IMPL_CPUS, i);
    tap_ok(c.x[0] == SMCCC_RET_SUCCESS && (c.x[1] >> 32) == 0, "DISCOVER_IMPL_CPUS(%u) succeeds, MIDR bits 63:32 clear",
           i);
    if (print) {
      tap_diag("impl %u midr=0x%lx revidr=0x%lx aidr=0x%lx", i, c.x[1], c.x[2], c.x[3]);
      for (unsigned k = 0; k < 3; ++k) first_pass[i][k] = c.x[1 + k];
    } else {
      tap_ok(c.x[1] == first_pass[i][0] && c.x[2] == first_pass[i][1] && c.x[3] == first_pass[i][2],
             "DISCOVER_IMPL_CPUS(%u) is the same on both conduits", i);
    }
  }
  const uint64_t bad[] = {n, 0x100000000ull, ~0ull};
  for (unsigned k = 0; k < 3; ++k) {
    struct smccc_regs c = call(KVM_DISCOVER_IMPL_CPUS, bad[k]);
    tap_ok(c.x[0] == SMCCC_RET_INVALID_PARAMETER && c.x[1] == 0 && c.x[2] == 0 && c.x[3] == 0,
           "DISCOVER_IMPL_CPUS(0x%lx) is INVALID_PARAMETER, x1..x3 zero", bad[k]);
  }
  tap_eq(call(0x86000040u, 0).x[0], SMCCC_RET_NOT_SUPPORTED, "0x86000040 (no SMC32 DISCOVER_IMPL_VER) is unknown");
  tap_eq(call(0x86000041u, 0).x[0], SMCCC_RET_NOT_SUPPORTED, "0x86000041 (no SMC32 DISCOVER_IMPL_CPUS) is unknown");
}

int main(void) {
  const long n = expected_count();
  tap_diag("kvm-impl: %s", n < 0 ? "no implementation list expected" : "implementation list expected");
  for (unsigned pass = 0; pass < 2; ++pass) {
    conduit = pass == 0 ? CONDUIT_HVC : CONDUIT_SMC;
    tap_prefix(pass == 0 ? "hvc: " : "smc: ");
    struct smccc_regs uid = call(VENDOR_HYP_CALL_UID, 0);
    tap_ok(uid.x[0] == 0xB66FB428u && uid.x[1] == 0xE911C52Eu && uid.x[2] == 0x564BCAA9u && uid.x[3] == 0x743A004Du,
           "vendor hypervisor UID is KVM's");
    if (n < 0)
      check_hidden();
    else
      check_offered((unsigned)n, pass == 0);
  }
  tap_prefix("");
  const int failed = tap_done();
  return failed > 255 ? 255 : failed;
}
