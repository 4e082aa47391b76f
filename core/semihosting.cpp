#include "core/semihosting.h"

#include <cstring>
#include <string_view>

namespace emu::core {
namespace {

constexpr std::uint64_t kError = ~std::uint64_t{0};

// SYS_EXIT / SYS_EXIT_EXTENDED on AArch64: X1 points to {reason, subcode}. As QEMU does, an
// application exit reports the subcode and any other reason (a run-time error) reports 1.
// Process statuses are 8 bits: a non-zero subcode whose low byte is zero becomes 1, so a
// failure never reads as success.
SemihostingOutcome exit_with_block(std::uint64_t param, const GuestRam& ram) {
  const std::uint8_t* block = ram.at(param, 16);
  if (block == nullptr) return {.x0 = kError, .exit_status = 1};
  std::uint64_t reason = 0;
  std::uint64_t subcode = 0;
  std::memcpy(&reason, block, 8);
  std::memcpy(&subcode, block + 8, 8);
  if (reason != semihosting::kApplicationExit) return {.exit_status = 1};
  const int status = static_cast<int>(subcode & 0xFF);
  return {.exit_status = (status == 0 && subcode != 0) ? 1 : status};
}

}  // namespace

SemihostingOutcome semihost(std::uint32_t op, std::uint64_t param, const GuestRam& ram, Console& console) {
  switch (op) {
    case semihosting::kSysWritec: {
      const std::uint8_t* c = ram.at(param);
      if (c == nullptr) return {.x0 = kError};
      console.put(static_cast<char>(*c));
      return {};
    }
    case semihosting::kSysWrite0: {
      const std::uint8_t* s = ram.at(param);
      if (s == nullptr) return {.x0 = kError};
      const std::uint64_t room = std::min(ram.end() - param, semihosting::kMaxWrite0);
      const void* nul = std::memchr(s, 0, room);
      const std::size_t len = nul ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - s) : room;
      console.write(std::string_view(reinterpret_cast<const char*>(s), len));
      return {};
    }
    case semihosting::kSysExit:
    case semihosting::kSysExitExtended:
      return exit_with_block(param, ram);
    default:
      return {.x0 = kError};
  }
}

}  // namespace emu::core
