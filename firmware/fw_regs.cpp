// KVM firmware pseudo-registers (Linux Documentation/virt/kvm/arm/hypercalls.rst,
// fw-pseudo-registers.rst in newer kernels).
#include "firmware/fw_regs.h"

#include <charconv>

#include "firmware/arch.h"

namespace emu::fw {
namespace {

constexpr std::array kRegs{
    FwRegInfo{fw_reg::kPsciVersion, "psci-version"},
    FwRegInfo{fw_reg::kWorkaround1, "workaround-1"},
    FwRegInfo{fw_reg::kWorkaround2, "workaround-2"},
    FwRegInfo{fw_reg::kWorkaround3, "workaround-3"},
    FwRegInfo{fw_reg::kStdBmap, "std-bmap"},
    FwRegInfo{fw_reg::kStdHypBmap, "std-hyp-bmap"},
    FwRegInfo{fw_reg::kVendorHypBmap, "vendor-hyp-bmap"},
    FwRegInfo{fw_reg::kVendorHypBmap2, "vendor-hyp-bmap-2"},
    FwRegInfo{fw_reg::kSmcccVersion, "smccc-version", false},
};

// PSCI versions the model can present: 0.2, 1.0, 1.1, 1.2 and 1.3, the values KVM's
// KVM_REG_ARM_PSCI_VERSION accepts (Linux fw-pseudo-registers.rst).
// 1.2 adds nothing the model answers differently (as in KVM); 1.3 adds SYSTEM_OFF2. 0.1
// needs the legacy DT-described IDs, which the model does not offer.
constexpr std::array<std::uint64_t, 5> kPsciVersions{0x0000'0002, 0x1'0000, 0x1'0001, 0x1'0002, 0x1'0003};

// Workaround levels (KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_*, hypercalls.rst). An emulator does not
// speculate: every workaround is NOT_REQUIRED, matching the "not affected" answers of
// SMCCC_ARCH_FEATURES.
constexpr std::uint64_t kWaNotRequired = 2;   // WA1, WA3: 0 NOT_AVAIL, 1 AVAIL, 2 NOT_REQUIRED
constexpr std::uint64_t kWa2NotRequired = 3;  // WA2: 0 NOT_AVAIL, 1 UNKNOWN, 2 AVAIL, 3 NOT_REQUIRED
constexpr std::uint64_t kWa2Avail = 2;
constexpr std::uint64_t kWa2Enabled = 1u << 4;
constexpr std::uint64_t kWa2LevelMask = 0xF;

// A write is KVM's migration check: accepted when the level asked for is no better than what
// this host gives. With NOT_REQUIRED here, every defined level is accepted.
HostStatus check_workaround(std::uint64_t id, std::uint64_t value) {
  if (id == fw_reg::kWorkaround2) {
    if ((value & ~(kWa2LevelMask | kWa2Enabled)) != 0) return HostStatus::Invalid;
    const std::uint64_t level = value & kWa2LevelMask;
    if (level > kWa2NotRequired) return HostStatus::Invalid;
    if ((value & kWa2Enabled) != 0 && level != kWa2Avail) return HostStatus::Invalid;
    return HostStatus::Ok;
  }
  return value <= kWaNotRequired ? HostStatus::Ok : HostStatus::Invalid;
}

HostStatus set_value(VmState& vm, std::uint64_t& field, std::uint64_t value) {
  if (value == field) return HostStatus::Ok;
  if (vm.has_run) return HostStatus::Busy;
  field = value;
  return HostStatus::Ok;
}

// SMCCC 1.1..1.6 (DEN0028 SMCCC_VERSION: major 1, minor 1..6). 1.0 has no SMCCC_VERSION call.
HostStatus set_smccc_version(VmState& vm, std::uint64_t value) {
  if (value < arch::kVersionMin || value > arch::kVersionMax) return HostStatus::Invalid;
  std::uint64_t current = vm.smccc_version;
  const HostStatus status = set_value(vm, current, value);
  vm.smccc_version = static_cast<std::uint32_t>(current);
  return status;
}

}  // namespace

std::span<const FwRegInfo> fw_reg_list() {
  return kRegs;
}

std::optional<std::uint64_t> fw_reg_by_name(std::string_view name) {
  for (const FwRegInfo& r : kRegs) {
    if (r.name == name) return r.id;
  }
  std::string_view digits = name;
  if (digits.starts_with("0x")) digits.remove_prefix(2);
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id, 16);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  for (const FwRegInfo& r : kRegs) {
    if (r.id == id) return id;
  }
  return std::nullopt;
}

HostStatus get_fw_reg(const VmState& vm, std::uint64_t id, std::uint64_t& value) {
  switch (id) {
    case fw_reg::kPsciVersion: value = vm.psci_version; return HostStatus::Ok;
    case fw_reg::kWorkaround1:
    case fw_reg::kWorkaround3: value = kWaNotRequired; return HostStatus::Ok;
    case fw_reg::kWorkaround2: value = kWa2NotRequired; return HostStatus::Ok;
    case fw_reg::kStdBmap: value = vm.std_bmap; return HostStatus::Ok;
    case fw_reg::kStdHypBmap: value = vm.std_hyp_bmap; return HostStatus::Ok;
    case fw_reg::kVendorHypBmap: value = vm.vendor_hyp_bmap; return HostStatus::Ok;
    case fw_reg::kVendorHypBmap2: value = vm.vendor_hyp_bmap_2; return HostStatus::Ok;
    case fw_reg::kSmcccVersion: value = vm.smccc_version; return HostStatus::Ok;
    default: return HostStatus::NotFound;
  }
}

HostStatus set_fw_reg(VmState& vm, std::uint64_t id, std::uint64_t value) {
  const auto bitmap = [&](std::uint64_t& field, std::uint64_t mask) {
    return (value & ~mask) != 0 ? HostStatus::Invalid : set_value(vm, field, value);
  };
  switch (id) {
    case fw_reg::kPsciVersion: {
      bool known = false;
      for (std::uint64_t v : kPsciVersions) known = known || v == value;
      if (!known) return HostStatus::Invalid;
      std::uint64_t current = vm.psci_version;
      const HostStatus status = set_value(vm, current, value);
      vm.psci_version = static_cast<std::uint32_t>(current);
      return status;
    }
    case fw_reg::kWorkaround1:
    case fw_reg::kWorkaround2:
    case fw_reg::kWorkaround3: return check_workaround(id, value);
    case fw_reg::kStdBmap: return bitmap(vm.std_bmap, service_bit::kStdSupported);
    case fw_reg::kStdHypBmap: return bitmap(vm.std_hyp_bmap, service_bit::kStdHypSupported);
    case fw_reg::kVendorHypBmap: return bitmap(vm.vendor_hyp_bmap, service_bit::kVendorHypSupported);
    case fw_reg::kVendorHypBmap2: return bitmap(vm.vendor_hyp_bmap_2, service_bit::kVendorHyp2Supported);
    case fw_reg::kSmcccVersion: return set_smccc_version(vm, value);
    default: return HostStatus::NotFound;
  }
}

}  // namespace emu::fw
