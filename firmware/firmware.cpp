#include "firmware/firmware.h"

#include <stdexcept>
#include <string>

namespace emu::fw {

Firmware::Firmware(const FirmwareConfig& config)
    : vm_{.vcpu_count = config.vcpu_count},
      arch_(config.soc),
      psci_(vm_),
      // Standard Secure owner 4: Call Count, UID and Revision (digest 1.10).
      std_queries_({.owner = owner::kStandardSecure, .prefix = "STD_SVC", .call_count = true,
                    .uid = kStdServiceUid, .revision = kStdServiceRevision}),
      // Vendor hypervisor owner 6: only the Call UID is defined (KVM's value, digest 5.1).
      kvm_queries_({.owner = owner::kVendorHyp, .prefix = "VENDOR_HYP", .uid = kKvmVendorUid}) {
  if (config.vcpu_count == 0 || config.vcpu_count > 64) {
    throw std::invalid_argument(
        "vCPU count must be 1..64, not " + std::to_string(config.vcpu_count));
  }
  dispatcher_.add(arch_);
  dispatcher_.add(psci_);
  dispatcher_.add(std_queries_);
  dispatcher_.add(kvm_);
  dispatcher_.add(kvm_queries_);
}

}  // namespace emu::fw
