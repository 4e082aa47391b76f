// Paravirtualised time: stolen time, Standard Hypervisor owner 5 functions 0x20-0x21
// (DEN0057A; Linux Documentation/virt/kvm/arm/pvtime.rst). Each vCPU may have a 64-byte record in guest RAM whose IPA
// the host sets; PV_TIME_ST hands it to the guest, and the record's stolen_time is brought up
// to date before the vCPU runs each slice.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

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

/// PV time's state of one vCPU (DEN0057A; pvtime.rst). The record's IPA is host configuration
/// and survives resets; whether the guest has started using it is guest state.
struct PvTimeVcpu {
  std::optional<std::uint64_t> ipa;     ///< the 64-byte record; default none (PV_TIME_ST -1)
  bool started = false;                 ///< PV_TIME_ST has been called since boot
  std::uint64_t steal_baseline_ns = 0;  ///< stolen ns when PV_TIME_ST was last called
};

class PvTimeService final : public Service {
 public:
  /// Without `memory` and `clock` the service is not offered.
  PvTimeService(const VmState& vm, GuestMemory* memory, Clock* clock)
      : vm_(vm), memory_(memory), clock_(clock), vcpus_(vm.vcpu_count()) {}

  std::string_view name() const override { return "PV time"; }
  std::span<const FunctionRange> ranges() const override;
  std::span<const FunctionDesc> functions() const override;
  /// KVM_REG_ARM_STD_HYP_BMAP bit 0 selects the service (Linux Documentation/virt/kvm/arm/hypercalls.rst).
  bool available(const FunctionDesc& /*fn*/) const override {
    return memory_ != nullptr && clock_ != nullptr && (vm_.std_hyp_bmap & service_bit::kPvTime) != 0;
  }
  std::span<const StatusName> statuses() const override { return kPvTimeStatuses; }
  void on_vcpu_scheduled(unsigned vcpu) override;
  /// The guest's use of the records starts again (PV_TIME_ST); their IPAs are the host's and stay.
  void on_system_reset() override;

  /// Tag "PVTM": each vCPU's record IPA, started flag and steal baseline.
  std::uint32_t state_tag() const override { return kStateTag; }
  void save_section(StateWriter& out) const override;
  void load_section(StateReader& in) override;
  void commit_loaded() override;
  static constexpr std::uint32_t kStateTag = 0x50'56'54'4D;  // "PVTM"

  /// Where `vcpu`'s record lives, if the host placed one (for core's memory layout).
  std::optional<std::uint64_t> ipa(unsigned vcpu) const { return vcpus_.at(vcpu).ipa; }

  /// Host side (KVM_ARM_VCPU_PVTIME_IPA, Linux Documentation/virt/kvm/devices/vcpu.rst): Invalid
  /// unless 64-byte aligned and the whole record lies in RAM; Exists if this vCPU has one or it
  /// overlaps another vCPU's.
  HostStatus set_ipa(unsigned vcpu, std::uint64_t ipa);

 private:
  // The table functions() returns: defined in the .cpp, where its handlers may name private members.
  static const FunctionDesc kFunctions[];
  void features(const SmcccCall& call, SmcccResult& result) const;
  void stolen_time(const SmcccCall& call, SmcccResult& result);
  void write_stolen(std::uint64_t ipa, std::uint64_t stolen_ns);
  /// The rule behind set_ipa, against a set of records (also used to check a restored one).
  HostStatus check_ipa(const std::vector<PvTimeVcpu>& records, unsigned vcpu, std::uint64_t ipa) const;

  const VmState& vm_;
  GuestMemory* memory_;
  Clock* clock_;
  std::vector<PvTimeVcpu> vcpus_;                  ///< one per vCPU, sized at creation
  std::optional<std::vector<PvTimeVcpu>> loaded_;  ///< staged by load_section until commit_loaded
};

}  // namespace emu::fw
