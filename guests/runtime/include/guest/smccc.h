/*
 * SMC Calling Convention client (SMCCC 1.2 register rules: x0..x17 in and out).
 * Function IDs and return codes: DEN0028 (SMCCC), DEN0022 (PSCI), DEN0098 (TRNG),
 * DEN0057A (PV time), DEN0054 (SDEI) and Linux's KVM hypercall documentation.
 */
#ifndef GUEST_SMCCC_H
#define GUEST_SMCCC_H

#include <stdint.h>

enum conduit { CONDUIT_HVC, CONDUIT_SMC };

#define SMCCC_NUM_REGS 18

struct smccc_regs {
  uint64_t x[SMCCC_NUM_REGS];
};

/* Loads x0..x17 from *r, issues `hvc #0` / `smc #0`, stores x0..x17 back (smccc.S). */
void smccc_call(enum conduit conduit, struct smccc_regs* r);

/* Same with immediate #1, which is outside SMCCC (DEN0028: SMCCC calls use #0). */
void smccc_call_imm1(enum conduit conduit, struct smccc_regs* r);

/* x0 = fid, x1..x3 = a1..a3, x4..x17 = 0; returns x0. */
uint64_t smccc(enum conduit conduit, uint32_t fid, uint64_t a1, uint64_t a2, uint64_t a3);

/*
 * Copies the NUL-terminated string packed little-endian into x[first]..x17 (as
 * SMCCC_ARCH_SOC_ID name returns it) into buf, always NUL-terminating buf. Returns the
 * length, or -1 if there is no NUL inside the registers or buf is too small.
 */
int smccc_unpack_string(const struct smccc_regs* r, unsigned first, char* buf, unsigned size);

/* Byte k of the little-endian byte string held in x[first]..x17. */
static inline uint8_t smccc_regs_byte(const struct smccc_regs* r, unsigned first, unsigned k) {
  return (uint8_t)(r->x[first + k / 8] >> (8 * (k % 8)));
}

/* --- Function identifiers ------------------------------------------------------------ */

#define SMCCC_SVE_HINT (1u << 16) /* DEN0028 Table 2-1, v1.3 SVE hint */

/* Arm Architecture calls, owner 0 (DEN0028 Arm Architecture Calls). */
#define SMCCC_VERSION 0x80000000u
#define SMCCC_ARCH_FEATURES 0x80000001u
#define SMCCC_ARCH_SOC_ID 0x80000002u
#define SMCCC_ARCH_SOC_ID64 0xC0000002u
#define SMCCC_ARCH_FEATURE_AVAILABILITY64 0xC0000003u /* SMCCC 1.5; SMC64 only */
#define SMCCC_ARCH_WORKAROUND_4 0x80000004u           /* Arm's CVE-2024-7881 interface */
/* SMCCC_ARCH_FEATURE_AVAILABILITY x1: the EL3 register, by its MRS encoding (TF-A's values). */
#define SMCCC_FEAT_AVAIL_SCR_EL3 0x1E1100ull
#define SMCCC_FEAT_AVAIL_CPTR_EL3 0x1E1140ull
#define SMCCC_FEAT_AVAIL_MDCR_EL3 0x1E1320ull
#define SMCCC_FEAT_AVAIL_MPAM3_EL3 0x1EA500ull
#define SMCCC_ARCH_WORKAROUND_1 0x80008000u
#define SMCCC_ARCH_WORKAROUND_2 0x80007FFFu
#define SMCCC_ARCH_WORKAROUND_3 0x80003FFFu

/* SMCCC_ARCH_SOC_ID types (DEN0028 SMCCC_ARCH_SOC_ID). */
#define SMCCC_SOC_ID_VERSION 0u
#define SMCCC_SOC_ID_REVISION 1u
#define SMCCC_SOC_ID_NAME 2u
#define SMCCC_SOC_NAME_BYTES 136u /* x1..x17 */

/* PSCI, Standard Secure service owner 4, functions 0x00-0x1F (DEN0022F.b function IDs). */
#define PSCI_VERSION 0x84000000u
#define PSCI_CPU_SUSPEND 0x84000001u
#define PSCI_CPU_SUSPEND_64 0xC4000001u
#define PSCI_CPU_OFF 0x84000002u
#define PSCI_CPU_ON 0x84000003u
#define PSCI_CPU_ON_64 0xC4000003u
#define PSCI_AFFINITY_INFO 0x84000004u
#define PSCI_AFFINITY_INFO_64 0xC4000004u
#define PSCI_MIGRATE 0x84000005u
#define PSCI_MIGRATE_64 0xC4000005u
#define PSCI_MIGRATE_INFO_TYPE 0x84000006u
#define PSCI_MIGRATE_INFO_UP_CPU 0x84000007u
#define PSCI_MIGRATE_INFO_UP_CPU_64 0xC4000007u
#define PSCI_SYSTEM_OFF 0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u
#define PSCI_FEATURES 0x8400000Au
#define PSCI_CPU_FREEZE 0x8400000Bu
#define PSCI_CPU_DEFAULT_SUSPEND 0x8400000Cu
#define PSCI_CPU_DEFAULT_SUSPEND_64 0xC400000Cu
#define PSCI_NODE_HW_STATE 0x8400000Du
#define PSCI_NODE_HW_STATE_64 0xC400000Du
#define PSCI_SYSTEM_SUSPEND 0x8400000Eu
#define PSCI_SYSTEM_SUSPEND_64 0xC400000Eu
#define PSCI_SET_SUSPEND_MODE 0x8400000Fu
#define PSCI_STAT_RESIDENCY 0x84000010u
#define PSCI_STAT_RESIDENCY_64 0xC4000010u
#define PSCI_STAT_COUNT 0x84000011u
#define PSCI_STAT_COUNT_64 0xC4000011u
#define PSCI_SYSTEM_RESET2 0x84000012u
#define PSCI_SYSTEM_RESET2_64 0xC4000012u
#define PSCI_MEM_PROTECT 0x84000013u
#define PSCI_MEM_PROTECT_CHECK_RANGE 0x84000014u
#define PSCI_MEM_PROTECT_CHECK_RANGE_64 0xC4000014u
#define PSCI_SYSTEM_OFF2 0x84000015u
#define PSCI_SYSTEM_OFF2_64 0xC4000015u

/* General service queries of owner 4 (DEN0028 General Service Queries). */
#define STD_SVC_CALL_COUNT 0x8400FF00u
#define STD_SVC_UID 0x8400FF01u
#define STD_SVC_REVISION 0x8400FF03u

/* TRNG 1.0, Standard Secure service owner 4, functions 0x50-0x5F (DEN0098 function IDs). */
#define TRNG_VERSION 0x84000050u
#define TRNG_FEATURES 0x84000051u
#define TRNG_GET_UUID 0x84000052u
#define TRNG_RND32 0x84000053u
#define TRNG_RND64 0xC4000053u
#define TRNG_RND32_MAX_BITS 96u
#define TRNG_RND64_MAX_BITS 192u

/* Paravirtualised stolen time, Standard Hypervisor owner 5; SMC64 only (DEN0057A function IDs). */
#define PV_TIME_FEATURES 0xC5000020u
#define PV_TIME_ST 0xC5000021u

/* KVM vendor hypervisor service, owner 6 (Documentation/virt/kvm/arm/hypercalls.rst, ptp_kvm.rst). */
#define VENDOR_HYP_KVM_FEATURES 0x86000000u
#define VENDOR_HYP_KVM_PTP 0x86000001u
#define VENDOR_HYP_CALL_UID 0x8600FF01u
#define KVM_PTP_VIRT_COUNTER 0u
#define KVM_PTP_PHYS_COUNTER 1u

/*
 * SDEI (DEN0054), Standard Secure service owner 4, functions 0x20-0x32; SMC64 only
 * (DEN0054C function IDs). Function numbers 0x33-0x3F are reserved.
 */
#define SDEI_VERSION 0xC4000020u
#define SDEI_EVENT_REGISTER 0xC4000021u
#define SDEI_EVENT_ENABLE 0xC4000022u
#define SDEI_EVENT_DISABLE 0xC4000023u
#define SDEI_EVENT_CONTEXT 0xC4000024u
#define SDEI_EVENT_COMPLETE 0xC4000025u
#define SDEI_EVENT_COMPLETE_AND_RESUME 0xC4000026u
#define SDEI_EVENT_UNREGISTER 0xC4000027u
#define SDEI_EVENT_STATUS 0xC4000028u
#define SDEI_EVENT_GET_INFO 0xC4000029u
#define SDEI_EVENT_ROUTING_SET 0xC400002Au
#define SDEI_PE_MASK 0xC400002Bu
#define SDEI_PE_UNMASK 0xC400002Cu
#define SDEI_INTERRUPT_BIND 0xC400002Du
#define SDEI_INTERRUPT_RELEASE 0xC400002Eu
#define SDEI_EVENT_SIGNAL 0xC400002Fu
#define SDEI_FEATURES 0xC4000030u
#define SDEI_PRIVATE_RESET 0xC4000031u
#define SDEI_SHARED_RESET 0xC4000032u

/* SDEI_VERSION: major in bits 62:48, minor in 47:32, vendor in 31:0 (DEN0054C SDEI_VERSION). */
#define SDEI_VERSION_MAJOR_SHIFT 48
#define SDEI_VERSION_MINOR_SHIFT 32

/* EVENT_REGISTER flags (x4) and routing modes (DEN0054C SDEI_EVENT_REGISTER, SDEI_EVENT_ROUTING_SET). */
#define SDEI_REGISTER_RM_PE (1ull << 0)    /* routing mode: 0 = RM_ANY, 1 = RM_PE */
#define SDEI_REGISTER_RELATIVE (1ull << 1) /* relative entry point (v1.1) */
#define SDEI_RM_ANY 0ull
#define SDEI_RM_PE 1ull

/* EVENT_STATUS bits (DEN0054C event states). */
#define SDEI_STATUS_REGISTERED (1ull << 0)
#define SDEI_STATUS_ENABLED (1ull << 1)
#define SDEI_STATUS_RUNNING (1ull << 2)

/* EVENT_GET_INFO selectors (DEN0054C SDEI_EVENT_GET_INFO) and their answers. */
#define SDEI_INFO_EV_TYPE 0u
#define SDEI_INFO_EV_SIGNALED 1u
#define SDEI_INFO_EV_PRIORITY 2u
#define SDEI_INFO_EV_ROUTING_MODE 3u
#define SDEI_INFO_EV_ROUTING_AFF 4u
#define SDEI_EVENT_TYPE_PRIVATE 0ull
#define SDEI_EVENT_TYPE_SHARED 1ull
#define SDEI_EVENT_PRIORITY_NORMAL 0ull
#define SDEI_EVENT_PRIORITY_CRITICAL 1ull

/* EVENT_COMPLETE status (x1) and FEATURES selectors (DEN0054C SDEI_EVENT_COMPLETE, SDEI_FEATURES). */
#define SDEI_EV_HANDLED 0ull
#define SDEI_EV_FAILED 1ull
#define SDEI_FEATURE_BIND_SLOTS 0u
#define SDEI_FEATURE_RELATIVE_MODE 1u

/* --- Return codes (negative codes sign-extended to 64 bits: DEN0028, DEN0022F.b, DEN0054C return
 * codes) */

#define SMCCC_RET_SUCCESS 0ull
#define SMCCC_RET_NOT_SUPPORTED ((uint64_t)-1)
#define SMCCC_RET_NOT_REQUIRED ((uint64_t)-2)
#define SMCCC_RET_INVALID_PARAMETER ((uint64_t)-3)
#define SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED 1ull

#define TRNG_RET_SUCCESS 0ull
#define TRNG_RET_NOT_SUPPORTED ((uint64_t)-1)
#define TRNG_RET_INVALID_PARAMS ((uint64_t)-2)
#define TRNG_RET_NO_ENTROPY ((uint64_t)-3)

#define PSCI_RET_SUCCESS 0ull
#define PSCI_RET_NOT_SUPPORTED ((uint64_t)-1)
#define PSCI_RET_INVALID_PARAMS ((uint64_t)-2)
#define PSCI_RET_DENIED ((uint64_t)-3)
#define PSCI_RET_ALREADY_ON ((uint64_t)-4)
#define PSCI_RET_ON_PENDING ((uint64_t)-5)
#define PSCI_RET_INTERNAL_FAILURE ((uint64_t)-6)
#define PSCI_RET_NOT_PRESENT ((uint64_t)-7)
#define PSCI_RET_DISABLED ((uint64_t)-8)
#define PSCI_RET_INVALID_ADDRESS ((uint64_t)-9)

#define SDEI_RET_SUCCESS 0ull
#define SDEI_RET_NOT_SUPPORTED ((uint64_t)-1)
#define SDEI_RET_INVALID_PARAMETERS ((uint64_t)-2)
#define SDEI_RET_DENIED ((uint64_t)-3)
#define SDEI_RET_PENDING ((uint64_t)-5)
#define SDEI_RET_OUT_OF_RESOURCE ((uint64_t)-10)

/* AFFINITY_INFO states (DEN0022F.b AFFINITY_INFO) and NODE_HW_STATE states (DEN0022F.b
 * NODE_HW_STATE). */
#define PSCI_AFFINITY_ON 0ull
#define PSCI_AFFINITY_OFF 1ull
#define PSCI_AFFINITY_ON_PENDING 2ull
#define PSCI_HW_ON 0ull
#define PSCI_HW_OFF 1ull
#define PSCI_HW_STANDBY 2ull

/* Version words are (major << 16) | minor with bit 31 clear (DEN0028 Arm Architecture Calls;
 * DEN0022F.b PSCI_VERSION). */
static inline unsigned smccc_version_major(uint64_t v) {
  return (unsigned)(v >> 16) & 0x7FFFu;
}

static inline unsigned smccc_version_minor(uint64_t v) {
  return (unsigned)v & 0xFFFFu;
}

/* PSCI SYSTEM_OFF; returns (with x0) only if the firmware did not power off. */
uint64_t psci_system_off(enum conduit conduit);

#endif
