// Power State Coordination Interface, owner 4 functions 0x00-0x1F (DEN0022; digest 2).
//
// Implemented so far: what a single CPU needs. PSCI_VERSION, PSCI_FEATURES,
// MIGRATE_INFO_TYPE, SYSTEM_OFF, SYSTEM_RESET and SYSTEM_RESET2. The per-CPU calls
// (CPU_ON, CPU_OFF, AFFINITY_INFO, CPU_SUSPEND, ...) arrive with the SMP issue; until then
// they are not in the table, so they are NOT_SUPPORTED and PSCI_FEATURES says so.
#pragma once

#include <cstdint>

#include "firmware/service.h"
#include "firmware/vm_state.h"

namespace emu::fw {

namespace psci {
inline constexpr std::uint32_t kVersion = 0x8400'0000;
inline constexpr std::uint32_t kMigrateInfoType = 0x8400'0006;
inline constexpr std::uint32_t kSystemOff = 0x8400'0008;
inline constexpr std::uint32_t kSystemReset = 0x8400'0009;
inline constexpr std::uint32_t kFeatures = 0x8400'000A;
inline constexpr std::uint32_t kSystemReset2 = 0x8400'0012;
inline constexpr std::uint32_t kSystemReset2_64 = 0xC400'0012;

inline constexpr std::uint32_t kVersion1_0 = 0x1'0000;
inline constexpr std::uint32_t kVersion1_1 = 0x1'0001;

/// MIGRATE_INFO_TYPE: no Trusted OS that needs migration (digest 2.13).
inline constexpr std::uint32_t kTosNotPresentMp = 2;
/// SYSTEM_RESET2 reset_type (digest 2.11).
inline constexpr std::uint32_t kResetTypeWarm = 0;
inline constexpr std::uint32_t kResetTypeVendorBit = 0x8000'0000;
}  // namespace psci

/// PSCI return codes (digest 2.2).
enum class PsciStatus : std::int32_t {
  Success = 0,
  NotSupported = -1,
  InvalidParameters = -2,
  Denied = -3,
  AlreadyOn = -4,
  OnPending = -5,
  InternalFailure = -6,
  NotPresent = -7,
  Disabled = -8,
  InvalidAddress = -9,
};

constexpr std::uint64_t status_reg(PsciStatus s) { return status_reg(static_cast<std::int32_t>(s)); }

class PsciService final : public Service {
 public:
  explicit PsciService(const VmState& vm) : vm_(vm) {}

  std::string_view name() const override { return "PSCI"; }
  std::span<const FunctionRange> ranges() const override;
  std::span<const FunctionDesc> functions() const override;
  bool available(const FunctionDesc& fn) const override { return fn.since <= vm_.psci_version; }
  void handle(const FunctionDesc& fn, SmcccCall& call, SmcccResult& result) override;
  std::string_view status_name(std::int64_t code) const override;

 private:
  std::int32_t features(std::uint32_t queried_fid) const;
  void system_reset2(const SmcccCall& call, SmcccResult& result) const;

  const VmState& vm_;
};

}  // namespace emu::fw
