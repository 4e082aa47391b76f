// The firmware model of one VM: its state, its services and the dispatcher that routes to
// them. This is the whole public face of emu_firmware; core owns one per VM.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
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

  /// Answers one trapped call (see Dispatcher::dispatch).
  void dispatch(SmcccCall& call, SmcccResult& result) { dispatcher_.dispatch(call, result); }
  SmcccResult dispatch(SmcccCall& call) { return dispatcher_.dispatch(call); }

  Dispatcher& dispatcher() { return dispatcher_; }
  const VmState& vm() const { return vm_; }

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
  HostStatus set_pv_time_ipa(unsigned vcpu, std::uint64_t ipa) { return pv_time_.set_ipa(vcpu, ipa); }

  /// Host side: the firmware pseudo-registers (see fw_regs.h); values are VM-wide.
  HostStatus get_fw_reg(std::uint64_t id, std::uint64_t& value) const { return fw::get_fw_reg(vm_, id, value); }
  HostStatus set_fw_reg(std::uint64_t id, std::uint64_t value) { return fw::set_fw_reg(vm_, id, value); }
  /// Host side: adds an SMCCC filter range (see SmcccFilter::add).
  HostStatus add_filter_range(std::uint32_t base, std::uint32_t count, std::uint8_t action) {
    return vm_.filter.add(base, count, action, vm_.has_run);
  }
  /// Host side: SDEI event `event` triggers (see SdeiService::signal).
  HostStatus sdei_signal(std::uint32_t event, unsigned vcpu) { return sdei_.signal(event, vcpu); }
  /// Core, at its dispatch points: whether an SDEI handler should be entered on `vcpu` now.
  bool sdei_deliverable(unsigned vcpu) const { return sdei_.deliverable(vcpu); }
  /// Core's fast test before the one above: false when no SDEI event is pending anywhere.
  bool sdei_any_pending() const { return sdei_.any_pending(); }
  /// Core: enters the most urgent deliverable handler on `vcpu` (see SdeiService::begin_dispatch);
  /// the core traces the entry.
  std::optional<SdeiEntry> sdei_begin_dispatch(unsigned vcpu, const SdeiContext& interrupted);

  /// Core calls this when a vCPU first runs: VM-wide configuration is frozen from now on, so
  /// the dispatcher folds it into its flat table (Dispatcher::freeze) once.
  void mark_run() {
    vm_.has_run = true;
    if (!dispatcher_.frozen()) dispatcher_.freeze();
  }

  /// Everything the firmware holds (VmState: configuration, PSCI state, PV-time bookkeeping,
  /// the filter, SDEI state), for a VM snapshot. load() expects a Firmware built with the same
  /// FirmwareConfig and throws StateError for anything inconsistent.
  void save(StateWriter& out) const;
  void load(StateReader& in);

 private:
  template <typename F>
  void for_each_service(F&& f) {
    for (Service* s : services_) f(*s);
  }

  VmState vm_;
  ArchService arch_;
  PsciService psci_;
  GeneralQueries std_queries_;
  TrngService trng_;
  PvTimeService pv_time_;
  KvmVendorService kvm_;
  GeneralQueries kvm_queries_;
  SdeiService sdei_;
  FaultInjector faults_;
  Dispatcher dispatcher_;
  std::array<Service*, 8> services_;
};

}  // namespace emu::fw
