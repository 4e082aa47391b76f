// Firmware state (DESIGN.md section 3): VmState is VM-wide, VcpuState per vCPU. Tables are
// sized when the VM is created and never grow; nothing here holds a host pointer.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "firmware/smccc_filter.h"

namespace emu::fw {

// ---- topology (DESIGN.md section 6; digest 2.4) ----

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
constexpr std::uint64_t mpidr_of(unsigned vcpu) { return (1ull << 31) | affinity_of(vcpu); }
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

// ---- service selection: the bits of KVM's bitmap pseudo-registers (digest 6.1, 6.3) ----
namespace service_bit {
inline constexpr std::uint64_t kTrng = 1u << 0;                ///< STD_BMAP
inline constexpr std::uint64_t kPvTime = 1u << 0;              ///< STD_HYP_BMAP
inline constexpr std::uint64_t kVendorFeatures = 1u << 0;      ///< VENDOR_HYP_BMAP: KVM_FEATURES + UID
inline constexpr std::uint64_t kVendorPtp = 1u << 1;           ///< VENDOR_HYP_BMAP: PTP
/// Everything each register can select: also the defaults (KVM gives every supported bit).
inline constexpr std::uint64_t kStdSupported = kTrng;
inline constexpr std::uint64_t kStdHypSupported = kPvTime;
inline constexpr std::uint64_t kVendorHypSupported = kVendorFeatures | kVendorPtp;
}  // namespace service_bit

// ---- PSCI power states (digest 2.5, 2.10) ----

/// A vCPU's power state as PSCI sees it.
enum class PowerState : std::uint8_t {
  Off,         ///< never started, or CPU_OFF completed
  On,          ///< running or waiting (WFI)
  OffPending,  ///< called CPU_OFF; core has not stopped it yet (still ON for AFFINITY_INFO)
  Standby,     ///< in a CPU_SUSPEND retention state
  PowerDown,   ///< in a CPU_SUSPEND power-down state, or the caller of SYSTEM_SUSPEND
};

/// The suspend states the model declares (original power_state format, digest 2.10).
enum class SuspendState : std::uint8_t { CoreStandby = 0, CorePowerDown = 1 };
inline constexpr std::size_t kSuspendStates = 2;

struct VcpuState {
  PowerState power = PowerState::Off;  ///< default: off until PSCI CPU_ON
  /// The CPU_SUSPEND state it is in while Standby/PowerDown (not for SYSTEM_SUSPEND); its
  /// residency is credited when it wakes. Default: none.
  std::optional<SuspendState> suspended_in;
  /// PSCI_STAT_COUNT per declared suspend state (index: SuspendState); default 0.
  std::array<std::uint64_t, kSuspendStates> suspend_count{};
  /// PSCI_STAT_RESIDENCY per declared suspend state, in microseconds; default 0.
  std::array<std::uint64_t, kSuspendStates> residency_us{};

  // PV time (DEN0057A; digest 4.2). The record's IPA is host configuration and survives
  // resets; whether the guest has started using it is guest state.
  std::optional<std::uint64_t> pv_time_ipa;  ///< the 64-byte record; default none (PV_TIME_ST -1)
  bool pv_time_started = false;              ///< PV_TIME_ST has been called since boot
  std::uint64_t steal_baseline_ns = 0;       ///< stolen ns when PV_TIME_ST was last called
};

struct VmState {
  /// PSCI version the guest sees, (major << 16) | minor. Default 1.1 (DESIGN.md section 8).
  std::uint32_t psci_version = 0x1'0001;
  std::uint64_t ram_base = 0;  ///< guest RAM, for entry-point and range checks; set at creation
  std::uint64_t ram_size = 0;
  /// PSCI MEM_PROTECT: RAM is wiped on the next reset while set. Default off.
  bool mem_protect = false;
  /// KVM PTP: wall-clock ns at virtual time 0 (set by the host at VM creation). Default 0.
  std::uint64_t epoch_ns = 0;

  // Service selection (KVM firmware pseudo-registers; digest 6.1-6.3). A clear bit hides the
  // service: its calls are NOT_SUPPORTED and discovery stops advertising it. Defaults: every
  // supported bit set.
  std::uint64_t std_bmap = service_bit::kStdSupported;                ///< bit 0: TRNG 1.0
  std::uint64_t std_hyp_bmap = service_bit::kStdHypSupported;         ///< bit 0: PV time
  std::uint64_t vendor_hyp_bmap = service_bit::kVendorHypSupported;   ///< bit 0: KVM_FEATURES + UID; bit 1: PTP
  /// A vCPU has run: VM-wide configuration is frozen (digest 6.2, 7.1). Default false.
  bool has_run = false;
  /// Host-installed FID ranges (digest 7); default empty: everything handled as usual.
  SmcccFilter filter;
  /// One entry per vCPU, sized at creation.
  std::vector<VcpuState> vcpus;

  /// Power-on state of the guest-owned part (DESIGN.md section 6): vCPU 0 on, the others off,
  /// no statistics. Configuration (version, RAM, MEM_PROTECT's setting) is kept.
  void reset_guest_state() {
    for (VcpuState& v : vcpus) v = VcpuState{.pv_time_ipa = v.pv_time_ipa};
    vcpus[0].power = PowerState::On;
  }

  unsigned vcpu_count() const { return static_cast<unsigned>(vcpus.size()); }
  bool in_ram(std::uint64_t addr, std::uint64_t len = 1) const {
    return addr >= ram_base && len <= ram_size && addr - ram_base <= ram_size - len;
  }
};

}  // namespace emu::fw
