// The memory access an A64 instruction makes: address, size and direction, decoded from the
// instruction word alone (Arm ARM C4.1, "Loads and Stores", and C5.3 for DC/IC by VA). Used
// to build the syndrome of a data abort, which the engine does not report. Pure: no Unicorn.
#pragma once

#include <cstdint>
#include <functional>

namespace emu::core::a64 {

/// What one faulting instruction accesses, before any base-register writeback (an abort
/// leaves the base unchanged: pre-index reports base + imm, post-index reports base).
struct Access {
  std::uint64_t va = 0;         ///< first byte accessed
  std::uint32_t size = 0;       ///< bytes accessed in all (a pair, all SIMD registers)
  std::uint32_t align = 1;      ///< alignment the access requires (exclusive, ordered, atomic), else 1
  std::uint32_t element = 1;    ///< bytes of one element, the unit of a misalignment check
  bool is_write = false;        ///< a store, DC ZVA, or a cache maintenance instruction
  bool is_rmw = false;          ///< reads then writes: atomics, SWP, CAS/CASP
  bool is_cache_maint = false;  ///< DC/IC by VA (ESR CM = 1)
  bool unprivileged = false;    ///< LDTR/STTR family: checked with EL0 permissions
  bool ok = false;              ///< false: not a load/store this decoder knows
};

/// Reads X0..X30 for n = 0..30 and SP for n = 31 (only asked for where 31 means SP).
using RegisterReader = std::function<std::uint64_t(unsigned n)>;

/// Decodes `word` at `pc`. `zva_bytes` is the DC ZVA block size (DCZID_EL0.BS). Unknown
/// classes (SVE, SME, MTE tag stores, LD64B, prefetches, non-memory instructions) give
/// ok = false.
Access decode_access(std::uint32_t word, std::uint64_t pc, const RegisterReader& x, std::uint32_t zva_bytes = 64);

}  // namespace emu::core::a64
