// Arm Architecture Calls, owner 0 (DEN0028 SMC Calling Convention, "Arm Architecture Calls").
#pragma once

#include <cstdint>
#include <string>

#include "firmware/service.h"
#include "firmware/vm_state.h"

namespace emu::fw {

namespace arch {
inline constexpr std::uint32_t kSmcccVersion = 0x8000'0000;
inline constexpr std::uint32_t kArchFeatures = 0x8000'0001;
inline constexpr std::uint32_t kSocId = 0x8000'0002;
inline constexpr std::uint32_t kSocId64 = 0xC000'0002;
inline constexpr std::uint32_t kWorkaround1 = 0x8000'8000;
inline constexpr std::uint32_t kWorkaround2 = 0x8000'7FFF;
inline constexpr std::uint32_t kWorkaround3 = 0x8000'3FFF;
/// SMCCC_ARCH_FEATURE_AVAILABILITY: SMC64 only (its x1 result is a 64-bit bitmask).
inline constexpr std::uint32_t kFeatureAvailability64 = 0xC000'0003;
/// SMCCC_ARCH_WORKAROUND_4 (Arm's CVE-2024-7881 firmware interface; TF-A arm_arch_svc.h).
inline constexpr std::uint32_t kWorkaround4 = 0x8000'0004;

/// SMCCC versions, (major << 16) | minor. 1.2: x0..x17 carry arguments and results (DEN0028
/// 1.2, SMC64/HVC64 argument passing).
inline constexpr std::uint32_t kVersion1_1 = 0x1'0001;
inline constexpr std::uint32_t kVersion1_2 = 0x1'0002;
inline constexpr std::uint32_t kVersion1_5 = 0x1'0005;
inline constexpr std::uint32_t kVersion1_6 = 0x1'0006;
/// The versions the model can present (smccc-emu's smccc-version register).
inline constexpr std::uint32_t kVersionMin = kVersion1_1;
inline constexpr std::uint32_t kVersionMax = kVersion1_6;

/// SMCCC_ARCH_SOC_ID types (DEN0028 SMCCC_ARCH_SOC_ID).
inline constexpr std::uint32_t kSocIdVersion = 0;
inline constexpr std::uint32_t kSocIdRevision = 1;
inline constexpr std::uint32_t kSocIdName = 2;
inline constexpr std::size_t kSocNameMax = 136;  ///< x1..x17, including the NUL

/// SMCCC_ARCH_FEATURE_AVAILABILITY x1: a system register named by its MRS encoding
/// (op0 op1 CRn CRm op2 packed as TF-A's *_EL3_OPCODE values).
inline constexpr std::uint64_t kScrEl3Opcode = 0x1E'1100;
inline constexpr std::uint64_t kCptrEl3Opcode = 0x1E'1140;
inline constexpr std::uint64_t kMdcrEl3Opcode = 0x1E'1320;
inline constexpr std::uint64_t kMpam3El3Opcode = 0x1E'A500;
}  // namespace arch

/// The EL3-controlled features as SMCCC_ARCH_FEATURE_AVAILABILITY reports them: one bit per
/// field of SCR_EL3 / CPTR_EL3 / MDCR_EL3, set when the feature is enabled for the caller's
/// world, whatever the field's polarity (TF-A's sanitised view: active-low trap bits such as
/// CPTR_EL3.TFP are flipped). The defaults describe the CPU model core gives the guest
/// (README "CPU model"): Arm ARM field positions.
struct El3FeatureView {
  /// SCR_EL3: APK (bit 16, FEAT_PAuth: core sets SCR_EL3.API/APK) and TRNDR (bit 40, FEAT_RNG:
  /// RNDR/RNDRRS work). Nothing else: no FGT, ECV, HCX, MTE, SME, RAS error records...
  std::uint64_t scr = (1ull << 16) | (1ull << 40);
  /// CPTR_EL3: TFP (bit 10, active low) flipped: FP/SIMD does not trap. EZ (SVE), ESM (SME),
  /// TAM (AMU) and TTA (trace) stay 0: the model hides those features.
  std::uint64_t cptr = 1ull << 10;
  /// MDCR_EL3: TPM (bit 6), TDA (bit 9) and TDOSA (bit 10), active low, flipped: the PMU and
  /// debug registers do not trap (the breakpoints are RAZ/WI, but accessible). No SPE/TRBE/BRBE.
  std::uint64_t mdcr = (1ull << 6) | (1ull << 9) | (1ull << 10);
};

/// What SMCCC_ARCH_SOC_ID reports. The defaults describe the emulator itself: Arm Ltd's
/// JEP-106 code (bank 5, i.e. continuation code 4; identification 0x3B), SoC ID 0.
struct SocIdConfig {
  std::uint8_t jep106_bank = 0x04;                  ///< JEP-106 continuation code, bits [30:24]
  std::uint8_t jep106_id = 0x3B;                    ///< JEP-106 identification code with parity, bits [23:16]
  std::uint16_t soc_id = 0x0000;                    ///< implementation-defined SoC ID, bits [15:0]
  std::uint32_t revision = 1;                       ///< SoC revision, bits [30:0]
  std::string name = "smccc-emu virtual platform";  ///< at most 135 ASCII characters
};

class ArchService final : public Service {
 public:
  /// Throws ConfigError (a std::invalid_argument) if `soc.name` is not printable ASCII or does not fit x1..x17,
  /// or if `revision` or `jep106_bank` uses bit 31.
  /// `vm.smccc_version` selects which calls are offered (read at each call).
  explicit ArchService(const VmState& vm, SocIdConfig soc = {}, El3FeatureView el3 = {});

  std::string_view name() const override { return "Arm architecture"; }
  std::span<const FunctionRange> ranges() const override;
  std::span<const FunctionDesc> functions() const override;
  bool available(const FunctionDesc& fn) const override { return fn.since <= vm_.smccc_version; }
  bool offers_smc64(const FunctionDesc& fn) const override;
  std::span<const StatusName> statuses() const override { return kSmcccStatuses; }

 private:
  // The table functions() returns: defined in the .cpp, where its handlers may name private members.
  static const FunctionDesc kFunctions[];
  void arch_features(const SmcccCall& call, SmcccResult& result) const;
  void soc_id(const SmcccCall& call, SmcccResult& result) const;
  void soc_name(SmcccResult& result) const;
  void feature_availability(std::uint64_t reg, SmcccResult& result) const;

  const VmState& vm_;
  SocIdConfig soc_;
  El3FeatureView el3_;
};

}  // namespace emu::fw
