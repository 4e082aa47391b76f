// Stolen time (DEN0057A; Linux Documentation/virt/kvm/arm/pvtime.rst).
#include "firmware/pv_time.h"

#include <array>
#include <cstring>

#include "firmware/dispatcher.h"

namespace emu::fw {
namespace {

constexpr std::uint16_t kFnFeatures = 0x20;
constexpr std::uint16_t kFnSt = 0x21;

constexpr std::array kRanges{FunctionRange{owner::kStandardHyp, 0x20, 0x21}};

}  // namespace

std::span<const FunctionRange> PvTimeService::ranges() const {
  return kRanges;
}
// SMC64 only (DEN0057A). ARCH_FEATURES reports PV_TIME_FEATURES: that is how a guest finds
// the service (Linux arch/arm64/kernel/paravirt.c).
const FunctionDesc PvTimeService::kFunctions[] = {
    FunctionDesc{.number = kFnFeatures,
                 .forms = kSmc64,
                 .name = "PV_TIME_FEATURES",
                 .args = {"fid"},
                 .arch_features = 0,
                 .handler = member_handler<&PvTimeService::features>},
    FunctionDesc{.number = kFnSt,
                 .forms = kSmc64,
                 .name = "PV_TIME_ST",
                 .result = ResultKind::Value,
                 .handler = member_handler<&PvTimeService::stolen_time>},
};

std::span<const FunctionDesc> PvTimeService::functions() const {
  return kFunctions;
}

// PV_TIME_FEATURES (DEN0057A). As KVM: both functions are reported only once this vCPU has a
// record (arch/arm64/kvm/pvtime.c).
void PvTimeService::features(const SmcccCall& call, SmcccResult& result) const {
  const Dispatcher::Found found = dispatcher_->find(static_cast<std::uint32_t>(call.x[1]));
  const bool ours = found && found.service == this;
  const bool has_record = vcpus_[call.vcpu].ipa.has_value();
  result.x[0] = status_reg(ours && has_record ? PvTimeStatus::Success : PvTimeStatus::NotSupported);
}

// PV_TIME_ST (DEN0057A): the record's IPA; the whole record is zeroed (revision 0, attributes
// 0, stolen 0) and counts from now.
void PvTimeService::stolen_time(const SmcccCall& call, SmcccResult& result) {
  PvTimeVcpu& me = vcpus_[call.vcpu];
  if (!me.ipa) {
    result.x[0] = status_reg(PvTimeStatus::NotSupported);
    return;
  }
  const std::array<std::uint8_t, pv_time::kRecordSize> zero{};
  memory_->write(*me.ipa, zero);
  me.steal_baseline_ns = clock_->stolen_ns(call.vcpu);
  me.started = true;
  result.x[0] = *me.ipa;
}

// Before each slice: stolen_time = stolen ns since PV_TIME_ST, one little-endian 64-bit
// store (the guest reads it with a single load; DEN0057A stolen time structure, pvtime.rst).
void PvTimeService::on_vcpu_scheduled(unsigned vcpu) {
  const PvTimeVcpu& v = vcpus_[vcpu];
  if (!v.started || !v.ipa || clock_ == nullptr || memory_ == nullptr) return;
  write_stolen(*v.ipa, clock_->stolen_ns(vcpu) - v.steal_baseline_ns);
}

void PvTimeService::write_stolen(std::uint64_t ipa, std::uint64_t stolen_ns) {
  std::array<std::uint8_t, 8> le{};
  for (std::size_t i = 0; i < le.size(); ++i) le[i] = static_cast<std::uint8_t>(stolen_ns >> (8 * i));
  memory_->write(ipa + pv_time::kStolenOffset, le);
}

HostStatus PvTimeService::check_ipa(const std::vector<PvTimeVcpu>& records, unsigned vcpu, std::uint64_t ipa) const {
  if (vcpu >= records.size()) return HostStatus::NotFound;
  if (ipa % pv_time::kRecordSize != 0 || !vm_.in_ram(ipa, pv_time::kRecordSize)) return HostStatus::Invalid;
  if (records[vcpu].ipa) return HostStatus::Exists;
  for (const PvTimeVcpu& other : records) {
    if (other.ipa && *other.ipa == ipa) return HostStatus::Exists;  // aligned: equal = overlap
  }
  return HostStatus::Ok;
}

HostStatus PvTimeService::set_ipa(unsigned vcpu, std::uint64_t ipa) {
  const HostStatus status = check_ipa(vcpus_, vcpu, ipa);
  if (status == HostStatus::Ok) vcpus_[vcpu].ipa = ipa;
  return status;
}

void PvTimeService::on_system_reset() {
  for (PvTimeVcpu& v : vcpus_) v = PvTimeVcpu{.ipa = v.ipa};
}

void PvTimeService::save_section(StateWriter& out) const {
  for (const PvTimeVcpu& v : vcpus_) {
    out.boolean(v.ipa.has_value());
    out.u64(v.ipa.value_or(0));
    out.boolean(v.started);
    out.u64(v.steal_baseline_ns);
  }
}

// Each record address goes through set_ipa's rule, added one vCPU after another.
void PvTimeService::load_section(StateReader& in) {
  std::vector<PvTimeVcpu> records(vcpus_.size());
  for (unsigned index = 0; index < records.size(); ++index) {
    const bool has_ipa = in.boolean();
    const std::uint64_t ipa = in.u64();
    if (has_ipa) {
      if (check_ipa(records, index, ipa) != HostStatus::Ok) throw StateError("corrupt state: a PV-time record address");
      records[index].ipa = ipa;
    }
    records[index].started = in.boolean();
    records[index].steal_baseline_ns = in.u64();
  }
  loaded_ = std::move(records);
}

void PvTimeService::commit_loaded() {
  vcpus_ = std::move(*loaded_);
  loaded_.reset();
}

}  // namespace emu::fw
