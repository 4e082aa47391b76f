// SDEI bind slots (DEN0054C SDEI_INTERRUPT_BIND / SDEI_INTERRUPT_RELEASE, with TF-A's
// dispatcher as the reference for what the specification leaves to the implementation)
// through the firmware alone, against a fake interrupt controller that records what the
// firmware asks of it. The GIC's side is in tests/core/gicv3_test.cpp, the whole path with a
// timer-bound event in the sdei-bind guest (tests/system/sdei_test.cpp).
#include <doctest/doctest.h>

#include <map>
#include <utility>

#include "firmware/firmware.h"
#include "tests/firmware/call.h"

using namespace emu;
using test::neg;

namespace {

constexpr std::uint64_t kRam = 0x4000'0000;
constexpr std::uint64_t kHandler = kRam + 0x1000;
constexpr std::uint64_t kInvalid = neg(-2);
constexpr std::uint64_t kDenied = neg(-3);
constexpr std::uint64_t kOutOfResource = neg(-10);
constexpr std::uint64_t kPrivateSlot = 1000;
constexpr std::uint64_t kSharedSlot = 2000;

// INTIDs as a GICv3 with 224 SPIs has them; what the firmware did to each is kept per
// (vCPU, INTID), SPIs under vCPU 0.
class FakeInterrupts final : public fw::InterruptController {
 public:
  struct Line {
    bool owned = false;
    bool enabled = false;
    bool active = false;
    bool high = false;
    int claims = 0;
  };
  Line& at(unsigned vcpu, std::uint32_t intid) { return lines_[{intid < 32 ? vcpu : 0, intid}]; }

  Kind kind(std::uint32_t intid) const override {
    if (intid < 16) return Kind::Sgi;
    if (intid < 32) return Kind::Ppi;
    return intid < 256 ? Kind::Spi : Kind::None;
  }
  void claim(unsigned vcpu, std::uint32_t intid, bool firmware) override {
    Line& l = at(vcpu, intid);
    l.owned = firmware;
    l.enabled = false;
    ++l.claims;
  }
  void enable(unsigned vcpu, std::uint32_t intid, bool on) override { at(vcpu, intid).enabled = on; }
  bool active(unsigned vcpu, std::uint32_t intid) const override { return get(vcpu, intid).active; }
  bool triggered(unsigned vcpu, std::uint32_t intid) const override {
    const Line l = get(vcpu, intid);
    return l.owned && l.enabled && !l.active && l.high;
  }
  void acknowledge(unsigned vcpu, std::uint32_t intid) override { at(vcpu, intid).active = true; }
  void deactivate(unsigned vcpu, std::uint32_t intid) override { at(vcpu, intid).active = false; }

 private:
  Line get(unsigned vcpu, std::uint32_t intid) const {
    const auto it = lines_.find({intid < 32 ? vcpu : 0, intid});
    return it == lines_.end() ? Line{} : it->second;
  }
  std::map<std::pair<unsigned, std::uint32_t>, Line> lines_;
};

fw::FirmwareConfig config(unsigned vcpus, FakeInterrupts& ic) {
  return {.vcpu_count = vcpus, .ram_base = kRam, .ram_size = 1u << 20, .platform = {.interrupts = &ic}};
}
std::uint64_t x0(fw::Firmware& f, unsigned vcpu, std::uint64_t fid, std::initializer_list<std::uint64_t> args = {}) {
  return test::call_from(f, vcpu, fid, args).x[0];
}
std::uint64_t status(fw::Firmware& f, unsigned vcpu, std::uint64_t event) {
  return x0(f, vcpu, fw::sdei::kEventStatus, {event});
}
void arm(fw::Firmware& f, unsigned vcpu, std::uint64_t event, std::uint64_t flags = 0, std::uint64_t affinity = 0) {
  REQUIRE(x0(f, vcpu, fw::sdei::kEventRegister, {event, kHandler, 0x5A, flags, affinity}) == 0);
  REQUIRE(x0(f, vcpu, fw::sdei::kEventEnable, {event}) == 0);
  REQUIRE(x0(f, vcpu, fw::sdei::kPeUnmask) == 0);
}
void power_on(fw::Firmware& f, unsigned vcpu) {
  REQUIRE(x0(f, 0, 0xC400'0003, {vcpu, kRam, 0}) == 0);  // CPU_ON64
  f.vcpu_powered_on(vcpu);
}
fw::SdeiContext context_at(std::uint64_t pc) {
  fw::SdeiContext c;
  c.pc = pc;
  c.pstate = 0x3C5;
  return c;
}

}  // namespace

TEST_CASE("SDEI_FEATURES(BIND_SLOTS) counts private slots in [15:0] and shared ones in [31:16]") {
  FakeInterrupts ic;
  fw::Firmware f(config(1, ic));
  CHECK(x0(f, 0, fw::sdei::kFeatures, {0}) == 0x0003'0003);
  CHECK(x0(f, 0, fw::sdei::kFeatures, {1}) == kInvalid);  // RELATIVE_MODE: not supported
}

TEST_CASE("SDEI_INTERRUPT_BIND: PPIs take private slots, SPIs shared ones, SGIs and missing INTIDs are refused") {
  FakeInterrupts ic;
  fw::Firmware f(config(1, ic));
  for (const std::uint64_t intid : {0ull, 8ull, 15ull, 256ull, 1023ull, 0x1'0000'001Eull}) {
    CAPTURE(intid);
    CHECK(x0(f, 0, fw::sdei::kInterruptBind, {intid}) == kInvalid);
  }
  CHECK(x0(f, 0, fw::sdei::kInterruptBind, {30}) == kPrivateSlot);
  CHECK(x0(f, 0, fw::sdei::kInterruptBind, {30}) == kPrivateSlot);  // bound already: the same event
  CHECK(x0(f, 0, fw::sdei::kInterruptBind, {27}) == kPrivateSlot + 1);
  CHECK(x0(f, 0, fw::sdei::kInterruptBind, {26}) == kPrivateSlot + 2);
  CHECK(x0(f, 0, fw::sdei::kInterruptBind, {25}) == kOutOfResource);
  CHECK(x0(f, 0, fw::sdei::kInterruptBind, {33}) == kSharedSlot);
  CHECK(x0(f, 0, fw::sdei::kInterruptBind, {255}) == kSharedSlot + 1);
  // Binding alone hands nothing over (TF-A defers it to REGISTER).
  CHECK(ic.at(0, 30).claims == 0);
  // A slot is normal priority, never signalable; its type follows the interrupt.
  CHECK(x0(f, 0, fw::sdei::kEventGetInfo, {kPrivateSlot, 0}) == 0);
  CHECK(x0(f, 0, fw::sdei::kEventGetInfo, {kSharedSlot, 0}) == 1);
  CHECK(x0(f, 0, fw::sdei::kEventGetInfo, {kPrivateSlot, 1}) == 0);
  CHECK(x0(f, 0, fw::sdei::kEventGetInfo, {kPrivateSlot, 2}) == 0);
  CHECK(x0(f, 0, fw::sdei::kEventSignal, {kPrivateSlot, 0}) == kInvalid);
  CHECK(f.sdei_signal(kPrivateSlot, 0) == fw::HostStatus::Invalid);  // its interrupt triggers it
}

TEST_CASE("SDEI_EVENT_REGISTER of a slot: DENIED while unbound or while the guest has the interrupt active") {
  FakeInterrupts ic;
  fw::Firmware f(config(1, ic));
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {kPrivateSlot, kHandler, 0, 0, 0}) == kDenied);
  REQUIRE(x0(f, 0, fw::sdei::kInterruptBind, {30}) == kPrivateSlot);
  ic.at(0, 30).active = true;
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {kPrivateSlot, kHandler, 0, 0, 0}) == kDenied);
  CHECK(ic.at(0, 30).claims == 0);
  ic.at(0, 30).active = false;
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {kPrivateSlot, kHandler, 0, 0, 0}) == 0);
  CHECK(ic.at(0, 30).owned);
  CHECK_FALSE(ic.at(0, 30).enabled);
  CHECK(x0(f, 0, fw::sdei::kEventEnable, {kPrivateSlot}) == 0);
  CHECK(ic.at(0, 30).enabled);
  CHECK(x0(f, 0, fw::sdei::kEventDisable, {kPrivateSlot}) == 0);
  CHECK_FALSE(ic.at(0, 30).enabled);
  CHECK(x0(f, 0, fw::sdei::kEventUnregister, {kPrivateSlot}) == 0);
  CHECK_FALSE(ic.at(0, 30).owned);  // given back to the guest
  CHECK(ic.at(0, 30).claims == 2);
}

TEST_CASE("SDEI_EVENT_REGISTER: an entry point outside RAM is INVALID_PARAMETERS, RM_PE needs a PE that exists") {
  FakeInterrupts ic;
  fw::Firmware f(config(2, ic));
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {0, kRam - 4, 0, 0, 0}) == kInvalid);
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {0, kRam + (1u << 20), 0, 0, 0}) == kInvalid);
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {0, kHandler, 0, 1, 5}) == kInvalid);  // no vCPU 5
  // A private event targets the caller whatever the mode: RM_PE with a real PE is accepted, as
  // TF-A accepts it (Trusted Firmware-A Tests register event 0 so).
  CHECK(x0(f, 0, fw::sdei::kEventRegister, {0, kHandler, 0, 1, 0}) == 0);
  CHECK(x0(f, 0, fw::sdei::kEventGetInfo, {0, 3}) == kInvalid);  // ROUTING_MODE: shared events only
}

TEST_CASE("SDEI bound PPI: triggers through the interrupt, acknowledged at dispatch, deactivated at COMPLETE") {
  FakeInterrupts ic;
  fw::Firmware f(config(2, ic));
  power_on(f, 1);
  REQUIRE(x0(f, 0, fw::sdei::kInterruptBind, {30}) == kPrivateSlot);
  arm(f, 0, kPrivateSlot);
  CHECK_FALSE(f.sdei_any_pending());
  ic.at(1, 30).high = true;  // vCPU 1 has not registered: its PPI is still the guest's
  CHECK_FALSE(f.sdei_any_pending());
  ic.at(0, 30).high = true;
  CHECK(f.sdei_any_pending());
  CHECK(f.sdei_deliverable(0));
  CHECK_FALSE(f.sdei_deliverable(1));
  const std::optional<fw::SdeiEntry> entry = f.sdei_begin_dispatch(0, context_at(0x4000'2000));
  REQUIRE(entry);
  CHECK(entry->event == kPrivateSlot);
  CHECK(entry->arg == 0x5A);
  CHECK(entry->entry == kHandler);
  CHECK(ic.at(0, 30).active);
  CHECK(status(f, 0, kPrivateSlot) == 7);  // registered, enabled, running
  CHECK_FALSE(f.sdei_deliverable(0));      // active: not again until COMPLETE
  // RELEASE is refused while registered (and while the interrupt is active).
  CHECK(x0(f, 0, fw::sdei::kInterruptRelease, {kPrivateSlot}) == kDenied);
  const fw::SmcccResult done = test::call_from(f, 0, fw::sdei::kEventComplete, {0});
  CHECK(done.request.kind == fw::RequestKind::SdeiComplete);
  CHECK_FALSE(ic.at(0, 30).active);
  CHECK(f.sdei_deliverable(0));  // a level still high triggers it again
  ic.at(0, 30).high = false;
  CHECK_FALSE(f.sdei_any_pending());
}

TEST_CASE("SDEI bound interrupt while the PE is masked or the event disabled: it waits in the interrupt controller") {
  FakeInterrupts ic;
  fw::Firmware f(config(1, ic));
  REQUIRE(x0(f, 0, fw::sdei::kInterruptBind, {27}) == kPrivateSlot);
  arm(f, 0, kPrivateSlot);
  REQUIRE(x0(f, 0, fw::sdei::kPeMask) == 1);
  ic.at(0, 27).high = true;
  CHECK_FALSE(f.sdei_deliverable(0));
  CHECK(status(f, 0, kPrivateSlot) == 3);
  REQUIRE(x0(f, 0, fw::sdei::kPeUnmask) == 0);
  CHECK(f.sdei_deliverable(0));
  REQUIRE(x0(f, 0, fw::sdei::kEventDisable, {kPrivateSlot}) == 0);
  CHECK_FALSE(f.sdei_deliverable(0));
  CHECK_FALSE(ic.active(0, 27));  // nothing was acknowledged meanwhile
}

TEST_CASE("SDEI bound SPI: shared, routed by SDEI (RM_PE to vCPU 1), RELEASE once unregistered") {
  FakeInterrupts ic;
  fw::Firmware f(config(2, ic));
  power_on(f, 1);
  REQUIRE(x0(f, 0, fw::sdei::kInterruptBind, {40}) == kSharedSlot);
  REQUIRE(x0(f, 0, fw::sdei::kEventRegister, {kSharedSlot, kHandler, 0, 1, 1}) == 0);
  REQUIRE(x0(f, 0, fw::sdei::kEventEnable, {kSharedSlot}) == 0);
  REQUIRE(x0(f, 0, fw::sdei::kPeUnmask) == 0);
  REQUIRE(x0(f, 1, fw::sdei::kPeUnmask) == 0);
  ic.at(0, 40).high = true;
  CHECK_FALSE(f.sdei_deliverable(0));
  CHECK(f.sdei_deliverable(1));
  REQUIRE(f.sdei_begin_dispatch(1, context_at(0x4000'3000)));
  CHECK(test::call_from(f, 1, fw::sdei::kEventComplete, {0}).request.kind == fw::RequestKind::SdeiComplete);
  CHECK(x0(f, 0, fw::sdei::kInterruptRelease, {kSharedSlot}) == kDenied);  // still registered
  REQUIRE(x0(f, 0, fw::sdei::kEventUnregister, {kSharedSlot}) == 0);
  CHECK_FALSE(ic.at(0, 40).owned);
  CHECK(x0(f, 0, fw::sdei::kInterruptRelease, {kSharedSlot}) == 0);
  CHECK(x0(f, 0, fw::sdei::kInterruptRelease, {kSharedSlot}) == kInvalid);  // not bound any more
  CHECK(x0(f, 0, fw::sdei::kInterruptRelease, {0}) == kInvalid);            // not a slot
  CHECK(x0(f, 0, fw::sdei::kInterruptBind, {41}) == kSharedSlot);           // the slot is free again
}

TEST_CASE("SDEI_SHARED_RESET frees every slot, DENIED while a PE still has a private slot registered") {
  FakeInterrupts ic;
  fw::Firmware f(config(1, ic));
  REQUIRE(x0(f, 0, fw::sdei::kInterruptBind, {30}) == kPrivateSlot);
  REQUIRE(x0(f, 0, fw::sdei::kInterruptBind, {33}) == kSharedSlot);
  REQUIRE(x0(f, 0, fw::sdei::kEventRegister, {kPrivateSlot, kHandler, 0, 0, 0}) == 0);
  REQUIRE(x0(f, 0, fw::sdei::kEventRegister, {kSharedSlot, kHandler, 0, 0, 0}) == 0);
  CHECK(x0(f, 0, fw::sdei::kSharedReset) == kDenied);
  CHECK_FALSE(ic.at(0, 33).owned);  // the shared event was unregistered all the same
  CHECK(status(f, 0, kSharedSlot) == 0);
  CHECK(x0(f, 0, fw::sdei::kPrivateReset) == 0);
  CHECK_FALSE(ic.at(0, 30).owned);
  CHECK(x0(f, 0, fw::sdei::kSharedReset) == 0);
  CHECK(x0(f, 0, fw::sdei::kInterruptRelease, {kPrivateSlot}) == kInvalid);  // freed by the reset
  CHECK(x0(f, 0, fw::sdei::kInterruptBind, {31}) == kPrivateSlot);
}

TEST_CASE("SDEI bind slots: numbers the firmware keeps, saved and loaded with the bindings") {
  FakeInterrupts ic;
  // Not designated initializers: GCC 12 at -O3 warns (-Wmaybe-uninitialized, a false positive)
  // about the default SoC name string of a FirmwareConfig built that way and destroyed on the
  // throwing path of CHECK_THROWS_AS.
  fw::FirmwareConfig slot_taken;
  slot_taken.platform.interrupts = &ic;
  slot_taken.sdei_events = {{.number = 1000}};
  fw::FirmwareConfig no_controller;
  no_controller.sdei_events = {{.number = 1000}};
  CHECK_THROWS_AS(fw::Firmware{slot_taken}, fw::ConfigError);
  CHECK_NOTHROW(fw::Firmware{no_controller});  // no controller: no slots
  fw::Firmware f(config(1, ic));
  REQUIRE(x0(f, 0, fw::sdei::kInterruptBind, {29}) == kPrivateSlot);
  REQUIRE(x0(f, 0, fw::sdei::kInterruptBind, {50}) == kSharedSlot);
  fw::StateWriter out;
  f.save(out);
  fw::Firmware g(config(1, ic));
  fw::StateReader in(out.data());
  g.load(in);
  CHECK(x0(g, 0, fw::sdei::kInterruptBind, {50}) == kSharedSlot);
  CHECK(x0(g, 0, fw::sdei::kInterruptBind, {29}) == kPrivateSlot);
  CHECK(x0(g, 0, fw::sdei::kInterruptBind, {28}) == kPrivateSlot + 1);
  fw::Firmware without(fw::FirmwareConfig{.vcpu_count = 1, .ram_base = kRam, .ram_size = 1u << 20});
  fw::StateReader again(out.data());
  CHECK_THROWS_AS(without.load(again), fw::StateError);  // another set of events
}
