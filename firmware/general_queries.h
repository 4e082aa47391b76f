// General service queries of one owner: Call Count (0xFF00), Call UID (0xFF01) and Revision
// (0xFF03) (DEN0028 "General Service Queries"). Only the queries an owner's reference
// implementation answers are offered (TF-A's std_svc_setup.c for owner 4, KVM's Call UID for
// owner 6); the others stay NOT_SUPPORTED.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "firmware/service.h"

namespace emu::fw {

/// A UID as SMCCC returns it: W0..W3, each the little-endian load of 4 bytes of the UUID in
/// canonical order (DEN0028 Call UID; TF-A's SMC_UUID_RET, Linux's kvm_guest.c). W0 must not be
/// 0xFFFFFFFF, or a caller cannot tell it from NOT_SUPPORTED.
using CallUid = std::array<std::uint32_t, 4>;

struct GeneralQueriesConfig {
  std::uint8_t owner = 0;      ///< owning entity these queries describe; default 0
  std::string_view prefix;     ///< trace name prefix, e.g. "STD_SVC" (copied); default ""
  bool call_count = false;     ///< offer Call Count (derived from the routing tables); default no
  std::optional<CallUid> uid;  ///< offer Call UID with this value; default not offered
  std::optional<std::array<std::uint32_t, 2>> revision;  ///< offer Revision {major, minor}; default not offered
  /// Offer the queries only while (*gate & gate_mask) != 0; default null: always.
  const std::uint64_t* gate = nullptr;
  std::uint64_t gate_mask = 0;
};

class GeneralQueries final : public Service {
 public:
  /// Throws std::invalid_argument for a UID whose W0 is 0xFFFFFFFF.
  explicit GeneralQueries(const GeneralQueriesConfig& config);

  std::string_view name() const override { return names_[0]; }
  std::span<const FunctionRange> ranges() const override { return {&range_, 1}; }
  std::span<const FunctionDesc> functions() const override { return {functions_.data(), count_}; }
  bool available(const FunctionDesc& /*fn*/) const override { return gate_ == nullptr || (*gate_ & gate_mask_) != 0; }
  std::span<const StatusName> statuses() const override { return kSmcccStatuses; }

 private:
  std::uint8_t owner_;
  std::optional<CallUid> uid_;
  std::optional<std::array<std::uint32_t, 2>> revision_;
  const std::uint64_t* gate_;
  std::uint64_t gate_mask_;
  FunctionRange range_;
  std::array<std::string, 4> names_;  // service name, then one trace name per query
  std::array<FunctionDesc, 3> functions_{};
  std::size_t count_ = 0;
};

/// smccc-emu's Standard Secure Service UID, 163b0ea2-b73d-4050-af49-848c8f4153dc. The model
/// is not TF-A, so it does not claim TF-A's UID.
inline constexpr CallUid kStdServiceUid{0xA20E3B16, 0x50403DB7, 0x8C8449AF, 0xDC53418F};
/// Standard Service revision reported at 0x8400FF03: 0.1, the value TF-A reports (std_svc_setup.c).
inline constexpr std::array<std::uint32_t, 2> kStdServiceRevision{0, 1};
/// KVM's vendor hypervisor UID, 28b46fb6-2ec5-11e9-a9ca-4b564d003a74 (Linux include/linux/arm-smccc.h). Guests
/// detect "KVM-compatible hypervisor services" with it, so it must be bit-exact.
inline constexpr CallUid kKvmVendorUid{0xB66FB428, 0xE911C52E, 0x564BCAA9, 0x743A004D};

}  // namespace emu::fw
