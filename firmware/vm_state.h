// Firmware state (docs/architecture.md, "Services, state and discovery"): VmState is VM-wide,
// VcpuState per vCPU. Tables are sized when the VM is created and never grow; nothing here holds a
// host pointer.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

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

// ---- PSCI power states (DEN0022F.b: the per-core power states, CPU_SUSPEND) ----

/// A vCPU's power state as PSCI sees it.
enum class PowerState : std::uint8_t {
  Off,         ///< never started, or CPU_OFF completed
  On,          ///< running or waiting (WFI)
  OffPending,  ///< called CPU_OFF; core has not stopped it yet (still ON for AFFINITY_INFO)
  Standby,     ///< in a CPU_SUSPEND retention state
  PowerDown,   ///< in a CPU_SUSPEND power-down state, or the caller of SYSTEM_SUSPEND
};

/// The suspend states the model declares (DEN0022F.b CPU_SUSPEND, original power_state format).
enum class SuspendState : std::uint8_t { CoreStandby = 0, CorePowerDown = 1 };
inline constexpr std::size_t kSuspendStates = 2;

// ---- SDEI (DEN0054C) ----

/// An SDEI event the platform offers. Events are fixed when the VM is created (the spec has
/// no discovery call; the host announces the numbers out of band, DEN0054C's event model).
struct SdeiEventDecl {
  std::uint32_t number = 0;  ///< event number; bit 31 clear (DEN0054C event numbers)
  bool shared = false;       ///< shared (one instance, routed) or private (one per PE); default private
  bool critical = false;     ///< critical priority (may preempt a normal handler); default normal
  bool signalable = false;   ///< SDEI_EVENT_SIGNAL may raise it (DEN0054C: event 0); default no
  /// A bind slot (DEN0054C SDEI_INTERRUPT_BIND): an event with no source until the guest binds
  /// it to an interrupt, normal priority and not signalable. The firmware declares these
  /// itself; default no.
  bool dynamic = false;
};

/// One instance of an event: per PE for private events, one VM-wide for shared events.
/// running && !registered is the handler-unregister-pending state (DEN0054C event states; TF-A's sdei_state.c).
struct SdeiInstance {
  bool registered = false;
  bool enabled = false;
  bool running = false;
  bool pending = false;          ///< triggered, waiting for the dispatch conditions (DEN0054C event dispatch)
  std::uint64_t entry = 0;       ///< handler address given at REGISTER
  std::uint64_t arg = 0;         ///< ep_argument, passed to the handler in x1
  bool route_pe = false;         ///< shared: RM_PE (else RM_ANY)
  std::uint64_t affinity = 0;    ///< shared RM_PE: the target's affinity
  std::uint32_t running_on = 0;  ///< shared: the vCPU running its handler
};

/// The context an SDEI dispatch interrupted (DEN0054C event handler entry): restored by COMPLETE.
struct SdeiContext {
  std::array<std::uint64_t, 18> x{};  ///< x0..x17
  std::uint64_t pc = 0;               ///< where execution would have continued
  std::uint64_t pstate = 0;           ///< PSTATE in SPSR format
  std::uint32_t event = 0;            ///< index into VmState::sdei_events of the handler
};

/// One CPU implementation a VM may run on, as the host reports it to the guest through KVM's
/// DISCOVER_IMPL_CPUS (Linux Documentation/virt/kvm/arm/hypercalls.rst), so that the guest
/// enables the errata workarounds of every one of them.
struct ImplCpu {
  std::uint64_t midr = 0;    ///< MIDR_EL1 (bits 63:32 RES0)
  std::uint64_t revidr = 0;  ///< REVIDR_EL1
  std::uint64_t aidr = 0;    ///< AIDR_EL1
};
/// Implementations the host may list: a bound on what a guest is made to allocate.
inline constexpr std::size_t kMaxImplCpus = 256;

/// Handlers nest at most twice per PE: a critical one inside a normal one (DEN0054C event priorities).
inline constexpr std::size_t kSdeiMaxNesting = 2;

struct VcpuState {
  PowerState power = PowerState::Off;  ///< default: off until PSCI CPU_ON
  /// The CPU_SUSPEND state it is in while Standby/PowerDown (not for SYSTEM_SUSPEND); its
  /// residency is credited when it wakes. Default: none.
  std::optional<SuspendState> suspended_in;
  /// PSCI_STAT_COUNT per declared suspend state (index: SuspendState); default 0.
  std::array<std::uint64_t, kSuspendStates> suspend_count{};
  /// PSCI_STAT_RESIDENCY per declared suspend state, in microseconds; default 0.
  std::array<std::uint64_t, kSuspendStates> residency_us{};

  // PV time (DEN0057A; Linux Documentation/virt/kvm/arm/pvtime.rst). The record's IPA is host
  // configuration and survives resets; whether the guest has started using it is guest state.
  std::optional<std::uint64_t> pv_time_ipa;  ///< the 64-byte record; default none (PV_TIME_ST -1)
  bool pv_time_started = false;              ///< PV_TIME_ST has been called since boot
  std::uint64_t steal_baseline_ns = 0;       ///< stolen ns when PV_TIME_ST was last called

  // SDEI (DEN0054C: event states, dispatch, completion, PE masking).
  bool sdei_masked = true;         ///< PE_MASK state; every PE starts masked (DEN0054C SDEI_PE_MASK)
  std::vector<SdeiInstance> sdei;  ///< private event instances, indexed like VmState::sdei_events
  std::array<SdeiContext, kSdeiMaxNesting> sdei_stack{};  ///< interrupted contexts, innermost last
  std::uint8_t sdei_depth = 0;                            ///< handlers running on this PE
  /// The context the last COMPLETE / COMPLETE_AND_RESUME popped, for core to restore.
  SdeiContext sdei_resume{};
};

struct VmState {
  /// PSCI version the guest sees, (major << 16) | minor. Default 1.1 (docs/architecture.md, "Model decisions").
  std::uint32_t psci_version = 0x1'0001;
  /// SMCCC version the guest sees (DEN0028 SMCCC_VERSION), 1.1..1.6: calls a later version
  /// introduced are neither routed nor advertised. Default 1.2. smccc-emu's own register.
  std::uint32_t smccc_version = 0x1'0002;
  std::uint64_t ram_base = 0;  ///< guest RAM, for entry-point and range checks; set at creation
  std::uint64_t ram_size = 0;
  /// PSCI MEM_PROTECT: RAM is wiped on the next reset while set. Default off.
  bool mem_protect = false;
  /// KVM PTP: wall-clock ns at virtual time 0 (set by the host at VM creation). Default 0.
  std::uint64_t epoch_ns = 0;

  // Service selection (KVM firmware pseudo-registers; Linux
  // Documentation/virt/kvm/arm/hypercalls.rst). A clear bit hides the service: its calls are
  // NOT_SUPPORTED and discovery stops advertising it. Defaults: every supported bit set.
  std::uint64_t std_bmap = service_bit::kStdSupported;               ///< bit 0: TRNG 1.0
  std::uint64_t std_hyp_bmap = service_bit::kStdHypSupported;        ///< bit 0: PV time
  std::uint64_t vendor_hyp_bmap = service_bit::kVendorHypSupported;  ///< bit 0: KVM_FEATURES + UID; bit 1: PTP
  /// KVM's VENDOR_HYP_BMAP_2: bit 0 DISCOVER_IMPL_VER, bit 1 DISCOVER_IMPL_CPUS. Default 0.
  std::uint64_t vendor_hyp_bmap_2 = 0;
  /// The implementations DISCOVER_IMPL_CPUS reports (host configuration, fixed at creation;
  /// default none).
  std::vector<ImplCpu> impl_cpus;
  /// A vCPU has run: VM-wide configuration is frozen (as KVM's pseudo-registers and SMCCC filter,
  /// which answer EBUSY then). Default false.
  bool has_run = false;
  /// Host-installed FID ranges (KVM_ARM_VM_SMCCC_FILTER); default empty: everything handled as usual.
  SmcccFilter filter;
  /// One entry per vCPU, sized at creation.
  std::vector<VcpuState> vcpus;
  /// SDEI events on offer (fixed at creation); event 0 is always first (DEN0054C: event 0 is the
  /// software-signalled event).
  std::vector<SdeiEventDecl> sdei_events;
  /// Shared event instances, indexed like sdei_events (private entries unused).
  std::vector<SdeiInstance> sdei_shared;
  /// Per event, indexed like sdei_events: the INTID a bind slot is bound to, 0 if it is free
  /// (INTIDs below 16 are SGIs and never bound). Guest state: a reset frees every slot.
  std::vector<std::uint32_t> sdei_bound;

  /// Power-on state of the guest-owned part (docs/architecture.md, "The platform"): vCPU 0 on, the others off,
  /// no statistics. Configuration (version, RAM, MEM_PROTECT's setting) is kept.
  void reset_guest_state() {
    for (VcpuState& v : vcpus) {
      v = VcpuState{.pv_time_ipa = v.pv_time_ipa};
      v.sdei.assign(sdei_events.size(), SdeiInstance{});
    }
    sdei_shared.assign(sdei_events.size(), SdeiInstance{});
    sdei_bound.assign(sdei_events.size(), 0);
    vcpus[0].power = PowerState::On;
  }

  unsigned vcpu_count() const { return static_cast<unsigned>(vcpus.size()); }
  bool in_ram(std::uint64_t addr, std::uint64_t len = 1) const {
    return addr >= ram_base && len <= ram_size && addr - ram_base <= ram_size - len;
  }
};

}  // namespace emu::fw
