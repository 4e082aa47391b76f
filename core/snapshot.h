// VM snapshot files (issue: save and restore): one versioned file holding the configuration
// and the whole VM state (Machine::save). A file that is truncated, corrupt, of another format
// version or made for another configuration is refused with one clear line, and nothing runs.
//
// Layout (format 8): "SMCCCEMU", u32 format version, u32 zero, u64 guest RAM bytes, u64 payload
// length, u64 FNV-1a hash of the 32 header bytes before it and of the payload, then the payload:
// the MachineConfig, then Machine::save's stream. Little-endian. Every header byte is checked
// (magic, version, zero, RAM size in the --memory range and equal to the configuration's,
// length within max_snapshot_payload) and all but the hash itself are hashed.
//
// Reading: only a regular file is read (a FIFO, device or socket is refused without reading),
// never more than the header's length, and that length is bounded by the RAM size.
#pragma once

#include <filesystem>
#include <memory>
#include <stdexcept>

#include "core/machine.h"

namespace emu::core {

/// Why a snapshot cannot be written or used; the message is one line for the user.
class SnapshotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// 2: the boot payload (bootargs, initrd, DTB, conduit), the placed device tree and the
/// pointer-authentication keys. 3: the GIC, the generic timers (no longer among the saved
/// system registers), the wake-up time of a vCPU in WFI, and the IRQs taken. 4: the PL011's
/// latched baud divisor and the arrival time of the character on its line. 5: SDEI bind slots
/// and the GIC interrupts the firmware owns for them. 6: the header holds the RAM size, its
/// reserved word must be zero, and the hash covers the header too. 7: the firmware
/// pseudo-registers as (ID, value) pairs; a register a file does not name restores at its
/// reset value; the configuration's CPU implementation list (DISCOVER_IMPL_CPUS) and fault
/// rules, and how far each rule has counted; whether the CPU model offers pointer
/// authentication (MachineConfig::pauth). 8: each firmware service saves its own tagged
/// section ("PSCI", "PVTM", "KVMV", "SDEI"; Service::save_section) after the firmware's
/// registers, filter and vCPU count, in place of the per-vCPU "VCPU" sections; SDEI's section
/// holds whether each PE runs (SdeiPe), which it follows itself.
inline constexpr std::uint32_t kSnapshotVersion = 8;

/// The most payload a state file for a machine with `ram` bytes of RAM can hold: its RAM pages
/// (4 KiB each plus 16 bytes of page number and length: ram + ram/256), the image (at most
/// RAM), the initrd (at most RAM) and 64 MiB for everything else (two device trees of at most
/// 2 MiB, up to 2^20 SDEI signals of 16 bytes, up to 64 vCPUs' registers, the devices).
/// A header claiming more is refused before the payload is read.
constexpr std::uint64_t max_snapshot_payload(std::uint64_t ram) {
  return 3 * ram + ram / 256 + (64ull << 20);
}

/// Writes `machine` (stopped at a scheduling boundary) to `path`, through a temporary file
/// renamed into place: an existing file is replaced whole or not at all.
void save_snapshot(const Machine& machine, const std::filesystem::path& path);

/// Builds a Machine with the configuration stored in `path` and restores its state.
/// `max_instructions` replaces the stored limit (a run policy, not VM state).
std::unique_ptr<Machine> load_snapshot(const std::filesystem::path& path, std::uint64_t max_instructions = 0);

/// Restores `path` into an existing machine, which must have been built with the same
/// configuration (SnapshotError otherwise).
void restore_snapshot(Machine& machine, const std::filesystem::path& path);

}  // namespace emu::core
