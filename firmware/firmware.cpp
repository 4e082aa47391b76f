#include "firmware/firmware.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace emu::fw {

namespace {

// Validated before anything is sized from it.
VmState make_vm(const FirmwareConfig& config) {
  if (config.vcpu_count == 0 || config.vcpu_count > kMaxVcpus) {
    throw ConfigError("vcpu_count", "vCPU count must be 1.." + std::to_string(kMaxVcpus) + ", not " +
                                        std::to_string(config.vcpu_count));
  }
  return VmState{.ram_base = config.ram_base, .ram_size = config.ram_size, .vcpus = config.vcpu_count};
}

void check_faults(const std::vector<FaultRule>& rules) {
  for (const FaultRule& r : rules) {
    if (const std::string problem = fault_rule_problem(r); !problem.empty()) throw ConfigError("faults", problem);
  }
}

}  // namespace

Firmware::Firmware(const FirmwareConfig& config) : vm_(make_vm(config)), faults_(config.faults, config.fault_seed) {
  register_services(config);
  check_faults(config.faults);  // after the services' own checks, as before
  dispatcher_.set_filter(&vm_.filter);
  if (!faults_.empty()) dispatcher_.set_faults(&faults_);
}

// The registration list (docs/architecture.md, "Services, state and discovery"): one line per
// service. The order is the routing tables' and the hooks' and the snapshot sections'; no
// service's behaviour depends on it, since each keeps its own state and hears every hook.
void Firmware::register_services(const FirmwareConfig& config) {
  add<ArchService>(vm_, config.soc);
  psci_ = &add<PsciService>(vm_);
  // Standard Secure owner 4: Call Count, UID and Revision (DEN0028 General Service Queries).
  add<GeneralQueries>(GeneralQueriesConfig{.owner = owner::kStandardSecure,
                                           .prefix = "STD_SVC",
                                           .call_count = true,
                                           .uid = kStdServiceUid,
                                           .revision = kStdServiceRevision});
  add<TrngService>(vm_, config.platform.entropy);
  pv_time_ = &add<PvTimeService>(vm_, config.platform.memory, config.platform.clock);
  kvm_ = &add<KvmVendorService>(vm_, config.platform.clock, config.epoch_ns, config.impl_cpus);
  // Vendor hypervisor owner 6: only the Call UID is defined (KVM's value, hypercalls.rst).
  add<GeneralQueries>(GeneralQueriesConfig{.owner = owner::kVendorHyp,
                                           .prefix = "VENDOR_HYP",
                                           .uid = kKvmVendorUid,
                                           .gate = &vm_.vendor_hyp_bmap,
                                           .gate_mask = service_bit::kVendorFeatures});
  sdei_ = &add<SdeiService>(vm_, config.sdei_events, config.platform.interrupts);
}

std::optional<SdeiEntry> Firmware::sdei_begin_dispatch(unsigned vcpu, const SdeiContext& interrupted) {
  return sdei_->begin_dispatch(vcpu, interrupted);  // the core traces the handler's entry (core/trace.h)
}

namespace {
constexpr std::uint32_t kTagFirmware = 0x46'57'53'54;  // "FWST"
constexpr std::uint32_t kTagFwRegs = 0x46'57'52'47;    // "FWRG"

// The pseudo-registers as (ID, value) pairs, as a VMM saves them with KVM_GET_REG_LIST and
// KVM_GET_ONE_REG: a register the file does not name keeps its reset value on restore, so a
// register added later needs no new format.
void save_fw_regs(StateWriter& out, const VmState& vm) {
  out.tag(kTagFwRegs);
  out.u64(fw_reg_list().size());
  for (const FwRegInfo& r : fw_reg_list()) {
    std::uint64_t value = 0;
    // Every ID of fw_reg_list() is readable: a failure here is a bug, not a state to save.
    if (fw::get_fw_reg(vm, r.id, value) != HostStatus::Ok) throw std::logic_error("unreadable firmware register");
    out.u64(r.id);
    out.u64(value);
  }
}

// Each value goes through the host API's own rule (set_fw_reg before the first run); an
// unknown ID, a repeated one or a value the rule refuses is a corrupt state.
void load_fw_regs(StateReader& in, VmState& vm) {
  in.tag(kTagFwRegs);
  const VmState reset;
  for (const FwRegInfo& r : fw_reg_list()) {
    std::uint64_t value = 0;
    // Reset values are readable, and accepted while the VM being restored has not run.
    if (fw::get_fw_reg(reset, r.id, value) != HostStatus::Ok || fw::set_fw_reg(vm, r.id, value) != HostStatus::Ok) {
      throw StateError("corrupt state: firmware registers cannot be reset");
    }
  }
  const std::uint64_t count = in.below(fw_reg_list().size() + 1, "firmware register count");
  std::vector<std::uint64_t> seen;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t id = in.u64();
    const std::uint64_t value = in.u64();
    if (std::find(seen.begin(), seen.end(), id) != seen.end() || fw::set_fw_reg(vm, id, value) != HostStatus::Ok) {
      throw StateError("corrupt state: a firmware register");
    }
    seen.push_back(id);
  }
}

constexpr std::uint32_t kTagFaults = 0x46'4C'54'53;  // "FLTS"
}  // namespace

void Firmware::save(StateWriter& out) const {
  out.tag(kTagFirmware);
  save_fw_regs(out, vm_);
  out.boolean(vm_.has_run);
  out.u64(vm_.filter.ranges().size());
  for (const SmcccFilter::Range& r : vm_.filter.ranges()) {
    out.u32(r.first);
    out.u32(r.last);
    out.u8(static_cast<std::uint8_t>(r.action));
  }
  out.u64(vm_.vcpu_count());
  for (const std::unique_ptr<Service>& s : services_) {
    if (s->state_tag() == 0) continue;
    out.tag(s->state_tag());
    s->save_section(out);
  }
  // How far each fault rule has counted: the rules themselves are configuration.
  out.tag(kTagFaults);
  out.u64(faults_.counts().size());
  for (const std::uint64_t n : faults_.counts()) out.u64(n);
}

namespace {
// The SMCCC filter's ranges, through the rule the host API applies (SmcccFilter::add).
void load_filter(StateReader& in, VmState& vm) {
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
}

}  // namespace

// Values are checked as they are read back, through the same rules the host API applies. Two
// phases keep it all-or-nothing: the firmware's own part goes into a copy and every service's
// section into the service's staged copy (Service::load_section); only when everything has been
// read does anything change (Service::commit_loaded).
void Firmware::load(StateReader& in) {
  in.tag(kTagFirmware);
  VmState vm = vm_;
  vm.has_run = false;  // the saved registers are set as before a first run
  load_fw_regs(in, vm);
  const bool has_run = in.boolean();
  load_filter(in, vm);  // while vm.has_run is still false, as before a first run
  vm.has_run = has_run;
  if (in.u64() != vm.vcpu_count()) throw StateError("the state is for another number of vCPUs");
  for (const std::unique_ptr<Service>& s : services_) {
    if (s->state_tag() == 0) continue;
    in.tag(s->state_tag());
    s->load_section(in);
  }
  check_pe_views();
  in.tag(kTagFaults);
  if (in.u64() != faults_.counts().size()) throw StateError("the state is for another set of fault rules");
  std::vector<std::uint64_t> counts(faults_.counts().size());
  for (std::uint64_t& n : counts) n = in.u64();
  commit_loaded(std::move(vm), std::move(counts));
}

// SDEI keeps its own view of which PEs run, derived through the hooks from the PSCI calls
// (SdeiPe); a state whose two sections disagree could route an event to a PE that never runs.
// The sections are staged: this compares them before either is adopted.
void Firmware::check_pe_views() const {
  for (unsigned v = 0; v < vm_.vcpu_count(); ++v) {
    SdeiPe expected = SdeiPe::Off;
    switch (psci_->staged_power(v)) {
      case PowerState::On: expected = SdeiPe::On; break;
      case PowerState::Standby:
      case PowerState::PowerDown: expected = SdeiPe::Asleep; break;
      case PowerState::Off:
      case PowerState::OffPending: expected = SdeiPe::Off; break;
    }
    if (sdei_->staged_pe(v) != expected) throw StateError("corrupt state: SDEI and PSCI disagree on a PE's power");
  }
}

// Only a fully valid state replaces the current one.
void Firmware::commit_loaded(VmState vm, std::vector<std::uint64_t> counts) {
  vm_ = std::move(vm);
  for (const std::unique_ptr<Service>& s : services_) {
    if (s->state_tag() != 0) s->commit_loaded();
  }
  // The restored registers and filter may differ from those the table was frozen with.
  if (vm_.has_run) {
    dispatcher_.freeze();
  } else {
    dispatcher_.thaw();
  }
  faults_.set_counts(std::move(counts));
}

}  // namespace emu::fw
