#include "firmware/firmware.h"

#include <stdexcept>
#include <string>

namespace emu::fw {

namespace {

// Validated before anything is sized from it.
VmState make_vm(const FirmwareConfig& config) {
  if (config.vcpu_count == 0 || config.vcpu_count > kMaxVcpus) {
    throw ConfigError("vcpu_count", "vCPU count must be 1.." + std::to_string(kMaxVcpus) + ", not " +
                                std::to_string(config.vcpu_count));
  }
  VmState vm{.ram_base = config.ram_base, .ram_size = config.ram_size, .epoch_ns = config.epoch_ns,
             .vcpus = std::vector<VcpuState>(config.vcpu_count)};
  vm.reset_guest_state();
  return vm;
}

}  // namespace

Firmware::Firmware(const FirmwareConfig& config)
    : vm_(make_vm(config)),
      arch_(config.soc),
      psci_(vm_),
      // Standard Secure owner 4: Call Count, UID and Revision (digest 1.10).
      std_queries_({.owner = owner::kStandardSecure, .prefix = "STD_SVC", .call_count = true,
                    .uid = kStdServiceUid, .revision = kStdServiceRevision}),
      trng_(vm_, config.platform.entropy),
      pv_time_(vm_, config.platform.memory, config.platform.clock),
      kvm_(vm_, config.platform.clock),
      // Vendor hypervisor owner 6: only the Call UID is defined (KVM's value, digest 5.1).
      kvm_queries_({.owner = owner::kVendorHyp, .prefix = "VENDOR_HYP", .uid = kKvmVendorUid,
                    .gate = &vm_.vendor_hyp_bmap, .gate_mask = service_bit::kVendorFeatures}) {
  services_ = {&arch_, &psci_, &std_queries_, &trng_, &pv_time_, &kvm_, &kvm_queries_};
  for (Service* s : services_) dispatcher_.add(*s);
  dispatcher_.set_filter(&vm_.filter);
}

namespace {
constexpr std::uint32_t kTagFirmware = 0x46'57'53'54;  // "FWST"
constexpr std::uint32_t kTagVcpu = 0x56'43'50'55;      // "VCPU"
}  // namespace

void Firmware::save(StateWriter& out) const {
  out.tag(kTagFirmware);
  out.u32(vm_.psci_version);
  out.boolean(vm_.mem_protect);
  out.u64(vm_.epoch_ns);
  out.u64(vm_.std_bmap);
  out.u64(vm_.std_hyp_bmap);
  out.u64(vm_.vendor_hyp_bmap);
  out.boolean(vm_.has_run);
  out.u64(vm_.filter.ranges().size());
  for (const SmcccFilter::Range& r : vm_.filter.ranges()) {
    out.u32(r.first);
    out.u32(r.last);
    out.u8(static_cast<std::uint8_t>(r.action));
  }
  out.u64(vm_.vcpus.size());
  for (const VcpuState& v : vm_.vcpus) {
    out.tag(kTagVcpu);
    out.u8(static_cast<std::uint8_t>(v.power));
    out.u8(v.suspended_in ? static_cast<std::uint8_t>(*v.suspended_in) + 1 : 0);
    for (std::size_t i = 0; i < kSuspendStates; ++i) {
      out.u64(v.suspend_count[i]);
      out.u64(v.residency_us[i]);
    }
    out.boolean(v.pv_time_ipa.has_value());
    out.u64(v.pv_time_ipa.value_or(0));
    out.boolean(v.pv_time_started);
    out.u64(v.steal_baseline_ns);
  }
}

// Values are checked as they are read back, through the same rules the host API applies.
void Firmware::load(StateReader& in) {
  in.tag(kTagFirmware);
  VmState vm = vm_;
  vm.psci_version = in.u32();
  vm.mem_protect = in.boolean();
  vm.epoch_ns = in.u64();
  vm.std_bmap = in.u64();
  vm.std_hyp_bmap = in.u64();
  vm.vendor_hyp_bmap = in.u64();
  const bool has_run = in.boolean();
  for (const std::uint64_t id : {fw_reg::kPsciVersion, fw_reg::kStdBmap, fw_reg::kStdHypBmap, fw_reg::kVendorHypBmap}) {
    std::uint64_t value = 0;
    fw::get_fw_reg(vm, id, value);
    VmState probe = vm_;
    probe.has_run = false;
    if (fw::set_fw_reg(probe, id, value) != HostStatus::Ok) throw StateError("corrupt state: a firmware register");
  }
  vm.filter = SmcccFilter{};
  const std::uint64_t ranges = in.below(SmcccFilter::kMaxRanges + 1, "filter range count");
  for (std::uint64_t i = 0; i < ranges; ++i) {
    const std::uint32_t first = in.u32();
    const std::uint32_t last = in.u32();
    const std::uint8_t action = in.u8();
    if (last < first || vm.filter.add(first, last - first + 1, action, false) != HostStatus::Ok) {
      throw StateError("corrupt state: a filter range");
    }
  }
  vm.has_run = has_run;
  if (in.u64() != vm.vcpus.size()) throw StateError("the state is for another number of vCPUs");
  for (VcpuState& v : vm.vcpus) v.pv_time_ipa.reset();  // re-added below through set_ipa's rule
  for (unsigned index = 0; index < vm.vcpus.size(); ++index) {
    VcpuState& v = vm.vcpus[index];
    in.tag(kTagVcpu);
    const std::uint8_t power = in.u8();
    if (power > static_cast<std::uint8_t>(PowerState::PowerDown)) throw StateError("corrupt state: a power state");
    v.power = static_cast<PowerState>(power);
    const std::uint8_t suspended = in.u8();
    if (suspended > kSuspendStates) throw StateError("corrupt state: a suspend state");
    v.suspended_in = suspended == 0 ? std::nullopt : std::optional(static_cast<SuspendState>(suspended - 1));
    for (std::size_t i = 0; i < kSuspendStates; ++i) {
      v.suspend_count[i] = in.u64();
      v.residency_us[i] = in.u64();
    }
    const bool has_ipa = in.boolean();
    const std::uint64_t ipa = in.u64();
    if (has_ipa) {
      if (PvTimeService::check_ipa(vm, index, ipa) != HostStatus::Ok) {
        throw StateError("corrupt state: a PV-time record address");
      }
      v.pv_time_ipa = ipa;
    }
    v.pv_time_started = in.boolean();
    v.steal_baseline_ns = in.u64();
  }
  vm_ = std::move(vm);  // only a fully valid state replaces the current one
}

}  // namespace emu::fw
