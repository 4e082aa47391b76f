// PSCI (DEN0022; digest section 2).
#include "firmware/psci.h"

#include <array>

#include "firmware/arch.h"
#include "firmware/dispatcher.h"

namespace emu::fw {
namespace {

constexpr std::uint16_t kFnVersion = 0x00;
constexpr std::uint16_t kFnMigrateInfoType = 0x06;
constexpr std::uint16_t kFnSystemOff = 0x08;
constexpr std::uint16_t kFnSystemReset = 0x09;
constexpr std::uint16_t kFnFeatures = 0x0A;
constexpr std::uint16_t kFnSystemReset2 = 0x12;

constexpr std::array kRanges{FunctionRange{owner::kStandardSecure, 0x00, 0x1F}};

// `since` is the PSCI version that introduced each call (digest 2.1). The calls that do not
// return write x0 only (INTERNAL_FAILURE, should a host resume the vCPU) and leave x1/x2 for
// the host to read, as KVM does (digest 2.11).
constexpr std::array kFunctions{
    FunctionDesc{.number = kFnVersion, .name = "PSCI_VERSION", .result = ResultKind::Value},
    FunctionDesc{.number = kFnMigrateInfoType, .name = "PSCI_MIGRATE_INFO_TYPE",
                 .result = ResultKind::Value},
    FunctionDesc{.number = kFnSystemOff, .name = "PSCI_SYSTEM_OFF", .result = ResultKind::NoReturn, .results = 1},
    FunctionDesc{.number = kFnSystemReset, .name = "PSCI_SYSTEM_RESET", .result = ResultKind::NoReturn,
                 .results = 1},
    FunctionDesc{.number = kFnFeatures, .name = "PSCI_FEATURES", .args = {"fid"},
                 .result = ResultKind::Value, .since = psci::kVersion1_0},
    FunctionDesc{.number = kFnSystemReset2, .forms = kBothForms, .name = "PSCI_SYSTEM_RESET2",
                 .args = {"type", "cookie"}, .result = ResultKind::NoReturn, .results = 1,
                 .since = psci::kVersion1_1},
};

}  // namespace

std::span<const FunctionRange> PsciService::ranges() const { return kRanges; }
std::span<const FunctionDesc> PsciService::functions() const { return kFunctions; }

void PsciService::handle(const FunctionDesc& fn, SmcccCall& call, SmcccResult& result) {
  switch (fn.number) {
    case kFnVersion:
      result.x[0] = vm_.psci_version;
      return;
    case kFnMigrateInfoType:
      result.x[0] = psci::kTosNotPresentMp;
      return;
    case kFnFeatures:
      result.x[0] = status_reg(features(static_cast<std::uint32_t>(call.x[1])));
      return;
    case kFnSystemOff:
      // Like KVM, pre-load INTERNAL_FAILURE: if a host ever resumes this vCPU, the call failed.
      result.x[0] = status_reg(PsciStatus::InternalFailure);
      result.request = {RequestKind::SystemOff};
      return;
    case kFnSystemReset:
      result.x[0] = status_reg(PsciStatus::InternalFailure);
      result.request = {RequestKind::SystemReset, static_cast<std::uint64_t>(ResetType::Cold)};
      return;
    case kFnSystemReset2:
      system_reset2(call, result);
      return;
    default:
      set_not_supported(result);
      return;
  }
}

// PSCI_FEATURES (digest 2.14): the answer comes from the same table that routes calls.
// SMCCC_VERSION is the one non-PSCI function it reports: that is how a PSCI 1.x client finds
// SMCCC >= 1.1.
std::int32_t PsciService::features(std::uint32_t queried_fid) const {
  const Dispatcher::Found found = dispatcher_->find(queried_fid);
  if (!found) return static_cast<std::int32_t>(PsciStatus::NotSupported);
  if (found.service == this) return found.fn->own_features;
  if (FunctionId::decode(queried_fid).raw == arch::kSmcccVersion) return 0;
  return static_cast<std::int32_t>(PsciStatus::NotSupported);
}

// SYSTEM_RESET2 (digest 2.11): reset_type is a 32-bit value in both forms. Architectural
// type 0 is a warm reset; other architectural types, and vendor types (bit 31), which this
// platform defines none of, are INVALID_PARAMETERS (DESIGN.md section 8).
void PsciService::system_reset2(const SmcccCall& call, SmcccResult& result) const {
  const auto type = static_cast<std::uint32_t>(call.x[1]);
  if (type != psci::kResetTypeWarm) {
    result.x[0] = status_reg(PsciStatus::InvalidParameters);
    return;
  }
  result.x[0] = status_reg(PsciStatus::InternalFailure);
  result.request = {RequestKind::SystemReset, static_cast<std::uint64_t>(ResetType::Warm), call.x[2]};
}

std::string_view PsciService::status_name(std::int64_t code) const {
  switch (code) {
    case -1: return "NOT_SUPPORTED";
    case -2: return "INVALID_PARAMETERS";
    case -3: return "DENIED";
    case -4: return "ALREADY_ON";
    case -5: return "ON_PENDING";
    case -6: return "INTERNAL_FAILURE";
    case -7: return "NOT_PRESENT";
    case -8: return "DISABLED";
    case -9: return "INVALID_ADDRESS";
    default: return {};
  }
}

}  // namespace emu::fw
