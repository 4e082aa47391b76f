// VM-wide firmware state (DESIGN.md section 3: VmState). Per-vCPU state (power state, SDEI,
// PV time) arrives with the SMP and service issues.
#pragma once

#include <cstdint>

namespace emu::fw {

struct VmState {
  /// PSCI version the guest sees, (major << 16) | minor. Default 1.1 (DESIGN.md section 8).
  std::uint32_t psci_version = 0x1'0001;
  /// Number of vCPUs in the VM (>= 1).
  std::uint32_t vcpu_count = 1;
};

}  // namespace emu::fw
