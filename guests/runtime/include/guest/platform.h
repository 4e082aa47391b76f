/*
 * Which platform runs the guest, for checks that hold only in smccc-emu's virtual time. The
 * guests also run under QEMU 7.2 (`-M virt,gic-version=3`) as a reference, whose timers and
 * counters follow host time.
 */
#ifndef GUEST_PLATFORM_H
#define GUEST_PLATFORM_H

#include <stdbool.h>

/* True when the Vendor Specific Hypervisor Service's Call UID (0x8600FF01, SMCCC DEN0028
 * §6.2) is KVM's 28b46fb6-2ec5-11e9-a9ca-4b564d003a74: smccc-emu answers it over HVC, QEMU 7.2
 * TCG answers NOT_SUPPORTED (-1). (Under KVM this would be true as well; these guests are
 * not meant to run there.) Asks once, on first use; later calls return the same answer. */
bool guest_on_smccc_emu(void);

/* "smccc-emu" or "qemu", for the `# platform: ...` line. */
const char* guest_platform_name(void);

#endif
