// SDEI's own view of which PEs run (SdeiPe), kept through the lifecycle hooks and each call's
// request rather than by reading PSCI's state: it must agree with PSCI's power state after
// every PSCI call, failed or not (DEN0054C: events are dispatched to running PEs; DEN0022F.b
// CPU_ON, CPU_OFF, CPU_SUSPEND, SYSTEM_SUSPEND), and a saved state where the two disagree is
// refused.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "firmware/firmware.h"
#include "tests/firmware/call.h"
#include "tests/firmware/fake_platform.h"

using namespace emu;
using test::FakePlatform;

namespace {

constexpr std::uint64_t kEntry = FakePlatform::kRamBase + 0x1000;

// The run state SDEI must derive from each PSCI power state.
fw::SdeiPe expected(fw::PowerState p) {
  switch (p) {
    case fw::PowerState::On: return fw::SdeiPe::On;
    case fw::PowerState::Standby:
    case fw::PowerState::PowerDown: return fw::SdeiPe::Asleep;
    default: return fw::SdeiPe::Off;
  }
}

void check_agree(const fw::Firmware& f, const char* after) {
  for (unsigned i = 0; i < f.vcpu_count(); ++i) {
    INFO(after << ", vCPU " << i);
    CHECK(static_cast<int>(f.sdei_vcpu(i).pe) == static_cast<int>(expected(f.power(i))));
  }
}

std::uint64_t x0(fw::Firmware& f, unsigned vcpu, std::uint64_t fid, std::initializer_list<std::uint64_t> args = {}) {
  return test::call_from(f, vcpu, fid, args).x[0];
}

// A trace sink that fails on every answer line, after the handler has run.
struct ThrowOnAnswer final : fw::TraceSink {
  void line(std::string_view text) override {
    if (text.find(" < ") != std::string_view::npos) throw std::runtime_error("trace sink failed");
  }
};

}  // namespace

TEST_CASE("SDEI's view of the PEs agrees with PSCI's power state after every PSCI call, failed or not") {
  FakePlatform p;
  fw::Firmware f(p.config(2, 0));
  check_agree(f, "boot");
  x0(f, 0, fw::psci::kCpuOn64, {1, 0x10, 0});
  check_agree(f, "CPU_ON with an entry outside RAM");
  x0(f, 0, fw::psci::kCpuOn64, {7, kEntry, 0});
  check_agree(f, "CPU_ON of a vCPU that does not exist");
  REQUIRE(x0(f, 0, fw::psci::kCpuOn64, {1, kEntry, 0}) == 0);
  check_agree(f, "CPU_ON");
  f.vcpu_powered_on(1);
  check_agree(f, "the target started");
  x0(f, 0, fw::psci::kCpuOn64, {1, kEntry, 0});
  check_agree(f, "CPU_ON of a vCPU already on");
  x0(f, 1, fw::psci::kCpuSuspend, {0x1234});
  check_agree(f, "CPU_SUSPEND of an undeclared state");
  x0(f, 1, fw::psci::kCpuSuspend, {fw::psci::kPowerStateCorePowerDown, 0x10, 0});
  check_agree(f, "power-down CPU_SUSPEND with an entry outside RAM");
  x0(f, 1, fw::psci::kCpuSuspend, {fw::psci::kPowerStateCorePowerDown, kEntry, 0});
  check_agree(f, "power-down CPU_SUSPEND");
  f.vcpu_resumed(1);
  check_agree(f, "the wake-up");
  x0(f, 0, fw::psci::kSystemSuspend, {kEntry, 0});
  check_agree(f, "SYSTEM_SUSPEND denied (another vCPU is on)");
  x0(f, 1, fw::psci::kCpuOff);
  check_agree(f, "CPU_OFF");
  x0(f, 0, fw::psci::kCpuOn64, {1, kEntry, 0});
  check_agree(f, "CPU_ON while the CPU_OFF is pending");
  f.vcpu_stopped(1);
  check_agree(f, "the vCPU stopped");
  x0(f, 0, fw::psci::kSystemSuspend, {kEntry, 0});
  check_agree(f, "SYSTEM_SUSPEND");
  f.vcpu_resumed(0);
  check_agree(f, "the wake-up from SYSTEM_SUSPEND");
  f.system_reset();
  check_agree(f, "a system reset");
}

TEST_CASE("A forwarded or fault-injected CPU_SUSPEND changes neither PSCI's nor SDEI's view") {
  FakePlatform p;
  fw::Firmware forwarded(p.config(2, 0));
  REQUIRE(forwarded.add_filter_range(fw::psci::kCpuSuspend, 1, 2) == fw::HostStatus::Ok);  // FWD_TO_USER
  x0(forwarded, 0, fw::psci::kCpuSuspend, {0});
  check_agree(forwarded, "a forwarded CPU_SUSPEND");
  fw::FirmwareConfig c = p.config(2, 0);
  c.faults = {{.fid = fw::psci::kCpuSuspend, .result = -2}};
  fw::Firmware faulted(c);
  x0(faulted, 0, fw::psci::kCpuSuspend, {0});
  check_agree(faulted, "a fault-injected CPU_SUSPEND");
}

TEST_CASE("A trace sink that throws after CPU_ON ran still leaves SDEI's view in step with PSCI's") {
  FakePlatform p;
  fw::Firmware f(p.config(2, 0));
  ThrowOnAnswer sink;
  f.dispatcher().set_trace(&sink);
  CHECK_THROWS(static_cast<void>(test::call_from(f, 0, fw::psci::kCpuOn64, {1, kEntry, 0})));
  CHECK(f.power(1) == fw::PowerState::On);
  check_agree(f, "the throw");
}

TEST_CASE("A saved state where SDEI and PSCI disagree on whether a PE runs is refused") {
  FakePlatform p;
  fw::Firmware f(p.config(2, 0));
  fw::StateWriter out;
  f.save(out);
  std::vector<std::uint8_t> bytes = out.data();
  // SDEI's section: its tag, the event count, then per vCPU its mask and run state first.
  const std::uint32_t tag = fw::SdeiService::kStateTag;
  std::array<std::uint8_t, 4> le{};
  std::memcpy(le.data(), &tag, sizeof tag);
  const auto at =
      static_cast<std::size_t>(std::search(bytes.begin(), bytes.end(), le.begin(), le.end()) - bytes.begin());
  std::uint64_t events = 0;
  std::memcpy(&events, &bytes[at + 4], sizeof events);
  const std::size_t vcpu1 = at + 12 + (1 + 1 + 8 + 168 + events * 33);
  REQUIRE(bytes[vcpu1] == 1);      // vCPU 1 masked
  REQUIRE(bytes[vcpu1 + 1] == 0);  // SdeiPe::Off, as PSCI's Off
  bytes[vcpu1 + 1] = 1;            // SdeiPe::On while PSCI says Off
  fw::Firmware g(p.config(2, 0));
  fw::StateReader in(bytes);
  CHECK_THROWS_AS(g.load(in), fw::StateError);
  CHECK(g.sdei_vcpu(1).pe == fw::SdeiPe::Off);  // nothing adopted
}
