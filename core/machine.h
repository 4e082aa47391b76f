// The host API of smccc-emu: build a VM, load an image, run it until it exits.
//
// Everything the CLI can do goes through this header (DESIGN.md sections 1 and 7), so
// host-side tests and VMM-like programs use the same path as `smccc-emu run`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/console.h"
#include "core/guest_ram.h"
#include "core/image.h"
#include "core/pl011.h"
#include "core/platform.h"
#include "firmware/firmware.h"

namespace emu::core {

/// What SYSTEM_RESET / SYSTEM_RESET2 do to the run. Either way the machine is reset: a cold
/// reset (SYSTEM_RESET) zeroes RAM, a warm one (SYSTEM_RESET2 type 0) keeps it; then the image
/// is reloaded and the boot vCPU starts again at its entry.
enum class ResetAction {
  Restart,  ///< carry on running the rebooted machine (the default)
  Exit,     ///< end run() with ExitKind::SystemReset; the next run() boots the reset machine
};

struct MachineConfig {
  unsigned cpus = 1;                       ///< vCPUs, 1..64; all but vCPU 0 start powered off
  std::uint64_t memory = kDefaultRamSize;  ///< RAM bytes at kRamBase; multiple of 4 KiB, 1 MiB..64 GiB
  std::uint64_t max_instructions = 0;      ///< stop before exceeding this many guest instructions; 0 = no limit
  ResetAction on_reset = ResetAction::Restart;  ///< see ResetAction; default Restart
  fw::SocIdConfig soc{};                   ///< what SMCCC_ARCH_SOC_ID reports (see fw::SocIdConfig)
};

/// A configuration the machine cannot be built with (message fit for the user).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ExitKind {
  SystemOff,         ///< PSCI SYSTEM_OFF; status 0
  SemihostingExit,   ///< SYS_EXIT / SYS_EXIT_EXTENDED; status from the guest
  SystemReset,       ///< SYSTEM_RESET(2) with ResetAction::Exit
  GuestFault,        ///< the guest cannot continue; `report` says why, with registers and code
  InstructionLimit,  ///< max_instructions reached
  Deadlock,          ///< every vCPU waits (WFI) and nothing can wake it
};

struct RunExit {
  ExitKind kind = ExitKind::SystemOff;
  int status = 0;          ///< guest status for SystemOff / SemihostingExit
  unsigned vcpu = 0;       ///< the vCPU that caused the exit
  std::string summary;     ///< one line, e.g. "guest fault: fetch from unmapped address 0x0"
  std::string report;      ///< GuestFault only: registers and disassembly, several lines
};

/// General-purpose registers and PSTATE/PC of one vCPU, for host API users and tests.
enum class Reg : std::uint8_t {
  X0 = 0, X30 = 30, Sp = 31, Pc, Pstate,
  ElrEl1, SpsrEl1, EsrEl1, FarEl1, VbarEl1, SctlrEl1,
};
inline constexpr Reg xreg(unsigned n) { return static_cast<Reg>(n); }

class Vcpu;

class Machine {
 public:
  /// Validates `config` (throws ConfigError) and creates RAM, devices, firmware and engines.
  /// Console writers and trace sinks given to the machine may throw: run() passes the
  /// exception on after stopping the engine.
  explicit Machine(const MachineConfig& config);
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  /// The address ranges images are checked against.
  ImageLayout layout() const;
  /// Creates fresh vCPUs, copies the image into RAM and points the boot vCPU at its entry.
  /// The image is kept so a system reset can reload it. Throws ImageError.
  void load(Image image);

  /// Runs until the guest exits, faults or hits a limit. After a SystemReset exit the machine
  /// has been reset and run() boots it again. The instruction limit is checked at each
  /// translated block: the run stops before the first block that would take the count past
  /// max_instructions, so instructions() <= max_instructions.
  RunExit run();

  Console& console() { return console_; }
  /// Trace sink for firmware calls (nullptr disables tracing).
  void set_trace(fw::TraceSink* sink) { firmware_.dispatcher().set_trace(sink); }

  std::uint64_t reg(unsigned vcpu, Reg r) const;
  void set_reg(unsigned vcpu, Reg r, std::uint64_t value);

  /// Guest RAM. Host writes are seen by guest loads at once, but code an engine has already
  /// translated keeps running until the next load() or reset (Unicorn does not watch host
  /// writes; notes Q5): change code through load().
  GuestRam& ram() { return ram_; }
  fw::Firmware& firmware() { return firmware_; }
  const MachineConfig& config() const { return config_; }
  /// Guest instructions executed so far, counted per translated block entered.
  std::uint64_t instructions() const { return instructions_; }

 private:
  friend class Vcpu;
  void reset_vcpus();

  MachineConfig config_;
  GuestRam ram_;
  Console console_;
  Pl011 uart_{console_};
  fw::Firmware firmware_;
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  Image image_;
  bool loaded_ = false;
  std::uint64_t instructions_ = 0;
};

}  // namespace emu::core
