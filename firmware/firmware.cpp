#include "firmware/firmware.h"

#include <stdexcept>
#include <string>

namespace emu::fw {

namespace {

// Validated before anything is sized from it.
VmState make_vm(const FirmwareConfig& config) {
  if (config.vcpu_count == 0 || config.vcpu_count > kMaxVcpus) {
    throw ConfigError("vcpu_count", "vCPU count must be 1.." + std::to_string(kMaxVcpus) + ", not " +
                                std::to_string(config.vcpu_count));
  }
  VmState vm{.ram_base = config.ram_base, .ram_size = config.ram_size, .epoch_ns = config.epoch_ns,
             .vcpus = std::vector<VcpuState>(config.vcpu_count)};
  vm.reset_guest_state();
  return vm;
}

}  // namespace

Firmware::Firmware(const FirmwareConfig& config)
    : vm_(make_vm(config)),
      arch_(config.soc),
      psci_(vm_),
      // Standard Secure owner 4: Call Count, UID and Revision (digest 1.10).
      std_queries_({.owner = owner::kStandardSecure, .prefix = "STD_SVC", .call_count = true,
                    .uid = kStdServiceUid, .revision = kStdServiceRevision}),
      trng_(vm_, config.platform.entropy),
      pv_time_(vm_, config.platform.memory, config.platform.clock),
      kvm_(vm_, config.platform.clock),
      // Vendor hypervisor owner 6: only the Call UID is defined (KVM's value, digest 5.1).
      kvm_queries_({.owner = owner::kVendorHyp, .prefix = "VENDOR_HYP", .uid = kKvmVendorUid,
                    .gate = &vm_.vendor_hyp_bmap, .gate_mask = fw_reg::kVendorHypBitFuncFeat}) {
  services_ = {&arch_, &psci_, &std_queries_, &trng_, &pv_time_, &kvm_, &kvm_queries_};
  for (Service* s : services_) dispatcher_.add(*s);
  dispatcher_.set_filter(&vm_.filter);
}

}  // namespace emu::fw
