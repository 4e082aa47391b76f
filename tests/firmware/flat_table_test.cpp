// The flat per-FID table frozen at the first run (Dispatcher::freeze; docs/architecture.md, "The
// call path"): it must answer every call, and every discovery call, exactly as routing through
// the service tables does, for any configuration the host can set before the run.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/firmware/call.h"

using namespace emu;

namespace {

struct Setting {
  std::uint64_t reg;
  std::uint64_t value;
};

struct Filter {
  std::uint32_t base;
  std::uint32_t count;
  fw::FilterAction action;
};

void configure(fw::Firmware& f, const std::vector<Setting>& settings, const std::vector<Filter>& filters) {
  for (const Setting& s : settings) REQUIRE(f.set_fw_reg(s.reg, s.value) == fw::HostStatus::Ok);
  for (const Filter& r : filters)
    REQUIRE(f.add_filter_range(r.base, r.count, static_cast<std::uint8_t>(r.action)) == fw::HostStatus::Ok);
}

// Every FID shape the fast path decodes: both forms, the owners with services and one
// without, every number a service declares or lies next to, with and without the SVE hint,
// with x0[63:32] set, with reserved bits set, as a yielding call.
std::vector<std::uint64_t> probe_fids() {
  std::vector<std::uint64_t> fids;
  std::vector<std::uint16_t> numbers;
  for (std::uint16_t n = 0; n < 0x80; ++n) numbers.push_back(n);
  for (const unsigned n : {0x3FFFu, 0x7FFFu, 0x8000u, 0x8001u, 0xFF00u, 0xFF01u, 0xFF02u, 0xFF03u, 0xFF04u})
    numbers.push_back(static_cast<std::uint16_t>(n));
  for (const bool smc64 : {false, true}) {
    for (const std::uint8_t owner :
         {std::uint8_t{0}, std::uint8_t{2}, std::uint8_t{4}, std::uint8_t{5}, std::uint8_t{6}}) {
      for (const std::uint16_t n : numbers) {
        const std::uint32_t fid = fw::make_fast_fid(smc64, owner, n);
        fids.push_back(fid);
        fids.push_back(fid | fw::FunctionId::kSveHintBit);
      }
    }
  }
  fids.push_back(0xA5A5'A5A5'8400'0000ull);  // PSCI_VERSION with x0[63:32] set
  fids.push_back(0x8402'0000u);              // reserved bit 17
  fids.push_back(0x0400'0000u);              // yielding PSCI_VERSION
  return fids;
}

bool same(const fw::SmcccResult& a, const fw::SmcccResult& b) {
  if (a.count != b.count || a.request.kind != b.request.kind) return false;
  for (int i = 0; i < a.count; ++i) {
    if (a.x[static_cast<std::size_t>(i)] != b.x[static_cast<std::size_t>(i)]) return false;
  }
  return true;
}

// The same calls, in the same order, to a firmware that routes through the service tables and
// to one that has been marked run; every answer must match.
void check_same_answers(const std::vector<Setting>& settings, const std::vector<Filter>& filters) {
  fw::Firmware routed({.vcpu_count = 2, .ram_base = 0x4000'0000, .ram_size = 1 << 20});
  fw::Firmware frozen({.vcpu_count = 2, .ram_base = 0x4000'0000, .ram_size = 1 << 20});
  configure(routed, settings, filters);
  configure(frozen, settings, filters);
  frozen.mark_run();
  REQUIRE(frozen.dispatcher().frozen());
  REQUIRE(!routed.dispatcher().frozen());
  int compared = 0;
  for (const std::uint64_t fid : probe_fids()) {
    for (const std::uint16_t imm : {std::uint16_t{0}, std::uint16_t{1}}) {
      fw::SmcccCall a = test::sentinel_call(fid);
      fw::SmcccCall b = test::sentinel_call(fid);
      a.imm = b.imm = imm;
      const fw::SmcccResult ra = routed.dispatch(a);
      const fw::SmcccResult rb = frozen.dispatch(b);
      CAPTURE(fid);
      CAPTURE(imm);
      CHECK(same(ra, rb));
      ++compared;
    }
    // Discovery reads the table: what is advertised is what is served.
    for (const std::uint64_t query : {0x8000'0001ull, 0x8400'000Aull, 0x8400'0051ull}) {
      CAPTURE(fid);
      CAPTURE(query);
      CHECK(same(test::dispatch(routed, query, {fid}), test::dispatch(frozen, query, {fid})));
      ++compared;
    }
  }
  CHECK(compared > 2000);
}

}  // namespace

TEST_CASE("Flat table: after the first run every call and discovery answer is the routed one (defaults)") {
  check_same_answers({}, {});
}

TEST_CASE("Flat table: the same with older versions, hidden services and filter ranges folded in") {
  check_same_answers(
      {{fw::fw_reg::kPsciVersion, 0x10000}, {fw::fw_reg::kSmcccVersion, 0x10001}, {fw::fw_reg::kVendorHypBmap, 0}},
      {{0x8400'0004, 1, fw::FilterAction::Deny}, {0x8600'0000, 0x80, fw::FilterAction::ForwardToHost}});
  check_same_answers(
      {{fw::fw_reg::kSmcccVersion, 0x10006}, {fw::fw_reg::kPsciVersion, 0x10003}},
      {{0xC400'0000, 0x40, fw::FilterAction::Deny}, {0x8300'0000, 0x10, fw::FilterAction::ForwardToHost}});
}

namespace {
struct Lines final : fw::TraceSink {
  std::vector<std::string> lines;
  void line(std::string_view text) override { lines.emplace_back(text); }
};
}  // namespace

TEST_CASE("Flat table: a trace sink set after the first run still sees every call") {
  fw::Firmware firmware;
  firmware.mark_run();
  Lines sink;
  firmware.dispatcher().set_trace(&sink);
  CHECK(test::dispatch(firmware, 0x8400'0000).x[0] == 0x10001);
  REQUIRE(sink.lines.size() == 2);
  CHECK(sink.lines[0] == "cpu0 hvc > PSCI_VERSION()");
}

TEST_CASE("Flat table: after the first run the registers that built it are Busy") {
  fw::Firmware firmware;
  firmware.mark_run();
  CHECK(firmware.set_fw_reg(fw::fw_reg::kPsciVersion, 0x10000) == fw::HostStatus::Busy);
  CHECK(firmware.add_filter_range(0x8400'0000, 1, 1) == fw::HostStatus::Busy);
  CHECK(test::dispatch(firmware, 0x8400'0000).x[0] == 0x10001);
}
