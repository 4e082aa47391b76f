// libFuzzer target: the firmware model (firmware/firmware.h) driven the way core drives it, with
// arbitrary registers and call sequences from several vCPUs, host configuration before the
// first run, SDEI signals and dispatches, interrupts, wake-ups, resets and save/load. The
// platform is a fake (tests/firmware/fake_platform.h plus an interrupt controller below); no
// engine is involved. Besides "no crash, no sanitizer report, no exception", every answer is
// checked against what the model promises (README "What the firmware answers"; DEN0028 SMCCC
// §2.6/§4 for register use; DEN0022 PSCI §5.2.2 for status codes):
//   * an unknown call (no routable function, or an immediate other than #0) is x0 = -1 with
//     count 1, so every other register is left as the caller had it;
//   * a defined call writes x0..x3 (count 4), SDEI calls x0 only; only SOC_ID's name writes
//     back x4 and above, and every register it writes back was filled;
//   * a negative x0 of a status-returning call is a status code the owning service defines;
//   * SMC32/HVC32 results are 32 bits, negative codes sign-extended (DEN0028 §3.1);
//   * a request names a vCPU that exists; CPU_ON starts one that is off at an aligned entry
//     in RAM; PSCI's view of each vCPU's power agrees with what core did with the requests;
//   * Firmware::save, load into a fresh firmware, save again gives the same bytes.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "firmware/firmware.h"
#include "firmware/fw_regs.h"
#include "tests/firmware/fake_platform.h"

namespace {

using namespace emu;
using fw::PowerState;
using fw::RequestKind;

[[noreturn]] void violated(const std::string& what, std::uint64_t fid = 0) {
  std::fprintf(stderr, "fuzz_dispatcher: invariant violated (fid %#llx): %s\n", static_cast<unsigned long long>(fid),
               what.c_str());
  std::abort();
}

// A GIC as the firmware sees it (fw::InterruptController): SGIs 0..15, PPIs 16..31 per vCPU,
// SPIs 32..255 (INTIDs the model's GIC has), the rest absent.
class FakeInterrupts final : public fw::InterruptController {
 public:
  explicit FakeInterrupts(unsigned vcpus) : vcpus_(vcpus) {}
  Kind kind(std::uint32_t intid) const override {
    if (intid < 16) return Kind::Sgi;
    if (intid < 32) return Kind::Ppi;
    if (intid < 256) return Kind::Spi;
    return Kind::None;
  }
  void claim(unsigned vcpu, std::uint32_t intid, bool firmware) override {
    Line& l = line(vcpu, intid);
    l = Line{.owned = firmware};
  }
  void enable(unsigned vcpu, std::uint32_t intid, bool on) override { line(vcpu, intid).enabled = on; }
  bool active(unsigned vcpu, std::uint32_t intid) const override { return find(vcpu, intid).active; }
  bool triggered(unsigned vcpu, std::uint32_t intid) const override {
    const Line& l = find(vcpu, intid);  // false for one the guest owns, as core's Gicv3 answers
    return l.owned && l.pending && l.enabled && !l.active;
  }
  void acknowledge(unsigned vcpu, std::uint32_t intid) override {
    Line& l = line(vcpu, intid);
    l.active = true;
    l.pending = l.level;
  }
  void deactivate(unsigned vcpu, std::uint32_t intid) override { line(vcpu, intid).active = false; }
  // The device side: an interrupt becomes pending (edge) or its level rises or falls.
  void raise(unsigned vcpu, std::uint32_t intid, bool level) {
    if (kind(intid) != Kind::Ppi && kind(intid) != Kind::Spi) return;
    Line& l = line(vcpu % vcpus_, intid);
    l.pending = true;
    l.level = level;
  }

 private:
  struct Line {
    bool owned = false, enabled = false, active = false, pending = false, level = false;
  };
  std::uint64_t key(unsigned vcpu, std::uint32_t intid) const {
    if (kind(intid) == Kind::None || kind(intid) == Kind::Sgi) violated("an SGI or absent INTID was passed", intid);
    if (vcpu >= vcpus_) violated("an interrupt call for a vCPU that does not exist", vcpu);
    return kind(intid) == Kind::Ppi ? (std::uint64_t{vcpu} << 32) | intid : intid;
  }
  Line& line(unsigned vcpu, std::uint32_t intid) { return lines_[key(vcpu, intid)]; }
  const Line& find(unsigned vcpu, std::uint32_t intid) const {
    static const Line none{};
    const auto it = lines_.find(key(vcpu, intid));
    return it == lines_.end() ? none : it->second;
  }
  unsigned vcpus_;
  std::map<std::uint64_t, Line> lines_;
};

// Collects trace lines and checks their shape (one non-empty line each).
class CheckingTrace final : public fw::TraceSink {
 public:
  void line(std::string_view text) override {
    if (text.empty() || text.find('\n') != std::string_view::npos) violated("a trace line is empty or several lines");
    ++lines;
  }
  std::uint64_t lines = 0;
};

// Every FID some service routes in a firmware with every service present, computed once. New
// calls appear here as soon as a service table declares them.
const std::vector<std::uint32_t>& routable_fids() {
  static const std::vector<std::uint32_t> fids = [] {
    test::FakePlatform platform;
    FakeInterrupts gic(1);
    fw::FirmwareConfig config = platform.config();
    config.platform.interrupts = &gic;
    fw::Firmware firmware(config);
    std::vector<std::uint32_t> out;
    for (std::uint32_t owner = 0; owner < fw::owner::kCount; ++owner) {
      for (std::uint32_t number = 0; number <= 0xFFFF; ++number) {
        for (const bool smc64 : {false, true}) {
          const std::uint32_t fid =
              fw::make_fast_fid(smc64, static_cast<std::uint8_t>(owner), static_cast<std::uint16_t>(number));
          if (firmware.dispatcher().find(fid)) out.push_back(fid);
        }
      }
    }
    return out;
  }();
  return fids;
}

constexpr std::uint64_t kSentinel = 0x5E47'1E00'0000'0000ull;  // result.x[i] before the call: kSentinel | i

// What core has done with each vCPU (core/machine.cpp: Slot::state), to compare with PSCI's view.
enum class CoreState : std::uint8_t { Off, Running, Standby, PowerDown };

// The fake machine around the firmware: what the platform interfaces answer.
struct FakeMachine {
  explicit FakeMachine(unsigned vcpus) : gic(vcpus) {
    platform.counters.assign(vcpus, 0);
    platform.stolen.assign(vcpus, 0);
  }
  test::FakePlatform platform;
  FakeInterrupts gic;
  CheckingTrace trace;
};

// The firmware configuration the input asks for (vCPUs, missing interfaces, SDEI events).
fw::FirmwareConfig make_config(FuzzedDataProvider& in, FakeMachine& m, unsigned vcpus) {
  m.platform.entropy_fails = in.ConsumeBool();
  fw::FirmwareConfig config = m.platform.config(vcpus, in.ConsumeIntegral<std::uint32_t>());
  const std::uint8_t absent = in.ConsumeIntegral<std::uint8_t>();
  if ((absent & 1) != 0) config.platform.memory = nullptr;
  if ((absent & 2) != 0) config.platform.entropy = nullptr;
  if ((absent & 4) != 0) config.platform.clock = nullptr;
  if ((absent & 8) == 0) config.platform.interrupts = &m.gic;
  const unsigned events = in.ConsumeIntegralInRange<unsigned>(0, 3);
  for (unsigned i = 0; i < events; ++i) {
    const std::uint8_t bits = in.ConsumeIntegral<std::uint8_t>();
    config.sdei_events.push_back({.number = in.ConsumeIntegralInRange<std::uint32_t>(1, 40),
                                  .shared = (bits & 1) != 0,
                                  .critical = (bits & 2) != 0,
                                  .signalable = (bits & 4) != 0});
  }
  return config;
}

class Harness {
 public:
  Harness(FuzzedDataProvider& in, FakeMachine& m, const fw::FirmwareConfig& config)
      : in_(in),
        m_(m),
        config_(config),
        firmware_(config),
        vcpus_(config.vcpu_count),
        core_(vcpus_, CoreState::Off),
        sleep_(vcpus_) {}

  void run(bool trace);

 private:
  void host_configuration();
  void boot();
  void start(unsigned vcpu);
  void wake(unsigned vcpu);
  void call(unsigned vcpu);
  void check_result(const fw::SmcccCall& call, const fw::Dispatcher::Found& found, const fw::SmcccResult& r) const;
  void apply(unsigned vcpu, const fw::Request& request);
  void maybe_dispatch_sdei(unsigned vcpu, const std::array<std::uint64_t, fw::kCallRegisters>& regs);
  void check_power() const;
  void check_round_trip();
  std::uint64_t argument();
  std::vector<unsigned> in_state(CoreState s) const;

  FuzzedDataProvider& in_;
  FakeMachine& m_;
  fw::FirmwareConfig config_;
  fw::Firmware firmware_;
  unsigned vcpus_;
  std::vector<CoreState> core_;
  std::vector<fw::Request> sleep_;  // the request a suspended vCPU wakes from
};

std::vector<unsigned> Harness::in_state(CoreState s) const {
  std::vector<unsigned> out;
  for (unsigned i = 0; i < vcpus_; ++i) {
    if (core_[i] == s) out.push_back(i);
  }
  return out;
}

// The host's KVM-style controls, allowed before the first run (README "Host controls").
void Harness::host_configuration() {
  static constexpr std::array<std::uint64_t, 7> kRegs{
      fw::fw_reg::kPsciVersion, fw::fw_reg::kWorkaround1, fw::fw_reg::kWorkaround2,  fw::fw_reg::kWorkaround3,
      fw::fw_reg::kStdBmap,     fw::fw_reg::kStdHypBmap,  fw::fw_reg::kVendorHypBmap};
  const unsigned steps = in_.ConsumeIntegralInRange<unsigned>(0, 6);
  for (unsigned i = 0; i < steps; ++i) {
    switch (in_.ConsumeIntegralInRange<int>(0, 2)) {
      case 0: {
        const std::uint64_t id = kRegs[in_.ConsumeIntegralInRange<std::size_t>(0, kRegs.size() - 1)];
        std::uint64_t before = 0;
        (void)firmware_.get_fw_reg(id, before);
        const std::uint64_t value =
            in_.ConsumeBool() ? in_.ConsumeIntegralInRange<std::uint64_t>(0, 3) : in_.ConsumeIntegral<std::uint64_t>();
        if (firmware_.set_fw_reg(id, value) == fw::HostStatus::Ok) {
          std::uint64_t after = 0;
          if (firmware_.get_fw_reg(id, after) != fw::HostStatus::Ok) violated("a register just set cannot be read");
        }
        break;
      }
      case 1:
        (void)firmware_.add_filter_range(in_.ConsumeIntegral<std::uint32_t>(),
                                         in_.ConsumeIntegralInRange<std::uint32_t>(0, 64),
                                         in_.ConsumeIntegralInRange<std::uint8_t>(0, 3));
        break;
      default:
        (void)firmware_.set_pv_time_ipa(
            in_.ConsumeIntegralInRange<unsigned>(0, vcpus_),
            test::FakePlatform::kRamBase + (in_.ConsumeIntegral<std::uint32_t>() & 0xFFFC0u));
        break;
    }
  }
}

// Machine::boot: the firmware forgets guest state, vCPU 0 starts, the others are off.
void Harness::boot() {
  firmware_.system_reset();
  std::fill(core_.begin(), core_.end(), CoreState::Off);
  start(0);
}

// Machine::start_vcpu: a (re)started vCPU, at boot, CPU_ON or a power-down wake-up.
void Harness::start(unsigned vcpu) {
  core_[vcpu] = CoreState::Running;
  firmware_.vcpu_powered_on(vcpu);
}

// Machine::wake: the sleep ends; a power-down state resumes at its entry point like CPU_ON.
void Harness::wake(unsigned vcpu) {
  firmware_.vcpu_resumed(vcpu);
  if (sleep_[vcpu].power_down || sleep_[vcpu].kind == RequestKind::SystemSuspend) {
    start(vcpu);
  } else {
    core_[vcpu] = CoreState::Running;
  }
}

// Argument values: mostly ones the services look at closely (small numbers, MPIDRs, RAM
// addresses, event numbers, INTIDs, FIDs), sometimes anything.
std::uint64_t Harness::argument() {
  const std::uint64_t ram = test::FakePlatform::kRamBase;
  switch (in_.ConsumeIntegralInRange<int>(0, 7)) {
    case 0: return in_.ConsumeIntegralInRange<std::uint64_t>(0, 8);
    case 1: return fw::affinity_of(in_.ConsumeIntegralInRange<unsigned>(0, 17)) | (in_.ConsumeBool() ? 1ull << 31 : 0);
    case 2: return ram + in_.ConsumeIntegralInRange<std::uint64_t>(0, test::FakePlatform::kRamSize + 64) * 4 / 4;
    case 3: return in_.ConsumeIntegralInRange<std::uint64_t>(0, 2100);
    case 4: {
      const auto& fids = routable_fids();
      return fids[in_.ConsumeIntegralInRange<std::size_t>(0, fids.size() - 1)];
    }
    case 5: return std::uint64_t{in_.ConsumeIntegral<std::uint32_t>()} << 16;
    case 6: return ~std::uint64_t{0} - in_.ConsumeIntegralInRange<std::uint64_t>(0, 4);
    default: return in_.ConsumeIntegral<std::uint64_t>();
  }
}

void Harness::call(unsigned vcpu) {
  fw::SmcccCall call;
  const auto& fids = routable_fids();
  std::uint64_t x0 = in_.ConsumeBool() ? fids[in_.ConsumeIntegralInRange<std::size_t>(0, fids.size() - 1)]
                                       : in_.ConsumeIntegral<std::uint32_t>();
  if (in_.ConsumeBool()) x0 |= fw::FunctionId::kSveHintBit;
  if (in_.ConsumeBool()) x0 |= std::uint64_t{in_.ConsumeIntegral<std::uint32_t>()} << 32;  // only W0 is the FID
  call.x[0] = x0;
  const int args = in_.ConsumeIntegralInRange<int>(0, 17);
  for (int i = 1; i < fw::kCallRegisters; ++i)
    call.x[static_cast<std::size_t>(i)] = i <= args ? argument() : kSentinel | i;
  call.conduit = in_.ConsumeBool() ? fw::Conduit::Smc : fw::Conduit::Hvc;
  call.imm = in_.ConsumeIntegralInRange<int>(0, 15) == 0 ? in_.ConsumeIntegral<std::uint16_t>() : 0;
  call.vcpu = vcpu;
  const auto before = call.x;
  const fw::Dispatcher::Found found = firmware_.dispatcher().find(static_cast<std::uint32_t>(x0));

  fw::SmcccResult result;
  for (std::size_t i = 0; i < result.x.size(); ++i) result.x[i] = kSentinel | i;
  firmware_.dispatch(call, result);
  check_result(call, call.imm == 0 ? found : fw::Dispatcher::Found{}, result);
  // What the guest sees: x[0..count) written back, the rest as before.
  std::array<std::uint64_t, fw::kCallRegisters> regs = before;
  for (int i = 0; i < result.count; ++i) regs[static_cast<std::size_t>(i)] = result.x[static_cast<std::size_t>(i)];
  apply(vcpu, result.request);
  if (result.request.kind == RequestKind::None) maybe_dispatch_sdei(vcpu, regs);
}

void Harness::check_result(const fw::SmcccCall& call, const fw::Dispatcher::Found& found,
                           const fw::SmcccResult& r) const {
  const std::uint64_t fid = call.x[0];
  const std::uint64_t kNotSupported = ~std::uint64_t{0};
  if (r.request.kind == RequestKind::ForwardToHost) {
    if (call.imm != 0 || r.count != 0) violated("a forwarded call with an immediate or with results", fid);
    return;
  }
  if (r.count < 1 || r.count > fw::kCallRegisters) violated("a result count outside 1..18", fid);
  if (!found) {
    // Unknown, or hidden by the filter: only x0 changes (DEN0028 §5.2: NOT_SUPPORTED).
    if (r.x[0] != kNotSupported || r.count != 1 || r.request.kind != RequestKind::None) {
      violated("an unknown call is answered other than x0 = -1 alone", fid);
    }
    return;
  }
  const fw::FunctionDesc& fn = *found.fn;
  // Beyond x3 only what the service filled is written back (smccc.h: SmcccResult::count);
  // SOC_ID's name is the one answer that long (README: x1..x17).
  for (int i = 4; i < r.count; ++i) {
    if (r.x[static_cast<std::size_t>(i)] == (kSentinel | static_cast<std::uint64_t>(i))) {
      violated("a result register written back without being set", fid);
    }
  }
  if (r.count > 4 && fn.name != "SMCCC_ARCH_SOC_ID") violated("a call other than SOC_ID writes back x4 or above", fid);
  const bool sdei = found.fn->name.starts_with("SDEI_");
  if (sdei && r.count != 1) violated("an SDEI call writes more than x0", fid);
  const bool not_supported = r.x[0] == kNotSupported && r.count == 1;
  if (!sdei && !not_supported && fn.result != fw::ResultKind::NoReturn && r.count < 4) {
    violated("a defined call writes back fewer than x0..x3", fid);
  }
  const auto x0 = static_cast<std::int64_t>(r.x[0]);
  const bool status_kind = fn.result == fw::ResultKind::Status ||
                           (fn.result == fw::ResultKind::Value && fn.name != "SDEI_EVENT_CONTEXT" && x0 > -64);
  if (x0 < 0 && status_kind && found.service->status_name(x0).empty()) {
    violated("a negative x0 that is no status code of the service (" + std::to_string(x0) + ")", fid);
  }
  if (!call.id.smc64) {
    if (!(x0 >= INT32_MIN && x0 < 0) && r.x[0] > 0xFFFF'FFFFu) violated("an SMC32 x0 above 32 bits", fid);
    for (int i = 1; i < std::min<int>(r.count, 8); ++i) {
      if (r.x[static_cast<std::size_t>(i)] > 0xFFFF'FFFFu) violated("an SMC32 result register above 32 bits", fid);
    }
  }
  const fw::Request& q = r.request;
  if (q.kind != RequestKind::None && !fn.name.starts_with("PSCI_") && !sdei) {
    violated("a request from a service that is neither PSCI nor SDEI", fid);
  }
  const auto in_ram = [](std::uint64_t a) {
    return a >= test::FakePlatform::kRamBase && a - test::FakePlatform::kRamBase < test::FakePlatform::kRamSize;
  };
  if (q.kind == RequestKind::CpuOn) {
    if (q.target >= vcpus_) violated("CPU_ON of a vCPU that does not exist", fid);
    if (core_[q.target] != CoreState::Off) violated("CPU_ON accepted for a vCPU core has not stopped", fid);
  }
  const bool resumes = q.kind == RequestKind::CpuOn || q.kind == RequestKind::SystemSuspend ||
                       (q.kind == RequestKind::CpuSuspend && q.power_down) ||
                       q.kind == RequestKind::SdeiCompleteAndResume;
  if (resumes && (!in_ram(q.entry) || q.entry % 4 != 0)) violated("an entry point outside RAM or misaligned", fid);
}

// What core does with a request (core/vcpu.cpp firmware_call, core/machine.cpp run loop).
void Harness::apply(unsigned vcpu, const fw::Request& request) {
  switch (request.kind) {
    case RequestKind::None:
    case RequestKind::ForwardToHost:
    case RequestKind::SdeiComplete:
    case RequestKind::SdeiCompleteAndResume: return;
    case RequestKind::CpuOn: start(request.target); return;
    case RequestKind::SystemOff:
    case RequestKind::SystemReset:
      boot();  // SYSTEM_OFF ends a run; booting again keeps the sequence going
      return;
    case RequestKind::CpuOff:
      core_[vcpu] = CoreState::Off;
      firmware_.vcpu_stopped(vcpu);
      return;
    case RequestKind::CpuSuspend:
    case RequestKind::SystemSuspend:
      core_[vcpu] =
          request.power_down || request.kind == RequestKind::SystemSuspend ? CoreState::PowerDown : CoreState::Standby;
      sleep_[vcpu] = request;
      return;
  }
}

// Core enters an SDEI handler right after a call and before a slice (core/vcpu.cpp
// enter_sdei_handler): the interrupted context is the registers as the guest now has them.
void Harness::maybe_dispatch_sdei(unsigned vcpu, const std::array<std::uint64_t, fw::kCallRegisters>& regs) {
  if (!firmware_.sdei_any_pending() || !firmware_.sdei_deliverable(vcpu)) return;
  fw::SdeiContext interrupted;
  interrupted.x = regs;
  interrupted.pc = test::FakePlatform::kRamBase + 0x1000;
  interrupted.pstate = 0x3C5;
  const std::optional<fw::SdeiEntry> entry = firmware_.sdei_begin_dispatch(vcpu, interrupted);
  if (entry && (entry->entry < test::FakePlatform::kRamBase ||
                entry->entry - test::FakePlatform::kRamBase >= test::FakePlatform::kRamSize)) {
    violated("an SDEI handler entered outside RAM", entry->entry);
  }
}

// PSCI's power state of each vCPU agrees with what core did (DEN0022 §5.1.5 AFFINITY_INFO).
void Harness::check_power() const {
  for (unsigned i = 0; i < vcpus_; ++i) {
    const PowerState p = firmware_.power(i);
    bool ok = false;
    switch (core_[i]) {
      case CoreState::Off: ok = p == PowerState::Off; break;
      case CoreState::Running: ok = p == PowerState::On; break;
      case CoreState::Standby: ok = p == PowerState::Standby; break;
      case CoreState::PowerDown: ok = p == PowerState::PowerDown; break;
    }
    if (!ok) violated("PSCI's power state of vCPU " + std::to_string(i) + " disagrees with core's");
    // SDEI's own view of the PE, kept through the hooks (DEN0054C: events go to running PEs).
    const fw::SdeiPe pe = firmware_.sdei_vcpu(i).pe;
    const fw::SdeiPe want = p == PowerState::On                                      ? fw::SdeiPe::On
                            : p == PowerState::Standby || p == PowerState::PowerDown ? fw::SdeiPe::Asleep
                                                                                     : fw::SdeiPe::Off;
    if (pe != want) violated("SDEI's view of vCPU " + std::to_string(i) + " disagrees with PSCI's power state");
  }
}

// save, load into a firmware built the same way, save again: the same bytes.
void Harness::check_round_trip() {
  fw::StateWriter first;
  firmware_.save(first);
  fw::Firmware copy(config_);
  fw::StateReader in(first.data());
  copy.load(in);
  if (!in.at_end()) violated("Firmware::load left bytes of its own save unread");
  fw::StateWriter second;
  copy.save(second);
  if (first.data() != second.data()) violated("save -> load -> save changed the state");
}

void Harness::run(bool trace) {
  if (trace) firmware_.dispatcher().set_trace(&m_.trace);
  host_configuration();
  boot();
  firmware_.mark_run();
  for (int step = 0; step < 400 && in_.remaining_bytes() > 0; ++step) {
    const unsigned pick = in_.ConsumeIntegral<std::uint8_t>();
    const std::vector<unsigned> running = in_state(CoreState::Running);
    const int op = in_.ConsumeIntegralInRange<int>(0, 15);
    if (op < 9 && !running.empty()) {
      call(running[pick % running.size()]);
    } else if (op == 9) {
      std::vector<unsigned> asleep = in_state(CoreState::Standby);
      const std::vector<unsigned> down = in_state(CoreState::PowerDown);
      asleep.insert(asleep.end(), down.begin(), down.end());
      if (!asleep.empty()) wake(asleep[pick % asleep.size()]);
    } else if (op == 10) {
      (void)firmware_.sdei_signal(static_cast<std::uint32_t>(argument()), pick % (vcpus_ + 1));
    } else if (op == 11) {
      m_.gic.raise(pick, in_.ConsumeIntegralInRange<std::uint32_t>(16, 260), in_.ConsumeBool());
    } else if (op == 12 && !running.empty()) {
      const unsigned v = running[pick % running.size()];
      m_.platform.counters[v] += in_.ConsumeIntegralInRange<std::uint64_t>(0, 1u << 20);
      m_.platform.stolen[v] += in_.ConsumeIntegralInRange<std::uint64_t>(0, 1u << 20);
      firmware_.vcpu_scheduled(v);
      std::array<std::uint64_t, fw::kCallRegisters> regs{};
      for (std::uint64_t& r : regs) r = in_.ConsumeIntegral<std::uint64_t>();
      maybe_dispatch_sdei(v, regs);
    } else if (op == 13) {
      check_round_trip();
    } else if (op == 14 && in_.ConsumeIntegralInRange<int>(0, 7) == 0) {
      boot();
    }
    check_power();
  }
  check_round_trip();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)routable_fids();
  return 0;
}

// Input: the configuration (vCPUs 1..8, entropy failing, epoch, absent interfaces, trace on,
// up to three SDEI events), the host's settings, then up to 400 steps.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const unsigned vcpus = in.ConsumeIntegralInRange<unsigned>(1, 8);
  const bool trace = in.ConsumeBool();
  FakeMachine machine(vcpus);
  const fw::FirmwareConfig config = make_config(in, machine, vcpus);
  std::unique_ptr<Harness> harness;
  try {
    harness = std::make_unique<Harness>(in, machine, config);
  } catch (const fw::ConfigError&) {
    return 0;  // e.g. two events with one number: refused, as MachineConfig validation refuses it
  }
  harness->run(trace);
  return 0;
}
