// Paravirtualised time: stolen time, Standard Hypervisor owner 5 functions 0x20-0x21
// (DEN0057A; Linux Documentation/virt/kvm/arm/pvtime.rst). Each vCPU may have a 64-byte record in guest RAM whose IPA
// the host sets; PV_TIME_ST hands it to the guest, and the record's stolen_time is brought up
// to date before the vCPU runs each slice.
#pragma once

#include <cstdint>

#include "firmware/platform.h"
#include "firmware/service.h"
#include "firmware/vm_state.h"

namespace emu::fw {

namespace pv_time {
inline constexpr std::uint32_t kFeatures = 0xC500'0020;
inline constexpr std::uint32_t kSt = 0xC500'0021;
inline constexpr std::uint64_t kRecordSize = 64;  ///< revision, attributes, stolen_time, padding
inline constexpr std::uint64_t kStolenOffset = 8;
}  // namespace pv_time

/// PV time return codes (DEN0057A): NOT_SUPPORTED is the only error either call returns.
#define EMU_FW_PV_TIME_STATUSES(X) \
  X(Success, 0, "SUCCESS")         \
  X(NotSupported, -1, "NOT_SUPPORTED")

enum class PvTimeStatus : std::int32_t { EMU_FW_PV_TIME_STATUSES(EMU_FW_STATUS_ENUMERATOR) };
inline constexpr StatusName kPvTimeStatuses[] = {EMU_FW_PV_TIME_STATUSES(EMU_FW_STATUS_ROW)};

class PvTimeService final : public Service {
 public:
  /// Without `memory` and `clock` the service is not offered.
  PvTimeService(VmState& vm, GuestMemory* memory, Clock* clock) : vm_(vm), memory_(memory), clock_(clock) {}

  std::string_view name() const override { return "PV time"; }
  std::span<const FunctionRange> ranges() const override;
  std::span<const FunctionDesc> functions() const override;
  /// KVM_REG_ARM_STD_HYP_BMAP bit 0 selects the service (Linux Documentation/virt/kvm/arm/hypercalls.rst).
  bool available(const FunctionDesc& /*fn*/) const override {
    return memory_ != nullptr && clock_ != nullptr && (vm_.std_hyp_bmap & service_bit::kPvTime) != 0;
  }
  std::span<const StatusName> statuses() const override { return kPvTimeStatuses; }
  void on_vcpu_scheduled(unsigned vcpu) override;

  /// Host side (KVM_ARM_VCPU_PVTIME_IPA, Linux Documentation/virt/kvm/devices/vcpu.rst): Invalid
  /// unless 64-byte aligned and the whole record lies in RAM; Exists if this vCPU has one or it
  /// overlaps another vCPU's.
  HostStatus set_ipa(unsigned vcpu, std::uint64_t ipa);
  /// The rule behind set_ipa, on any VmState (also used to check a restored one).
  static HostStatus check_ipa(const VmState& vm, unsigned vcpu, std::uint64_t ipa);

 private:
  void features(const SmcccCall& call, SmcccResult& result) const;
  void stolen_time(const SmcccCall& call, SmcccResult& result);
  void write_stolen(std::uint64_t ipa, std::uint64_t stolen_ns);

  VmState& vm_;
  GuestMemory* memory_;
  Clock* clock_;
};

}  // namespace emu::fw
