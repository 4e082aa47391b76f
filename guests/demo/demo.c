/*
 * demo.elf: a short, human-readable tour of the firmware model over HVC.
 * Prints what it asks and what comes back, then powers off with PSCI SYSTEM_OFF
 * (the emulator exits with status 0). If SYSTEM_OFF returns: semihosting exit 1.
 */
#include <stdint.h>

#include "guest/arch.h"
#include "guest/console.h"
#include "guest/semihosting.h"
#include "guest/smccc.h"

#define DEMO_CONDUIT CONDUIT_HVC
#define DEMO_UNKNOWN_FID 0x82000000u /* SiP service, not provided by the model */
#define EXIT_SYSTEM_OFF_RETURNED 1

/* Negative SMCCC/PSCI codes are sign-extended (DEN0028 return codes); version words have bit 31
 * clear. */
static int is_error(uint64_t x0) {
  return (int64_t)x0 < 0;
}

static void show_version(const char* call, const char* what, uint64_t v) {
  if (is_error(v))
    gprintf("%-22s -> %ld (not supported)\n", call, (int64_t)v);
  else
    gprintf("%-22s -> 0x%08lx = %s %u.%u\n", call, v, what, smccc_version_major(v), smccc_version_minor(v));
}

static void show_soc_name(void) {
  struct smccc_regs r = {.x = {SMCCC_ARCH_SOC_ID64, SMCCC_SOC_ID_NAME}};
  char name[SMCCC_SOC_NAME_BYTES];

  smccc_call(DEMO_CONDUIT, &r);
  if (r.x[0] != SMCCC_RET_SUCCESS)
    gprintf("%-22s -> %ld (no SoC name: SMCCC 1.6 adds it)\n", "SMCCC_ARCH_SOC_ID64(2)", (int64_t)r.x[0]);
  else if (smccc_unpack_string(&r, 1, name, sizeof name) < 0)
    gprintf("%-22s -> name is not NUL-terminated\n", "SMCCC_ARCH_SOC_ID64(2)");
  else
    gprintf("%-22s -> SoC name \"%s\"\n", "SMCCC_ARCH_SOC_ID64(2)", name);
}

static void show_unknown_call(void) {
  uint64_t x0 = smccc(DEMO_CONDUIT, DEMO_UNKNOWN_FID, 0, 0, 0);
  gprintf("%-22s -> FID 0x%08x gives 0x%016lx%s\n", "unknown call (SiP)", DEMO_UNKNOWN_FID, x0,
          x0 == SMCCC_RET_NOT_SUPPORTED ? " (NOT_SUPPORTED)" : "");
}

int main(void) {
  gprintf("smccc-emu demo guest\n");
  gprintf("running on vCPU %u at EL%u, calls go out with HVC #0\n", cpu_index(), current_el());

  show_version("SMCCC_VERSION", "SMCCC", smccc(DEMO_CONDUIT, SMCCC_VERSION, 0, 0, 0));
  show_version("PSCI_VERSION", "PSCI", smccc(DEMO_CONDUIT, PSCI_VERSION, 0, 0, 0));
  show_soc_name();
  show_unknown_call();

  gprintf("powering off with PSCI SYSTEM_OFF\n");
  uint64_t x0 = psci_system_off(DEMO_CONDUIT);
  gprintf("SYSTEM_OFF returned %ld; exiting with status %d\n", (int64_t)x0, EXIT_SYSTEM_OFF_RETURNED);
  semihost_exit_extended(EXIT_SYSTEM_OFF_RETURNED);
}
