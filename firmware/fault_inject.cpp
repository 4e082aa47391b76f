// Firmware fault injection (see fault_inject.h).
#include "firmware/fault_inject.h"

#include <array>

#include <fmt/format.h>

#include "firmware/function_id.h"

namespace emu::fw {
namespace {

constexpr SpecError kNotSupported{-1, "NOT_SUPPORTED"};
// PSCI (DEN0022 Table 5.2): the names PsciService reports.
constexpr SpecError kPsciInvalid{-2, "INVALID_PARAMETERS"};
constexpr SpecError kPsciDenied{-3, "DENIED"};
constexpr SpecError kPsciAlreadyOn{-4, "ALREADY_ON"};
constexpr SpecError kPsciOnPending{-5, "ON_PENDING"};
constexpr SpecError kPsciInternal{-6, "INTERNAL_FAILURE"};
constexpr SpecError kPsciDisabled{-8, "DISABLED"};
constexpr SpecError kPsciInvalidAddress{-9, "INVALID_ADDRESS"};
// TRNG (DEN0098 §2.1), SDEI (DEN0054C §5.1), SMCCC architecture calls (DEN0028 §7).
constexpr SpecError kTrngInvalid{-2, "INVALID_PARAMETERS"};
constexpr SpecError kTrngNoEntropy{-3, "NO_ENTROPY"};
constexpr SpecError kSdeiInvalid{-2, "INVALID_PARAMETERS"};
constexpr SpecError kSdeiDenied{-3, "DENIED"};
constexpr SpecError kSdeiPending{-5, "PENDING"};
constexpr SpecError kSdeiOutOfResource{-10, "OUT_OF_RESOURCE"};
constexpr SpecError kArchInvalid{-3, "INVALID_PARAMETER"};

struct Entry {
  std::uint32_t function;  // the FID with the SMC64 bit clear: both forms share the entry
  std::array<SpecError, 5> errors;
  std::size_t count;
};

// The return codes each function's description lists besides SUCCESS and its values; a code
// not certainly listed is left out (SYSTEM_SUSPEND and SDEI_EVENT_GET_INFO keep only the
// errors TF-A's psci_system_suspend and sdei_event_get_info return).
constexpr std::array kTable{
    // PSCI: CPU_SUSPEND, CPU_OFF, CPU_ON, AFFINITY_INFO, SYSTEM_RESET, FEATURES, NODE_HW_STATE,
    // SYSTEM_SUSPEND, SYSTEM_RESET2, MEM_PROTECT, MEM_PROTECT_CHECK_RANGE, SYSTEM_OFF2.
    Entry{0x8400'0001, {kPsciInvalid, kPsciInvalidAddress, kPsciDenied}, 3},
    Entry{0x8400'0002, {kPsciDenied}, 1},
    Entry{0x8400'0003, {kPsciInvalid, kPsciInvalidAddress, kPsciAlreadyOn, kPsciOnPending, kPsciInternal}, 5},
    Entry{0x8400'0004, {kPsciInvalid, kPsciDisabled}, 2},
    Entry{0x8400'000A, {kNotSupported}, 1},
    Entry{0x8400'000D, {kNotSupported, kPsciInvalid}, 2},
    Entry{0x8400'000E, {kPsciInvalidAddress, kPsciDenied}, 2},
    Entry{0x8400'0012, {kNotSupported, kPsciInvalid}, 2},
    Entry{0x8400'0013, {kNotSupported}, 1},
    Entry{0x8400'0014, {kNotSupported, kPsciDenied}, 2},
    Entry{0x8400'0015, {kNotSupported, kPsciInvalid}, 2},
    // TRNG: VERSION, FEATURES, GET_UUID, RND.
    Entry{0x8400'0050, {kNotSupported}, 1},
    Entry{0x8400'0051, {kNotSupported}, 1},
    Entry{0x8400'0052, {kNotSupported}, 1},
    Entry{0x8400'0053, {kNotSupported, kTrngInvalid, kTrngNoEntropy}, 3},
    // SDEI (SMC64 only): REGISTER, ENABLE, DISABLE, CONTEXT, COMPLETE, COMPLETE_AND_RESUME,
    // UNREGISTER, STATUS, GET_INFO, ROUTING_SET, INTERRUPT_BIND, INTERRUPT_RELEASE, SIGNAL,
    // FEATURES, PRIVATE_RESET, SHARED_RESET.
    Entry{0x8400'0021, {kSdeiInvalid, kSdeiDenied}, 2},
    Entry{0x8400'0022, {kSdeiInvalid, kSdeiDenied}, 2},
    Entry{0x8400'0023, {kSdeiInvalid, kSdeiDenied}, 2},
    Entry{0x8400'0024, {kSdeiInvalid, kSdeiDenied}, 2},
    Entry{0x8400'0025, {kSdeiDenied}, 1},
    Entry{0x8400'0026, {kSdeiDenied}, 1},
    Entry{0x8400'0027, {kSdeiInvalid, kSdeiDenied, kSdeiPending}, 3},
    Entry{0x8400'0028, {kSdeiInvalid}, 1},
    Entry{0x8400'0029, {kSdeiInvalid}, 1},
    Entry{0x8400'002A, {kSdeiInvalid, kSdeiDenied}, 2},
    Entry{0x8400'002D, {kSdeiInvalid, kSdeiOutOfResource}, 2},
    Entry{0x8400'002E, {kSdeiInvalid, kSdeiDenied}, 2},
    Entry{0x8400'002F, {kSdeiInvalid, kSdeiDenied}, 2},
    Entry{0x8400'0030, {kSdeiInvalid}, 1},
    Entry{0x8400'0031, {kSdeiDenied}, 1},
    Entry{0x8400'0032, {kSdeiDenied}, 1},
    // SMCCC_ARCH_SOC_ID, SMCCC_ARCH_FEATURE_AVAILABILITY.
    Entry{0x8000'0002, {kNotSupported, kArchInvalid}, 2},
    Entry{0x8000'0003, {kNotSupported, kArchInvalid}, 2},
    // PV time (DEN0057A): PV_TIME_FEATURES, PV_TIME_ST; KVM (hypercalls.rst, ptp_kvm.rst):
    // KVM_PTP, DISCOVER_IMPL_VER, DISCOVER_IMPL_CPUS.
    Entry{0x8500'0020, {kNotSupported}, 1},
    Entry{0x8500'0021, {kNotSupported}, 1},
    Entry{0x8600'0001, {kNotSupported}, 1},
    Entry{0x8600'0040, {kNotSupported}, 1},
    Entry{0x8600'0041, {kArchInvalid}, 1},
};

// splitmix64's finaliser: a fixed, well-mixed function of the seed, the FID and the call.
std::uint64_t mix(std::uint64_t z) {
  z += 0x9E37'79B9'7F4A'7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBull;
  return z ^ (z >> 31);
}

}  // namespace

std::span<const SpecError> spec_errors(std::uint32_t fid) {
  const std::uint32_t function = FunctionId::decode(fid).raw & ~FunctionId::kSmc64Bit;
  for (const Entry& e : kTable) {
    if (e.function == function) return {e.errors.data(), e.count};
  }
  return {};
}

std::optional<std::int32_t> spec_error_code(std::uint32_t fid, std::string_view name) {
  for (const SpecError& e : spec_errors(fid)) {
    if (e.name == name) return e.code;
  }
  return std::nullopt;
}

std::string spec_errors_text(std::uint32_t fid) {
  std::string names;
  for (const SpecError& e : spec_errors(fid))
    names += fmt::format("{}{} ({})", names.empty() ? "" : ", ", e.name, e.code);
  return names;
}

std::string fault_rule_problem(const FaultRule& rule) {
  const std::span<const SpecError> errors = spec_errors(rule.fid);
  if (errors.empty()) return fmt::format("the model lists no error that {:#010x} may return", rule.fid);
  bool listed = false;
  for (const SpecError& e : errors) listed = listed || e.code == rule.result;
  if (!listed) {
    return fmt::format("{} is not a result {:#010x} may return per its specification; it may return {}", rule.result,
                       rule.fid, spec_errors_text(rule.fid));
  }
  if (rule.when == FaultRule::When::Nth && rule.n == 0) return "calls are counted from 1";
  if (rule.when == FaultRule::When::Fraction && (rule.n == 0 || rule.n > 100)) return "the percentage must be 1..100";
  return {};
}

FaultInjector::FaultInjector(std::vector<FaultRule> rules, std::uint64_t seed)
    : rules_(std::move(rules)), counts_(rules_.size(), 0), seed_(seed) {}

bool FaultInjector::fires(std::size_t index, std::uint64_t call) const {
  const FaultRule& r = rules_[index];
  switch (r.when) {
    case FaultRule::When::Every: return true;
    case FaultRule::When::Nth: return call == r.n;
    case FaultRule::When::Fraction: return mix(seed_ ^ mix((std::uint64_t{r.fid} << 32) ^ index) ^ call) % 100 < r.n;
  }
  return false;
}

std::optional<std::int32_t> FaultInjector::on_call(std::uint32_t fid) {
  std::optional<std::int32_t> result;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    if (rules_[i].fid != fid) continue;
    const std::uint64_t call = ++counts_[i];
    if (!result && fires(i, call)) result = rules_[i].result;
  }
  return result;
}

}  // namespace emu::fw
