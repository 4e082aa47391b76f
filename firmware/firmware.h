// The firmware model of one VM: its shared configuration, its services (each owning its own
// state) and the dispatcher that routes to them. This is the whole public face of emu_firmware;
// core owns one per VM.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "firmware/arch.h"
#include "firmware/dispatcher.h"
#include "firmware/fw_regs.h"
#include "firmware/general_queries.h"
#include "firmware/kvm_vendor.h"
#include "firmware/platform.h"
#include "firmware/psci.h"
#include "firmware/pv_time.h"
#include "firmware/sdei.h"
#include "firmware/state_io.h"
#include "firmware/trng.h"
#include "firmware/vm_state.h"

namespace emu::fw {

struct FirmwareConfig {
  std::uint32_t vcpu_count = 1;  ///< vCPUs in the VM, 1..64; default 1
  std::uint64_t ram_base = 0;    ///< guest RAM, for PSCI entry-point and range checks; default empty
  std::uint64_t ram_size = 0;
  SocIdConfig soc{};           ///< what SMCCC_ARCH_SOC_ID reports
  Platform platform{};         ///< machine interfaces (not owned); default none
  std::uint64_t epoch_ns = 0;  ///< KVM PTP wall-clock ns at virtual time 0; default 0
  /// SDEI events besides the built-in event 0 (DEN0054C); default none.
  std::vector<SdeiEventDecl> sdei_events{};
  /// CPU implementations KVM's DISCOVER_IMPL_CPUS reports, at most kMaxImplCpus, each MIDR
  /// with bits 63:32 clear; default none. The calls are offered once VENDOR_HYP_BMAP_2 says so.
  std::vector<ImplCpu> impl_cpus{};
  /// Fault injection rules (fault_inject.h), each checked with fault_rule_problem; default none.
  std::vector<FaultRule> faults{};
  /// Seeds the choice of a Fraction rule's calls; default 0 (never host entropy).
  std::uint64_t fault_seed = 0;
};

class Firmware {
 public:
  /// Builds and validates every service table; throws TableError or ConfigError.
  explicit Firmware(const FirmwareConfig& config = {});
  Firmware(const Firmware&) = delete;
  Firmware& operator=(const Firmware&) = delete;

  /// Answers one trapped call (see Dispatcher::dispatch, which passes a request the call
  /// returns to every service through Service::on_request before core acts on it).
  void dispatch(SmcccCall& call, SmcccResult& result) { dispatcher_.dispatch(call, result); }
  SmcccResult dispatch(SmcccCall& call) {
    SmcccResult result;
    dispatch(call, result);
    return result;
  }

  /// The dispatcher, for its settings (trace, faults) and discovery.
  Dispatcher& dispatcher() { return dispatcher_; }
  /// The shared VM-wide configuration (versions, RAM, service selection, filter, vCPU count).
  const VmState& vm() const { return vm_; }
  unsigned vcpu_count() const { return vm_.vcpu_count(); }

  // Read-only views of state the services own, for core, the host and tests.

  /// `vcpu`'s PSCI power state (DEN0022F.b); std::out_of_range for a vCPU the VM lacks.
  PowerState power(unsigned vcpu) const { return psci_->power(vcpu); }
  /// The PSCI version the guest sees (VmState::psci_version), for the device tree.
  std::uint32_t psci_version() const { return vm_.psci_version; }
  /// PSCI MEM_PROTECT: core wipes RAM at the next reset while it is on.
  bool mem_protect() const { return psci_->mem_protect(); }
  /// KVM PTP's wall-clock ns at virtual time 0 (FirmwareConfig::epoch_ns, or a snapshot's).
  std::uint64_t epoch_ns() const { return kvm_->epoch_ns(); }
  /// Where `vcpu`'s PV-time record lives, if the host placed one.
  std::optional<std::uint64_t> pv_time_ipa(unsigned vcpu) const { return pv_time_->ipa(vcpu); }
  /// The SDEI events on offer (event 0 first, then by number; fixed at creation).
  const std::vector<SdeiEventDecl>& sdei_events() const { return sdei_->events(); }
  /// `vcpu`'s SDEI state: mask, handler depth, interrupted contexts.
  const SdeiVcpu& sdei_vcpu(unsigned vcpu) const { return sdei_->vcpu(vcpu); }
  /// The context the last SDEI COMPLETE / COMPLETE_AND_RESUME on `vcpu` popped, for core to restore.
  const SdeiContext& sdei_resume(unsigned vcpu) const { return sdei_->vcpu(vcpu).resume; }

  // Lifecycle: core reports what it did with a request; every service hears it.
  void vcpu_powered_on(unsigned vcpu) {
    for_each_service([&](Service& s) { s.on_vcpu_power_on(vcpu); });
  }
  void vcpu_stopped(unsigned vcpu) {
    for_each_service([&](Service& s) { s.on_vcpu_stopped(vcpu); });
  }
  void vcpu_resumed(unsigned vcpu) {
    for_each_service([&](Service& s) { s.on_vcpu_resumed(vcpu); });
  }
  void system_reset() {
    for_each_service([](Service& s) { s.on_system_reset(); });
  }
  void vcpu_scheduled(unsigned vcpu) {
    for_each_service([&](Service& s) { s.on_vcpu_scheduled(vcpu); });
  }

  /// Host side: where `vcpu`'s stolen-time record lives (see PvTimeService::set_ipa).
  HostStatus set_pv_time_ipa(unsigned vcpu, std::uint64_t ipa) { return pv_time_->set_ipa(vcpu, ipa); }

  /// Host side: the firmware pseudo-registers (see fw_regs.h); values are VM-wide.
  HostStatus get_fw_reg(std::uint64_t id, std::uint64_t& value) const { return fw::get_fw_reg(vm_, id, value); }
  HostStatus set_fw_reg(std::uint64_t id, std::uint64_t value) { return fw::set_fw_reg(vm_, id, value); }
  /// Host side: adds an SMCCC filter range (see SmcccFilter::add).
  HostStatus add_filter_range(std::uint32_t base, std::uint32_t count, std::uint8_t action) {
    return vm_.filter.add(base, count, action, vm_.has_run);
  }
  /// Host side: SDEI event `event` triggers (see SdeiService::signal).
  HostStatus sdei_signal(std::uint32_t event, unsigned vcpu) { return sdei_->signal(event, vcpu); }
  /// Core, at its dispatch points: whether an SDEI handler should be entered on `vcpu` now.
  bool sdei_deliverable(unsigned vcpu) const { return sdei_->deliverable(vcpu); }
  /// Core's fast test before the one above: false when no SDEI event is pending anywhere.
  bool sdei_any_pending() const { return sdei_->any_pending(); }
  /// Core: enters the most urgent deliverable handler on `vcpu` (see SdeiService::begin_dispatch);
  /// the core traces the entry.
  std::optional<SdeiEntry> sdei_begin_dispatch(unsigned vcpu, const SdeiContext& interrupted);

  /// Core calls this when a vCPU first runs: VM-wide configuration is frozen from now on, so
  /// the dispatcher folds it into its flat table (Dispatcher::freeze) once.
  void mark_run() {
    vm_.has_run = true;
    if (!dispatcher_.frozen()) dispatcher_.freeze();
  }

  /// Everything the firmware holds, for a VM snapshot: its own part (the pseudo-registers,
  /// has_run, the filter, the vCPU count), then each registered service's tagged section
  /// (Service::save_section), then the fault rules' counts. load() expects a Firmware built with
  /// the same FirmwareConfig and throws StateError for anything inconsistent; it is
  /// all-or-nothing: every section is parsed and validated before any service's state changes.
  void save(StateWriter& out) const;
  void load(StateReader& in);

 private:
  template <typename F>
  void for_each_service(F&& f) {
    for (const std::unique_ptr<Service>& s : services_) f(*s);
  }
  /// Between load's phases: the staged PSCI and SDEI sections agree on which PEs run; StateError otherwise.
  void check_pe_views() const;
  /// Load's second phase: the copy of the shared state, then every service's staged section.
  void commit_loaded(VmState vm, std::vector<std::uint64_t> counts);
  /// The registration list: every service, in routing and hook order (firmware.cpp).
  void register_services(const FirmwareConfig& config);
  /// Registers one service: the firmware owns it, routes to it and passes it every hook.
  template <typename T, typename... Args>
  T& add(Args&&... args) {
    services_.push_back(std::make_unique<T>(std::forward<Args>(args)...));
    T& service = static_cast<T&>(*services_.back());
    dispatcher_.add(service);
    return service;
  }

  VmState vm_;
  FaultInjector faults_;
  std::vector<std::unique_ptr<Service>> services_;  // before dispatcher_: they outlive it
  Dispatcher dispatcher_;
  // The services with a typed host or core interface (set by register_services; not owned).
  PsciService* psci_ = nullptr;
  PvTimeService* pv_time_ = nullptr;
  KvmVendorService* kvm_ = nullptr;
  SdeiService* sdei_ = nullptr;
};

}  // namespace emu::fw
