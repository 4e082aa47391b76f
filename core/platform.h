// The guest platform ABI (DESIGN.md section 6): the addresses guests are written against.
#pragma once

#include <cstdint>

#include "firmware/vm_state.h"

namespace emu::core {

inline constexpr std::uint64_t kRamBase = 0x4000'0000;
inline constexpr std::uint64_t kDefaultRamSize = 128ull << 20;
inline constexpr std::uint64_t kMinRamSize = 1ull << 20;
/// Upper bound on --memory: guest RAM ends well below the 48-bit IPA space and the host
/// reserves it lazily (MAP_NORESERVE), so this is a sanity limit, not a host budget.
inline constexpr std::uint64_t kMaxRamSize = 64ull << 30;
inline constexpr std::uint64_t kPageSize = 4096;
/// Raw (non-ELF) images are loaded here and entered at their first byte, as Linux's arm64
/// Image is at QEMU virt's RAM base + 0x80000.
inline constexpr std::uint64_t kRawImageOffset = 0x8'0000;
inline constexpr std::uint64_t kRawImageAddress = kRamBase + kRawImageOffset;

inline constexpr std::uint64_t kUartBase = 0x0900'0000;  ///< PL011 UART (QEMU virt's address)
inline constexpr std::uint64_t kUartSize = 0x1000;

inline constexpr unsigned kMaxVcpus = fw::kMaxVcpus;

/// PV-time records (DEN0057A): a whole 64 KiB page at the top of RAM (rounded down to 64 KiB),
/// vCPU i's 64-byte record at its start + 64·i, so a 64K-granule guest can map it alone.
inline constexpr std::uint64_t kPvTimeRegionSize = 64 * 1024;
constexpr std::uint64_t pv_time_region(std::uint64_t ram_end) {
  return (ram_end - kPvTimeRegionSize) & ~(kPvTimeRegionSize - 1);
}

/// Upper bound on the PTP epoch: wall-clock ns must stay below 2^63 for centuries of virtual
/// time, or KVM_PTP's R0 would look negative to the guest (digest 5.3).
inline constexpr std::uint64_t kMaxEpochNs = 1ull << 62;

}  // namespace emu::core
