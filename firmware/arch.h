// Arm Architecture Calls, owner 0 (DEN0028 SMC Calling Convention, "Arm Architecture Calls").
#pragma once

#include <cstdint>
#include <string>

#include "firmware/service.h"

namespace emu::fw {

namespace arch {
inline constexpr std::uint32_t kSmcccVersion = 0x8000'0000;
inline constexpr std::uint32_t kArchFeatures = 0x8000'0001;
inline constexpr std::uint32_t kSocId = 0x8000'0002;
inline constexpr std::uint32_t kSocId64 = 0xC000'0002;
inline constexpr std::uint32_t kWorkaround1 = 0x8000'8000;
inline constexpr std::uint32_t kWorkaround2 = 0x8000'7FFF;
inline constexpr std::uint32_t kWorkaround3 = 0x8000'3FFF;

/// SMCCC 1.2: x0..x17 carry arguments and results (DEN0028 1.2, SMC64/HVC64 argument passing).
inline constexpr std::uint32_t kVersion1_2 = 0x1'0002;

/// SMCCC_ARCH_SOC_ID types (DEN0028 SMCCC_ARCH_SOC_ID).
inline constexpr std::uint32_t kSocIdVersion = 0;
inline constexpr std::uint32_t kSocIdRevision = 1;
inline constexpr std::uint32_t kSocIdName = 2;
inline constexpr std::size_t kSocNameMax = 136;  ///< x1..x17, including the NUL
}  // namespace arch

/// What SMCCC_ARCH_SOC_ID reports. The defaults describe the emulator itself: Arm Ltd's
/// JEP-106 code (bank 5, i.e. continuation code 4; identification 0x3B), SoC ID 0.
struct SocIdConfig {
  std::uint8_t jep106_bank = 0x04;       ///< JEP-106 continuation code, bits [30:24]
  std::uint8_t jep106_id = 0x3B;         ///< JEP-106 identification code with parity, bits [23:16]
  std::uint16_t soc_id = 0x0000;         ///< implementation-defined SoC ID, bits [15:0]
  std::uint32_t revision = 1;            ///< SoC revision, bits [30:0]
  std::string name = "smccc-emu virtual platform";  ///< at most 135 ASCII characters
};

class ArchService final : public Service {
 public:
  /// Throws ConfigError (a std::invalid_argument) if `soc.name` is not printable ASCII or does not fit x1..x17,
  /// or if `revision` or `jep106_bank` uses bit 31.
  explicit ArchService(SocIdConfig soc = {});

  std::string_view name() const override { return "Arm architecture"; }
  std::span<const FunctionRange> ranges() const override;
  std::span<const FunctionDesc> functions() const override;
  void handle(const FunctionDesc& fn, SmcccCall& call, SmcccResult& result) override;
  std::string_view status_name(std::int64_t code) const override;

 private:
  void soc_id(const SmcccCall& call, SmcccResult& result) const;

  SocIdConfig soc_;
};

}  // namespace emu::fw
