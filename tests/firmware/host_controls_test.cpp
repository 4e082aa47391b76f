// Host controls (Linux Documentation/virt/kvm/arm/hypercalls.rst, devices/vm.rst): firmware
// pseudo-registers, service selection, and the SMCCC filter, through the firmware's host API.
#include <doctest/doctest.h>

#include "firmware/arch.h"
#include "tests/firmware/call.h"
#include "tests/firmware/fake_platform.h"

#include <cstring>
#include <string>
#include <vector>

using namespace emu;
using emu::test::FakePlatform;
using emu::test::kNotSupported;
using fw::HostStatus;

namespace {
fw::SmcccResult call(fw::Firmware& f, std::uint64_t fid, std::initializer_list<std::uint64_t> args = {}) {
  fw::SmcccCall c = test::sentinel_call(fid);
  std::size_t i = 1;
  for (std::uint64_t a : args) c.x[i++] = a;
  return f.dispatch(c);
}
std::uint64_t reg(const fw::Firmware& f, std::uint64_t id) {
  std::uint64_t v = 0;
  REQUIRE(f.get_fw_reg(id, v) == HostStatus::Ok);
  return v;
}
}  // namespace

TEST_CASE("Pseudo-registers: KVM's IDs, listed in order, with every supported bit set by default") {
  FakePlatform p;
  fw::Firmware f(p.config());
  const auto list = fw::fw_reg_list();
  REQUIRE(list.size() == 9);
  CHECK(list[0].id == 0x6030'0000'0014'0000ull);
  CHECK(list[6].id == 0x6030'0000'0016'0002ull);
  CHECK(list[7].id == 0x6030'0000'0016'0003ull);  // VENDOR_HYP_BMAP_2, KVM_REG_ARM_FW_FEAT_BMAP_REG(3)
  for (std::size_t i = 0; i < 8; ++i) CHECK(list[i].kvm);
  // smccc-emu's own register comes last, outside KVM's coprocessor numbers (0x14, 0x16).
  CHECK(list[8].id == 0x6030'0000'0FFF'0000ull);
  CHECK(!list[8].kvm);
  CHECK(reg(f, fw::fw_reg::kVendorHypBmap2) == 0);  // KVM: "This is reset to 0"
  CHECK(reg(f, fw::fw_reg::kSmcccVersion) == 0x1'0002);
  CHECK(reg(f, fw::fw_reg::kPsciVersion) == 0x1'0001);
  CHECK(reg(f, fw::fw_reg::kStdBmap) == 0x1);
  CHECK(reg(f, fw::fw_reg::kStdHypBmap) == 0x1);
  CHECK(reg(f, fw::fw_reg::kVendorHypBmap) == 0x3);
  CHECK(reg(f, fw::fw_reg::kWorkaround1) == 2);  // NOT_REQUIRED, as ARCH_FEATURES says "unaffected"
  CHECK(reg(f, fw::fw_reg::kWorkaround2) == 3);
  CHECK(reg(f, fw::fw_reg::kWorkaround3) == 2);
}

TEST_CASE("Pseudo-registers: an unknown ID is NotFound, an unknown bit is Invalid") {
  FakePlatform p;
  fw::Firmware f(p.config());
  std::uint64_t v = 0;
  CHECK(f.get_fw_reg(0x6030'0000'0016'0004ull, v) == HostStatus::NotFound);  // after VENDOR_HYP_BMAP_2
  CHECK(f.set_fw_reg(fw::fw_reg::kVendorHypBmap2, 0x4) == HostStatus::Invalid);
  CHECK(f.set_fw_reg(0x6030'0000'0014'0009ull, 0) == HostStatus::NotFound);
  CHECK(f.set_fw_reg(fw::fw_reg::kStdBmap, 0x2) == HostStatus::Invalid);
  CHECK(f.set_fw_reg(fw::fw_reg::kStdHypBmap, 0x3) == HostStatus::Invalid);
  CHECK(f.set_fw_reg(fw::fw_reg::kVendorHypBmap, 0x4) == HostStatus::Invalid);
  CHECK(f.set_fw_reg(fw::fw_reg::kPsciVersion, 0x1'0004) == HostStatus::Invalid);  // 1.4: no such PSCI
  CHECK(f.set_fw_reg(fw::fw_reg::kPsciVersion, 0x1) == HostStatus::Invalid);       // 0.1: no DT IDs
  CHECK(reg(f, fw::fw_reg::kStdBmap) == 0x1);                                      // nothing changed
}

TEST_CASE("Pseudo-registers: after the first run a changed value is Busy, the same value Ok") {
  FakePlatform p;
  fw::Firmware f(p.config());
  CHECK(f.set_fw_reg(fw::fw_reg::kStdBmap, 0) == HostStatus::Ok);
  f.mark_run();
  CHECK(f.set_fw_reg(fw::fw_reg::kStdBmap, 1) == HostStatus::Busy);
  CHECK(f.set_fw_reg(fw::fw_reg::kStdBmap, 0) == HostStatus::Ok);
  CHECK(f.set_fw_reg(fw::fw_reg::kPsciVersion, 0x1'0000) == HostStatus::Busy);
  CHECK(f.set_fw_reg(fw::fw_reg::kPsciVersion, 0x1'0001) == HostStatus::Ok);
  CHECK(reg(f, fw::fw_reg::kStdBmap) == 0);
}

TEST_CASE("Pseudo-registers: WORKAROUND writes are a compatibility check that changes nothing") {
  FakePlatform p;
  fw::Firmware f(p.config());
  for (std::uint64_t v : {0ull, 1ull, 2ull}) CHECK(f.set_fw_reg(fw::fw_reg::kWorkaround1, v) == HostStatus::Ok);
  CHECK(f.set_fw_reg(fw::fw_reg::kWorkaround1, 3) == HostStatus::Invalid);
  CHECK(f.set_fw_reg(fw::fw_reg::kWorkaround2, 0x12) == HostStatus::Ok);       // AVAIL + ENABLED
  CHECK(f.set_fw_reg(fw::fw_reg::kWorkaround2, 0x13) == HostStatus::Invalid);  // ENABLED needs AVAIL
  CHECK(f.set_fw_reg(fw::fw_reg::kWorkaround2, 0x20) == HostStatus::Invalid);  // unknown bit
  CHECK(reg(f, fw::fw_reg::kWorkaround2) == 3);
}

TEST_CASE("Service selection: STD_BMAP bit 0 hides TRNG, calls and discovery alike") {
  FakePlatform p;
  fw::Firmware f(p.config());
  REQUIRE(f.set_fw_reg(fw::fw_reg::kStdBmap, 0) == HostStatus::Ok);
  for (std::uint64_t fid : {0x8400'0050ull, 0x8400'0051ull, 0x8400'0052ull, 0x8400'0053ull, 0xC400'0053ull}) {
    CAPTURE(fid);
    const auto r = call(f, fid, {64});
    CHECK(r.x[0] == kNotSupported);
    CHECK(r.count == 1);  // the unknown-FID answer: only x0 changes
  }
}

TEST_CASE("Service selection: STD_HYP_BMAP bit 0 hides PV time, and ARCH_FEATURES stops advertising it") {
  FakePlatform p;
  fw::Firmware f(p.config());
  REQUIRE(f.set_pv_time_ipa(0, FakePlatform::kRamBase) == HostStatus::Ok);
  CHECK(call(f, fw::arch::kArchFeatures, {fw::pv_time::kFeatures}).x[0] == 0);
  REQUIRE(f.set_fw_reg(fw::fw_reg::kStdHypBmap, 0) == HostStatus::Ok);
  CHECK(call(f, fw::arch::kArchFeatures, {fw::pv_time::kFeatures}).x[0] == kNotSupported);
  CHECK(call(f, fw::pv_time::kSt).x[0] == kNotSupported);
  CHECK(call(f, fw::pv_time::kFeatures, {fw::pv_time::kSt}).x[0] == kNotSupported);
}

TEST_CASE("Service selection: VENDOR_HYP_BMAP bit 1 hides PTP and clears it in KVM_FEATURES") {
  FakePlatform p;
  fw::Firmware f(p.config());
  REQUIRE(f.set_fw_reg(fw::fw_reg::kVendorHypBmap, 0x1) == HostStatus::Ok);
  CHECK(call(f, 0x8600'0000).x[0] == 0x1);
  CHECK(call(f, fw::kvm::kPtp, {0}).x[0] == kNotSupported);
  CHECK(call(f, 0x8600'FF01).x[0] == 0xB66F'B428u);
}

TEST_CASE("Service selection: VENDOR_HYP_BMAP bit 0 hides KVM_FEATURES and the vendor Call UID") {
  FakePlatform p;
  fw::Firmware f(p.config());
  REQUIRE(f.set_fw_reg(fw::fw_reg::kVendorHypBmap, 0x2) == HostStatus::Ok);
  CHECK(call(f, 0x8600'0000).x[0] == kNotSupported);
  CHECK(call(f, 0x8600'FF01).x[0] == kNotSupported);
  CHECK(call(f, fw::kvm::kPtp, {0}).x[0] != kNotSupported);  // PTP itself stays
}

TEST_CASE("Service selection: the always-allowed calls stay (SMCCC_VERSION, ARCH_FEATURES, PSCI)") {
  FakePlatform p;
  fw::Firmware f(p.config());
  REQUIRE(f.set_fw_reg(fw::fw_reg::kStdBmap, 0) == HostStatus::Ok);
  REQUIRE(f.set_fw_reg(fw::fw_reg::kStdHypBmap, 0) == HostStatus::Ok);
  REQUIRE(f.set_fw_reg(fw::fw_reg::kVendorHypBmap, 0) == HostStatus::Ok);
  CHECK(call(f, 0x8000'0000).x[0] == 0x1'0002);
  CHECK(call(f, 0x8000'0001, {0x8000'0000}).x[0] == 0);
  CHECK(call(f, 0x8400'0000).x[0] == 0x1'0001);
}

TEST_CASE("PSCI_VERSION register selects the PSCI version the guest sees, and what it offers") {
  FakePlatform p;
  fw::Firmware f(p.config());
  REQUIRE(f.set_fw_reg(fw::fw_reg::kPsciVersion, 0x2) == HostStatus::Ok);  // 0.2
  CHECK(call(f, 0x8400'0000).x[0] == 0x2);
  CHECK(call(f, 0x8400'000A, {0x8400'0000}).x[0] == kNotSupported);  // PSCI_FEATURES is 1.0
  REQUIRE(f.set_fw_reg(fw::fw_reg::kPsciVersion, 0x1'0000) == HostStatus::Ok);
  CHECK(call(f, 0x8400'000A, {0x8400'0012}).x[0] == kNotSupported);  // SYSTEM_RESET2 is 1.1
  CHECK(call(f, 0x8400'000A, {0x8400'0001}).x[0] == 0);
}

TEST_CASE("Filter: zero length, wrap-around and a bad action are Invalid") {
  FakePlatform p;
  fw::Firmware f(p.config());
  CHECK(f.add_filter_range(0x8200'0000, 0, 1) == HostStatus::Invalid);
  CHECK(f.add_filter_range(0xFFFF'FF00u, 0x200, 1) == HostStatus::Invalid);
  CHECK(f.add_filter_range(0x8200'0000, 1, 3) == HostStatus::Invalid);
  CHECK(f.add_filter_range(0xFFFF'FF00u, 0x100, 1) == HostStatus::Ok);  // ends at 0xFFFFFFFF exactly
}

TEST_CASE("Filter: overlaps and the reserved Arm architecture ranges are Exists, after a run Busy") {
  FakePlatform p;
  fw::Firmware f(p.config());
  CHECK(f.add_filter_range(0x8000'0000, 1, 1) == HostStatus::Exists);
  CHECK(f.add_filter_range(0xC000'FFFF, 2, 1) == HostStatus::Exists);
  CHECK(f.add_filter_range(0x7FFF'FFFF, 2, 2) == HostStatus::Exists);
  CHECK(f.add_filter_range(0x8200'0000, 0x100, 1) == HostStatus::Ok);
  CHECK(f.add_filter_range(0x8200'00FF, 1, 2) == HostStatus::Exists);
  CHECK(f.add_filter_range(0x8200'0100, 1, 2) == HostStatus::Ok);  // adjacent is fine
  f.mark_run();
  CHECK(f.add_filter_range(0x8300'0000, 1, 1) == HostStatus::Busy);
}

TEST_CASE("Filter: DENY answers NOT_SUPPORTED, before the bitmaps, even for an implemented call") {
  FakePlatform p;
  fw::Firmware f(p.config());
  REQUIRE(f.add_filter_range(0x8400'0050, 4, 1) == HostStatus::Ok);  // TRNG's SMC32 calls
  const auto r = call(f, 0x8400'0050);
  CHECK(r.x[0] == kNotSupported);
  CHECK(r.count == 1);
  CHECK(call(f, 0xC400'0053, {64}).x[0] == 0);  // outside the range: handled
}

TEST_CASE("Filter: FWD_TO_USER asks core to stop and writes no register, HANDLE defers to the bitmaps") {
  FakePlatform p;
  fw::Firmware f(p.config());
  REQUIRE(f.add_filter_range(0xC600'0040, 2, 2) == HostStatus::Ok);  // DISCOVER_IMPL_*, answered by VMMs
  REQUIRE(f.add_filter_range(0x8400'0050, 1, 0) == HostStatus::Ok);  // HANDLE: as if no range
  const auto fwd = call(f, 0xC600'0041);
  CHECK(fwd.request.kind == fw::RequestKind::ForwardToHost);
  CHECK(fwd.count == 0);
  REQUIRE(f.set_fw_reg(fw::fw_reg::kStdBmap, 0) == HostStatus::Ok);
  CHECK(call(f, 0x8400'0050).x[0] == kNotSupported);  // HANDLE, then the bitmap hides TRNG
}

TEST_CASE("Filter: a non-zero immediate is neither filtered nor forwarded") {
  FakePlatform p;
  fw::Firmware f(p.config());
  REQUIRE(f.add_filter_range(0x8200'0000, 1, 2) == HostStatus::Ok);
  fw::SmcccCall c = test::sentinel_call(0x8200'0000);
  c.imm = 1;
  const auto r = f.dispatch(c);
  CHECK(r.request.kind == fw::RequestKind::None);
  CHECK(r.x[0] == kNotSupported);
}

TEST_CASE("Filter: at most kMaxRanges ranges, more is Invalid") {
  fw::SmcccFilter filter;
  for (std::uint32_t i = 0; i < fw::SmcccFilter::kMaxRanges; ++i) {
    REQUIRE(filter.add(0x8200'0000 + i * 2, 1, 1, false) == HostStatus::Ok);
  }
  CHECK(filter.add(0x8300'0000, 1, 1, false) == HostStatus::Invalid);
  CHECK(filter.action(0x8200'0000 + 2 * 100) == fw::FilterAction::Deny);
  CHECK(filter.action(0x8200'0000 + 2 * 100 + 1) == fw::FilterAction::Handle);
}

namespace {
struct ScriptedRegisters final : fw::RegisterSource {
  void load(fw::SmcccCall& call, int count) override {
    for (int i = call.loaded; i < count; ++i)
      call.x[static_cast<std::size_t>(i)] = 0x8400'0000u + static_cast<unsigned>(i);
    call.loaded = static_cast<std::uint8_t>(count);
  }
};
struct Lines final : fw::TraceSink {
  std::vector<std::string> lines;
  void line(std::string_view text) override { lines.emplace_back(text); }
};
}  // namespace

TEST_CASE("Filter: the trace of a forwarded call shows the guest's arguments, read for the occasion") {
  FakePlatform p;
  fw::Firmware f(p.config());
  REQUIRE(f.add_filter_range(0x8400'000A, 1, 2) == HostStatus::Ok);
  Lines trace;
  f.dispatcher().set_trace(&trace);
  ScriptedRegisters source;
  fw::SmcccCall c;
  c.x[0] = 0x8400'000A;
  c.x[1] = 0xDEAD;  // stale: not loaded
  c.loaded = 1;
  c.source = &source;
  f.dispatch(c);
  REQUIRE(trace.lines.size() == 2);
  CHECK(trace.lines[0] == "cpu0 hvc > PSCI_FEATURES(fid=0x84000001)");
  CHECK(trace.lines[1] == "cpu0 hvc < (forwarded to the host)");
}

TEST_CASE("Restoring firmware state refuses two vCPUs sharing a PV-time record") {
  FakePlatform p;
  fw::Firmware f(p.config(2));
  REQUIRE(f.set_pv_time_ipa(0, FakePlatform::kRamBase + 0x1000) == HostStatus::Ok);
  REQUIRE(f.set_pv_time_ipa(1, FakePlatform::kRamBase + 0x1040) == HostStatus::Ok);
  fw::StateWriter out;
  f.save(out);
  std::vector<std::uint8_t> bytes = out.data();
  // Point vCPU 1's record at vCPU 0's: find the little-endian address and rewrite it.
  const std::uint64_t second = FakePlatform::kRamBase + 0x1040;
  bool patched = false;
  for (std::size_t i = 0; i + 8 <= bytes.size() && !patched; ++i) {
    std::uint64_t v = 0;
    std::memcpy(&v, &bytes[i], 8);
    if (v == second) {
      const std::uint64_t first = FakePlatform::kRamBase + 0x1000;
      std::memcpy(&bytes[i], &first, 8);
      patched = true;
    }
  }
  REQUIRE(patched);
  fw::Firmware g(p.config(2));
  fw::StateReader in(bytes);
  CHECK_THROWS_AS(g.load(in), fw::StateError);
}

namespace {
// The firmware state starts "FWST", then "FWRG", the register count (8) and (ID, value) pairs
// of 8 bytes each (MEM_PROTECT and the epoch are in PSCI's and KVM's own sections since format 8). Removes the pair for
// `id`.
std::vector<std::uint8_t> without_fw_reg(std::vector<std::uint8_t> bytes, std::uint64_t id) {
  constexpr std::size_t kCount = 4 + 4;
  std::uint64_t count = 0;
  std::memcpy(&count, &bytes[kCount], 8);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t at = kCount + 8 + 16 * i;
    std::uint64_t named = 0;
    std::memcpy(&named, &bytes[at], 8);
    if (named != id) continue;
    bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at), bytes.begin() + static_cast<std::ptrdiff_t>(at + 16));
    --count;
    std::memcpy(&bytes[kCount], &count, 8);
    return bytes;
  }
  FAIL("register not in the saved state");
  return bytes;
}
}  // namespace

TEST_CASE("Firmware state: the pseudo-registers are saved by ID and restored with their values") {
  FakePlatform p;
  fw::Firmware f(p.config());
  REQUIRE(f.set_fw_reg(fw::fw_reg::kSmcccVersion, 0x1'0006) == HostStatus::Ok);
  REQUIRE(f.set_fw_reg(fw::fw_reg::kStdBmap, 0) == HostStatus::Ok);
  fw::StateWriter out;
  f.save(out);
  fw::Firmware g(p.config());
  fw::StateReader in(out.data());
  g.load(in);
  CHECK(reg(g, fw::fw_reg::kSmcccVersion) == 0x1'0006);
  CHECK(reg(g, fw::fw_reg::kStdBmap) == 0);
  CHECK(call(g, fw::arch::kSmcccVersion).x[0] == 0x1'0006);
}

// As a VMM restoring KVM registers from a list made before a register existed: that register
// keeps its reset value, whatever the machine restored into had set.
TEST_CASE("Firmware state: a register the saved list does not name is restored at its reset value") {
  FakePlatform p;
  fw::Firmware f(p.config());
  REQUIRE(f.set_fw_reg(fw::fw_reg::kSmcccVersion, 0x1'0006) == HostStatus::Ok);
  REQUIRE(f.set_fw_reg(fw::fw_reg::kPsciVersion, 0x1'0000) == HostStatus::Ok);
  fw::StateWriter out;
  f.save(out);
  const std::vector<std::uint8_t> bytes = without_fw_reg(out.data(), fw::fw_reg::kSmcccVersion);
  fw::Firmware g(p.config());
  REQUIRE(g.set_fw_reg(fw::fw_reg::kSmcccVersion, 0x1'0005) == HostStatus::Ok);
  fw::StateReader in(bytes);
  g.load(in);
  CHECK(in.at_end());
  CHECK(reg(g, fw::fw_reg::kSmcccVersion) == 0x1'0002);  // reset value, not 1.5 or 1.6
  CHECK(reg(g, fw::fw_reg::kPsciVersion) == 0x1'0000);
}

TEST_CASE("Firmware state: an unknown, repeated or refused register value is a corrupt state") {
  FakePlatform p;
  fw::Firmware f(p.config());
  fw::StateWriter out;
  f.save(out);
  const std::vector<std::uint8_t> good = out.data();
  constexpr std::size_t kFirstPair = 4 + 4 + 8;
  const auto patched = [&](std::size_t at, std::uint64_t v) {
    std::vector<std::uint8_t> b = good;
    std::memcpy(&b[at], &v, 8);
    return b;
  };
  const std::uint64_t second_id = fw::fw_reg_list()[1].id;
  // The first pair is PSCI_VERSION: 0x5 is no PSCI version (0.2, 1.0, 1.1, ... are).
  for (const auto& bytes : {patched(kFirstPair, 0x6030'0000'0014'0009ull),  // no such register
                            patched(kFirstPair, second_id),                 // named twice
                            patched(kFirstPair + 8, 0x5)}) {                // refused by set_fw_reg
    fw::Firmware g(p.config());
    fw::StateReader in(bytes);
    CHECK_THROWS_AS(g.load(in), fw::StateError);
  }
}
