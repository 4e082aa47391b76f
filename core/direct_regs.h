// The trap path's register access straight into Unicorn's CPU state (internal to core).
//
// Unicorn's public register API costs 50 to 75 host instructions per register (the
// uc_reg_read/uc_reg_write range checks and switch), and every firmware call reads x0 and the
// PC and writes x0..x3: about 340 host instructions a call, more than the dispatch itself.
// QEMU keeps the general-purpose registers and the PC in one array in its CPU state (CPUARMState
// xregs[32] then pc), so reading them in place costs one load each.
//
// Nothing about that layout is public, so it is used only where it was measured and is checked
// again at every start: the Unicorn library must be exactly the version this file was written
// for (at compile time and at run time), the chain of pointers is read without trusting it
// (a fault there reads as "not found", never as a crash), and sentinel values written through
// the public API must read back in place, and the reverse. Anything else falls back to the
// public API, as does the environment variable SMCCC_EMU_REGS=api (CI runs both paths).
#pragma once

#include <unicorn/unicorn.h>

#include <cstddef>
#include <cstdint>

namespace emu::core {

/// The PC's index in the register file locate_register_file returns (x0..x30, SP, PC).
inline constexpr std::size_t kRegFilePc = 32;

/// x0..x30, SP (index 31) and the PC (index 32) of `uc`, in place, or nullptr when the direct
/// path is not available for this library or was turned off (SMCCC_EMU_REGS=api). The engine
/// must have been set up (any register written through the API first); the pointer stays valid
/// until uc_close. Writing through it is exactly what uc_reg_write does for X0..X30; the PC
/// and SP must still be written through the API (a PC write also ends the translated block).
std::uint64_t* locate_register_file(uc_engine* uc) noexcept;

/// Whether SMCCC_EMU_REGS=api asks for the public register API everywhere.
bool register_api_forced() noexcept;

}  // namespace emu::core
