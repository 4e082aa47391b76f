// Shared firmware configuration (docs/architecture.md, "Services, state and discovery"): VmState
// holds only what several services or the host controls read; each service's guest-owned state is
// private to the service. Nothing here holds a host pointer.
#pragma once

#include <cstdint>
#include <optional>

#include "firmware/smccc_filter.h"

namespace emu::fw {

// ---- topology (docs/architecture.md, "The platform"; MPIDR affinity as DEN0022F.b uses it) ----

/// Bits of an MPIDR that carry affinity (Aff3, Aff2, Aff1, Aff0); PSCI arguments with any
/// other bit set are invalid (KVM's MPIDR_HWID_BITMASK).
inline constexpr std::uint64_t kAffinityMask = 0xFF'00FF'FFFFull;
/// vCPUs a VM may have: Aff1 0..3 with 16 cores each.
inline constexpr unsigned kMaxVcpus = 64;
inline constexpr unsigned kCoresPerCluster = 16;
/// Affinity levels the topology has: 0 (core, Aff0) and 1 (cluster, Aff1).
inline constexpr unsigned kTopologyLevels = 2;

/// vCPU i: Aff0 = i % 16, Aff1 = i / 16.
constexpr std::uint64_t affinity_of(unsigned vcpu) {
  return (std::uint64_t{vcpu / kCoresPerCluster} << 8) | (vcpu % kCoresPerCluster);
}
/// MPIDR_EL1 of vCPU i: its affinity with bit 31 (RES1) set.
constexpr std::uint64_t mpidr_of(unsigned vcpu) {
  return (1ull << 31) | affinity_of(vcpu);
}
/// The vCPU an affinity value names, if any.
constexpr std::optional<unsigned> vcpu_of(std::uint64_t affinity, unsigned vcpu_count) {
  // Only Aff1 and Aff0 can be non-zero here: Aff2/Aff3 name no vCPU, other bits are invalid.
  if ((affinity & ~0xFFFFull) != 0) return std::nullopt;
  const auto aff0 = static_cast<unsigned>(affinity & 0xFF);
  const auto aff1 = static_cast<unsigned>((affinity >> 8) & 0xFF);
  if (aff0 >= kCoresPerCluster) return std::nullopt;
  const unsigned vcpu = aff1 * kCoresPerCluster + aff0;
  if (vcpu >= vcpu_count) return std::nullopt;
  return vcpu;
}

// ---- service selection: the bits of KVM's bitmap pseudo-registers (hypercalls.rst) ----
namespace service_bit {
inline constexpr std::uint64_t kTrng = 1u << 0;            ///< STD_BMAP
inline constexpr std::uint64_t kPvTime = 1u << 0;          ///< STD_HYP_BMAP
inline constexpr std::uint64_t kVendorFeatures = 1u << 0;  ///< VENDOR_HYP_BMAP: KVM_FEATURES + UID
inline constexpr std::uint64_t kVendorPtp = 1u << 1;       ///< VENDOR_HYP_BMAP: PTP
inline constexpr std::uint64_t kVendorImplVer = 1u << 0;   ///< VENDOR_HYP_BMAP_2: DISCOVER_IMPL_VER
inline constexpr std::uint64_t kVendorImplCpus = 1u << 1;  ///< VENDOR_HYP_BMAP_2: DISCOVER_IMPL_CPUS
/// Everything each register can select: also the defaults (KVM gives every supported bit).
inline constexpr std::uint64_t kStdSupported = kTrng;
inline constexpr std::uint64_t kStdHypSupported = kPvTime;
inline constexpr std::uint64_t kVendorHypSupported = kVendorFeatures | kVendorPtp;
/// VENDOR_HYP_BMAP_2 (KVM 6.15) is the exception: its bits reset to 0, as in KVM.
inline constexpr std::uint64_t kVendorHyp2Supported = kVendorImplVer | kVendorImplCpus;
}  // namespace service_bit

/// The VM-wide configuration several parties read. Guest-owned state is not here: each service
/// keeps its own (PsciService: power states, statistics, MEM_PROTECT; PvTimeService: the
/// records; SdeiService: events and contexts; KvmVendorService: the PTP epoch and the
/// implementation list), resets it in its own on_system_reset and saves it in its own
/// snapshot section (docs/architecture.md, "Services, state and discovery"). Each field below
/// says who reads it besides its owner; that is why it is shared.
struct VmState {
  /// PSCI version the guest sees, (major << 16) | minor. Default 1.1 (docs/architecture.md,
  /// "Model decisions"). Shared: the host sets it through a pseudo-register (fw_regs.cpp), PSCI
  /// reads it at every call, core writes it into the device tree.
  std::uint32_t psci_version = 0x1'0001;
  /// SMCCC version the guest sees (DEN0028 SMCCC_VERSION), 1.1..1.6: calls a later version
  /// introduced are neither routed nor advertised. Default 1.2. smccc-emu's own register.
  /// Shared: set by the host (fw_regs.cpp), read by the Arm architecture service.
  std::uint32_t smccc_version = 0x1'0002;
  /// Guest RAM, for entry-point and range checks; set at creation. Shared: PSCI, SDEI and PV
  /// time all check guest addresses against it.
  std::uint64_t ram_base = 0;
  std::uint64_t ram_size = 0;

  // Service selection (KVM firmware pseudo-registers; Linux
  // Documentation/virt/kvm/arm/hypercalls.rst). A clear bit hides the service: its calls are
  // NOT_SUPPORTED and discovery stops advertising it. Defaults: every supported bit set.
  // Shared: the host sets them (fw_regs.cpp); the services they select, and the vendor
  // General Service Queries, read them.
  std::uint64_t std_bmap = service_bit::kStdSupported;               ///< bit 0: TRNG 1.0
  std::uint64_t std_hyp_bmap = service_bit::kStdHypSupported;        ///< bit 0: PV time
  std::uint64_t vendor_hyp_bmap = service_bit::kVendorHypSupported;  ///< bit 0: KVM_FEATURES + UID; bit 1: PTP
  /// KVM's VENDOR_HYP_BMAP_2: bit 0 DISCOVER_IMPL_VER, bit 1 DISCOVER_IMPL_CPUS. Default 0.
  std::uint64_t vendor_hyp_bmap_2 = 0;
  /// A vCPU has run: VM-wide configuration is frozen (as KVM's pseudo-registers and SMCCC filter,
  /// which answer EBUSY then). Default false. Shared: the register and filter rules read it.
  bool has_run = false;
  /// Host-installed FID ranges (KVM_ARM_VM_SMCCC_FILTER); default empty: everything handled as
  /// usual. Shared: the host adds ranges, the dispatcher reads them before any service.
  SmcccFilter filter;
  /// vCPUs in the VM, fixed at creation; default 0 (a bare VmState for a test of one service).
  /// Shared: every service with per-vCPU state sizes it by this, and checks vCPU numbers.
  std::uint32_t vcpus = 0;

  unsigned vcpu_count() const { return vcpus; }
  bool in_ram(std::uint64_t addr, std::uint64_t len = 1) const {
    return addr >= ram_base && len <= ram_size && addr - ram_base <= ram_size - len;
  }
};

}  // namespace emu::fw
