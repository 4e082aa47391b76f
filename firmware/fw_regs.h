// KVM's firmware pseudo-registers (Linux Documentation/virt/kvm/arm/fw-pseudo-registers.rst;
// hypercalls.rst in older kernels): the host's view of which firmware the guest gets. Values are VM-wide;
// the host reaches them through any vCPU, as with KVM_GET/SET_ONE_REG.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "firmware/platform.h"
#include "firmware/vm_state.h"

namespace emu::fw {

namespace fw_reg {
// KVM_REG_ARM64 | KVM_REG_SIZE_U64 | coprocessor (bits 31:16) | index (Linux arch/arm64/include/uapi/asm/kvm.h).
inline constexpr std::uint64_t kPsciVersion = 0x6030'0000'0014'0000;
inline constexpr std::uint64_t kWorkaround1 = 0x6030'0000'0014'0001;
inline constexpr std::uint64_t kWorkaround2 = 0x6030'0000'0014'0002;
inline constexpr std::uint64_t kWorkaround3 = 0x6030'0000'0014'0003;
inline constexpr std::uint64_t kStdBmap = 0x6030'0000'0016'0000;
inline constexpr std::uint64_t kStdHypBmap = 0x6030'0000'0016'0001;
inline constexpr std::uint64_t kVendorHypBmap = 0x6030'0000'0016'0002;
inline constexpr std::uint64_t kVendorHypBmap2 = 0x6030'0000'0016'0003;  ///< KVM 6.15
/// smccc-emu's own, not KVM's (KVM's SMCCC version is fixed at 1.1): the SMCCC version the
/// guest sees, 0x10001..0x10006. Coprocessor 0xFFF, which KVM does not use.
inline constexpr std::uint64_t kSmcccVersion = 0x6030'0000'0FFF'0000;

// KVM's names for the bits (defined once in vm_state.h).
inline constexpr std::uint64_t kStdBitTrng = service_bit::kTrng;
inline constexpr std::uint64_t kStdHypBitPvTime = service_bit::kPvTime;
inline constexpr std::uint64_t kVendorHypBitFuncFeat = service_bit::kVendorFeatures;
inline constexpr std::uint64_t kVendorHypBitPtp = service_bit::kVendorPtp;
inline constexpr std::uint64_t kVendorHypBitDiscoverImplVer = service_bit::kVendorImplVer;
inline constexpr std::uint64_t kVendorHypBitDiscoverImplCpus = service_bit::kVendorImplCpus;
}  // namespace fw_reg

/// One pseudo-register: its KVM ID and a short name for tools ("psci-version").
struct FwRegInfo {
  std::uint64_t id;
  std::string_view name;
  bool kvm = true;  ///< false: smccc-emu's own register, with an ID KVM does not define
};

/// Every register: KVM's in KVM_GET_REG_LIST order, then smccc-emu's own.
std::span<const FwRegInfo> fw_reg_list();
/// The register a name (as in FwRegInfo) or a KVM ID in hex names, if any.
std::optional<std::uint64_t> fw_reg_by_name(std::string_view name);

/// get: NotFound for an unknown ID.
HostStatus get_fw_reg(const VmState& vm, std::uint64_t id, std::uint64_t& value);
/// set: NotFound (unknown ID), Invalid (a bit or value the model does not support), Busy (a
/// different value once a vCPU has run; the same value is accepted, so a host can restore
/// state blindly). WORKAROUND_n writes are KVM's compatibility check and change nothing.
HostStatus set_fw_reg(VmState& vm, std::uint64_t id, std::uint64_t value);

}  // namespace emu::fw
