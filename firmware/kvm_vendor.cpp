// KVM vendor hypervisor service (Linux Documentation/virt/kvm/arm/hypercalls.rst, ptp_kvm.rst).
#include "firmware/kvm_vendor.h"

#include <array>
#include <string>

#include "firmware/dispatcher.h"

namespace emu::fw {
namespace {

constexpr std::uint16_t kFnFeatures = 0x00;
constexpr std::uint16_t kFnPtp = 0x01;
constexpr std::uint16_t kFnDiscoverImplVer = 0x40;
constexpr std::uint16_t kFnDiscoverImplCpus = 0x41;
// KVM's function space is 0..127 (ARM_SMCCC_KVM_NUM_FUNCS); the bitmap covers all of it.
constexpr std::uint16_t kFunctionSpace = 128;

constexpr std::array kRanges{FunctionRange{owner::kVendorHyp, 0x00, kFunctionSpace - 1}};

}  // namespace

KvmVendorService::KvmVendorService(const VmState& vm, Clock* clock, std::uint64_t epoch_ns,
                                   std::vector<ImplCpu> impl_cpus)
    : vm_(vm), clock_(clock), epoch_ns_(epoch_ns), impl_cpus_(std::move(impl_cpus)) {
  if (impl_cpus_.size() > kMaxImplCpus) {
    throw ConfigError("impl_cpus", "at most " + std::to_string(kMaxImplCpus) + " CPU implementations, not " +
                                       std::to_string(impl_cpus_.size()));
  }
  for (const ImplCpu& cpu : impl_cpus_) {
    if ((cpu.midr >> 32) != 0) throw ConfigError("impl_cpus", "a MIDR_EL1 value has bits 63:32 set (RES0)");
  }
}

std::span<const FunctionRange> KvmVendorService::ranges() const {
  return kRanges;
}
const FunctionDesc KvmVendorService::kFunctions[] = {
    FunctionDesc{.number = kFnFeatures,
                 .name = "KVM_FEATURES",
                 .result = ResultKind::Value,
                 .handler = member_handler<&KvmVendorService::features>},
    FunctionDesc{.number = kFnPtp,
                 .name = "KVM_PTP",
                 .args = {"counter"},
                 .result = ResultKind::Value,
                 .handler = member_handler<&KvmVendorService::ptp>},
    // HVC64 only. x2/x3 of DISCOVER_IMPL_CPUS are "Reserved / Must be zero" for the caller, but
    // are not checked: Linux's arm_smccc_1_1_invoke(fid, i, &res) leaves them unset.
    FunctionDesc{.number = kFnDiscoverImplVer,
                 .forms = kSmc64,
                 .name = "KVM_DISCOVER_IMPL_VER",
                 .handler = [](Service& s, const SmcccCall&,
                               SmcccResult& result) { self<KvmVendorService>(s).discover_impl_ver(result); }},
    FunctionDesc{
        .number = kFnDiscoverImplCpus,
        .forms = kSmc64,
        .name = "KVM_DISCOVER_IMPL_CPUS",
        .args = {"index"},
        .handler = [](Service& s, const SmcccCall& call,
                      SmcccResult& result) { self<KvmVendorService>(s).discover_impl_cpus(call.x[1], result); }},
};

std::span<const FunctionDesc> KvmVendorService::functions() const {
  return kFunctions;
}

// KVM_REG_ARM_VENDOR_HYP_BMAP: bit 0 KVM_FEATURES (and the Call UID), bit 1 PTP (hypercalls.rst).
// VENDOR_HYP_BMAP_2 (fw-pseudo-registers.rst): bit 0 DISCOVER_IMPL_VER, bit 1 DISCOVER_IMPL_CPUS.
bool KvmVendorService::available(const FunctionDesc& fn) const {
  switch (fn.number) {
    case kFnPtp: return clock_ != nullptr && (vm_.vendor_hyp_bmap & service_bit::kVendorPtp) != 0;
    case kFnDiscoverImplVer: return (vm_.vendor_hyp_bmap_2 & service_bit::kVendorImplVer) != 0;
    case kFnDiscoverImplCpus: return (vm_.vendor_hyp_bmap_2 & service_bit::kVendorImplCpus) != 0;
    default: return (vm_.vendor_hyp_bmap & service_bit::kVendorFeatures) != 0;
  }
}

// KVM_FEATURES: R0..R3, bit n of R(n / 32) set when function n is available (Linux's
// kvm_guest.c). Bit 0 is this call itself. Asked of the dispatcher, so the bits say what routing serves.
void KvmVendorService::features(const SmcccCall& /*call*/, SmcccResult& result) const {
  for (const FunctionDesc& f : functions()) {
    const bool smc64_only = (f.forms & kSmc32) == 0;
    const Dispatcher::Found found = dispatcher_->find(make_fast_fid(smc64_only, owner::kVendorHyp, f.number));
    if (found && found.service == this) result.x[f.number / 32] |= std::uint64_t{1} << (f.number % 32);
  }
}

// KVM_PTP (Documentation/virt/kvm/arm/ptp_kvm.rst): wall-clock ns and the counter from one snapshot, each split into
// high and low 32 bits. Both come from the same counter value, so they are consistent by
// construction: wall = epoch + counter * 16 ns. Virtual and physical counters are the same
// (CNTVOFF is 0). Any other selector: -1 with x1..x3 zero, as KVM.
void KvmVendorService::ptp(const SmcccCall& call, SmcccResult& result) {
  const auto selector = static_cast<std::uint32_t>(call.x[1]);
  if (selector != kvm::kPtpVirtualCounter && selector != kvm::kPtpPhysicalCounter) {
    result.x[0] = status_reg(SmcccStatus::NotSupported);
    return;
  }
  const std::uint64_t counter = clock_->counter(call.vcpu);
  const std::uint64_t wall_ns = epoch_ns_ + counter * kCounterTickNs;
  // KVM_PTP exists only as HVC32, so the dispatcher's SMC32 result rule (W0..W7, DEN0028 §3.1)
  // keeps the low halves of x1 and x3; fidelity.elf and ptp.elf see it done.
  result.x[0] = wall_ns >> 32;
  result.x[1] = wall_ns;
  result.x[2] = counter >> 32;
  result.x[3] = counter;
}

// DISCOVER_IMPL_VER (hypercalls.rst): x1 the list's version (1.0), x2 the number of
// implementations, x3 zero. With no list the host has nothing to report: NOT_SUPPORTED, one
// of the two answers the documentation gives (a host that answers itself forwards the call).
void KvmVendorService::discover_impl_ver(SmcccResult& result) const {
  if (impl_cpus_.empty()) {
    set_not_supported(result);
    return;
  }
  result.x[0] = status_reg(SmcccStatus::Success);
  result.x[1] = kvm::kImplListVersion;
  result.x[2] = impl_cpus_.size();
}

// DISCOVER_IMPL_CPUS(index): x1..x3 = MIDR_EL1, REVIDR_EL1, AIDR_EL1 of implementation
// `index` (all 64 bits of x1); an index past the list is INVALID_PARAMETER, x1..x3 zero.
void KvmVendorService::discover_impl_cpus(std::uint64_t index, SmcccResult& result) const {
  if (index >= impl_cpus_.size()) {
    result.x[0] = status_reg(SmcccStatus::InvalidParameter);
    return;
  }
  const ImplCpu& cpu = impl_cpus_[static_cast<std::size_t>(index)];
  result.x[0] = status_reg(SmcccStatus::Success);
  result.x[1] = cpu.midr;
  result.x[2] = cpu.revidr;
  result.x[3] = cpu.aidr;
}

void KvmVendorService::save_section(StateWriter& out) const {
  out.u64(epoch_ns_);
}

void KvmVendorService::load_section(StateReader& in) {
  loaded_epoch_ = in.u64();
}

void KvmVendorService::commit_loaded() {
  epoch_ns_ = *loaded_epoch_;
  loaded_epoch_.reset();
}

}  // namespace emu::fw
