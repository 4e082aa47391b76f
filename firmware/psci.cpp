// PSCI 1.1 (DEN0022F.b Arm Power State Coordination Interface).
#include "firmware/psci.h"

#include <array>

#include "firmware/arch.h"
#include "firmware/dispatcher.h"

namespace emu::fw {
namespace {

constexpr std::uint16_t kFnVersion = 0x00;
constexpr std::uint16_t kFnCpuSuspend = 0x01;
constexpr std::uint16_t kFnCpuOff = 0x02;
constexpr std::uint16_t kFnCpuOn = 0x03;
constexpr std::uint16_t kFnAffinityInfo = 0x04;
constexpr std::uint16_t kFnMigrateInfoType = 0x06;
constexpr std::uint16_t kFnSystemOff = 0x08;
constexpr std::uint16_t kFnSystemReset = 0x09;
constexpr std::uint16_t kFnFeatures = 0x0A;
constexpr std::uint16_t kFnNodeHwState = 0x0D;
constexpr std::uint16_t kFnSystemSuspend = 0x0E;
constexpr std::uint16_t kFnStatResidency = 0x10;
constexpr std::uint16_t kFnStatCount = 0x11;
constexpr std::uint16_t kFnSystemReset2 = 0x12;
constexpr std::uint16_t kFnMemProtect = 0x13;
constexpr std::uint16_t kFnMemProtectCheckRange = 0x14;
constexpr std::uint16_t kFnSystemOff2 = 0x15;

constexpr std::uint64_t kNsPerUs = 1000;
// Original power_state format: bits that must be zero (DEN0022F.b CPU_SUSPEND power_state, TF-A PSTATE_VALID_MASK).
constexpr std::uint64_t kPowerStateMbz = 0xFCFE'0000;

constexpr std::array kRanges{FunctionRange{owner::kStandardSecure, 0x00, 0x1F}};

}  // namespace

std::optional<SuspendState> parse_power_state(std::uint64_t power_state) {
  if ((power_state & kPowerStateMbz) != 0 || power_state > 0xFFFF'FFFFu) return std::nullopt;
  if (power_state == psci::kPowerStateCoreStandby) return SuspendState::CoreStandby;
  if (power_state == psci::kPowerStateCorePowerDown) return SuspendState::CorePowerDown;
  return std::nullopt;  // well-formed, but not a state this platform declares
}

PsciService::PsciService(const VmState& vm) : vm_(vm) {
  state_.vcpus.resize(vm.vcpu_count());
  reset_state();
}

std::span<const FunctionRange> PsciService::ranges() const {
  return kRanges;
}
// `since` is the PSCI version that introduced each call (DEN0022F.b function list). The calls that do not
// return write x0 only (INTERNAL_FAILURE, should a host resume the vCPU) and leave x1/x2 for
// the host to read, as KVM does (arch/arm64/kvm/psci.c). CPU_SUSPEND's feature word is 0: original
// power_state format, platform-coordinated mode only (DEN0022F.b PSCI_FEATURES).
const FunctionDesc PsciService::kFunctions[] = {
    FunctionDesc{.number = kFnVersion,
                 .name = "PSCI_VERSION",
                 .result = ResultKind::Value,
                 .handler = member_handler<&PsciService::version>},
    FunctionDesc{.number = kFnCpuSuspend,
                 .forms = kBothForms,
                 .name = "PSCI_CPU_SUSPEND",
                 .args = {"state", "entry", "ctx"},
                 .handler = member_handler<&PsciService::cpu_suspend>},
    FunctionDesc{.number = kFnCpuOff,
                 .name = "PSCI_CPU_OFF",
                 .result = ResultKind::NoReturn,
                 .results = 1,
                 .handler = member_handler<&PsciService::cpu_off>},
    FunctionDesc{.number = kFnCpuOn,
                 .forms = kBothForms,
                 .name = "PSCI_CPU_ON",
                 .args = {"target", "entry", "ctx"},
                 .handler = member_handler<&PsciService::cpu_on>},
    FunctionDesc{
        .number = kFnAffinityInfo,
        .forms = kBothForms,
        .name = "PSCI_AFFINITY_INFO",
        .args = {"target", "level"},
        .result = ResultKind::Value,
        .handler = [](Service& s, const SmcccCall& call,
                      SmcccResult& result) { result.x[0] = self<PsciService>(s).affinity_info(call.x[1], call.x[2]); }},
    FunctionDesc{
        .number = kFnMigrateInfoType,
        .name = "PSCI_MIGRATE_INFO_TYPE",
        .result = ResultKind::Value,
        .handler = [](Service&, const SmcccCall&, SmcccResult& result) { result.x[0] = psci::kTosNotPresentMp; }},
    FunctionDesc{.number = kFnSystemOff,
                 .name = "PSCI_SYSTEM_OFF",
                 .result = ResultKind::NoReturn,
                 .results = 1,
                 .handler =
                     [](Service&, const SmcccCall&, SmcccResult& result) {
                       // Like KVM, pre-load INTERNAL_FAILURE: if a host ever resumes this vCPU, the call failed.
                       result.x[0] = status_reg(PsciStatus::InternalFailure);
                       result.request = {.kind = RequestKind::SystemOff};
                     }},
    FunctionDesc{.number = kFnSystemReset,
                 .name = "PSCI_SYSTEM_RESET",
                 .result = ResultKind::NoReturn,
                 .results = 1,
                 .handler =
                     [](Service&, const SmcccCall&, SmcccResult& result) {
                       result.x[0] = status_reg(PsciStatus::InternalFailure);
                       result.request = {.kind = RequestKind::SystemReset, .reset = ResetType::Cold};
                     }},
    FunctionDesc{.number = kFnFeatures,
                 .name = "PSCI_FEATURES",
                 .args = {"fid"},
                 .result = ResultKind::Value,
                 .since = psci::kVersion1_0,
                 .handler =
                     [](Service& s, const SmcccCall& call, SmcccResult& result) {
                       result.x[0] = status_reg(self<PsciService>(s).features(static_cast<std::uint32_t>(call.x[1])));
                     }},
    FunctionDesc{
        .number = kFnNodeHwState,
        .forms = kBothForms,
        .name = "PSCI_NODE_HW_STATE",
        .args = {"target", "level"},
        .result = ResultKind::Value,
        .since = psci::kVersion1_0,
        .handler = [](Service& s, const SmcccCall& call,
                      SmcccResult& result) { result.x[0] = self<PsciService>(s).node_hw_state(call.x[1], call.x[2]); }},
    FunctionDesc{.number = kFnSystemSuspend,
                 .forms = kBothForms,
                 .name = "PSCI_SYSTEM_SUSPEND",
                 .args = {"entry", "ctx"},
                 .since = psci::kVersion1_0,
                 .handler = member_handler<&PsciService::system_suspend>},
    FunctionDesc{
        .number = kFnStatResidency,
        .forms = kBothForms,
        .name = "PSCI_STAT_RESIDENCY",
        .args = {"target", "state"},
        .result = ResultKind::Value,
        .since = psci::kVersion1_0,
        .handler = [](Service& s, const SmcccCall& call,
                      SmcccResult& result) { result.x[0] = self<PsciService>(s).stat(call.x[1], call.x[2], true); }},
    FunctionDesc{
        .number = kFnStatCount,
        .forms = kBothForms,
        .name = "PSCI_STAT_COUNT",
        .args = {"target", "state"},
        .result = ResultKind::Value,
        .since = psci::kVersion1_0,
        .handler = [](Service& s, const SmcccCall& call,
                      SmcccResult& result) { result.x[0] = self<PsciService>(s).stat(call.x[1], call.x[2], false); }},
    FunctionDesc{.number = kFnSystemReset2,
                 .forms = kBothForms,
                 .name = "PSCI_SYSTEM_RESET2",
                 .args = {"type", "cookie"},
                 .result = ResultKind::NoReturn,
                 .results = 1,
                 .since = psci::kVersion1_1,
                 .handler = member_handler<&PsciService::system_reset2>},
    FunctionDesc{.number = kFnMemProtect,
                 .name = "PSCI_MEM_PROTECT",
                 .args = {"enable"},
                 .result = ResultKind::Value,
                 .since = psci::kVersion1_1,
                 .handler = [](Service& s, const SmcccCall& call,
                               SmcccResult& result) { result.x[0] = self<PsciService>(s).mem_protect(call.x[1]); }},
    FunctionDesc{.number = kFnMemProtectCheckRange,
                 .forms = kBothForms,
                 .name = "PSCI_MEM_PROTECT_CHECK_RANGE",
                 .args = {"base", "length"},
                 .since = psci::kVersion1_1,
                 .handler =
                     [](Service& s, const SmcccCall& call, SmcccResult& result) {
                       result.x[0] = self<PsciService>(s).mem_protect_check_range(call.x[1], call.x[2]);
                     }},
    // PSCI_FEATURES answers the supported types as a bitmask (DEN0022F.b §5.16).
    FunctionDesc{.number = kFnSystemOff2,
                 .forms = kBothForms,
                 .name = "PSCI_SYSTEM_OFF2",
                 .name64 = "PSCI_SYSTEM_OFF2_64",
                 .args = {"type", "cookie"},
                 .result = ResultKind::NoReturn,
                 .results = 1,
                 .own_features = psci::kOff2TypesHibernate,
                 .since = psci::kVersion1_3,
                 .handler = member_handler<&PsciService::system_off2>},
};

std::span<const FunctionDesc> PsciService::functions() const {
  return kFunctions;
}

void PsciService::version(const SmcccCall& /*call*/, SmcccResult& result) const {
  result.x[0] = vm_.psci_version;
}

// PSCI_FEATURES (DEN0022F.b): the answer comes from the same table that routes calls.
// SMCCC_VERSION is the one non-PSCI function it reports: that is how a PSCI 1.x client finds
// SMCCC >= 1.1.
std::int32_t PsciService::features(std::uint32_t queried_fid) const {
  const Dispatcher::Found found = dispatcher_->find(queried_fid);
  if (!found) return static_cast<std::int32_t>(PsciStatus::NotSupported);
  if (found.service == this) return found.fn->own_features;
  if (FunctionId::decode(queried_fid).raw == arch::kSmcccVersion) return 0;
  return static_cast<std::int32_t>(PsciStatus::NotSupported);
}

// CPU_SUSPEND (DEN0022F.b): only the declared states; a power-down needs a valid entry.
void PsciService::cpu_suspend(const SmcccCall& call, SmcccResult& result) {
  const std::optional<SuspendState> state = parse_power_state(call.x[1]);
  if (!state) {
    result.x[0] = status_reg(PsciStatus::InvalidParameters);
    return;
  }
  const bool power_down = *state == SuspendState::CorePowerDown;
  if (power_down && !valid_entry(call.x[2])) {
    result.x[0] = status_reg(PsciStatus::InvalidAddress);
    return;
  }
  PsciVcpu& me = state_.vcpus[call.vcpu];
  ++me.suspend_count[static_cast<std::size_t>(*state)];  // an entry; residency counts on wake-up
  me.suspended_in = *state;
  me.power = power_down ? PowerState::PowerDown : PowerState::Standby;
  result.x[0] = status_reg(PsciStatus::Success);  // what a standby returns on wake-up
  result.request = {.kind = RequestKind::CpuSuspend,
                    .power_down = power_down,
                    .entry = call.x[2],
                    .context = call.x[3],
                    .duration_ns = psci::kSuspendNs};
}

// CPU_ON (DEN0022F.b), checked in TF-A's order (lib/psci/psci_main.c): target, entry point, state.
void PsciService::cpu_on(const SmcccCall& call, SmcccResult& result) {
  const std::optional<unsigned> target = vcpu_of(call.x[1], vm_.vcpu_count());
  if (!target) {
    result.x[0] = status_reg(PsciStatus::InvalidParameters);
    return;
  }
  if (!valid_entry(call.x[2])) {
    result.x[0] = status_reg(PsciStatus::InvalidAddress);
    return;
  }
  PsciVcpu& t = state_.vcpus[*target];
  if (t.power != PowerState::Off) {
    result.x[0] = status_reg(PsciStatus::AlreadyOn);
    return;
  }
  // ON before the call returns: of several callers racing for one target, one succeeds.
  t.power = PowerState::On;
  result.x[0] = status_reg(PsciStatus::Success);
  result.request = {.kind = RequestKind::CpuOn, .target = *target, .entry = call.x[2], .context = call.x[3]};
}

// CPU_OFF (DEN0022F.b): still ON for AFFINITY_INFO until core reports the vCPU stopped.
void PsciService::cpu_off(const SmcccCall& call, SmcccResult& result) {
  state_.vcpus[call.vcpu].power = PowerState::OffPending;
  result.x[0] = status_reg(PsciStatus::InternalFailure);
  result.request = {.kind = RequestKind::CpuOff};
}

// Level 1 ignores Aff0 (DEN0022F.b AFFINITY_INFO); Aff2 and Aff3 must be 0 in this topology, and nothing
// outside the affinity fields may be set.
std::optional<unsigned> PsciService::cluster_of(std::uint64_t target) const {
  if ((target & ~0xFFFFull) != 0) return std::nullopt;
  const auto cluster = static_cast<unsigned>(target >> 8);
  if (cluster * kCoresPerCluster >= vm_.vcpu_count()) return std::nullopt;
  return cluster;
}

// AFFINITY_INFO (DEN0022F.b): level 0 is one core, level 1 a cluster of 16; the topology
// has no higher level.
std::uint64_t PsciService::affinity_info(std::uint64_t target, std::uint64_t level) const {
  const auto is_on = [](const PsciVcpu& v) { return v.power != PowerState::Off; };
  if (level == 0) {
    const std::optional<unsigned> t = vcpu_of(target, vm_.vcpu_count());
    if (!t) return status_reg(PsciStatus::InvalidParameters);
    return is_on(state_.vcpus[*t]) ? psci::kAffinityOn : psci::kAffinityOff;
  }
  static_assert(kTopologyLevels == 2, "AFFINITY_INFO answers levels 0 and 1");
  if (level == 1) {
    const std::optional<unsigned> cluster = cluster_of(target);
    if (!cluster) return status_reg(PsciStatus::InvalidParameters);
    for (unsigned i = *cluster * kCoresPerCluster; i < vm_.vcpu_count() && i / kCoresPerCluster == *cluster; ++i) {
      if (is_on(state_.vcpus[i])) return psci::kAffinityOn;
    }
    return psci::kAffinityOff;
  }
  return status_reg(PsciStatus::InvalidParameters);  // levels the topology does not have
}

// NODE_HW_STATE (DEN0022 5.15; TF-A psci_node_hw_state): what the hardware node is doing.
std::uint64_t PsciService::node_hw_state(std::uint64_t target, std::uint64_t level) const {
  const auto hw = [](const PsciVcpu& v) {
    switch (v.power) {
      case PowerState::Off:
      case PowerState::PowerDown: return psci::kHwOff;
      case PowerState::Standby: return psci::kHwStandby;
      default: return psci::kHwOn;
    }
  };
  if (level == 0) {
    const std::optional<unsigned> t = vcpu_of(target, vm_.vcpu_count());
    if (!t) return status_reg(PsciStatus::InvalidParameters);
    return hw(state_.vcpus[*t]);
  }
  if (level == 1) {
    const std::optional<unsigned> cluster = cluster_of(target);
    if (!cluster) return status_reg(PsciStatus::InvalidParameters);
    for (unsigned i = *cluster * kCoresPerCluster; i < vm_.vcpu_count() && i / kCoresPerCluster == *cluster; ++i) {
      if (hw(state_.vcpus[i]) != psci::kHwOff) return psci::kHwOn;
    }
    return psci::kHwOff;
  }
  return status_reg(PsciStatus::InvalidParameters);
}

// SYSTEM_SUSPEND (DEN0022F.b): entry point first, then "every other core is OFF", as TF-A.
void PsciService::system_suspend(const SmcccCall& call, SmcccResult& result) {
  if (!valid_entry(call.x[1])) {
    result.x[0] = status_reg(PsciStatus::InvalidAddress);
    return;
  }
  for (unsigned i = 0; i < vm_.vcpu_count(); ++i) {
    if (i != call.vcpu && state_.vcpus[i].power != PowerState::Off) {
      result.x[0] = status_reg(PsciStatus::Denied);
      return;
    }
  }
  state_.vcpus[call.vcpu].power = PowerState::PowerDown;
  result.x[0] = status_reg(PsciStatus::InternalFailure);
  result.request = {.kind = RequestKind::SystemSuspend,
                    .power_down = true,
                    .entry = call.x[1],
                    .context = call.x[2],
                    .duration_ns = psci::kSuspendNs};
}

// PSCI_STAT_RESIDENCY (microseconds of virtual time) and PSCI_STAT_COUNT, per declared state.
std::uint64_t PsciService::stat(std::uint64_t target, std::uint64_t power_state, bool residency) const {
  const std::optional<unsigned> t = vcpu_of(target, vm_.vcpu_count());
  const std::optional<SuspendState> state = parse_power_state(power_state);
  if (!t || !state) return status_reg(PsciStatus::InvalidParameters);
  const PsciVcpu& v = state_.vcpus[*t];
  const auto index = static_cast<std::size_t>(*state);
  return residency ? v.residency_us[index] : v.suspend_count[index];
}

// MEM_PROTECT (DEN0022F.b): returns the previous setting; core wipes RAM at the next reset
// while it is on. `enable` is a boolean in DEN0022; the model refuses values other than 0 and
// 1 with INVALID_PARAMETERS rather than guess (TF-A takes any non-zero value as 1).
std::uint64_t PsciService::mem_protect(std::uint64_t enable) {
  if (enable > 1) return status_reg(PsciStatus::InvalidParameters);
  const bool previous = state_.mem_protect;
  state_.mem_protect = enable == 1;
  return previous ? 1 : 0;
}

// MEM_PROTECT_CHECK_RANGE: all of RAM is protected memory; anything else, an empty range or
// one that wraps is DENIED (TF-A psci_mem_chk_range).
std::uint64_t PsciService::mem_protect_check_range(std::uint64_t base, std::uint64_t length) const {
  if (length == 0 || !vm_.in_ram(base, length)) return status_reg(PsciStatus::Denied);
  return status_reg(PsciStatus::Success);
}

// SYSTEM_RESET2 (DEN0022F.b): reset_type is a 32-bit value in both forms. Architectural
// type 0 is a warm reset; other architectural types, and vendor types (bit 31), which this
// platform defines none of, are INVALID_PARAMETERS (docs/architecture.md, "Model decisions").
void PsciService::system_reset2(const SmcccCall& call, SmcccResult& result) const {
  const auto type = static_cast<std::uint32_t>(call.x[1]);
  if (type != psci::kResetTypeWarm) {
    result.x[0] = status_reg(PsciStatus::InvalidParameters);
    return;
  }
  result.x[0] = status_reg(PsciStatus::InternalFailure);
  result.request = {.kind = RequestKind::SystemReset, .reset = ResetType::Warm, .context = call.x[2]};
}

// SYSTEM_OFF2 (DEN0022F.b §5.12; KVM's psci.c): type HIBERNATE_OFF, or 0, which F.b has
// mean the same; any other type, or a cookie that is not 0, is INVALID_PARAMETERS. Both are
// 32 bits in the SMC32 form (the dispatcher narrows them). Like SYSTEM_OFF, it pre-loads
// INTERNAL_FAILURE should a host ever resume the caller.
void PsciService::system_off2(const SmcccCall& call, SmcccResult& result) const {
  const std::uint64_t type = call.x[1];
  if ((type != 0 && type != psci::kOffTypeHibernate) || call.x[2] != 0) {
    result.x[0] = status_reg(PsciStatus::InvalidParameters);
    return;
  }
  result.x[0] = status_reg(PsciStatus::InternalFailure);
  result.request = {.kind = RequestKind::SystemOff, .hibernate = true};
}

void PsciService::on_vcpu_stopped(unsigned vcpu) {
  if (state_.vcpus[vcpu].power == PowerState::OffPending) state_.vcpus[vcpu].power = PowerState::Off;
}

void PsciService::on_vcpu_resumed(unsigned vcpu) {
  PsciVcpu& v = state_.vcpus[vcpu];
  if (v.power == PowerState::Standby || v.power == PowerState::PowerDown) v.power = PowerState::On;
  if (v.suspended_in) {
    v.residency_us[static_cast<std::size_t>(*v.suspended_in)] += psci::kSuspendNs / kNsPerUs;
    v.suspended_in.reset();
  }
}

// After any system reset (and at boot) the boot vCPU is on and the others off, and the
// statistics start again from zero. MEM_PROTECT's setting is the OS's and survives: it says
// what the reset does to RAM.
void PsciService::on_system_reset() {
  reset_state();
}

void PsciService::reset_state() {
  for (PsciVcpu& v : state_.vcpus) v = PsciVcpu{};
  if (!state_.vcpus.empty()) state_.vcpus[0].power = PowerState::On;
}

void PsciService::save_section(StateWriter& out) const {
  out.boolean(state_.mem_protect);
  for (const PsciVcpu& v : state_.vcpus) {
    out.u8(static_cast<std::uint8_t>(v.power));
    out.u8(v.suspended_in ? static_cast<std::uint8_t>(*v.suspended_in) + 1 : 0);
    for (std::size_t i = 0; i < kSuspendStates; ++i) {
      out.u64(v.suspend_count[i]);
      out.u64(v.residency_us[i]);
    }
  }
}

// A power state and a suspend state must name one of the enumerators; counts are any value.
void PsciService::load_section(StateReader& in) {
  PsciState s{.vcpus = std::vector<PsciVcpu>(state_.vcpus.size()), .mem_protect = in.boolean()};
  for (PsciVcpu& v : s.vcpus) {
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
  }
  loaded_ = std::move(s);
}

void PsciService::commit_loaded() {
  state_ = std::move(*loaded_);
  loaded_.reset();
}

}  // namespace emu::fw
