// Helpers shared by core/semihosting.cpp and core/semihosting_files.cpp.
#pragma once

#include <cstdint>
#include <span>

#include "core/semihosting.h"

namespace emu::core::semihosting {

inline constexpr std::uint64_t kError = ~std::uint64_t{0};
/// Guest memory moves in pieces of at most one page (each is translated on its own).
inline constexpr std::uint64_t kPiece = 4096;

/// Reads the parameter block at `va`: words.size() 64-bit words (spec §4, "Registers and field
/// size": on A64 every field is a doubleword).
bool read_words(GuestMemoryReader& memory, std::uint64_t va, std::span<std::uint64_t> words);
bool write_word(GuestMemoryReader& memory, std::uint64_t va, std::uint64_t value);

}  // namespace emu::core::semihosting
