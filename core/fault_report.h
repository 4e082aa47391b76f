// The text printed when a guest cannot continue: registers, then the instructions around
// the PC disassembled with Capstone.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/guest_ram.h"

namespace emu::core {

struct RegisterSnapshot {
  std::array<std::uint64_t, 31> x{};
  std::uint64_t sp = 0, pc = 0, pstate = 0;
  std::uint64_t elr_el1 = 0, spsr_el1 = 0, esr_el1 = 0, far_el1 = 0, vbar_el1 = 0, sctlr_el1 = 0;
};

/// Several lines: "vcpuN registers", the GPRs, PSTATE with its EL, the EL1 exception
/// registers, and up to 4 instructions either side of the PC ("=>" marks the PC). Code
/// outside RAM is reported as unreadable.
std::string format_fault_report(unsigned vcpu, const RegisterSnapshot& regs, const GuestRam& ram);

/// Capstone's text for one instruction word ("mrs x0, s3_0_c12_c12_0"), or ".inst 0x..".
std::string disassemble_one(std::uint32_t word, std::uint64_t address);

}  // namespace emu::core
