// Arm Architecture Calls (DEN0028 SMCCC: SMCCC_VERSION, SMCCC_ARCH_FEATURES, SMCCC_ARCH_SOC_ID).
#include "firmware/arch.h"

#include <array>
#include <cstring>
#include <stdexcept>

#include "firmware/dispatcher.h"
#include "firmware/platform.h"

namespace emu::fw {
namespace {

constexpr std::uint16_t kFnVersion = 0x0000;
constexpr std::uint16_t kFnFeatures = 0x0001;
constexpr std::uint16_t kFnSocId = 0x0002;
constexpr std::uint16_t kFnFeatureAvailability = 0x0003;
constexpr std::uint16_t kFnWorkaround4 = 0x0004;
constexpr std::uint16_t kFnWorkaround3 = 0x3FFF;
constexpr std::uint16_t kFnWorkaround2 = 0x7FFF;
constexpr std::uint16_t kFnWorkaround1 = 0x8000;

// ARCH_FEATURES answers for the Spectre workarounds. An emulator does not speculate, so each
// reports "not affected" in its own encoding (DEN0028 SMCCC_ARCH_FEATURES; the choice is in
// docs/architecture.md, "Model decisions"): WA1 and WA3
// define 1 = "this PE is unaffected"; WA2 defines -2 NOT_REQUIRED = "permanently mitigated".
constexpr std::int32_t kUnaffected = 1;
constexpr std::int32_t kNotRequired = static_cast<std::int32_t>(SmcccStatus::NotRequired);

// The owner's whole function space except the general-query block (DEN0028 General Service
// Queries, function numbers 0xFF00-0xFFFF).
constexpr std::array kRanges{FunctionRange{owner::kArch, 0x0000, 0xFEFF}};

}  // namespace

ArchService::ArchService(const VmState& vm, SocIdConfig soc, El3FeatureView el3)
    : vm_(vm), soc_(std::move(soc)), el3_(el3) {
  if (soc_.name.size() >= arch::kSocNameMax) {
    throw ConfigError("soc", "SoC name is longer than 135 characters (SMCCC_ARCH_SOC_ID x1..x17)");
  }
  for (const char c : soc_.name) {
    if (c < 0x20 || c > 0x7E) throw ConfigError("soc", "SoC name must be printable ASCII");
  }
  if ((soc_.revision & 0x8000'0000u) != 0 || (soc_.jep106_bank & 0x80u) != 0) {
    throw ConfigError("soc", "SoC revision and JEP-106 bank must leave bit 31 clear");
  }
}

std::span<const FunctionRange> ArchService::ranges() const {
  return kRanges;
}
// `since` is the SMCCC version that brought the call in; the model offers the workarounds
// from 1.1, as KVM does (it reports 1.1 and answers all three). DEN0028 1.2 brought
// SOC_ID; 1.5 FEATURE_AVAILABILITY; 1.6 SOC_ID's SMC64 form with the name type (see offers_smc64()).
// WORKAROUND_4 (Arm's CVE-2024-7881 interface, listed in the current DEN0028) is gated on 1.6
// by the model's choice, so a guest at an older version never sees it. It has no "unaffected" encoding: ARCH_FEATURES
// answers NOT_SUPPORTED for a PE that is not affected (TF-A arm_arch_svc_setup.c does the same), and the call stays a
// no-op.
namespace {
// Nothing to mitigate in an emulator: each workaround is a successful no-op.
constexpr Handler kNoOp = [](Service&, const SmcccCall&, SmcccResult& result) {
  result.x[0] = status_reg(SmcccStatus::Success);
};
}  // namespace

const FunctionDesc ArchService::kFunctions[] = {
    FunctionDesc{.number = kFnVersion,
                 .name = "SMCCC_VERSION",
                 .result = ResultKind::Value,
                 .arch_features = 0,
                 .handler = [](Service& s, const SmcccCall&,
                               SmcccResult& result) { result.x[0] = self<ArchService>(s).vm_.smccc_version; }},
    FunctionDesc{.number = kFnFeatures,
                 .name = "SMCCC_ARCH_FEATURES",
                 .args = {"fid"},
                 .result = ResultKind::Value,
                 .arch_features = 0,
                 .since = arch::kVersion1_1,
                 .handler = member_handler<&ArchService::arch_features>},
    FunctionDesc{.number = kFnSocId,
                 .forms = kBothForms,
                 .name = "SMCCC_ARCH_SOC_ID",
                 .args = {"type"},
                 .result = ResultKind::Value,
                 .arch_features = 0,
                 .since = arch::kVersion1_2,
                 .gated64 = true,
                 .handler = member_handler<&ArchService::soc_id>},
    FunctionDesc{.number = kFnFeatureAvailability,
                 .forms = kSmc64,
                 .name = "SMCCC_ARCH_FEATURE_AVAILABILITY",
                 .args = {"reg"},
                 .arch_features = 0,
                 .since = arch::kVersion1_5,
                 .handler = [](Service& s, const SmcccCall& call,
                               SmcccResult& result) { self<ArchService>(s).feature_availability(call.x[1], result); }},
    FunctionDesc{.number = kFnWorkaround4,
                 .name = "SMCCC_ARCH_WORKAROUND_4",
                 .arch_features = kNotAdvertised,
                 .since = arch::kVersion1_6,
                 .handler = kNoOp},
    FunctionDesc{.number = kFnWorkaround3,
                 .name = "SMCCC_ARCH_WORKAROUND_3",
                 .arch_features = kUnaffected,
                 .since = arch::kVersion1_1,
                 .handler = kNoOp},
    FunctionDesc{.number = kFnWorkaround2,
                 .name = "SMCCC_ARCH_WORKAROUND_2",
                 .args = {"enable"},
                 .arch_features = kNotRequired,
                 .since = arch::kVersion1_1,
                 .handler = kNoOp},
    FunctionDesc{.number = kFnWorkaround1,
                 .name = "SMCCC_ARCH_WORKAROUND_1",
                 .arch_features = kUnaffected,
                 .since = arch::kVersion1_1,
                 .handler = kNoOp},
};

std::span<const FunctionDesc> ArchService::functions() const {
  return kFunctions;
}

// SMCCC_ARCH_SOC_ID's SMC64 form exists from DEN0028 1.6, which added it for the name type
// (the name fills x1..x17, so it needs 64-bit registers); the SMC32 form is 1.2's.
bool ArchService::offers_smc64(const FunctionDesc& fn) const {
  return fn.number != kFnSocId || vm_.smccc_version >= arch::kVersion1_6;
}

// SMCCC_ARCH_FEATURES (DEN0028): derived from the routing tables, so a function answers here
// only if it is routable now.
void ArchService::arch_features(const SmcccCall& call, SmcccResult& result) const {
  const Dispatcher::Found found = dispatcher_->find(static_cast<std::uint32_t>(call.x[1]));
  result.x[0] = status_reg(found ? found.fn->arch_features : kNotAdvertised);
}

// SMCCC_ARCH_SOC_ID (DEN0028 1.2+; the name type from SMCCC v1.6, as Linux's
// drivers/firmware/smccc/soc_id.c reads it): type 0 version, 1 revision, 2 name (SMC64 form only,
// packed little-endian into x1..x17 and NUL-terminated); anything else INVALID_PARAMETER.
void ArchService::soc_id(const SmcccCall& call, SmcccResult& result) const {
  const auto type = static_cast<std::uint32_t>(call.x[1]);
  switch (type) {
    case arch::kSocIdVersion:
      result.x[0] = (std::uint32_t{soc_.jep106_bank} << 24) | (std::uint32_t{soc_.jep106_id} << 16) | soc_.soc_id;
      return;
    case arch::kSocIdRevision: result.x[0] = soc_.revision; return;
    case arch::kSocIdName:
      // Only through the SMC64 form, which offers_smc64() gives from SMCCC 1.6.
      if (call.id.smc64) {
        soc_name(result);
        return;
      }
      [[fallthrough]];
    default: result.x[0] = status_reg(SmcccStatus::InvalidParameter); return;
  }
}

void ArchService::soc_name(SmcccResult& result) const {
  std::array<char, arch::kSocNameMax> bytes{};
  std::memcpy(bytes.data(), soc_.name.data(), soc_.name.size());
  for (int i = 1; i < kCallRegisters; ++i) {
    std::uint64_t reg = 0;
    for (int b = 7; b >= 0; --b) {
      reg = (reg << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>((i - 1) * 8 + b)]);
    }
    result.x[i] = reg;
  }
  result.x[0] = status_reg(SmcccStatus::Success);
  result.count = kCallRegisters;
}

// SMCCC_ARCH_FEATURE_AVAILABILITY (DEN0028 1.5): x1 names an EL3 register by its encoding;
// x0 = SUCCESS and x1 = the register's feature bitmask (El3FeatureView), or INVALID_PARAMETER
// with x1 = 0 for any other register. MPAM3_EL3 is INVALID_PARAMETER too: the model has no
// MPAM, and TF-A answers it only when built with FEAT_MPAM.
void ArchService::feature_availability(std::uint64_t reg, SmcccResult& result) const {
  switch (reg) {
    case arch::kScrEl3Opcode: result.x[1] = el3_.scr; break;
    case arch::kCptrEl3Opcode: result.x[1] = el3_.cptr; break;
    case arch::kMdcrEl3Opcode: result.x[1] = el3_.mdcr; break;
    default: result.x[0] = status_reg(SmcccStatus::InvalidParameter); return;
  }
  result.x[0] = status_reg(SmcccStatus::Success);
}

}  // namespace emu::fw
