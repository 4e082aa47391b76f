// Power State Coordination Interface 1.1, owner 4 functions 0x00-0x1F (DEN0022F.b).
//
// Every PSCI 1.1 function except the optional ones a platform without a Trusted OS or
// OS-initiated mode leaves out (MIGRATE, MIGRATE_INFO_UP_CPU, CPU_FREEZE,
// CPU_DEFAULT_SUSPEND, SET_SUSPEND_MODE: NOT_SUPPORTED, as in KVM). Model decisions
// (docs/architecture.md, "Model decisions"): CPU_ON makes the target ON before it returns (never ON_PENDING);
// CPU_SUSPEND accepts exactly the declared states; the topology has two affinity levels.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "firmware/service.h"
#include "firmware/vm_state.h"

namespace emu::fw {

namespace psci {
inline constexpr std::uint32_t kVersion = 0x8400'0000;
inline constexpr std::uint32_t kCpuSuspend = 0x8400'0001;
inline constexpr std::uint32_t kCpuOff = 0x8400'0002;
inline constexpr std::uint32_t kCpuOn = 0x8400'0003;
inline constexpr std::uint32_t kCpuOn64 = 0xC400'0003;
inline constexpr std::uint32_t kAffinityInfo = 0x8400'0004;
inline constexpr std::uint32_t kMigrateInfoType = 0x8400'0006;
inline constexpr std::uint32_t kSystemOff = 0x8400'0008;
inline constexpr std::uint32_t kSystemReset = 0x8400'0009;
inline constexpr std::uint32_t kFeatures = 0x8400'000A;
inline constexpr std::uint32_t kNodeHwState = 0x8400'000D;
inline constexpr std::uint32_t kSystemSuspend = 0x8400'000E;
inline constexpr std::uint32_t kStatResidency = 0x8400'0010;
inline constexpr std::uint32_t kStatCount = 0x8400'0011;
inline constexpr std::uint32_t kSystemReset2 = 0x8400'0012;
inline constexpr std::uint32_t kSystemReset2_64 = 0xC400'0012;
inline constexpr std::uint32_t kMemProtect = 0x8400'0013;
inline constexpr std::uint32_t kMemProtectCheckRange = 0x8400'0014;
inline constexpr std::uint32_t kSystemOff2 = 0x8400'0015;
inline constexpr std::uint32_t kSystemOff2_64 = 0xC400'0015;

inline constexpr std::uint32_t kVersion1_0 = 0x1'0000;
inline constexpr std::uint32_t kVersion1_1 = 0x1'0001;
inline constexpr std::uint32_t kVersion1_2 = 0x1'0002;
inline constexpr std::uint32_t kVersion1_3 = 0x1'0003;

/// AFFINITY_INFO answers (DEN0022F.b AFFINITY_INFO).
inline constexpr std::uint32_t kAffinityOn = 0;
inline constexpr std::uint32_t kAffinityOff = 1;
/// NODE_HW_STATE answers.
inline constexpr std::uint32_t kHwOn = 0;
inline constexpr std::uint32_t kHwOff = 1;
inline constexpr std::uint32_t kHwStandby = 2;
/// MIGRATE_INFO_TYPE: no Trusted OS that needs migration (DEN0022F.b MIGRATE_INFO_TYPE).
inline constexpr std::uint32_t kTosNotPresentMp = 2;
/// SYSTEM_RESET2 reset_type (DEN0022F.b SYSTEM_RESET2).
inline constexpr std::uint32_t kResetTypeWarm = 0;
/// SYSTEM_OFF2 type (DEN0022F.b §5.12): HIBERNATE_OFF is 1, and F.b has 0 mean it too.
inline constexpr std::uint32_t kOffTypeHibernate = 1;
/// PSCI_FEATURES(SYSTEM_OFF2): the supported types as a bitmask, bit 0 HIBERNATE_OFF
/// (Linux's PSCI_1_3_OFF_TYPE_HIBERNATE_OFF, the value KVM answers).
inline constexpr std::int32_t kOff2TypesHibernate = 1 << 0;

/// The power_state values CPU_SUSPEND accepts (original format: StateType bit 16, PowerLevel
/// bits 25:24, StateID bits 15:0; DEN0022F.b CPU_SUSPEND). Both are core-level states with StateID 0.
inline constexpr std::uint32_t kPowerStateCoreStandby = 0x0000'0000;
inline constexpr std::uint32_t kPowerStateCorePowerDown = 0x0001'0000;
/// How long a suspended vCPU sleeps, in virtual time. The platform has no interrupt that
/// could wake it earlier, so the model's wake-up is this fixed timer.
inline constexpr std::uint64_t kSuspendNs = 10'000;
}  // namespace psci

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

/// PSCI's state of one vCPU (DEN0022F.b: the per-core power states, CPU_SUSPEND, PSCI_STAT_*).
struct PsciVcpu {
  PowerState power = PowerState::Off;  ///< default: off until PSCI CPU_ON
  /// The CPU_SUSPEND state it is in while Standby/PowerDown (not for SYSTEM_SUSPEND); its
  /// residency is credited when it wakes. Default: none.
  std::optional<SuspendState> suspended_in;
  /// PSCI_STAT_COUNT per declared suspend state (index: SuspendState); default 0.
  std::array<std::uint64_t, kSuspendStates> suspend_count{};
  /// PSCI_STAT_RESIDENCY per declared suspend state, in microseconds; default 0.
  std::array<std::uint64_t, kSuspendStates> residency_us{};
};

/// Everything PSCI owns: guest state, private to PsciService.
struct PsciState {
  std::vector<PsciVcpu> vcpus;  ///< one per vCPU, sized at creation
  /// PSCI MEM_PROTECT: RAM is wiped on the next reset while set. Default off. The OS's setting:
  /// it survives a system reset (it says what the reset does to RAM).
  bool mem_protect = false;
};

/// PSCI return codes (DEN0022F.b, "Return error codes").
#define EMU_FW_PSCI_STATUSES(X)                  \
  X(Success, 0, "SUCCESS")                       \
  X(NotSupported, -1, "NOT_SUPPORTED")           \
  X(InvalidParameters, -2, "INVALID_PARAMETERS") \
  X(Denied, -3, "DENIED")                        \
  X(AlreadyOn, -4, "ALREADY_ON")                 \
  X(OnPending, -5, "ON_PENDING")                 \
  X(InternalFailure, -6, "INTERNAL_FAILURE")     \
  X(NotPresent, -7, "NOT_PRESENT")               \
  X(Disabled, -8, "DISABLED")                    \
  X(InvalidAddress, -9, "INVALID_ADDRESS")

enum class PsciStatus : std::int32_t { EMU_FW_PSCI_STATUSES(EMU_FW_STATUS_ENUMERATOR) };
inline constexpr StatusName kPsciStatuses[] = {EMU_FW_PSCI_STATUSES(EMU_FW_STATUS_ROW)};

class PsciService final : public Service {
 public:
  /// Reads the version, RAM range and vCPU count from `vm`; starts in the power-on state.
  explicit PsciService(const VmState& vm);

  std::string_view name() const override { return "PSCI"; }
  std::span<const FunctionRange> ranges() const override;
  std::span<const FunctionDesc> functions() const override;
  bool available(const FunctionDesc& fn) const override { return fn.since <= vm_.psci_version; }
  std::span<const StatusName> statuses() const override { return kPsciStatuses; }

  void on_vcpu_stopped(unsigned vcpu) override;
  void on_vcpu_resumed(unsigned vcpu) override;
  void on_system_reset() override;

  /// Tag "PSCI": each vCPU's power state and statistics, and MEM_PROTECT.
  std::uint32_t state_tag() const override { return kStateTag; }
  void save_section(StateWriter& out) const override;
  void load_section(StateReader& in) override;
  void commit_loaded() override;
  /// Between load_section and commit_loaded: the power state the staged section gives `vcpu`.
  PowerState staged_power(unsigned vcpu) const { return loaded_->vcpus.at(vcpu).power; }

  /// `vcpu`'s power state (for the host, and for tests).
  PowerState power(unsigned vcpu) const { return state_.vcpus.at(vcpu).power; }
  /// Whether MEM_PROTECT is on: core wipes RAM at the next reset then.
  bool mem_protect() const { return state_.mem_protect; }

  static constexpr std::uint32_t kStateTag = 0x50'53'43'49;  // "PSCI"

 private:
  // The table functions() returns: defined in the .cpp, where its handlers may name private members.
  static const FunctionDesc kFunctions[];
  void version(const SmcccCall& call, SmcccResult& result) const;
  std::int32_t features(std::uint32_t queried_fid) const;
  void cpu_suspend(const SmcccCall& call, SmcccResult& result);
  void cpu_on(const SmcccCall& call, SmcccResult& result);
  void cpu_off(const SmcccCall& call, SmcccResult& result);
  std::uint64_t affinity_info(std::uint64_t target, std::uint64_t level) const;
  std::uint64_t node_hw_state(std::uint64_t target, std::uint64_t level) const;
  void system_suspend(const SmcccCall& call, SmcccResult& result);
  std::uint64_t stat(std::uint64_t target, std::uint64_t power_state, bool residency) const;
  std::uint64_t mem_protect(std::uint64_t enable);
  std::uint64_t mem_protect_check_range(std::uint64_t base, std::uint64_t length) const;
  void system_reset2(const SmcccCall& call, SmcccResult& result) const;
  void system_off2(const SmcccCall& call, SmcccResult& result) const;

  /// A valid AArch64 entry point: inside RAM and 4-byte aligned (DEN0022F.b CPU_ON INVALID_ADDRESS).
  bool valid_entry(std::uint64_t entry) const { return entry % 4 == 0 && vm_.in_ram(entry, 4); }
  /// The cluster `target` names at affinity level 1, if one with vCPUs exists.
  std::optional<unsigned> cluster_of(std::uint64_t target) const;

  void reset_state();

  const VmState& vm_;
  PsciState state_;
  std::optional<PsciState> loaded_;  ///< staged by load_section until commit_loaded
};

/// The declared suspend state a power_state value names, if any.
std::optional<SuspendState> parse_power_state(std::uint64_t power_state);

}  // namespace emu::fw
