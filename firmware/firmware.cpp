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
  if (config.impl_cpus.size() > kMaxImplCpus) {
    throw ConfigError("impl_cpus", "at most " + std::to_string(kMaxImplCpus) + " CPU implementations, not " +
                                       std::to_string(config.impl_cpus.size()));
  }
  for (const ImplCpu& cpu : config.impl_cpus) {
    if ((cpu.midr >> 32) != 0) throw ConfigError("impl_cpus", "a MIDR_EL1 value has bits 63:32 set (RES0)");
  }
  VmState vm{.ram_base = config.ram_base,
             .ram_size = config.ram_size,
             .epoch_ns = config.epoch_ns,
             .vcpus = std::vector<VcpuState>(config.vcpu_count),
             .sdei_events = SdeiService::declare(config.sdei_events, config.platform.interrupts != nullptr)};
  vm.impl_cpus = config.impl_cpus;
  vm.reset_guest_state();
  return vm;
}

const std::vector<FaultRule>& checked_faults(const std::vector<FaultRule>& rules) {
  for (const FaultRule& r : rules) {
    if (const std::string problem = fault_rule_problem(r); !problem.empty()) throw ConfigError("faults", problem);
  }
  return rules;
}

}  // namespace

Firmware::Firmware(const FirmwareConfig& config)
    : vm_(make_vm(config)),
      arch_(vm_, config.soc),
      psci_(vm_),
      // Standard Secure owner 4: Call Count, UID and Revision (DEN0028 General Service Queries).
      std_queries_({.owner = owner::kStandardSecure,
                    .prefix = "STD_SVC",
                    .call_count = true,
                    .uid = kStdServiceUid,
                    .revision = kStdServiceRevision}),
      trng_(vm_, config.platform.entropy),
      pv_time_(vm_, config.platform.memory, config.platform.clock),
      kvm_(vm_, config.platform.clock),
      // Vendor hypervisor owner 6: only the Call UID is defined (KVM's value, hypercalls.rst).
      kvm_queries_({.owner = owner::kVendorHyp,
                    .prefix = "VENDOR_HYP",
                    .uid = kKvmVendorUid,
                    .gate = &vm_.vendor_hyp_bmap,
                    .gate_mask = service_bit::kVendorFeatures}),
      sdei_(vm_, config.platform.interrupts),
      faults_(checked_faults(config.faults), config.fault_seed) {
  // PSCI before SDEI: PSCI's hooks set the power state SDEI's routing reads.
  services_ = {&arch_, &psci_, &std_queries_, &trng_, &pv_time_, &kvm_, &kvm_queries_, &sdei_};
  for (Service* s : services_) dispatcher_.add(*s);
  dispatcher_.set_filter(&vm_.filter);
  if (!faults_.empty()) dispatcher_.set_faults(&faults_);
}

std::optional<SdeiEntry> Firmware::sdei_begin_dispatch(unsigned vcpu, const SdeiContext& interrupted) {
  return sdei_.begin_dispatch(vcpu, interrupted);  // the core traces the handler's entry (core/trace.h)
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

constexpr std::uint32_t kTagVcpu = 0x56'43'50'55;    // "VCPU"
constexpr std::uint32_t kTagSdei = 0x53'44'45'49;    // "SDEI"
constexpr std::uint32_t kTagFaults = 0x46'4C'54'53;  // "FLTS"

void save_instance(StateWriter& out, const SdeiInstance& i) {
  out.u8(static_cast<std::uint8_t>((i.registered ? 1 : 0) | (i.enabled ? 2 : 0) | (i.running ? 4 : 0) |
                                   (i.pending ? 8 : 0) | (i.route_pe ? 16 : 0)));
  out.u64(i.entry);
  out.u64(i.arg);
  out.u64(i.affinity);
  out.u64(i.running_on);
}

SdeiInstance load_instance(StateReader& in, unsigned vcpus) {
  SdeiInstance i;
  const std::uint8_t bits = in.u8();
  if (bits > 31 || ((bits & 2) != 0 && (bits & 1) == 0)) throw StateError("corrupt state: an SDEI event state");
  i.registered = (bits & 1) != 0;
  i.enabled = (bits & 2) != 0;
  i.running = (bits & 4) != 0;
  i.pending = (bits & 8) != 0;
  i.route_pe = (bits & 16) != 0;
  i.entry = in.u64();
  i.arg = in.u64();
  i.affinity = in.u64();
  i.running_on = static_cast<std::uint32_t>(in.below(vcpus, "SDEI vCPU"));
  if (i.route_pe && !vcpu_of(i.affinity, vcpus)) throw StateError("corrupt state: an SDEI affinity");
  return i;
}

void save_context(StateWriter& out, const SdeiContext& c) {
  for (const std::uint64_t x : c.x) out.u64(x);
  out.u64(c.pc);
  out.u64(c.pstate);
  out.u64(c.event);
}

SdeiContext load_context(StateReader& in, std::size_t events) {
  SdeiContext c;
  for (std::uint64_t& x : c.x) x = in.u64();
  c.pc = in.u64();
  c.pstate = in.u64();
  c.event = static_cast<std::uint32_t>(in.below(events, "SDEI event index"));
  return c;
}
}  // namespace

void Firmware::save(StateWriter& out) const {
  out.tag(kTagFirmware);
  out.boolean(vm_.mem_protect);
  out.u64(vm_.epoch_ns);
  save_fw_regs(out, vm_);
  out.boolean(vm_.has_run);
  out.u64(vm_.filter.ranges().size());
  for (const SmcccFilter::Range& r : vm_.filter.ranges()) {
    out.u32(r.first);
    out.u32(r.last);
    out.u8(static_cast<std::uint8_t>(r.action));
  }
  // The event declarations are configuration (FirmwareConfig): only their count is checked.
  out.u64(vm_.sdei_events.size());
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
    out.boolean(v.sdei_masked);
    out.u64(v.sdei_depth);
    for (std::uint8_t i = 0; i < v.sdei_depth; ++i) save_context(out, v.sdei_stack[i]);
    save_context(out, v.sdei_resume);
    for (const SdeiInstance& i : v.sdei) save_instance(out, i);
  }
  out.tag(kTagSdei);
  for (const SdeiInstance& i : vm_.sdei_shared) save_instance(out, i);
  for (const std::uint32_t intid : vm_.sdei_bound) out.u32(intid);
  // How far each fault rule has counted: the rules themselves are configuration.
  out.tag(kTagFaults);
  out.u64(faults_.counts().size());
  for (const std::uint64_t n : faults_.counts()) out.u64(n);
}

namespace {
// Bind slots: free (0), or a PPI for a private slot or an SPI for a shared one, each bound once
// (the rules of SDEI_INTERRUPT_BIND; the INTID ranges are GICv3's, IHI 0069H §2.2).
void load_bindings(StateReader& in, VmState& vm) {
  for (std::size_t i = 0; i < vm.sdei_events.size(); ++i) {
    const std::uint32_t intid = in.u32();
    const SdeiEventDecl& d = vm.sdei_events[i];
    const bool fits = intid == 0 || (d.dynamic && (d.shared ? intid >= 32 && intid < 1020 : intid >= 16 && intid < 32));
    if (!fits || (intid != 0 && std::find(vm.sdei_bound.begin(), vm.sdei_bound.begin() + static_cast<std::ptrdiff_t>(i),
                                          intid) != vm.sdei_bound.begin() + static_cast<std::ptrdiff_t>(i))) {
      throw StateError("corrupt state: an SDEI interrupt binding");
    }
    vm.sdei_bound[i] = intid;
  }
}

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

// One vCPU's power state, PSCI residency counts, PV-time record and SDEI state.
void load_vcpu(StateReader& in, VmState& vm, unsigned index) {
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
  v.sdei_masked = in.boolean();
  v.sdei_depth = static_cast<std::uint8_t>(in.below(kSdeiMaxNesting + 1, "SDEI nesting depth"));
  for (std::uint8_t i = 0; i < v.sdei_depth; ++i) v.sdei_stack[i] = load_context(in, vm.sdei_events.size());
  v.sdei_resume = load_context(in, vm.sdei_events.size());
  for (SdeiInstance& i : v.sdei) i = load_instance(in, vm.vcpu_count());
}
}  // namespace

// Values are checked as they are read back, through the same rules the host API applies.
void Firmware::load(StateReader& in) {
  in.tag(kTagFirmware);
  VmState vm = vm_;
  vm.has_run = false;  // the saved registers are set as before a first run
  vm.mem_protect = in.boolean();
  vm.epoch_ns = in.u64();
  load_fw_regs(in, vm);
  const bool has_run = in.boolean();
  load_filter(in, vm);  // while vm.has_run is still false, as before a first run
  vm.has_run = has_run;
  if (in.u64() != vm.sdei_events.size()) throw StateError("the state is for another set of SDEI events");
  if (in.u64() != vm.vcpus.size()) throw StateError("the state is for another number of vCPUs");
  for (VcpuState& v : vm.vcpus) v.pv_time_ipa.reset();  // re-added below through set_ipa's rule
  for (unsigned index = 0; index < vm.vcpus.size(); ++index) load_vcpu(in, vm, index);
  in.tag(kTagSdei);
  for (SdeiInstance& i : vm.sdei_shared) i = load_instance(in, vm.vcpu_count());
  load_bindings(in, vm);
  in.tag(kTagFaults);
  if (in.u64() != faults_.counts().size()) throw StateError("the state is for another set of fault rules");
  std::vector<std::uint64_t> counts(faults_.counts().size());
  for (std::uint64_t& n : counts) n = in.u64();
  vm_ = std::move(vm);  // only a fully valid state replaces the current one
  // The restored registers and filter may differ from those the table was frozen with.
  if (vm_.has_run) {
    dispatcher_.freeze();
  } else {
    dispatcher_.thaw();
  }
  faults_.set_counts(std::move(counts));
  sdei_.recount();
}

}  // namespace emu::fw
