// The firmware model of one VM: its state, its services and the dispatcher that routes to
// them. This is the whole public face of emu_firmware; core owns one per VM.
#pragma once

#include <cstdint>

#include "firmware/arch.h"
#include "firmware/dispatcher.h"
#include "firmware/general_queries.h"
#include "firmware/kvm_vendor.h"
#include "firmware/psci.h"
#include "firmware/vm_state.h"

namespace emu::fw {

struct FirmwareConfig {
  std::uint32_t vcpu_count = 1;  ///< vCPUs in the VM, 1..64
  SocIdConfig soc{};             ///< what SMCCC_ARCH_SOC_ID reports
};

class Firmware {
 public:
  /// Builds and validates every service table; throws TableError or std::invalid_argument.
  explicit Firmware(const FirmwareConfig& config = {});
  Firmware(const Firmware&) = delete;
  Firmware& operator=(const Firmware&) = delete;

  /// Answers one trapped call (see Dispatcher::dispatch).
  void dispatch(SmcccCall& call, SmcccResult& result) { dispatcher_.dispatch(call, result); }
  SmcccResult dispatch(SmcccCall& call) { return dispatcher_.dispatch(call); }

  Dispatcher& dispatcher() { return dispatcher_; }
  const VmState& vm() const { return vm_; }

 private:
  VmState vm_;
  ArchService arch_;
  PsciService psci_;
  GeneralQueries std_queries_;
  KvmVendorService kvm_;
  GeneralQueries kvm_queries_;
  Dispatcher dispatcher_;
};

}  // namespace emu::fw
