// KVM vendor-specific hypervisor service, owner 6 (Linux Documentation/virt/kvm/arm/
// hypercalls.rst, ptp_kvm.rst): KVM_FEATURES, whose bitmap is derived from
// this service's own table, and KVM_PTP.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

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

/// One CPU implementation a VM may run on, as the host reports it to the guest through KVM's
/// DISCOVER_IMPL_CPUS (Linux Documentation/virt/kvm/arm/hypercalls.rst), so that the guest
/// enables the errata workarounds of every one of them.
struct ImplCpu {
  std::uint64_t midr = 0;    ///< MIDR_EL1 (bits 63:32 RES0)
  std::uint64_t revidr = 0;  ///< REVIDR_EL1
  std::uint64_t aidr = 0;    ///< AIDR_EL1
};
/// Implementations the host may list: a bound on what a guest is made to allocate.
inline constexpr std::size_t kMaxImplCpus = 256;

class KvmVendorService final : public Service {
 public:
  /// Without a clock, PTP is not offered (nor advertised by KVM_FEATURES). `epoch_ns`: KVM PTP's
  /// wall-clock ns at virtual time 0; `impl_cpus`: what DISCOVER_IMPL_CPUS reports, at most
  /// kMaxImplCpus, each MIDR with bits 63:32 clear (else ConfigError naming impl_cpus).
  KvmVendorService(const VmState& vm, Clock* clock, std::uint64_t epoch_ns, std::vector<ImplCpu> impl_cpus);

  std::string_view name() const override { return "KVM vendor hypervisor"; }
  std::span<const FunctionRange> ranges() const override;
  std::span<const FunctionDesc> functions() const override;
  bool available(const FunctionDesc& fn) const override;
  /// KVM's vendor calls answer with the SMCCC return codes (hypercalls.rst).
  std::span<const StatusName> statuses() const override { return kSmcccStatuses; }

  /// Tag "KVMV": the PTP epoch. The implementation list is configuration and is not saved.
  std::uint32_t state_tag() const override { return kStateTag; }
  void save_section(StateWriter& out) const override;
  void load_section(StateReader& in) override;
  void commit_loaded() override;
  static constexpr std::uint32_t kStateTag = 0x4B'56'4D'56;  // "KVMV"

  /// KVM PTP's wall-clock ns at virtual time 0 (core's semihosting clock reads it too).
  std::uint64_t epoch_ns() const { return epoch_ns_; }

 private:
  // The table functions() returns: defined in the .cpp, where its handlers may name private members.
  static const FunctionDesc kFunctions[];
  void features(const SmcccCall& call, SmcccResult& result) const;
  void ptp(const SmcccCall& call, SmcccResult& result);
  void discover_impl_ver(SmcccResult& result) const;
  void discover_impl_cpus(std::uint64_t index, SmcccResult& result) const;

  const VmState& vm_;
  Clock* clock_;
  /// Set by the host at creation, kept across resets, restored with a snapshot. Default 0.
  std::uint64_t epoch_ns_ = 0;
  std::optional<std::uint64_t> loaded_epoch_;  ///< staged by load_section until commit_loaded
  /// Host configuration, fixed at creation; default none.
  std::vector<ImplCpu> impl_cpus_;
};

}  // namespace emu::fw
