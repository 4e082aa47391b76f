// The guest platform ABI (docs/architecture.md, "The platform"): the addresses guests are written against.
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
/// Raw images (no ELF or Image header) are loaded here and entered at their first byte, as
/// QEMU virt loads such a kernel (and kvm-unit-tests' .flat files) at RAM base + 0x80000.
inline constexpr std::uint64_t kRawImageOffset = 0x8'0000;
/// Linux arm64 Images are placed text_offset above a 2 MiB-aligned address (Linux
/// Documentation/arm64/booting.rst); the device tree and initrd go on 2 MiB boundaries too.
inline constexpr std::uint64_t kBootAlign = 2ull << 20;
inline constexpr std::uint64_t kRawImageAddress = kRamBase + kRawImageOffset;

/// What lives in one window of the physical address map.
enum class RegionKind : std::uint8_t {
  Ram,       ///< guest RAM (size set by MachineConfig::memory)
  Device,    ///< an emulated device, mapped in every engine
  Reserved,  ///< kept free for a device of a later release: nothing is there yet, images may not use it
  Unmapped,  ///< QEMU virt has a device here that this machine does not: accesses fault
};

/// One window of the physical address map.
struct Region {
  const char* name;  ///< for messages and the device tree, e.g. "PL011 UART"
  std::uint64_t base;
  std::uint64_t size;  ///< for RAM, the largest size (the machine's is MachineConfig::memory)
  RegionKind kind;
};

/// The physical address map: QEMU's `virt` machine (hw/arm/virt.c, base_memmap), so device
/// trees, boot loaders and test suites written for it find everything where they expect. The
/// loader, the device tree and the engines' device mappings all read this one table.
inline constexpr Region kGicDist{"GIC distributor", 0x0800'0000, 0x1'0000, RegionKind::Device};
/// 128 KiB of redistributor frames per vCPU (RD_base and SGI_base); 64 vCPUs use 8 MiB of it.
inline constexpr Region kGicRedist{"GIC redistributors", 0x080A'0000, 0xF6'0000, RegionKind::Device};
/// Each vCPU's redistributor: an RD_base and an SGI_base frame of 64 KiB (GICv3 IHI 0069H §12.10).
inline constexpr std::uint32_t kGicRedistFrameSize = 0x2'0000;
inline constexpr Region kUart{"PL011 UART", 0x0900'0000, 0x1000, RegionKind::Device};
inline constexpr Region kRtc{"PL031 RTC", 0x0901'0000, 0x1000, RegionKind::Unmapped};
inline constexpr Region kVirtioMmio{"virtio-mmio", 0x0A00'0000, 0x200 * 32, RegionKind::Unmapped};
inline constexpr Region kRam{"RAM", kRamBase, kMaxRamSize, RegionKind::Ram};
inline constexpr Region kMemoryMap[] = {kGicDist, kGicRedist, kUart, kRtc, kVirtioMmio, kRam};

inline constexpr std::uint64_t kUartBase = kUart.base;  ///< PL011 UART (QEMU virt's address)
inline constexpr std::uint64_t kUartSize = kUart.size;
/// The PL011's interrupt: SPI 1 (QEMU virt's VIRT_UART), level-sensitive.
inline constexpr std::uint32_t kUartSpi = 1;
/// The PL011's reference clock in the device tree (QEMU virt's "apb-pclk", 24 MHz).
inline constexpr std::uint32_t kUartClockHz = 24'000'000;
/// Generic timer PPIs (Arm BSA, as QEMU virt wires them): secure physical 13, non-secure
/// physical 14, virtual 11, hypervisor 10 (PPI numbers; INTIDs are 16 more).
inline constexpr std::uint32_t kTimerPpis[4] = {13, 14, 11, 10};

inline constexpr unsigned kMaxVcpus = fw::kMaxVcpus;

/// PV-time records (DEN0057A): a whole 64 KiB page at the top of RAM (rounded down to 64 KiB),
/// vCPU i's 64-byte record at its start + 64·i, so a 64K-granule guest can map it alone.
inline constexpr std::uint64_t kPvTimeRegionSize = 64 * 1024;
constexpr std::uint64_t pv_time_region(std::uint64_t ram_end) {
  return (ram_end - kPvTimeRegionSize) & ~(kPvTimeRegionSize - 1);
}

/// Upper bound on the PTP epoch: wall-clock ns must stay below 2^63 for centuries of virtual
/// time, or KVM_PTP's R0 would look negative to the guest (Documentation/virt/kvm/arm/ptp_kvm.rst).
inline constexpr std::uint64_t kMaxEpochNs = 1ull << 62;

}  // namespace emu::core
