// The dispatcher's tables: validated when built, and the single source of discovery
// (docs/architecture.md, "Services, state and discovery") and of the general queries (DEN0028
// General Service Queries).
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "firmware/dispatcher.h"
#include "tests/firmware/call.h"

using namespace emu;
using emu::test::dispatch;
using emu::test::kNotSupported;

namespace {

// The handler a hand-written table gets unless it names one: x0 = the function number.
void answer_number(fw::Service&, const fw::SmcccCall& call, fw::SmcccResult& result) {
  result.x[0] = call.id.number;
}

// A service whose table a test writes by hand.
class TableService final : public fw::Service {
 public:
  TableService(std::vector<fw::FunctionRange> ranges, std::vector<fw::FunctionDesc> functions,
               fw::Handler handler = answer_number)
      : ranges_(std::move(ranges)), functions_(std::move(functions)) {
    for (fw::FunctionDesc& fn : functions_) fn.handler = handler;
  }
  std::string_view name() const override { return "table"; }
  std::span<const fw::FunctionRange> ranges() const override { return ranges_; }
  std::span<const fw::FunctionDesc> functions() const override { return functions_; }
  std::span<const fw::StatusName> statuses() const override { return {}; }

 private:
  std::vector<fw::FunctionRange> ranges_;
  std::vector<fw::FunctionDesc> functions_;
};

struct Lines final : fw::TraceSink {
  std::vector<std::string> lines;
  void line(std::string_view text) override { lines.emplace_back(text); }
};

}  // namespace

TEST_CASE("Dispatcher: an empty range is refused when the firmware is built") {
  TableService s({{2, 0x10, 0x0F}}, {});
  fw::Dispatcher d;
  CHECK_THROWS_AS(d.add(s), fw::TableError);
}

TEST_CASE("Dispatcher: an owner number above 63 is refused") {
  TableService s({{64, 0, 1}}, {});
  fw::Dispatcher d;
  CHECK_THROWS_AS(d.add(s), fw::TableError);
}

TEST_CASE("Dispatcher: ranges of two services in the same owner may not overlap") {
  TableService a({{2, 0x00, 0x1F}}, {{.number = 0}});
  TableService b({{2, 0x1F, 0x2F}}, {{.number = 0x20}});
  TableService c({{3, 0x1F, 0x2F}}, {{.number = 0x20}});  // same numbers, another owner: fine
  fw::Dispatcher d;
  d.add(a);
  CHECK_THROWS_AS(d.add(b), fw::TableError);
  CHECK_NOTHROW(d.add(c));
}

TEST_CASE("Dispatcher: a function outside its service's ranges, or declared twice, is refused") {
  TableService outside({{2, 0x00, 0x0F}}, {{.number = 0x10}});
  TableService twice({{2, 0x00, 0x0F}}, {{.number = 1}, {.number = 1}});
  fw::Dispatcher d;
  CHECK_THROWS_AS(d.add(outside), fw::TableError);
  CHECK_THROWS_AS(d.add(twice), fw::TableError);
}

TEST_CASE("Dispatcher: a function without a handler is refused when the firmware is built") {
  TableService none({{2, 0x00, 0x0F}}, {{.number = 1}}, nullptr);
  fw::Dispatcher d;
  CHECK_THROWS_WITH_AS(d.add(none), doctest::Contains("has no handler"), fw::TableError);
}

TEST_CASE("Dispatcher: a call is routed by owner and range to the function in its declared forms only") {
  TableService s({{2, 0x00, 0x0F}}, {{.number = 3, .forms = fw::kSmc64}});
  fw::Dispatcher d;
  d.add(s);
  fw::SmcccCall call = test::sentinel_call(0xC200'0003);
  CHECK(d.dispatch(call).x[0] == 3);
  call = test::sentinel_call(0x8200'0003);  // SMC32 form not declared
  CHECK(d.dispatch(call).x[0] == kNotSupported);
  call = test::sentinel_call(0xC300'0003);  // another owner
  CHECK(d.dispatch(call).x[0] == kNotSupported);
}

TEST_CASE("General queries: Call Count of owner 4 counts every offered function and form") {
  fw::Firmware firmware;
  // PSCI 1.1 as modelled: 9 functions in both forms (CPU_SUSPEND, CPU_ON, AFFINITY_INFO,
  // NODE_HW_STATE, SYSTEM_SUSPEND, STAT_RESIDENCY, STAT_COUNT, SYSTEM_RESET2,
  // MEM_PROTECT_CHECK_RANGE) and 7 in SMC32 only (PSCI_VERSION, CPU_OFF, MIGRATE_INFO_TYPE,
  // SYSTEM_OFF, SYSTEM_RESET, PSCI_FEATURES, MEM_PROTECT): 25. SDEI 1.1: 19 functions
  // (0x20-0x32), SMC64 only (DEN0054C). TRNG is not offered without an entropy source.
  CHECK(dispatch(firmware, 0x8400'FF00).x[0] == 25 + 19);
  // The same count, found independently through discovery.
  std::uint64_t discovered = 0;
  for (std::uint32_t n = 0; n < 0x20; ++n) {
    for (std::uint32_t base : {0x8400'0000u, 0xC400'0000u}) {
      if (dispatch(firmware, 0x8400'000A, {base | n}).x[0] == 0) ++discovered;
    }
  }
  // SDEI has no FEATURES query per function: count what answers something but NOT_SUPPORTED.
  for (std::uint32_t n = 0x20; n < 0x40; ++n) {
    for (std::uint32_t base : {0x8400'0000u, 0xC400'0000u}) {
      if (dispatch(firmware, base | n).x[0] != kNotSupported) ++discovered;
    }
  }
  CHECK(dispatch(firmware, 0x8400'FF00).x[0] == discovered);
}

TEST_CASE("General queries: the Standard Service UID is smccc-emu's, W0 is not 0xFFFFFFFF") {
  fw::Firmware firmware;
  const auto r = dispatch(firmware, 0x8400'FF01);
  // 163b0ea2-b73d-4050-af49-848c8f4153dc, each register the LE load of 4 bytes.
  CHECK(r.x[0] == 0xA20E'3B16u);
  CHECK(r.x[1] == 0x5040'3DB7u);
  CHECK(r.x[2] == 0x8C84'49AFu);
  CHECK(r.x[3] == 0xDC53'418Fu);
  fw::GeneralQueriesConfig bad{.owner = 2, .prefix = "X", .uid = fw::CallUid{0xFFFF'FFFF, 0, 0, 0}};
  CHECK_THROWS_AS(fw::GeneralQueries{bad}, std::invalid_argument);
}

TEST_CASE("General queries: the Standard Service revision is 0.1 and 0xFF02 is reserved") {
  fw::Firmware firmware;
  const auto r = dispatch(firmware, 0x8400'FF03);
  CHECK(r.x[0] == 0);
  CHECK(r.x[1] == 1);
  CHECK(dispatch(firmware, 0x8400'FF02).x[0] == kNotSupported);
}

TEST_CASE("KVM vendor service: the Call UID is KVM's, word for word") {
  fw::Firmware firmware;
  const auto r = dispatch(firmware, 0x8600'FF01);
  CHECK(r.x[0] == 0xB66F'B428u);
  CHECK(r.x[1] == 0xE911'C52Eu);
  CHECK(r.x[2] == 0x564B'CAA9u);
  CHECK(r.x[3] == 0x743A'004Du);
  CHECK(dispatch(firmware, 0x8600'FF00).x[0] == kNotSupported);  // KVM defines no Call Count
}

TEST_CASE("KVM vendor service: KVM_FEATURES sets one bit per available function, bit 0 for itself") {
  fw::Firmware firmware;
  const auto r = dispatch(firmware, 0x8600'0000);
  CHECK(r.x[0] == 0x1);  // PTP (bit 1) arrives with its issue
  CHECK(r.x[1] == 0);
  CHECK(r.x[2] == 0);
  CHECK(r.x[3] == 0);
}

TEST_CASE("Trace: one '>' line with the decoded name and arguments, one '<' line with the answer") {
  fw::Firmware firmware;
  Lines sink;
  firmware.dispatcher().set_trace(&sink);
  dispatch(firmware, 0x8400'000A, {0x8000'0000});
  dispatch(firmware, 0x8200'0001, {}, fw::Conduit::Smc);
  dispatch(firmware, 0xC400'0012, {5, 0});
  REQUIRE(sink.lines.size() == 6);
  CHECK(sink.lines[0] == "cpu0 hvc > PSCI_FEATURES(fid=0x80000000)");
  CHECK(sink.lines[1] == "cpu0 hvc < 0");  // a feature word, not a status
  CHECK(sink.lines[2] == "cpu0 smc > UNKNOWN(fid=0x82000001)");
  CHECK(sink.lines[3] == "cpu0 smc < NOT_SUPPORTED");
  CHECK(sink.lines[4] == "cpu0 hvc > PSCI_SYSTEM_RESET264(type=0x5 cookie=0)");
  CHECK(sink.lines[5] == "cpu0 hvc < INVALID_PARAMETERS");
}

TEST_CASE("General queries: Call Count counts a service with two ranges in one owner once per function") {
  TableService two({{5, 0x00, 0x0F}, {5, 0x20, 0x2F}}, {{.number = 1}, {.number = 0x21, .forms = fw::kBothForms}});
  fw::GeneralQueries queries({.owner = 5, .prefix = "STD_HYP", .call_count = true});
  fw::Dispatcher d;
  d.add(two);
  d.add(queries);
  CHECK(d.call_count(5) == 3);  // 0x01 (SMC32) and 0x21 (SMC32 and SMC64)
}

TEST_CASE("Dispatcher: a service whose ranges span two owners is refused") {
  TableService both({{1, 0x00, 0x0F}, {2, 0x00, 0x0F}}, {{.number = 1}});
  fw::Dispatcher d;
  CHECK_THROWS_AS(d.add(both), fw::TableError);
}

TEST_CASE("PSCI SYSTEM_OFF, SYSTEM_RESET, SYSTEM_RESET2 write x0 only, leaving x1/x2 for the host") {
  fw::Firmware firmware;
  CHECK(dispatch(firmware, 0x8400'0008).count == 1);
  CHECK(dispatch(firmware, 0x8400'0009).count == 1);
  CHECK(dispatch(firmware, 0xC400'0012, {0, 7}).count == 1);
  CHECK(dispatch(firmware, 0xC400'0012, {1, 7}).count == 1);  // the INVALID_PARAMETERS answer too
}
