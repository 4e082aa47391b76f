// KVM vendor-specific hypervisor service, owner 6 (Linux Documentation/virt/kvm/arm/
// hypercalls.rst; digest section 5). So far: KVM_FEATURES, whose bitmap is derived from this
// service's own table. PTP arrives with the TRNG/PTP/PV-time issue.
#pragma once

#include <cstdint>

#include "firmware/service.h"

namespace emu::fw {

namespace kvm {
inline constexpr std::uint32_t kFeatures = 0x8600'0000;
inline constexpr std::uint32_t kCallUid = 0x8600'FF01;
}  // namespace kvm

class KvmVendorService final : public Service {
 public:
  std::string_view name() const override { return "KVM vendor hypervisor"; }
  std::span<const FunctionRange> ranges() const override;
  std::span<const FunctionDesc> functions() const override;
  void handle(const FunctionDesc& fn, SmcccCall& call, SmcccResult& result) override;
  std::string_view status_name(std::int64_t code) const override;
};

}  // namespace emu::fw
