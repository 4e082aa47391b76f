// Arm semihosting (Arm "Semihosting for AArch32 and AArch64", version 2.0): the subset the
// platform offers (docs/architecture.md, "The platform"). A64 guests trap with `HLT #0xF000`; W0 holds the
// operation and X1 the parameter (a pointer for every operation implemented here). Pointers
// are virtual addresses, read as the calling vCPU's EL1 translation regime sees them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "core/console.h"

namespace emu::core {

namespace semihosting {
inline constexpr std::uint32_t kHltImmediate = 0xF000;
inline constexpr std::uint32_t kSysWritec = 0x03;
inline constexpr std::uint32_t kSysWrite0 = 0x04;
inline constexpr std::uint32_t kSysExit = 0x18;
inline constexpr std::uint32_t kSysExitExtended = 0x20;
/// ADP_Stopped_ApplicationExit: the only SYS_EXIT reason that carries a status.
inline constexpr std::uint64_t kApplicationExit = 0x20026;
/// SYS_WRITE0 stops after this many bytes even without a NUL, so a bad pointer cannot make
/// the emulator print all of RAM.
inline constexpr std::uint64_t kMaxWrite0 = 1ull << 16;
}  // namespace semihosting

/// Guest memory as the calling vCPU sees it.
class GuestMemoryReader {
 public:
  /// Copies guest memory at virtual address `va` into `out`; returns how many bytes from the
  /// start could be read (fewer at an unmapped page or at the end of RAM).
  virtual std::size_t read(std::uint64_t va, std::span<std::uint8_t> out) = 0;

 protected:
  ~GuestMemoryReader() = default;
};

struct SemihostingOutcome {
  std::uint64_t x0 = 0;            ///< value returned to the guest in X0
  std::optional<int> exit_status;  ///< set when the guest asked to stop
};

/// Performs one semihosting operation. Unknown operations and bad pointers return X0 = -1,
/// as the specification's error convention says; nothing is fatal.
SemihostingOutcome semihost(std::uint32_t op, std::uint64_t param, GuestMemoryReader& memory, Console& console);

}  // namespace emu::core
