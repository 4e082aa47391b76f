// Firmware fault injection (smccc-emu's own): a rule makes chosen calls of a function answer an
// error its specification lists (DEN0098 §2.1 for TRNG, DEN0022 §5 for PSCI, DEN0054C §5 for
// SDEI), without running the function; anything else is refused when the VM is built.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "firmware/psci.h"
#include "firmware/sdei.h"
#include "firmware/trng.h"
#include "tests/firmware/call.h"
#include "tests/firmware/fake_platform.h"

using namespace emu;
using emu::test::FakePlatform;
using emu::test::kNotSupported;
using emu::test::neg;
using fw::FaultRule;

namespace {
fw::FirmwareConfig with_faults(FakePlatform& p, std::vector<FaultRule> rules, unsigned vcpus = 1,
                               std::uint64_t seed = 0) {
  fw::FirmwareConfig c = p.config(vcpus);
  c.faults = std::move(rules);
  c.fault_seed = seed;
  return c;
}
fw::SmcccResult call(fw::Firmware& f, std::uint64_t fid, std::initializer_list<std::uint64_t> args = {}) {
  return test::dispatch(f, fid, args);
}
// Which of `calls` TRNG_RND64 calls answered an error, as a string of 0 and 1.
std::string rnd_pattern(fw::Firmware& f, int calls) {
  std::string s;
  for (int i = 0; i < calls; ++i) s += call(f, fw::trng::kRnd64, {64}).x[0] == 0 ? '0' : '1';
  return s;
}
}  // namespace

TEST_CASE("Fault injection: the errors each specification lists, by name") {
  CHECK(fw::spec_error_code(fw::trng::kRnd64, "NO_ENTROPY") == -3);
  CHECK(fw::spec_error_code(fw::trng::kRnd32, "INVALID_PARAMETERS") == -2);
  CHECK(fw::spec_error_code(fw::psci::kCpuOn, "ALREADY_ON") == -4);
  CHECK(fw::spec_error_code(fw::psci::kCpuOn64, "INTERNAL_FAILURE") == -6);
  CHECK(fw::spec_error_code(fw::psci::kCpuOff, "DENIED") == -3);
  CHECK(fw::spec_error_code(fw::sdei::kEventRegister, "DENIED") == -3);
  CHECK(fw::spec_error_code(fw::psci::kSystemOff2, "INVALID_PARAMETERS") == -2);
  CHECK(!fw::spec_error_code(fw::trng::kRnd64, "DENIED"));       // not a TRNG error
  CHECK(!fw::spec_error_code(fw::psci::kCpuOff, "ALREADY_ON"));  // CPU_OFF may only be DENIED
  CHECK(fw::spec_errors(fw::psci::kVersion).empty());            // PSCI_VERSION cannot fail
}

TEST_CASE("Fault injection: a result the function may not return, or a function with none, is refused") {
  FakePlatform p;
  const std::vector<FaultRule> bad[] = {
      {{.fid = fw::trng::kRnd64, .result = -4}},    // no TRNG error -4
      {{.fid = fw::psci::kCpuOff, .result = -4}},   // ALREADY_ON from CPU_OFF
      {{.fid = fw::psci::kVersion, .result = -1}},  // PSCI_VERSION lists none
      {{.fid = 0x8200'0000, .result = -1}},         // an unknown function
      {{.fid = fw::trng::kRnd64, .when = FaultRule::When::Nth, .n = 0, .result = -3}},
      {{.fid = fw::trng::kRnd64, .when = FaultRule::When::Fraction, .n = 101, .result = -3}},
      {{.fid = fw::trng::kRnd64, .when = FaultRule::When::Fraction, .n = 0, .result = -3}},
  };
  for (const auto& rules : bad) {
    CAPTURE(rules[0].fid);
    CAPTURE(rules[0].result);
    CHECK_THROWS_AS(fw::Firmware(with_faults(p, rules)), fw::ConfigError);
  }
}

TEST_CASE("Fault injection @N: only the Nth call of the function answers the error, with x1..x3 zero") {
  FakePlatform p;
  fw::Firmware f(with_faults(p, {{.fid = fw::trng::kRnd64, .when = FaultRule::When::Nth, .n = 2, .result = -3}}));
  CHECK(call(f, fw::trng::kRnd64, {64}).x[0] == 0);
  const std::uint64_t drawn = p.next_word;
  const auto second = call(f, fw::trng::kRnd64, {64});
  CHECK(second.x[0] == neg(-3));
  CHECK(second.x[1] == 0);
  CHECK(second.x[3] == 0);
  CHECK(p.next_word == drawn);  // the function did not run: no entropy was drawn
  CHECK(call(f, fw::trng::kRnd64, {64}).x[0] == 0);
  CHECK(call(f, fw::trng::kRnd32, {32}).x[0] == 0);  // another FID: not counted, not failed
}

TEST_CASE("Fault injection: an injected CPU_ON error has no side effect, and SMC32 sign-extends it") {
  FakePlatform p;
  fw::Firmware f(with_faults(p, {{.fid = fw::psci::kCpuOn, .result = -6}}, 2));
  const auto r = call(f, fw::psci::kCpuOn, {1, FakePlatform::kRamBase, 0});
  CHECK(r.x[0] == neg(-6));  // all 64 bits, though SMC32
  CHECK(r.request.kind == fw::RequestKind::None);
  CHECK(call(f, fw::psci::kAffinityInfo, {1, 0}).x[0] == 1);                     // still OFF
  CHECK(call(f, fw::psci::kCpuOn64, {1, FakePlatform::kRamBase, 0}).x[0] == 0);  // the other form is not named
}

TEST_CASE("Fault injection: calls that are not routed (a hidden service) are not counted") {
  FakePlatform p;
  fw::Firmware f(with_faults(p, {{.fid = fw::trng::kRnd64, .when = FaultRule::When::Nth, .n = 1, .result = -3}}));
  REQUIRE(f.set_fw_reg(fw::fw_reg::kStdBmap, 0) == fw::HostStatus::Ok);
  CHECK(call(f, fw::trng::kRnd64, {64}).x[0] == kNotSupported);
  REQUIRE(f.set_fw_reg(fw::fw_reg::kStdBmap, 1) == fw::HostStatus::Ok);
  CHECK(call(f, fw::trng::kRnd64, {64}).x[0] == neg(-3));  // the first routed call
}

TEST_CASE("Fault injection %P: the same calls fail for the same seed, about P percent of them") {
  FakePlatform p1, p2, p3;
  const std::vector<FaultRule> rule{
      {.fid = fw::trng::kRnd64, .when = FaultRule::When::Fraction, .n = 30, .result = -3}};
  fw::Firmware a(with_faults(p1, rule, 1, 7));
  fw::Firmware b(with_faults(p2, rule, 1, 7));
  fw::Firmware c(with_faults(p3, rule, 1, 8));
  const std::string pa = rnd_pattern(a, 400);
  CHECK(pa == rnd_pattern(b, 400));
  CHECK(pa != rnd_pattern(c, 400));
  const auto failed = std::count(pa.begin(), pa.end(), '1');
  CHECK(failed > 80);  // 30 % of 400 is 120; a binomial spread of ±4 sigma
  CHECK(failed < 160);
}

TEST_CASE("Fault injection: the first rule that fires gives the result, and every rule counts the call") {
  FakePlatform p;
  fw::Firmware f(with_faults(p, {{.fid = fw::trng::kRnd64, .when = FaultRule::When::Nth, .n = 2, .result = -3},
                                 {.fid = fw::trng::kRnd64, .when = FaultRule::When::Nth, .n = 2, .result = -2},
                                 {.fid = fw::trng::kRnd64, .when = FaultRule::When::Nth, .n = 3, .result = -2}}));
  CHECK(rnd_pattern(f, 1) == "0");
  CHECK(call(f, fw::trng::kRnd64, {64}).x[0] == neg(-3));
  CHECK(call(f, fw::trng::kRnd64, {64}).x[0] == neg(-2));
  CHECK(rnd_pattern(f, 3) == "000");
}

TEST_CASE("Fault injection: the trace marks the injected answer") {
  struct Lines final : fw::TraceSink {
    std::vector<std::string> lines;
    void line(std::string_view t) override { lines.emplace_back(t); }
  } trace;
  FakePlatform p;
  fw::Firmware f(with_faults(p, {{.fid = fw::trng::kRnd64, .result = -3}}));
  f.dispatcher().set_trace(&trace);
  call(f, fw::trng::kRnd64, {64});
  REQUIRE(trace.lines.size() == 2);
  CHECK(trace.lines[0] == "cpu0 hvc > TRNG_RND64(bits=0x40)");
  CHECK(trace.lines[1] == "cpu0 hvc < NO_ENTROPY (injected fault)");
}

TEST_CASE("Fault injection: how far each rule has counted is saved and restored") {
  FakePlatform p1, p2;
  const std::vector<FaultRule> rule{{.fid = fw::trng::kRnd64, .when = FaultRule::When::Nth, .n = 3, .result = -3}};
  fw::Firmware f(with_faults(p1, rule));
  CHECK(rnd_pattern(f, 2) == "00");
  fw::StateWriter out;
  f.save(out);
  fw::Firmware g(with_faults(p2, rule));
  fw::StateReader in(out.data());
  g.load(in);
  CHECK(rnd_pattern(g, 2) == "10");  // the third call overall
  fw::Firmware other(with_faults(p2, {}));
  fw::StateReader again(out.data());
  CHECK_THROWS_AS(other.load(again), fw::StateError);  // made with another set of rules
}
