// Each service owns its state (docs/architecture.md, "Services, state and discovery"): it
// resets only its own state on a system reset, saves and loads its own snapshot section, and a
// firmware-wide load is all-or-nothing. SDEI follows whether a PE runs through the hooks, not
// by reading PSCI's state, so the order services are registered or told things in is free.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "firmware/firmware.h"
#include "tests/firmware/call.h"
#include "tests/firmware/fake_platform.h"

using namespace emu;
using test::FakePlatform;

namespace {

constexpr std::uint64_t kRam = FakePlatform::kRamBase;
constexpr std::uint64_t kEntry = kRam + 0x1000;
constexpr std::uint32_t kShared = 2;  // a shared, normal SDEI event

std::uint64_t x0(fw::Firmware& f, unsigned vcpu, std::uint64_t fid, std::initializer_list<std::uint64_t> args = {}) {
  return test::call_from(f, vcpu, fid, args).x[0];
}

fw::FirmwareConfig config(FakePlatform& p, unsigned vcpus) {
  fw::FirmwareConfig c = p.config(vcpus, 1'000);
  c.sdei_events = {{.number = kShared, .shared = true}};
  return c;
}

std::vector<std::uint8_t> saved(const fw::Firmware& f) {
  fw::StateWriter out;
  f.save(out);
  return out.data();
}

// Where a section's tag is in a saved firmware state (little-endian, as StateWriter writes it).
std::size_t section(const std::vector<std::uint8_t>& bytes, std::uint32_t tag) {
  std::array<std::uint8_t, 4> le{};
  std::memcpy(le.data(), &tag, 4);
  const auto at = std::search(bytes.begin(), bytes.end(), le.begin(), le.end());
  REQUIRE(at != bytes.end());
  return static_cast<std::size_t>(at - bytes.begin());
}

// A firmware with something in every service's state: vCPU 1 on and suspend statistics
// (PSCI), MEM_PROTECT on, PV time started on vCPU 0, a shared SDEI event registered, enabled
// and pending with both PEs unmasked.
void make_busy(fw::Firmware& f) {
  REQUIRE(f.set_pv_time_ipa(0, kRam + 0x8000) == fw::HostStatus::Ok);
  REQUIRE(x0(f, 0, fw::psci::kCpuOn64, {1, kEntry, 0}) == 0);
  f.vcpu_powered_on(1);
  REQUIRE(x0(f, 1, fw::psci::kCpuSuspend, {fw::psci::kPowerStateCoreStandby}) == 0);
  f.vcpu_resumed(1);
  REQUIRE(x0(f, 0, fw::psci::kMemProtect, {1}) == 0);
  REQUIRE(x0(f, 0, fw::pv_time::kSt) == kRam + 0x8000);
  REQUIRE(x0(f, 0, fw::sdei::kEventRegister, {kShared, kEntry, 0, 0, 0}) == 0);
  REQUIRE(x0(f, 0, fw::sdei::kEventEnable, {kShared}) == 0);
  REQUIRE(x0(f, 0, fw::sdei::kPeUnmask) == 0);
  REQUIRE(x0(f, 1, fw::sdei::kPeUnmask) == 0);
  REQUIRE(f.sdei_signal(kShared, 0) == fw::HostStatus::Ok);
}

}  // namespace

TEST_CASE("Service state: PSCI's section round-trips alone, and a staged load changes nothing until committed") {
  fw::VmState vm{.ram_base = kRam, .ram_size = FakePlatform::kRamSize, .vcpus = 2};
  fw::PsciService a(vm);
  fw::Dispatcher d;
  d.add(a);
  fw::SmcccCall on = test::sentinel_call(fw::psci::kCpuOn64);
  on.x[1] = 1;
  on.x[2] = kEntry;
  on.x[3] = 0;
  REQUIRE(d.dispatch(on).x[0] == 0);
  fw::SmcccCall protect = test::sentinel_call(fw::psci::kMemProtect);
  protect.x[1] = 1;
  REQUIRE(d.dispatch(protect).x[0] == 0);
  fw::StateWriter out;
  a.save_section(out);

  fw::PsciService b(vm);
  fw::StateReader in(out.data());
  b.load_section(in);
  CHECK(in.at_end());
  CHECK(b.power(1) == fw::PowerState::Off);  // staged only
  CHECK(!b.mem_protect());
  b.commit_loaded();
  CHECK(b.power(1) == fw::PowerState::On);
  CHECK(b.mem_protect());
  fw::StateWriter again;
  b.save_section(again);
  CHECK(again.data() == out.data());
}

TEST_CASE("Service state: SDEI's section round-trips alone, pending event and PE states included") {
  FakePlatform p;
  fw::Firmware f(config(p, 2));
  make_busy(f);
  fw::StateWriter out;
  f.save(out);
  fw::Firmware g(config(p, 2));
  fw::StateReader in(out.data());
  g.load(in);
  CHECK(in.at_end());
  CHECK(saved(g) == out.data());
  CHECK(g.sdei_any_pending());
  CHECK(g.sdei_deliverable(0));  // RM_ANY: the lowest-numbered running, unmasked PE
  CHECK(!g.sdei_vcpu(0).masked);
  CHECK(g.power(1) == fw::PowerState::On);
  CHECK(g.mem_protect());
  CHECK(g.epoch_ns() == 1'000);
}

TEST_CASE("Service state: a corrupt SDEI section leaves every service's state unchanged (all-or-nothing load)") {
  FakePlatform p;
  fw::Firmware f(config(p, 2));
  make_busy(f);
  std::vector<std::uint8_t> bad = saved(f);
  // The SDEI section opens with the number of events: one more is another VM's state. PSCI's,
  // PV time's and KVM's sections come before it and are valid.
  REQUIRE(section(bad, fw::PsciService::kStateTag) < section(bad, fw::SdeiService::kStateTag));
  bad[section(bad, fw::SdeiService::kStateTag) + 4] += 1;

  fw::Firmware g(config(p, 2));
  const std::vector<std::uint8_t> before = saved(g);
  fw::StateReader in(bad);
  CHECK_THROWS_AS(g.load(in), fw::StateError);
  CHECK(saved(g) == before);
  CHECK(!g.mem_protect());
  CHECK(g.power(1) == fw::PowerState::Off);
  CHECK(!g.pv_time_ipa(0));
  CHECK(!g.sdei_any_pending());
}

TEST_CASE("Service state: a corrupt PSCI power state is refused and nothing changes") {
  FakePlatform p;
  fw::Firmware f(config(p, 2));
  make_busy(f);
  std::vector<std::uint8_t> bad = saved(f);
  bad[section(bad, fw::PsciService::kStateTag) + 4 + 1] = 5;  // after MEM_PROTECT: no PowerState 5
  fw::Firmware g(config(p, 2));
  const std::vector<std::uint8_t> before = saved(g);
  fw::StateReader in(bad);
  CHECK_THROWS_AS(g.load(in), fw::StateError);
  CHECK(saved(g) == before);
}

TEST_CASE("Service state: a system reset returns each service's own guest state to its boot values") {
  FakePlatform p;
  fw::Firmware f(config(p, 2));
  make_busy(f);
  f.system_reset();
  CHECK(f.power(0) == fw::PowerState::On);  // DEN0022F.b: the boot PE on, the others off
  CHECK(f.power(1) == fw::PowerState::Off);
  CHECK(x0(f, 0, fw::psci::kStatCount, {1, fw::psci::kPowerStateCoreStandby}) == 0);
  CHECK(f.mem_protect());                    // the OS's setting survives: it says what the reset does to RAM
  CHECK(f.pv_time_ipa(0) == kRam + 0x8000);  // the host's record stays; the guest's use ends
  p.stolen[0] = 500;
  p.ram[0x8000 + 8] = 0xEE;
  f.vcpu_scheduled(0);
  CHECK(p.ram[0x8000 + 8] == 0xEE);  // not started since the reset: the record is not written
  CHECK(x0(f, 0, fw::sdei::kEventStatus, {kShared}) == 0);
  CHECK(f.sdei_vcpu(0).masked);
  CHECK(!f.sdei_any_pending());
  CHECK(f.epoch_ns() == 1'000);
}

// DEN0054C dispatch: a shared RM_ANY event goes to a running, unmasked PE. A PE in CPU_SUSPEND
// is not running; SDEI learns that from the call's request (Service::on_request), and that it
// runs again from on_vcpu_resumed, without reading PSCI's power state.
TEST_CASE("Service state: SDEI routing follows CPU_SUSPEND and the wake-up through the hooks") {
  FakePlatform p;
  fw::Firmware f(config(p, 2));
  make_busy(f);
  REQUIRE(f.sdei_deliverable(0));
  REQUIRE(!f.sdei_deliverable(1));
  REQUIRE(x0(f, 0, fw::psci::kCpuSuspend, {fw::psci::kPowerStateCoreStandby}) == 0);
  CHECK(!f.sdei_deliverable(0));
  CHECK(f.sdei_deliverable(1));  // vCPU 0 sleeps: vCPU 1 is the lowest running PE
  f.vcpu_resumed(0);
  CHECK(f.sdei_deliverable(0));
  CHECK(!f.sdei_deliverable(1));
  // CPU_OFF takes the caller out of ON at once, before core reports it stopped.
  REQUIRE(test::call_from(f, 0, fw::psci::kCpuOff).request.kind == fw::RequestKind::CpuOff);
  CHECK(f.sdei_deliverable(1));
}

// With each service's state its own, telling the services things in another order than the
// firmware's registration list gives the same answers.
TEST_CASE("Service state: SDEI registered and reset before PSCI behaves as after it") {
  fw::VmState vm{.ram_base = kRam, .ram_size = FakePlatform::kRamSize, .vcpus = 2};
  fw::SdeiService sdei(vm, {}, nullptr);
  fw::PsciService psci(vm);
  fw::Dispatcher d;
  d.add(sdei);
  d.add(psci);
  const auto call = [&](unsigned vcpu, std::uint64_t fid, std::initializer_list<std::uint64_t> args) {
    fw::SmcccCall c = test::sentinel_call(fid);
    c.vcpu = vcpu;
    std::size_t i = 1;
    for (std::uint64_t a : args) c.x[i++] = a;
    return d.dispatch(c);
  };
  REQUIRE(call(0, fw::sdei::kEventRegister, {0, kEntry, 0, 0, 0}).x[0] == 0);
  REQUIRE(call(0, fw::sdei::kEventEnable, {0}).x[0] == 0);
  REQUIRE(call(0, fw::sdei::kPeUnmask, {}).x[0] == 0);
  REQUIRE(call(0, fw::sdei::kEventSignal, {0, 0}).x[0] == 0);
  REQUIRE(sdei.deliverable(0));
  sdei.on_system_reset();  // SDEI first, then PSCI: the reverse of the firmware's list
  psci.on_system_reset();
  CHECK(!sdei.any_pending());
  CHECK(!sdei.deliverable(0));
  CHECK(call(0, fw::sdei::kEventStatus, {0}).x[0] == 0);
  CHECK(sdei.vcpu(0).masked);
  CHECK(sdei.vcpu(0).pe == fw::SdeiPe::On);  // the boot PE runs after a reset
  CHECK(sdei.vcpu(1).pe == fw::SdeiPe::Off);
  CHECK(psci.power(0) == fw::PowerState::On);
}
