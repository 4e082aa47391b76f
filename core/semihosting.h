// Arm semihosting ("Semihosting for AArch32 and AArch64", version 2.0) for A64 guests
// (section numbers as in its GitHub release, ARM-software/abi-aa 2020Q4, which is the 2.0 text)
// (docs/architecture.md, "The platform"; README "Semihosting"). A guest traps with `HLT #0xF000`;
// W0 holds the operation and X1 the parameter: for most operations a pointer to a block of
// 64-bit words. Pointers are virtual addresses, read and written as the calling vCPU's EL1
// translation regime sees them. Results return in X0; failures return -1 and set the value
// SYS_ERRNO reports (Linux errno numbers, as the host's).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "core/console.h"

namespace emu::core {

namespace semihosting {
inline constexpr std::uint32_t kHltImmediate = 0xF000;
// Operation numbers (spec §6, one subsection per operation in alphabetical order).
inline constexpr std::uint32_t kSysOpen = 0x01;
inline constexpr std::uint32_t kSysClose = 0x02;
inline constexpr std::uint32_t kSysWritec = 0x03;
inline constexpr std::uint32_t kSysWrite0 = 0x04;
inline constexpr std::uint32_t kSysWrite = 0x05;
inline constexpr std::uint32_t kSysRead = 0x06;
inline constexpr std::uint32_t kSysReadc = 0x07;
inline constexpr std::uint32_t kSysIsError = 0x08;
inline constexpr std::uint32_t kSysIsTty = 0x09;
inline constexpr std::uint32_t kSysSeek = 0x0A;
inline constexpr std::uint32_t kSysFlen = 0x0C;
inline constexpr std::uint32_t kSysTmpnam = 0x0D;
inline constexpr std::uint32_t kSysRemove = 0x0E;
inline constexpr std::uint32_t kSysRename = 0x0F;
inline constexpr std::uint32_t kSysClock = 0x10;
inline constexpr std::uint32_t kSysTime = 0x11;
inline constexpr std::uint32_t kSysSystem = 0x12;
inline constexpr std::uint32_t kSysErrno = 0x13;
inline constexpr std::uint32_t kSysGetCmdline = 0x15;
inline constexpr std::uint32_t kSysHeapinfo = 0x16;
inline constexpr std::uint32_t kSysExit = 0x18;
inline constexpr std::uint32_t kSysExitExtended = 0x20;
inline constexpr std::uint32_t kSysElapsed = 0x30;
inline constexpr std::uint32_t kSysTickfreq = 0x31;
/// ADP_Stopped_ApplicationExit: the only SYS_EXIT reason that carries a status.
inline constexpr std::uint64_t kApplicationExit = 0x20026;
/// SYS_WRITE0 stops after this many bytes even without a NUL, so a bad pointer cannot make
/// the emulator print all of RAM.
inline constexpr std::uint64_t kMaxWrite0 = 1ull << 16;
/// Longest file name SYS_OPEN / SYS_REMOVE / SYS_RENAME take (Linux's PATH_MAX).
inline constexpr std::uint64_t kMaxPath = 4096;
/// Handles open at once (files, `:tt` and `:semihosting-features` together).
inline constexpr std::size_t kMaxHandles = 64;
/// What `:semihosting-features` holds (spec §5.1): the magic "SHFB" and one feature byte,
/// SH_EXT_EXIT_EXTENDED (bit 0) and SH_EXT_STDOUT_STDERR (bit 1).
inline constexpr std::array<std::uint8_t, 5> kFeatures{'S', 'H', 'F', 'B', 0x03};
}  // namespace semihosting

/// Guest memory as the calling vCPU sees it.
class GuestMemoryReader {
 public:
  /// Copies guest memory at virtual address `va` into `out`; returns how many bytes from the
  /// start could be read (fewer at an unmapped page or at the end of RAM).
  virtual std::size_t read(std::uint64_t va, std::span<std::uint8_t> out) = 0;
  /// Copies `bytes` to guest memory at `va` (code translated from it is dropped); returns how
  /// many bytes from the start were written. Default: none (a read-only view).
  virtual std::size_t write(std::uint64_t /*va*/, std::span<const std::uint8_t> /*bytes*/) { return 0; }

 protected:
  ~GuestMemoryReader() = default;
};

/// What the host lets semihosting do (MachineConfig::semihosting; CLI --semihosting-*).
struct SemihostingConfig {
  /// Host directory guest file names resolve in. Default empty: no host file can be opened,
  /// removed or renamed (`:tt` and `:semihosting-features` still work). Names are relative to
  /// it; absolute names and `..` components are refused and a symbolic link is never followed
  /// (SYS_OPEN refuses one anywhere in the name; SYS_REMOVE and SYS_RENAME act on a link that is
  /// the last component itself), so nothing outside it is reachable. Only regular files open. The directory is
  /// opened when the machine is created (ConfigError "semihosting_root" if it cannot be).
  std::string root;
  /// What SYS_GET_CMDLINE returns (QEMU's -append for a semihosting guest). Default empty.
  std::string cmdline;
};

/// The calling vCPU's view of time and memory layout for one call.
struct SemihostingContext {
  std::uint64_t counter = 0;   ///< the vCPU's generic counter (62.5 MHz ticks of virtual time)
  std::uint64_t epoch_ns = 0;  ///< wall-clock ns at counter 0 (the KVM PTP epoch, --epoch)
  /// SYS_HEAPINFO's block: heap base, heap limit, stack base, stack limit. Default zeros.
  std::array<std::uint64_t, 4> heap{};
};

struct SemihostingOutcome {
  std::uint64_t x0 = 0;             ///< value returned to the guest in X0
  std::optional<int> exit_status;   ///< set when the guest asked to stop
  std::optional<std::uint64_t> x1;  ///< set when the operation also returns in X1 (SYS_ELAPSED's failure)
};

/// The semihosting host: open handles and the last error. Handles are host descriptors under
/// the root, closed by reset() and by the destructor; they are not part of snapshots.
class Semihosting {
 public:
  /// Opens config.root (throws ConfigError when it is set and is not a directory one can open).
  explicit Semihosting(SemihostingConfig config = {});
  ~Semihosting();
  Semihosting(const Semihosting&) = delete;
  Semihosting& operator=(const Semihosting&) = delete;

  /// Performs one operation. Unknown operations and bad pointers return X0 = -1, as the
  /// specification's error convention says; nothing is fatal. Reads from `:tt` take what the
  /// console's input has now (never blocking the machine).
  SemihostingOutcome call(std::uint32_t op, std::uint64_t param, GuestMemoryReader& memory, Console& console,
                          const SemihostingContext& context);
  /// Closes every handle and clears the error (a machine reset).
  void reset();
  /// Handles open now.
  std::size_t open_handles() const;
  /// The SYS_ERRNO value.
  int last_errno() const { return errno_; }

 private:
  enum class Kind : std::uint8_t { Free, File, ConsoleIn, ConsoleOut, ConsoleErr, Features };
  struct Handle {
    Kind kind = Kind::Free;
    int fd = -1;            // Kind::File: the host descriptor
    std::uint64_t pos = 0;  // Kind::Features: the read position
  };

  SemihostingOutcome fail(int error);
  Handle* handle(std::uint64_t number);
  SemihostingOutcome open(std::uint64_t param, GuestMemoryReader& memory);
  SemihostingOutcome close(std::uint64_t param, GuestMemoryReader& memory);
  SemihostingOutcome write(std::uint64_t param, GuestMemoryReader& memory, Console& console);
  SemihostingOutcome read(std::uint64_t param, GuestMemoryReader& memory, Console& console);
  SemihostingOutcome seek(std::uint64_t param, GuestMemoryReader& memory);
  SemihostingOutcome flen(std::uint64_t param, GuestMemoryReader& memory);
  SemihostingOutcome istty(std::uint64_t param, GuestMemoryReader& memory);
  SemihostingOutcome tmpnam(std::uint64_t param, GuestMemoryReader& memory);
  SemihostingOutcome remove(std::uint64_t param, GuestMemoryReader& memory);
  SemihostingOutcome rename(std::uint64_t param, GuestMemoryReader& memory);
  SemihostingOutcome cmdline(std::uint64_t param, GuestMemoryReader& memory);
  SemihostingOutcome heapinfo(std::uint64_t param, GuestMemoryReader& memory, const SemihostingContext& context);
  SemihostingOutcome elapsed(std::uint64_t param, GuestMemoryReader& memory, const SemihostingContext& context);
  SemihostingOutcome time_op(std::uint32_t op, const SemihostingContext& context);
  SemihostingOutcome new_handle(Kind kind, int fd);
  // Resolves `name` under the root: the directory holding its last component (a descriptor
  // the caller closes) and that component; -1 and errno_ set when refused.
  int parent_of(const std::string& name, std::string& leaf);
  bool guest_name(GuestMemoryReader& memory, std::uint64_t va, std::uint64_t len, std::string& name);

  SemihostingConfig config_;
  int root_fd_ = -1;  // config_.root, opened once (O_PATH): a later rename of it changes nothing
  std::array<Handle, semihosting::kMaxHandles> handles_{};
  int errno_ = 0;
};

}  // namespace emu::core
