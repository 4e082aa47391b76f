// SMCCC function identifiers (Arm DEN0028, SMC Calling Convention).
//
// The 32-bit FID in W0 is laid out as (DEN0028 Table 2-1, Function Identifier bit usage):
//   [31] fast call   [30] SMC64/HVC64   [29:24] owning entity   [23:17] reserved (MBZ)
//   [16] SVE live-state hint (SMCCC 1.3, ignored when decoding)   [15:0] function number
#pragma once

#include <cstdint>

namespace emu::fw {

/// Owning Entity Numbers (DEN0028 Table 2-1 bits 29:24 and its owner list).
namespace owner {
inline constexpr std::uint8_t kArch = 0;
inline constexpr std::uint8_t kCpu = 1;
inline constexpr std::uint8_t kSip = 2;
inline constexpr std::uint8_t kOem = 3;
inline constexpr std::uint8_t kStandardSecure = 4;
inline constexpr std::uint8_t kStandardHyp = 5;
inline constexpr std::uint8_t kVendorHyp = 6;
inline constexpr std::uint8_t kCount = 64;
}  // namespace owner

/// A decoded function identifier. `raw` is the normalised FID: low 32 bits of X0 with the
/// SVE hint bit cleared, which is the value every table and trace line uses.
struct FunctionId {
  std::uint32_t raw = 0;
  bool fast = false;          ///< bit 31: fast (atomic) call; yielding calls are never served
  bool smc64 = false;         ///< bit 30: SMC64/HVC64 convention
  std::uint8_t owner = 0;     ///< bits 29:24
  std::uint16_t number = 0;   ///< bits 15:0
  bool sve_hint = false;      ///< bit 16 as the caller sent it (informational only)
  bool reserved_set = false;  ///< any of bits 23:17 set: a malformed fast call

  static constexpr std::uint32_t kFastBit = 1u << 31;
  static constexpr std::uint32_t kSmc64Bit = 1u << 30;
  static constexpr std::uint32_t kSveHintBit = 1u << 16;
  static constexpr std::uint32_t kReservedMask = 0x7Fu << 17;

  /// Decodes X0. Only the low 32 bits form the FID (W0 in DEN0028; KVM's smccc_get_function reads a u32).
  static constexpr FunctionId decode(std::uint64_t x0) {
    const auto w0 = static_cast<std::uint32_t>(x0);
    FunctionId id;
    id.sve_hint = (w0 & kSveHintBit) != 0;
    id.raw = w0 & ~kSveHintBit;  // DEN0028 v1.3: decode as if bit 16 were clear
    id.fast = (w0 & kFastBit) != 0;
    id.smc64 = (w0 & kSmc64Bit) != 0;
    id.owner = static_cast<std::uint8_t>((w0 >> 24) & 0x3F);
    id.number = static_cast<std::uint16_t>(w0 & 0xFFFF);
    id.reserved_set = (w0 & kReservedMask) != 0;
    return id;
  }
};

/// Builds a fast-call FID the way DEN0028 does (ARM_SMCCC_CALL_VAL in Linux).
constexpr std::uint32_t make_fast_fid(bool smc64, std::uint8_t owner_number, std::uint16_t number) {
  return FunctionId::kFastBit | (smc64 ? FunctionId::kSmc64Bit : 0u) |
         (static_cast<std::uint32_t>(owner_number & 0x3F) << 24) | number;
}

}  // namespace emu::fw
