/* guest/platform.h: tell smccc-emu from QEMU by the vendor-hypervisor UID. */
#include "guest/platform.h"

#include "guest/smccc.h"

/* KVM's UID as SMCCC returns it in w0..w3 (Linux's ARM_SMCCC_VENDOR_HYP_UID_KVM). */
static const uint32_t kvm_uid[4] = {0xB66FB428u, 0xE911C52Eu, 0x564BCAA9u, 0x743A004Du};

static int answer = -1; /* asked once: -1 not yet, else the answer */

bool guest_on_smccc_emu(void) {
  if (answer < 0) {
    struct smccc_regs r = {{VENDOR_HYP_CALL_UID}};
    smccc_call(CONDUIT_HVC, &r);
    answer = 1;
    for (unsigned i = 0; i < 4; ++i) answer = answer && (uint32_t)r.x[i] == kvm_uid[i];
  }
  return answer != 0;
}

const char* guest_platform_name(void) {
  return guest_on_smccc_emu() ? "smccc-emu" : "qemu";
}
