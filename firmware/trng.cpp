// TRNG 1.0 (DEN0098 Arm True Random Number Generator Firmware Interface).
#include "firmware/trng.h"

#include <array>

#include "firmware/dispatcher.h"

namespace emu::fw {
namespace {

constexpr std::uint16_t kFnVersion = 0x50;
constexpr std::uint16_t kFnFeatures = 0x51;
constexpr std::uint16_t kFnGetUuid = 0x52;
constexpr std::uint16_t kFnRnd = 0x53;

constexpr std::array kRanges{FunctionRange{owner::kStandardSecure, 0x50, 0x5F}};

// The low `bits` bits of `v` (bits in 0..64).
constexpr std::uint64_t low_bits(std::uint64_t v, std::uint32_t bits) {
  return bits >= 64 ? v : v & ((std::uint64_t{1} << bits) - 1);
}

}  // namespace

std::span<const FunctionRange> TrngService::ranges() const {
  return kRanges;
}

// KVM_REG_ARM_STD_BMAP bit 0 (Linux Documentation/virt/kvm/arm/hypercalls.rst).
bool TrngService::available(const FunctionDesc& /*fn*/) const {
  return entropy_ != nullptr && (vm_.std_bmap & service_bit::kTrng) != 0;
}
const FunctionDesc TrngService::kFunctions[] = {
    FunctionDesc{.number = kFnVersion,
                 .name = "TRNG_VERSION",
                 .result = ResultKind::Value,
                 .handler = [](Service&, const SmcccCall&, SmcccResult& result) { result.x[0] = trng::kVersion1_0; }},
    FunctionDesc{.number = kFnFeatures,
                 .name = "TRNG_FEATURES",
                 .args = {"fid"},
                 .handler = member_handler<&TrngService::features>},
    FunctionDesc{.number = kFnGetUuid,
                 .name = "TRNG_GET_UUID",
                 .result = ResultKind::Value,
                 .handler = member_handler<&TrngService::get_uuid>},
    FunctionDesc{.number = kFnRnd,
                 .forms = kBothForms,
                 .name = "TRNG_RND32",
                 .name64 = "TRNG_RND64",
                 .args = {"bits"},
                 .handler = member_handler<&TrngService::rnd>},
};

std::span<const FunctionDesc> TrngService::functions() const {
  return kFunctions;
}

// TRNG_FEATURES (DEN0098): derived from the routing table, 0 for a TRNG function,
// NOT_SUPPORTED otherwise.
void TrngService::features(const SmcccCall& call, SmcccResult& result) const {
  const Dispatcher::Found found = dispatcher_->find(static_cast<std::uint32_t>(call.x[1]));
  result.x[0] = status_reg(found && found.service == this ? TrngStatus::Success : TrngStatus::NotSupported);
}

// TRNG_GET_UUID (DEN0098): the entropy source's UUID in w0..w3.
void TrngService::get_uuid(const SmcccCall& /*call*/, SmcccResult& result) const {
  const CallUid uid = entropy_->uuid();
  for (std::size_t i = 0; i < 4; ++i) result.x[i] = uid[i];
}

// TRNG_RND32 / TRNG_RND64 (DEN0098 TRNG_RND, its result packing and error codes): N is W1 in both
// forms; 1..96 or 1..192 bits, packed with the most significant bits in the lowest-numbered
// register (x1), the least in x3; unused bits zero; on any error x1..x3 stay zero.
void TrngService::rnd(const SmcccCall& call, SmcccResult& result) {
  const bool wide = call.id.smc64;
  const auto bits = static_cast<std::uint32_t>(call.x[1]);
  const std::uint32_t register_bits = wide ? 64 : 32;
  if (bits == 0 || bits > (wide ? trng::kMaxBits64 : trng::kMaxBits32)) {
    result.x[0] = status_reg(TrngStatus::InvalidParameters);
    return;
  }
  const std::size_t registers = (bits + register_bits - 1) / register_bits;
  std::array<std::uint64_t, 3> words{};
  if (!entropy_->fill(std::span(words).first(registers))) {
    result.x[0] = status_reg(TrngStatus::NoEntropy);
    return;
  }
  // Register k (x3, x2, x1 for k = 0, 1, 2) holds bits [register_bits*k, register_bits*(k+1)).
  for (std::size_t k = 0; k < registers; ++k) {
    const std::uint32_t used = std::min(register_bits, bits - static_cast<std::uint32_t>(k) * register_bits);
    result.x[3 - k] = low_bits(words[k], used);
  }
  result.x[0] = status_reg(TrngStatus::Success);
}

}  // namespace emu::fw
