// The SMCCC filter (KVM_ARM_VM_SMCCC_FILTER; Linux Documentation/virt/kvm/devices/vm.rst;
// Documentation/virt/kvm/api.rst KVM_EXIT_HYPERCALL): host-installed FID ranges whose calls are
// handled as usual, denied, or forwarded to the host. Consulted before the service-selection
// bitmaps.
#pragma once

#include <cstdint>
#include <vector>

#include "firmware/platform.h"

namespace emu::fw {

/// KVM's action values (KVM_SMCCC_FILTER_HANDLE / DENY / FWD_TO_USER).
enum class FilterAction : std::uint8_t { Handle = 0, Deny = 1, ForwardToHost = 2 };

class SmcccFilter {
 public:
  /// Ranges a VM may hold (KVM's limit is memory; this keeps lookups and restores bounded).
  static constexpr std::size_t kMaxRanges = 4096;

  /// Adds [base, base + count) with `action` (a raw value, validated here). Invalid: count 0,
  /// a range past 0xFFFFFFFF, an action above 2. Exists: overlapping an installed range or the
  /// Arm architecture ranges 0x80000000-0x8000FFFF and 0xC0000000-0xC000FFFF, which stay
  /// HANDLE so a host cannot misreport Spectre mitigations. Busy: a vCPU has run. Invalid
  /// also when kMaxRanges ranges are installed.
  HostStatus add(std::uint32_t base, std::uint32_t count, std::uint8_t action, bool has_run);

  /// The action for a FID; Handle outside every range. FIDs are matched as the dispatcher
  /// decodes them, with the SVE hint bit 16 clear: a range of hinted FIDs never matches.
  FilterAction action(std::uint32_t fid) const {
    if (ranges_.empty()) return FilterAction::Handle;  // the common case costs one branch
    return lookup(fid);
  }

  struct Range {
    std::uint32_t first = 0;  ///< first FID
    std::uint32_t last = 0;   ///< last FID, inclusive
    FilterAction action = FilterAction::Handle;
  };
  const std::vector<Range>& ranges() const { return ranges_; }

 private:
  FilterAction lookup(std::uint32_t fid) const;

  std::vector<Range> ranges_;  // sorted by `first`, non-overlapping
};

}  // namespace emu::fw
