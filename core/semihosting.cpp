#include "core/semihosting.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "core/semihosting_internal.h"
#include "firmware/platform.h"

namespace emu::core {

namespace semihosting {

bool read_words(GuestMemoryReader& memory, std::uint64_t va, std::span<std::uint64_t> words) {
  std::array<std::uint8_t, 8 * 4> raw{};
  const std::span<std::uint8_t> bytes(raw.data(), words.size() * 8);
  if (words.size() > 4 || memory.read(va, bytes) != bytes.size()) return false;
  for (std::size_t i = 0; i < words.size(); ++i) std::memcpy(&words[i], raw.data() + 8 * i, 8);
  return true;
}

bool write_word(GuestMemoryReader& memory, std::uint64_t va, std::uint64_t value) {
  std::array<std::uint8_t, 8> raw{};
  std::memcpy(raw.data(), &value, 8);
  return memory.write(va, raw) == raw.size();
}

}  // namespace semihosting

namespace {

using semihosting::kError;
using semihosting::kPiece;

// SYS_EXIT / SYS_EXIT_EXTENDED (spec §6.5, §6.6) on AArch64: X1 points to {reason, subcode}. As QEMU does, an
// application exit reports the subcode and any other reason (a run-time error) reports 1.
// Process statuses are 8 bits: a non-zero subcode whose low byte is zero becomes 1, so a
// failure never reads as success.
SemihostingOutcome exit_with_block(std::uint64_t param, GuestMemoryReader& memory) {
  std::array<std::uint64_t, 2> block{};
  if (!semihosting::read_words(memory, param, block)) return {.x0 = kError, .exit_status = 1};
  const auto [reason, subcode] = block;
  if (reason != semihosting::kApplicationExit) return {.exit_status = 1};
  const int status = static_cast<int>(subcode & 0xFF);
  return {.exit_status = (status == 0 && subcode != 0) ? 1 : status};
}

// SYS_WRITE0 (spec §6.24): the string up to its NUL, a page at a time, at most kMaxWrite0 bytes; it ends
// early where memory stops being readable.
SemihostingOutcome write0(std::uint64_t param, GuestMemoryReader& memory, Console& console) {
  std::array<std::uint8_t, kPiece> buf{};
  std::uint64_t done = 0;
  while (done < semihosting::kMaxWrite0) {
    const std::uint64_t at = param + done;
    if (at < param) break;  // past the top of the address space, as SYS_WRITE and SYS_READ stop
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

// SYS_READC (spec §6.14): the console's next input byte if it has one now; -1 when it has none.
SemihostingOutcome readc(Console& console) {
  std::uint8_t byte = 0;
  ConsoleInput* input = console.input();
  if (input == nullptr || input->read(byte) != ConsoleInput::Read::Byte) return {.x0 = kError};
  return {.x0 = byte};
}

}  // namespace

Semihosting::Semihosting(SemihostingConfig config) : config_(std::move(config)) {
  if (config_.root.empty()) return;
  root_fd_ = ::open(config_.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd_ < 0) {
    throw fw::ConfigError("semihosting_root", fmt::format("'{}' is not a directory that can be opened: {}",
                                                          config_.root, std::strerror(errno)));
  }
}

Semihosting::~Semihosting() {
  reset();
  if (root_fd_ >= 0) ::close(root_fd_);
}

void Semihosting::reset() {
  for (Handle& h : handles_) {
    if (h.kind == Kind::File) ::close(h.fd);
    h = Handle{};
  }
  errno_ = 0;
}

std::size_t Semihosting::open_handles() const {
  return static_cast<std::size_t>(
      std::count_if(handles_.begin(), handles_.end(), [](const Handle& h) { return h.kind != Kind::Free; }));
}

SemihostingOutcome Semihosting::fail(int error) {
  errno_ = error;
  return {.x0 = kError};
}

// Handle n is slot n - 1: 0 is never a handle (spec §6.12: SYS_OPEN returns a non-zero handle).
Semihosting::Handle* Semihosting::handle(std::uint64_t number) {
  if (number == 0 || number > handles_.size() || handles_[number - 1].kind == Kind::Free) return nullptr;
  return &handles_[number - 1];
}

SemihostingOutcome Semihosting::new_handle(Kind kind, int fd) {
  for (std::size_t i = 0; i < handles_.size(); ++i) {
    if (handles_[i].kind != Kind::Free) continue;
    handles_[i] = Handle{.kind = kind, .fd = fd};
    return {.x0 = i + 1};
  }
  if (fd >= 0) ::close(fd);
  return fail(EMFILE);
}

// SYS_CLOCK (spec §6.1, centiseconds), SYS_TIME (§6.20, seconds since 1970), SYS_TICKFREQ
// (§6.19): all virtual time,
// from the generic counter the guest reads too; the wall clock is the KVM PTP one (epoch + counter).
SemihostingOutcome Semihosting::time_op(std::uint32_t op, const SemihostingContext& context) {
  const std::uint64_t ns = context.counter * fw::kCounterTickNs;
  switch (op) {
    case semihosting::kSysClock: return {.x0 = ns / 10'000'000};
    case semihosting::kSysTime: return {.x0 = (context.epoch_ns + ns) / 1'000'000'000};
    default: return {.x0 = fw::kCounterHz};
  }
}

// SYS_ELAPSED (spec §6.3): X1 points to the doubleword that receives the tick count. On
// failure both X0 and X1 are -1.
SemihostingOutcome Semihosting::elapsed(std::uint64_t param, GuestMemoryReader& memory,
                                        const SemihostingContext& context) {
  if (!semihosting::write_word(memory, param, context.counter)) {
    SemihostingOutcome failed = fail(EFAULT);
    failed.x1 = kError;
    return failed;
  }
  return {};
}

// SYS_HEAPINFO (spec §6.9): X1 points to the address of a four-doubleword block, which receives heap base,
// heap limit, stack base and stack limit.
SemihostingOutcome Semihosting::heapinfo(std::uint64_t param, GuestMemoryReader& memory,
                                         const SemihostingContext& context) {
  std::array<std::uint64_t, 1> block{};
  if (!semihosting::read_words(memory, param, block)) return fail(EFAULT);
  for (std::size_t i = 0; i < context.heap.size(); ++i) {
    if (!semihosting::write_word(memory, block[0] + 8 * i, context.heap[i])) return fail(EFAULT);
  }
  return {};
}

// SYS_GET_CMDLINE (spec §6.8): {buffer, length}; the command line and a NUL go to the buffer if they fit,
// and the length word becomes the command line's length.
SemihostingOutcome Semihosting::cmdline(std::uint64_t param, GuestMemoryReader& memory) {
  std::array<std::uint64_t, 2> block{};
  if (!semihosting::read_words(memory, param, block)) return fail(EFAULT);
  const std::string& line = config_.cmdline;
  if (block[1] < line.size() + 1) return fail(EINVAL);
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(line.c_str());
  if (memory.write(block[0], std::span(bytes, line.size() + 1)) != line.size() + 1) return fail(EFAULT);
  if (!semihosting::write_word(memory, param + 8, line.size())) return fail(EFAULT);
  return {};
}

// SYS_TMPNAM (spec §6.21): {buffer, id 0..255, length}: a name under the root, the same for the same id.
SemihostingOutcome Semihosting::tmpnam(std::uint64_t param, GuestMemoryReader& memory) {
  std::array<std::uint64_t, 3> block{};
  if (!semihosting::read_words(memory, param, block)) return fail(EFAULT);
  if (block[1] > 255) return fail(EINVAL);
  const std::string name = fmt::format("smccc-emu-tmp-{:03}", block[1]);
  if (block[2] < name.size() + 1) return fail(EINVAL);
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(name.c_str());
  if (memory.write(block[0], std::span(bytes, name.size() + 1)) != name.size() + 1) return fail(EFAULT);
  return {};
}

// SYS_ISTTY (spec §6.11): {handle}; 1 for the console, 0 for a file or the features, -1.
SemihostingOutcome Semihosting::istty(std::uint64_t param, GuestMemoryReader& memory) {
  std::array<std::uint64_t, 1> block{};
  if (!semihosting::read_words(memory, param, block)) return fail(EFAULT);
  const Handle* h = handle(block[0]);
  if (h == nullptr) return fail(EBADF);
  const bool tty = h->kind == Kind::ConsoleIn || h->kind == Kind::ConsoleOut || h->kind == Kind::ConsoleErr;
  return {.x0 = tty ? 1u : 0u};
}

SemihostingOutcome Semihosting::call(std::uint32_t op, std::uint64_t param, GuestMemoryReader& memory, Console& console,
                                     const SemihostingContext& context) {
  namespace sh = semihosting;
  switch (op) {
    case sh::kSysOpen: return open(param, memory);
    case sh::kSysClose: return close(param, memory);
    case sh::kSysWritec: {
      std::uint8_t c = 0;
      if (memory.read(param, std::span(&c, 1)) != 1) return fail(EFAULT);
      console.put(static_cast<char>(c));
      return {};
    }
    case sh::kSysWrite0: return write0(param, memory, console);
    case sh::kSysWrite: return write(param, memory, console);
    case sh::kSysRead: return read(param, memory, console);
    case sh::kSysReadc: return readc(console);
    case sh::kSysIsError: {
      std::array<std::uint64_t, 1> block{};
      if (!sh::read_words(memory, param, block)) return fail(EFAULT);
      return {.x0 = static_cast<std::int64_t>(block[0]) < 0 ? 1u : 0u};
    }
    case sh::kSysIsTty: return istty(param, memory);
    case sh::kSysSeek: return seek(param, memory);
    case sh::kSysFlen: return flen(param, memory);
    case sh::kSysTmpnam: return tmpnam(param, memory);
    case sh::kSysRemove: return remove(param, memory);
    case sh::kSysRename: return rename(param, memory);
    case sh::kSysClock:
    case sh::kSysTime:
    case sh::kSysTickfreq: return time_op(op, context);
    case sh::kSysElapsed: return elapsed(param, memory, context);
    case sh::kSysSystem: return fail(EPERM);  // never runs host commands
    case sh::kSysErrno: return {.x0 = static_cast<std::uint64_t>(errno_)};
    case sh::kSysGetCmdline: return cmdline(param, memory);
    case sh::kSysHeapinfo: return heapinfo(param, memory, context);
    case sh::kSysExit:
    case sh::kSysExitExtended: return exit_with_block(param, memory);
    default: return fail(ENOSYS);
  }
}

}  // namespace emu::core
