// KVM vendor-specific hypervisor service, owner 6 (Linux Documentation/virt/kvm/arm/
// hypercalls.rst, ptp_kvm.rst): KVM_FEATURES, whose bitmap is derived from
// this service's own table, and KVM_PTP.
#pragma once

#include <cstdint>

#include "firmware/platform.h"
#include "firmware/service.h"
#include "firmware/vm_state.h"

namespace emu::fw {

namespace kvm {
inline constexpr std::uint32_t kFeatures = 0x8600'0000;
inline constexpr std::uint32_t kCallUid = 0x8600'FF01;
inline constexpr std::uint32_t kPtp = 0x8600'0001;
inline constexpr std::uint32_t kPtpVirtualCounter = 0;
inline constexpr std::uint32_t kPtpPhysicalCounter = 1;
/// KVM 6.15's target-implementation calls, HVC64 only (hypercalls.rst).
inline constexpr std::uint32_t kDiscoverImplVer = 0xC600'0040;
inline constexpr std::uint32_t kDiscoverImplCpus = 0xC600'0041;
/// DISCOVER_IMPL_VER's x1: the version of the implementation list, SMCCC_VERSION's format.
/// 1.0, the major version Linux's kvm_guest.c accepts.
inline constexpr std::uint64_t kImplListVersion = 0x1'0000;
}  // namespace kvm

class KvmVendorService final : public Service {
 public:
  /// Without a clock, PTP is not offered (nor advertised by KVM_FEATURES).
  KvmVendorService(const VmState& vm, Clock* clock) : vm_(vm), clock_(clock) {}

  std::string_view name() const override { return "KVM vendor hypervisor"; }
  std::span<const FunctionRange> ranges() const override;
  std::span<const FunctionDesc> functions() const override;
  bool available(const FunctionDesc& fn) const override;
  /// KVM's vendor calls answer with the SMCCC return codes (hypercalls.rst).
  std::span<const StatusName> statuses() const override { return kSmcccStatuses; }

 private:
  void features(const SmcccCall& call, SmcccResult& result) const;
  void ptp(const SmcccCall& call, SmcccResult& result);
  void discover_impl_ver(SmcccResult& result) const;
  void discover_impl_cpus(std::uint64_t index, SmcccResult& result) const;

  const VmState& vm_;
  Clock* clock_;
};

}  // namespace emu::fw
