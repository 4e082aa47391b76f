// True Random Number Generator firmware interface 1.0, owner 4 functions 0x50-0x5F
// (DEN0098). The bits come from the platform's EntropySource.
#pragma once

#include <cstdint>

#include "firmware/platform.h"
#include "firmware/service.h"
#include "firmware/vm_state.h"

namespace emu::fw {

namespace trng {
inline constexpr std::uint32_t kVersion = 0x8400'0050;
inline constexpr std::uint32_t kFeatures = 0x8400'0051;
inline constexpr std::uint32_t kGetUuid = 0x8400'0052;
inline constexpr std::uint32_t kRnd32 = 0x8400'0053;
inline constexpr std::uint32_t kRnd64 = 0xC400'0053;
inline constexpr std::uint32_t kVersion1_0 = 0x1'0000;
inline constexpr std::uint32_t kMaxBits32 = 96;   ///< RND32: three 32-bit result registers
inline constexpr std::uint32_t kMaxBits64 = 192;  ///< RND64: three 64-bit result registers
}  // namespace trng

/// TRNG return codes (DEN0098, "Return codes").
#define EMU_FW_TRNG_STATUSES(X)                  \
  X(Success, 0, "SUCCESS")                       \
  X(NotSupported, -1, "NOT_SUPPORTED")           \
  X(InvalidParameters, -2, "INVALID_PARAMETERS") \
  X(NoEntropy, -3, "NO_ENTROPY")

enum class TrngStatus : std::int32_t { EMU_FW_TRNG_STATUSES(EMU_FW_STATUS_ENUMERATOR) };
inline constexpr StatusName kTrngStatuses[] = {EMU_FW_TRNG_STATUSES(EMU_FW_STATUS_ROW)};

class TrngService final : public Service {
 public:
  /// `entropy` may be null: then TRNG is not offered at all. STD_BMAP bit 0 selects it.
  TrngService(const VmState& vm, EntropySource* entropy) : vm_(vm), entropy_(entropy) {}

  std::string_view name() const override { return "TRNG"; }
  std::span<const FunctionRange> ranges() const override;
  std::span<const FunctionDesc> functions() const override;
  bool available(const FunctionDesc& fn) const override;
  std::span<const StatusName> statuses() const override { return kTrngStatuses; }

 private:
  // The table functions() returns: defined in the .cpp, where its handlers may name private members.
  static const FunctionDesc kFunctions[];
  void features(const SmcccCall& call, SmcccResult& result) const;
  void get_uuid(const SmcccCall& call, SmcccResult& result) const;
  void rnd(const SmcccCall& call, SmcccResult& result);

  const VmState& vm_;
  EntropySource* entropy_;
};

}  // namespace emu::fw
