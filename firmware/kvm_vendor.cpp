// KVM vendor hypervisor service (Linux Documentation/virt/kvm/arm/hypercalls.rst, ptp_kvm.rst).
#include "firmware/kvm_vendor.h"

#include <array>

namespace emu::fw {
namespace {

constexpr std::uint16_t kFnFeatures = 0x00;
constexpr std::uint16_t kFnPtp = 0x01;
// KVM's function space is 0..127 (ARM_SMCCC_KVM_NUM_FUNCS); the bitmap covers all of it.
constexpr std::uint16_t kFunctionSpace = 128;

constexpr std::array kRanges{FunctionRange{owner::kVendorHyp, 0x00, kFunctionSpace - 1}};

constexpr std::array kFunctions{
    FunctionDesc{.number = kFnFeatures, .name = "KVM_FEATURES", .result = ResultKind::Value},
    FunctionDesc{.number = kFnPtp, .name = "KVM_PTP", .args = {"counter"}, .result = ResultKind::Value},
};

}  // namespace

std::span<const FunctionRange> KvmVendorService::ranges() const { return kRanges; }
std::span<const FunctionDesc> KvmVendorService::functions() const { return kFunctions; }

// KVM_REG_ARM_VENDOR_HYP_BMAP: bit 0 KVM_FEATURES (and the Call UID), bit 1 PTP (hypercalls.rst).
bool KvmVendorService::available(const FunctionDesc& fn) const {
  if (fn.number == kFnPtp) return clock_ != nullptr && (vm_.vendor_hyp_bmap & service_bit::kVendorPtp) != 0;
  return (vm_.vendor_hyp_bmap & service_bit::kVendorFeatures) != 0;
}

void KvmVendorService::handle(const FunctionDesc& fn, SmcccCall& call, SmcccResult& result) {
  switch (fn.number) {
    case kFnFeatures:
      // R0..R3: bit n of R(n / 32) set when function n is available (Linux's kvm_guest.c). Bit 0 is
      // this call itself.
      for (const FunctionDesc& f : functions()) {
        if (available(f)) result.x[f.number / 32] |= std::uint64_t{1} << (f.number % 32);
      }
      return;
    case kFnPtp:
      ptp(call, result);
      return;
    default:
      set_not_supported(result);
      return;
  }
}

// KVM_PTP (Documentation/virt/kvm/arm/ptp_kvm.rst): wall-clock ns and the counter from one snapshot, each split into
// high and low 32 bits. Both come from the same counter value, so they are consistent by
// construction: wall = epoch + counter * 16 ns. Virtual and physical counters are the same
// (CNTVOFF is 0). Any other selector: -1 with x1..x3 zero, as KVM.
void KvmVendorService::ptp(const SmcccCall& call, SmcccResult& result) {
  const auto selector = static_cast<std::uint32_t>(call.x[1]);
  if (selector != kvm::kPtpVirtualCounter && selector != kvm::kPtpPhysicalCounter) {
    result.x[0] = status_reg(SmcccStatus::NotSupported);
    return;
  }
  const std::uint64_t counter = clock_->counter(call.vcpu);
  const std::uint64_t wall_ns = vm_.epoch_ns + counter * kCounterTickNs;
  result.x[0] = wall_ns >> 32;
  result.x[1] = wall_ns & 0xFFFF'FFFFu;
  result.x[2] = counter >> 32;
  result.x[3] = counter & 0xFFFF'FFFFu;
}

std::string_view KvmVendorService::status_name(std::int64_t code) const {
  return code == -1 ? std::string_view("NOT_SUPPORTED") : std::string_view();
}

}  // namespace emu::fw
