// SDEI 1.1 (DEN0054C) through the firmware alone: the per-event state table,
// the dispatch conditions and the lifecycle rules. Core's side (entering the handler, restoring
// the context) is tested with the sdei-conformance guest in tests/system/sdei_test.cpp.
#include <doctest/doctest.h>

#include "firmware/firmware.h"
#include "tests/firmware/call.h"

using namespace emu;
using test::neg;

namespace {

constexpr std::uint64_t kRam = 0x4000'0000;
constexpr std::uint64_t kHandler = kRam + 0x1000;
constexpr std::uint64_t kInvalid = neg(-2);
constexpr std::uint64_t kDenied = neg(-3);
constexpr std::uint64_t kPending = neg(-5);

// Event 0 built in; 1 private critical signalable; 2 shared normal.
// A default configuration with these SDEI events. Not a designated initializer: GCC 12 at -O3
// warns (-Wmaybe-uninitialized, a false positive) about the default SoC name string of a
// FirmwareConfig built that way and destroyed on the throwing path of CHECK_THROWS_AS.
fw::FirmwareConfig with_events(std::vector<fw::SdeiEventDecl> events) {
  fw::FirmwareConfig c;
  c.sdei_events = std::move(events);
  return c;
}

fw::FirmwareConfig config(unsigned vcpus) {
  return {.vcpu_count = vcpus,
          .ram_base = kRam,
          .ram_size = 1u << 20,
          .sdei_events = {{.number = 1, .critical = true, .signalable = true}, {.number = 2, .shared = true}}};
}

fw::SmcccResult call(fw::Firmware& f, unsigned vcpu, std::uint64_t fid,
                     std::initializer_list<std::uint64_t> args = {}) {
  return test::call_from(f, vcpu, fid, args);
}
std::uint64_t x0(fw::Firmware& f, unsigned vcpu, std::uint64_t fid, std::initializer_list<std::uint64_t> args = {}) {
  return call(f, vcpu, fid, args).x[0];
}
std::uint64_t status(fw::Firmware& f, unsigned vcpu, std::uint64_t event) {
  return x0(f, vcpu, fw::sdei::kEventStatus, {event});
}
// Registered, enabled and the PE unmasked: ready to dispatch.
void arm(fw::Firmware& f, unsigned vcpu, std::uint64_t event, std::uint64_t arg = 0xA5) {
  REQUIRE(x0(f, vcpu, fw::sdei::kEventRegister, {event, kHandler, arg, 0, 0}) == 0);
  REQUIRE(x0(f, vcpu, fw::sdei::kEventEnable, {event}) == 0);
  REQUIRE(x0(f, vcpu, fw::sdei::kPeUnmask) == 0);
}
// vCPU `vcpu` started through PSCI CPU_ON and core's report that it runs.
void power_on(fw::Firmware& f, unsigned vcpu) {
  REQUIRE(x0(f, 0, 0xC400'0003, {vcpu, kRam, 0}) == 0);  // CPU_ON64
  f.vcpu_powered_on(vcpu);
}
fw::SdeiContext context_with(std::uint64_t pc) {
  fw::SdeiContext c;
  for (std::size_t i = 0; i < c.x.size(); ++i) c.x[i] = 0x1000 + i;
  c.pc = pc;
  c.pstate = 0x3C5;
  return c;
}

}  // namespace

TEST_CASE("SDEI_VERSION is 1.1 with vendor 0, every function exists only in the SMC64 form") {
  fw::Firmware f(config(1));
  CHECK(x0(f, 0, fw::sdei::kVersion) == 0x0001'0001'0000'0000ull);
  CHECK(x0(f, 0, fw::sdei::kVersion & ~0x4000'0000u) == test::kNotSupported);  // SMC32 form
  CHECK(x0(f, 0, 0xC400'0033) == test::kNotSupported);                         // reserved
}

TEST_CASE("SDEI event states (DEN0054C): register, enable, disable, unregister and the DENIED cells") {
  fw::Firmware f(config(1));
  CHECK(status(f, 0, 0) == 0);
  CHECK(x0(f, 0, fw::sdei::kEventEnable, {0}) == kDenied);  // r e g: ENABLE forbidden
  CHECK(x0(f, 0, fw::sdei::kEventDisable, {0}) == kDenied);
  CHECK(x0(f, 0, fw::sdei::kEventUnregister, {0}) == kDenied);
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {0, kHandler, 0, 0, 0}) == 0);
  CHECK(status(f, 0, 0) == 1);  // r e G
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {0, kHandler, 0, 0, 0}) == kDenied);
  CHECK(x0(f, 0, fw::sdei::kEventDisable, {0}) == 0);  // ok, no change
  CHECK(x0(f, 0, fw::sdei::kEventEnable, {0}) == 0);
  CHECK(status(f, 0, 0) == 3);                            // r E G
  CHECK(x0(f, 0, fw::sdei::kEventEnable, {0}) == 0);      // idempotent
  CHECK(x0(f, 0, fw::sdei::kEventUnregister, {0}) == 0);  // also disables
  CHECK(status(f, 0, 0) == 0);
  CHECK(x0(f, 0, fw::sdei::kEventStatus, {7}) == kInvalid);  // unknown event
}

TEST_CASE("SDEI_EVENT_REGISTER rejects a zero entry point, unknown flags, relative mode and RM_PE without a PE") {
  fw::Firmware f(config(2));
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {0, 0, 0, 0, 0}) == kInvalid);
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {0, kHandler, 0, 2, 0}) == kInvalid);  // relative
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {0, kHandler, 0, 4, 0}) == kInvalid);
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {0, kHandler, 0, 1, 9}) == kInvalid);  // RM_PE, no vCPU 9
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {2, kHandler, 0, 1, 5}) == kInvalid);  // no vCPU 5
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {2, kHandler, 0, 1, 1}) == 0);
  CHECK(x0(f, 0, fw::sdei::kEventGetInfo, {2, 3}) == 1);  // EV_ROUTING_MODE = RM_PE
  CHECK(x0(f, 0, fw::sdei::kEventGetInfo, {2, 4}) == 1);  // EV_ROUTING_AFF
  CHECK(status(f, 1, 2) == 1);                            // shared: one instance for all PEs
}

TEST_CASE("SDEI_EVENT_GET_INFO selectors (DEN0054C)") {
  fw::Firmware f(config(1));
  CHECK(x0(f, 0, fw::sdei::kEventGetInfo, {0, 0}) == 0);  // private
  CHECK(x0(f, 0, fw::sdei::kEventGetInfo, {2, 0}) == 1);  // shared
  CHECK(x0(f, 0, fw::sdei::kEventGetInfo, {0, 1}) == 1);  // signalable
  CHECK(x0(f, 0, fw::sdei::kEventGetInfo, {2, 1}) == 0);
  CHECK(x0(f, 0, fw::sdei::kEventGetInfo, {1, 2}) == 1);         // critical
  CHECK(x0(f, 0, fw::sdei::kEventGetInfo, {0, 3}) == kInvalid);  // routing of a private event
  CHECK(x0(f, 0, fw::sdei::kEventGetInfo, {2, 3}) == kDenied);   // shared, not registered
  CHECK(x0(f, 0, fw::sdei::kEventGetInfo, {0, 5}) == kInvalid);
}

TEST_CASE("SDEI dispatch (DEN0054C): only when registered, enabled, pending and the PE unmasked") {
  fw::Firmware f(config(1));
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {0, kHandler, 0xA5, 0, 0}) == 0);
  CHECK(x0(f, 0, fw::sdei::kEventEnable, {0}) == 0);
  // The PE starts masked: SIGNAL to it is INVALID_PARAMETERS and nothing pends.
  CHECK(x0(f, 0, fw::sdei::kEventSignal, {0, 0}) == kInvalid);
  CHECK(x0(f, 0, fw::sdei::kPeUnmask) == 0);
  CHECK(x0(f, 0, fw::sdei::kEventSignal, {0, 0}) == 0);
  CHECK(f.sdei_deliverable(0));
  CHECK(x0(f, 0, fw::sdei::kPeMask) == 1);  // changed
  CHECK(x0(f, 0, fw::sdei::kPeMask) == 0);  // already masked
  CHECK_FALSE(f.sdei_deliverable(0));       // stays pending while masked
  CHECK(x0(f, 0, fw::sdei::kPeUnmask) == 0);
  const auto entry = f.sdei_begin_dispatch(0, context_with(0x4000'2000));
  REQUIRE(entry);
  CHECK(entry->event == 0);
  CHECK(entry->arg == 0xA5);
  CHECK(entry->entry == kHandler);
  CHECK(status(f, 0, 0) == 7);  // R E G
  CHECK_FALSE(f.sdei_deliverable(0));
}

TEST_CASE("SDEI_EVENT_CONTEXT and COMPLETE (DEN0054C): topmost saved registers, then resume") {
  fw::Firmware f(config(1));
  CHECK(x0(f, 0, fw::sdei::kEventContext, {0}) == kDenied);  // no handler running
  CHECK(x0(f, 0, fw::sdei::kEventComplete, {0}) == kDenied);
  arm(f, 0, 0);
  REQUIRE(x0(f, 0, fw::sdei::kEventSignal, {0, 0}) == 0);
  REQUIRE(f.sdei_begin_dispatch(0, context_with(0x4000'2000)));
  CHECK(x0(f, 0, fw::sdei::kEventContext, {0}) == 0x1000);
  CHECK(x0(f, 0, fw::sdei::kEventContext, {17}) == 0x1011);
  CHECK(x0(f, 0, fw::sdei::kEventContext, {18}) == kInvalid);
  const fw::SmcccResult done = call(f, 0, fw::sdei::kEventComplete, {0});
  CHECK(done.request.kind == fw::RequestKind::SdeiComplete);
  CHECK(done.count == 0);  // nothing written back: core restores the context instead
  CHECK(f.sdei_resume(0).pc == 0x4000'2000);
  CHECK(f.sdei_resume(0).x[5] == 0x1005);
  CHECK(status(f, 0, 0) == 3);
  // COMPLETE_AND_RESUME to an address outside RAM is refused and the handler stays running.
  REQUIRE(x0(f, 0, fw::sdei::kEventSignal, {0, 0}) == 0);
  REQUIRE(f.sdei_begin_dispatch(0, context_with(0x4000'3000)));
  CHECK(x0(f, 0, fw::sdei::kEventCompleteAndResume, {0x10}) == kDenied);
  const fw::SmcccResult resumed = call(f, 0, fw::sdei::kEventCompleteAndResume, {kRam + 0x280});
  CHECK(resumed.request.kind == fw::RequestKind::SdeiCompleteAndResume);
  CHECK(resumed.request.entry == kRam + 0x280);
}

TEST_CASE("SDEI priority (DEN0054C): critical preempts normal, nothing preempts critical") {
  fw::Firmware f(config(1));
  arm(f, 0, 0);
  REQUIRE(x0(f, 0, fw::sdei::kEventRegister, {1, kHandler + 0x100, 0, 0, 0}) == 0);
  REQUIRE(x0(f, 0, fw::sdei::kEventEnable, {1}) == 0);
  REQUIRE(x0(f, 0, fw::sdei::kEventSignal, {0, 0}) == 0);
  REQUIRE(x0(f, 0, fw::sdei::kEventSignal, {1, 0}) == 0);
  // Both pending: the critical one goes first; then nothing nests inside it.
  auto first = f.sdei_begin_dispatch(0, context_with(0x4000'2000));
  REQUIRE(first);
  CHECK(first->event == 1);
  CHECK_FALSE(f.sdei_deliverable(0));
  REQUIRE(call(f, 0, fw::sdei::kEventComplete, {0}).request.kind == fw::RequestKind::SdeiComplete);
  auto second = f.sdei_begin_dispatch(0, context_with(0x4000'2000));
  REQUIRE(second);
  CHECK(second->event == 0);
  // Inside the normal handler: another normal event waits, a critical one nests.
  REQUIRE(x0(f, 0, fw::sdei::kEventSignal, {1, 0}) == 0);
  CHECK(f.sdei_deliverable(0));
  REQUIRE(f.sdei_begin_dispatch(0, context_with(0x4000'4000)));
  CHECK(x0(f, 0, fw::sdei::kEventContext, {0}) == 0x1000);
  CHECK(f.sdei_vcpu(0).depth == 2);
}

TEST_CASE("SDEI_EVENT_UNREGISTER of a running event is PENDING and completes with the handler") {
  fw::Firmware f(config(1));
  arm(f, 0, 0);
  REQUIRE(x0(f, 0, fw::sdei::kEventSignal, {0, 0}) == 0);
  REQUIRE(f.sdei_begin_dispatch(0, context_with(0x4000'2000)));
  CHECK(x0(f, 0, fw::sdei::kEventUnregister, {0}) == kPending);
  CHECK(status(f, 0, 0) == 4);  // R e g: handler-unregister-pending
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {0, kHandler, 0, 0, 0}) == kDenied);
  CHECK(x0(f, 0, fw::sdei::kPrivateReset) == kDenied);
  REQUIRE(call(f, 0, fw::sdei::kEventComplete, {0}).request.kind == fw::RequestKind::SdeiComplete);
  CHECK(status(f, 0, 0) == 0);
}

TEST_CASE("SDEI private events are per PE, SIGNAL targets another PE by affinity (DEN0054C)") {
  fw::Firmware f(config(2));
  power_on(f, 1);
  arm(f, 1, 0);
  CHECK(status(f, 0, 0) == 0);
  CHECK(status(f, 1, 0) == 3);
  CHECK(x0(f, 0, fw::sdei::kEventSignal, {0, 1}) == 0);
  CHECK(x0(f, 0, fw::sdei::kEventSignal, {0, 0x8000'0001}) == 0);  // MPIDR_EL1 as read (bit 31 RES1)
  CHECK(x0(f, 0, fw::sdei::kEventSignal, {0, 2}) == kInvalid);     // no vCPU 2
  CHECK(x0(f, 0, fw::sdei::kEventSignal, {2, 1}) == kInvalid);     // not signalable
  CHECK_FALSE(f.sdei_deliverable(0));
  CHECK(f.sdei_deliverable(1));
}

TEST_CASE("SDEI shared RM_ANY events go to the lowest-numbered unmasked PE, ROUTING_SET rules") {
  fw::Firmware f(config(2));
  power_on(f, 1);
  REQUIRE(x0(f, 0, fw::sdei::kEventRegister, {2, kHandler, 0, 0, 0}) == 0);
  CHECK(x0(f, 0, fw::sdei::kEventRoutingSet, {0, 0, 0}) == kInvalid);  // private
  CHECK(x0(f, 0, fw::sdei::kEventRoutingSet, {2, 2, 0}) == kInvalid);  // bad mode
  CHECK(x0(f, 0, fw::sdei::kEventRoutingSet, {2, 1, 1}) == 0);
  CHECK(x0(f, 0, fw::sdei::kEventRoutingSet, {2, 0, 0}) == 0);
  REQUIRE(x0(f, 0, fw::sdei::kEventEnable, {2}) == 0);
  CHECK(x0(f, 0, fw::sdei::kEventRoutingSet, {2, 0, 0}) == kDenied);  // enabled
  CHECK(f.sdei_signal(2, 0) == fw::HostStatus::Ok);
  CHECK_FALSE(f.sdei_deliverable(0));  // both PEs masked
  CHECK(x0(f, 1, fw::sdei::kPeUnmask) == 0);
  CHECK_FALSE(f.sdei_deliverable(0));
  CHECK(f.sdei_deliverable(1));
  CHECK(x0(f, 0, fw::sdei::kPeUnmask) == 0);
  CHECK(f.sdei_deliverable(0));
  CHECK_FALSE(f.sdei_deliverable(1));
}

TEST_CASE("SDEI host signal: unknown event or vCPU is Invalid, an event not armed is dropped (Busy)") {
  fw::Firmware f(config(1));
  CHECK(f.sdei_signal(9, 0) == fw::HostStatus::Invalid);
  CHECK(f.sdei_signal(0, 1) == fw::HostStatus::Invalid);
  CHECK(f.sdei_signal(2, 0) == fw::HostStatus::Busy);
  CHECK_FALSE(f.sdei_any_pending());
}

TEST_CASE("SDEI lifecycle: CPU_ON masks the PE and keeps registrations, system reset clears all") {
  fw::Firmware f(config(1));
  arm(f, 0, 0);
  REQUIRE(x0(f, 0, fw::sdei::kEventSignal, {0, 0}) == 0);
  REQUIRE(f.sdei_begin_dispatch(0, context_with(0x4000'2000)));
  f.vcpu_powered_on(0);
  CHECK(f.sdei_vcpu(0).masked);
  CHECK(f.sdei_vcpu(0).depth == 0);
  CHECK(status(f, 0, 0) == 3);  // still registered and enabled; the handler is over
  f.system_reset();
  CHECK(status(f, 0, 0) == 0);
}

TEST_CASE("SDEI FEATURES, INTERRUPT_BIND and RELEASE without an interrupt controller: no bind slots") {
  fw::Firmware f(config(1));
  CHECK(x0(f, 0, fw::sdei::kFeatures, {0}) == 0);
  CHECK(x0(f, 0, fw::sdei::kFeatures, {1}) == kInvalid);
  CHECK(x0(f, 0, fw::sdei::kInterruptBind, {40}) == neg(-10));
  CHECK(x0(f, 0, fw::sdei::kInterruptRelease, {0}) == kInvalid);
}

TEST_CASE("SDEI event declarations: event 0 is built in, numbers are unique and below 2^31") {
  CHECK_THROWS_AS(fw::Firmware(with_events({{.number = 0}})), fw::ConfigError);
  CHECK_THROWS_AS(fw::Firmware(with_events({{.number = 3}, {.number = 3}})), fw::ConfigError);
  CHECK_THROWS_AS(fw::Firmware(with_events({{.number = 0x8000'0000u}})), fw::ConfigError);
}

TEST_CASE("SDEI state survives a firmware save and load, mid-handler") {
  fw::Firmware f(config(2));
  arm(f, 0, 0);
  REQUIRE(x0(f, 0, fw::sdei::kEventSignal, {0, 0}) == 0);
  REQUIRE(f.sdei_begin_dispatch(0, context_with(0x4000'2000)));
  REQUIRE(x0(f, 0, fw::sdei::kEventRegister, {2, kHandler, 0, 1, 1}) == 0);
  fw::StateWriter out;
  f.save(out);
  fw::Firmware g(config(2));
  fw::StateReader in(out.data());
  g.load(in);
  CHECK(status(g, 0, 0) == 7);
  CHECK(x0(g, 0, fw::sdei::kEventContext, {3}) == 0x1003);
  CHECK(x0(g, 0, fw::sdei::kEventGetInfo, {2, 4}) == 1);
  // A firmware with other events refuses the state.
  fw::Firmware other(fw::FirmwareConfig{.vcpu_count = 2, .ram_base = kRam, .ram_size = 1u << 20});
  fw::StateReader again(out.data());
  CHECK_THROWS_AS(other.load(again), fw::StateError);
}
