// KVM vendor hypervisor service (digest 5.1, 5.2).
#include "firmware/kvm_vendor.h"

#include <array>

namespace emu::fw {
namespace {

constexpr std::uint16_t kFnFeatures = 0x00;
// KVM's function space is 0..127 (ARM_SMCCC_KVM_NUM_FUNCS); the bitmap covers all of it.
constexpr std::uint16_t kFunctionSpace = 128;

constexpr std::array kRanges{FunctionRange{owner::kVendorHyp, 0x00, kFunctionSpace - 1}};

constexpr std::array kFunctions{
    FunctionDesc{.number = kFnFeatures, .name = "KVM_FEATURES", .result = ResultKind::Value},
};

}  // namespace

std::span<const FunctionRange> KvmVendorService::ranges() const { return kRanges; }
std::span<const FunctionDesc> KvmVendorService::functions() const { return kFunctions; }

void KvmVendorService::handle(const FunctionDesc& fn, SmcccCall& /*call*/, SmcccResult& result) {
  if (fn.number != kFnFeatures) {
    set_not_supported(result);
    return;
  }
  // R0..R3: bit n of R(n / 32) set when function n is available (digest 5.1). Bit 0 is this
  // call itself.
  for (const FunctionDesc& f : functions()) {
    if (available(f)) result.x[f.number / 32] |= std::uint64_t{1} << (f.number % 32);
  }
}

std::string_view KvmVendorService::status_name(std::int64_t code) const {
  return code == -1 ? std::string_view("NOT_SUPPORTED") : std::string_view();
}

}  // namespace emu::fw
