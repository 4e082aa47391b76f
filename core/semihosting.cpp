#include "core/semihosting.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

namespace emu::core {
namespace {

constexpr std::uint64_t kError = ~std::uint64_t{0};

// SYS_EXIT / SYS_EXIT_EXTENDED on AArch64: X1 points to {reason, subcode}. As QEMU does, an
// application exit reports the subcode and any other reason (a run-time error) reports 1.
// Process statuses are 8 bits: a non-zero subcode whose low byte is zero becomes 1, so a
// failure never reads as success.
SemihostingOutcome exit_with_block(std::uint64_t param, GuestMemoryReader& memory) {
  std::uint8_t block[16];
  if (memory.read(param, block) != sizeof block) return {.x0 = kError, .exit_status = 1};
  std::uint64_t reason = 0;
  std::uint64_t subcode = 0;
  std::memcpy(&reason, block, 8);
  std::memcpy(&subcode, block + 8, 8);
  if (reason != semihosting::kApplicationExit) return {.exit_status = 1};
  const int status = static_cast<int>(subcode & 0xFF);
  return {.exit_status = (status == 0 && subcode != 0) ? 1 : status};
}

// SYS_WRITE0: the string up to its NUL, in pieces of at most one page (each is translated
// on its own), at most kMaxWrite0 bytes; it ends early where memory stops being readable.
SemihostingOutcome write0(std::uint64_t param, GuestMemoryReader& memory, Console& console) {
  constexpr std::uint64_t kPiece = 4096;
  std::array<std::uint8_t, kPiece> buf{};
  std::uint64_t done = 0;
  while (done < semihosting::kMaxWrite0) {
    const std::uint64_t at = param + done;
    const std::size_t want = static_cast<std::size_t>(std::min(kPiece - at % kPiece, semihosting::kMaxWrite0 - done));
    const std::size_t got = memory.read(at, std::span(buf.data(), want));
    if (got == 0 && done == 0) return {.x0 = kError};
    const void* nul = std::memchr(buf.data(), 0, got);
    const std::size_t len = nul ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - buf.data()) : got;
    console.write(std::string_view(reinterpret_cast<const char*>(buf.data()), len));
    if (nul != nullptr || got < want) break;
    done += got;
  }
  return {};
}

}  // namespace

SemihostingOutcome semihost(std::uint32_t op, std::uint64_t param, GuestMemoryReader& memory, Console& console) {
  switch (op) {
    case semihosting::kSysWritec: {
      std::uint8_t c = 0;
      if (memory.read(param, std::span(&c, 1)) != 1) return {.x0 = kError};
      console.put(static_cast<char>(c));
      return {};
    }
    case semihosting::kSysWrite0: return write0(param, memory, console);
    case semihosting::kSysExit:
    case semihosting::kSysExitExtended: return exit_with_block(param, memory);
    default: return {.x0 = kError};
  }
}

}  // namespace emu::core
