// SMCCC filter (KVM_ARM_VM_SMCCC_FILTER, Linux Documentation/virt/kvm/devices/vm.rst).
#include "firmware/smccc_filter.h"

#include <algorithm>
#include <array>
#include <iterator>

namespace emu::fw {
namespace {

// The Arm architecture calls, reserved as HANDLE (KVM kvm_smccc_filter_insert_reserved).
constexpr std::array<SmcccFilter::Range, 2> kReserved{
    SmcccFilter::Range{0x8000'0000, 0x8000'FFFF, FilterAction::Handle},
    SmcccFilter::Range{0xC000'0000, 0xC000'FFFF, FilterAction::Handle},
};

bool overlaps(const SmcccFilter::Range& a, std::uint32_t first, std::uint32_t last) {
  return first <= a.last && a.first <= last;
}

}  // namespace

HostStatus SmcccFilter::add(std::uint32_t base, std::uint32_t count, std::uint8_t action, bool has_run) {
  if (count == 0 || std::uint64_t{base} + count - 1 > 0xFFFF'FFFFu) return HostStatus::Invalid;
  if (action > static_cast<std::uint8_t>(FilterAction::ForwardToHost)) return HostStatus::Invalid;
  if (has_run) return HostStatus::Busy;
  if (ranges_.size() >= kMaxRanges) return HostStatus::Invalid;
  const std::uint32_t last = base + (count - 1);
  for (const Range& r : kReserved) {
    if (overlaps(r, base, last)) return HostStatus::Exists;
  }
  const Range range{base, last, static_cast<FilterAction>(action)};
  // Sorted and disjoint: only the neighbours of the insertion point can overlap.
  const auto at = std::upper_bound(ranges_.begin(), ranges_.end(), range,
                                   [](const Range& a, const Range& b) { return a.first < b.first; });
  if (at != ranges_.end() && overlaps(*at, base, last)) return HostStatus::Exists;
  if (at != ranges_.begin() && overlaps(*std::prev(at), base, last)) return HostStatus::Exists;
  ranges_.insert(at, range);
  return HostStatus::Ok;
}

FilterAction SmcccFilter::lookup(std::uint32_t fid) const {
  // The last range starting at or before the FID is the only one that can hold it.
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), fid,
                             [](std::uint32_t f, const Range& r) { return f < r.first; });
  if (it == ranges_.begin()) return FilterAction::Handle;
  --it;
  return fid <= it->last ? it->action : FilterAction::Handle;
}

}  // namespace emu::fw
