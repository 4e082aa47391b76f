/*
 * inject-probe.elf: makes the same calls every run and prints what each answered, so a host
 * can see exactly which calls its `--inject` rules reached. 12 TRNG_RND64(64) calls over HVC,
 * then 12 over SMC (one line each pass: `# rnd64 hvc: 0 0 -3 0 ...`, the x0 of each call), then
 * PSCI CPU_ON of vCPU 1 over SMC and AFFINITY_INFO of it (`# cpu_on: x0 ..., affinity ...`).
 * Checks (they hold with or without injected faults): an answer is SUCCESS or one of the
 * errors DEN0098 §2.1 lists for RND (NOT_SUPPORTED, INVALID_PARAMETERS, NO_ENTROPY); a failed
 * call has x1..x3 zero and x4..x17 kept; a CPU_ON that failed left vCPU 1 off. TAP; exit status
 * = number of failures. Run with --cpus 2.
 */
#include <stdbool.h>
#include <stdint.h>

#include "guest/console.h"
#include "guest/smccc.h"
#include "guest/tap.h"

#define CALLS 12

static void rnd64_pass(enum conduit conduit, const char* name) {
  char line[CALLS * 4 + 32];
  unsigned len = 0;
  bool shaped = true, kept = true;
  for (const char* p = "rnd64 "; *p; ++p) line[len++] = *p;
  for (const char* p = name; *p; ++p) line[len++] = *p;
  line[len++] = ':';
  for (unsigned i = 0; i < CALLS; ++i) {
    struct smccc_regs r = {.x = {TRNG_RND64, 64}};
    for (unsigned k = 4; k < SMCCC_NUM_REGS; ++k) r.x[k] = 0x5E00u + k;
    smccc_call(conduit, &r);
    const int64_t x0 = (int64_t)r.x[0];
    shaped = shaped && x0 <= 0 && x0 >= -3;
    if (x0 != 0) kept = kept && r.x[1] == 0 && r.x[2] == 0 && r.x[3] == 0;
    for (unsigned k = 4; k < SMCCC_NUM_REGS; ++k) kept = kept && r.x[k] == 0x5E00u + k;
    line[len++] = ' ';
    if (x0 < 0) line[len++] = '-';
    line[len++] = (char)('0' + (x0 < 0 ? -x0 : x0));
  }
  line[len] = '\0';
  tap_diag("%s", line);
  tap_ok(shaped, "TRNG_RND64 over %s: each answer is SUCCESS or an error DEN0098 lists for it", name);
  tap_ok(kept, "TRNG_RND64 over %s: failed calls zero x1..x3, every call keeps x4..x17", name);
}

int main(void) {
  rnd64_pass(CONDUIT_HVC, "hvc");
  rnd64_pass(CONDUIT_SMC, "smc");
  const int64_t on = (int64_t)smccc(CONDUIT_SMC, PSCI_CPU_ON_64, 1, 0x40080000u, 0);
  const uint64_t affinity = smccc(CONDUIT_SMC, PSCI_AFFINITY_INFO_64, 1, 0, 0);
  tap_diag("cpu_on: x0 %ld, affinity %lu", on, affinity);
  tap_ok(on == 0 || affinity == PSCI_AFFINITY_OFF, "a CPU_ON that failed left vCPU 1 off");
  const int failed = tap_done();
  return failed;
}
