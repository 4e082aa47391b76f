// The EL1 generic timers' register rules (Arm ARM DDI 0487 D11.2.4, D19.11 CNTV_CTL_EL0,
// CNTV_CVAL_EL0, CNTV_TVAL_EL0), with the counter passed in as virtual time would give it.
#include <doctest/doctest.h>

#include "core/generic_timer.h"

namespace emu::core {
namespace {
using Kind = GenericTimer::Kind;
constexpr auto kV = Kind::Virtual;
constexpr auto kP = Kind::Physical;
}  // namespace

TEST_CASE("timer: out of reset both timers are disabled with CVAL 0 and their outputs low") {
  GenericTimer t;
  for (const Kind k : {kV, kP}) {
    CHECK(t.ctl(k, 1000) == 0);  // ENABLE 0: ISTATUS reads 0 even though CVAL <= counter
    CHECK(t.cval(k) == 0);
    CHECK_FALSE(t.line(k, 1000));
  }
  CHECK_FALSE(t.next_edge(0).has_value());
}

TEST_CASE("timer: ISTATUS is set once the counter reaches CVAL, and only CTL.ENABLE and IMASK are writable") {
  GenericTimer t;
  t.set_cval(kV, 500);
  t.set_ctl(kV, ~std::uint64_t{0});
  CHECK(t.ctl(kV, 499) == (GenericTimer::kEnable | GenericTimer::kImask));
  CHECK(t.ctl(kV, 500) == (GenericTimer::kEnable | GenericTimer::kImask | GenericTimer::kIstatus));
  CHECK(t.ctl(kP, 500) == 0);  // the other timer is separate
}

TEST_CASE("timer: the output is ENABLE and not IMASK and ISTATUS") {
  GenericTimer t;
  t.set_cval(kP, 100);
  t.set_ctl(kP, GenericTimer::kEnable);
  CHECK_FALSE(t.line(kP, 99));
  CHECK(t.line(kP, 100));
  t.set_ctl(kP, GenericTimer::kEnable | GenericTimer::kImask);
  CHECK_FALSE(t.line(kP, 100));  // masked: ISTATUS still 1
  CHECK((t.ctl(kP, 100) & GenericTimer::kIstatus) != 0);
  t.set_ctl(kP, 0);
  CHECK_FALSE(t.line(kP, 100));
}

TEST_CASE("timer: TVAL is CVAL minus the counter as 32 bits, negative after expiry") {
  GenericTimer t;
  t.set_cval(kV, 1000);
  CHECK(t.tval(kV, 400) == 600);
  CHECK(t.tval(kV, 1010) == 0xFFFF'FFF6u);  // -10 as a signed 32-bit value, upper bits 0
  CHECK(t.tval(kV, 1000 + (1ull << 32) + 5) == 0xFFFF'FFFBu);
}

TEST_CASE("timer: a TVAL write sets CVAL to the counter plus TVAL sign-extended from 32 bits") {
  GenericTimer t;
  t.set_tval(kV, 250, 10'000);
  CHECK(t.cval(kV) == 10'250);
  t.set_tval(kV, 0xFFFF'FF00u, 10'000);  // -256
  CHECK(t.cval(kV) == 10'000 - 256);
  t.set_tval(kV, 0xABCD'0000'0000'0010ull, 10'000);  // bits 63:32 are ignored
  CHECK(t.cval(kV) == 10'016);
}

TEST_CASE("timer: the next edge is the earliest future CVAL of an enabled, unmasked timer") {
  GenericTimer t;
  t.set_cval(kV, 900);
  t.set_cval(kP, 700);
  t.set_ctl(kV, GenericTimer::kEnable);
  CHECK(t.next_edge(0) == 900);
  t.set_ctl(kP, GenericTimer::kEnable | GenericTimer::kImask);  // masked: no edge
  CHECK(t.next_edge(0) == 900);
  t.set_ctl(kP, GenericTimer::kEnable);
  CHECK(t.next_edge(0) == 700);
  CHECK(t.next_edge(700) == 900);  // already high at 700: not an edge any more
  CHECK_FALSE(t.next_edge(900).has_value());
}

TEST_CASE("timer: state survives save and load, and a CTL with reserved bits is refused") {
  GenericTimer t;
  t.set_cval(kV, 0x1234);
  t.set_ctl(kV, GenericTimer::kEnable);
  t.set_cval(kP, 0x5678);
  t.set_ctl(kP, GenericTimer::kImask);
  fw::StateWriter out;
  t.save(out);
  GenericTimer u;
  fw::StateReader in(out.data());
  u.load(in);
  CHECK(in.at_end());
  CHECK(u.ctl(kV, 0) == t.ctl(kV, 0));
  CHECK(u.cval(kV) == 0x1234);
  CHECK(u.ctl(kP, 0) == GenericTimer::kImask);
  CHECK(u.cval(kP) == 0x5678);

  std::vector<std::uint8_t> bad = out.data();
  bad[0] = 0x04;  // ISTATUS is not state
  fw::StateReader corrupt(bad);
  CHECK_THROWS_AS(u.load(corrupt), fw::StateError);
}

}  // namespace emu::core
