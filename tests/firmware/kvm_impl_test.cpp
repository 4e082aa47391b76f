// KVM 6.15's vendor surface (Linux Documentation/virt/kvm/arm/hypercalls.rst and
// fw-pseudo-registers.rst): VENDOR_HYP_BMAP_2, KVM_FEATURES' bits 64 and 65, and the
// DISCOVER_IMPL_VER / DISCOVER_IMPL_CPUS calls answered from the host's implementation list.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "tests/firmware/call.h"
#include "tests/firmware/fake_platform.h"

using namespace emu;
using emu::test::FakePlatform;
using emu::test::kNotSupported;
using emu::test::neg;
using fw::HostStatus;

namespace {
// Two implementations with distinct fields: a Neoverse-N1-like MIDR and an invented one.
const std::vector<fw::ImplCpu> kTwo{{.midr = 0x413F'D0C1, .revidr = 0x11, .aidr = 0x22},
                                    {.midr = 0x481F'D010, .revidr = 0x1'0000'0033ull, .aidr = 0x44}};

fw::FirmwareConfig with_impl(FakePlatform& p, std::vector<fw::ImplCpu> cpus) {
  fw::FirmwareConfig c = p.config();
  c.impl_cpus = std::move(cpus);
  return c;
}

fw::SmcccResult call(fw::Firmware& f, std::uint64_t fid, std::initializer_list<std::uint64_t> args = {}) {
  return test::dispatch(f, fid, args);
}
}  // namespace

TEST_CASE("VENDOR_HYP_BMAP_2 resets to 0: the two calls are unknown and KVM_FEATURES' R2 is 0") {
  FakePlatform p;
  fw::Firmware f(with_impl(p, kTwo));
  CHECK(call(f, fw::kvm::kFeatures).x[2] == 0);
  for (std::uint32_t fid : {fw::kvm::kDiscoverImplVer, fw::kvm::kDiscoverImplCpus}) {
    CAPTURE(fid);
    const auto r = call(f, fid, {0});
    CHECK(r.x[0] == kNotSupported);
    CHECK(r.count == 1);  // x1.. untouched
  }
}

TEST_CASE("VENDOR_HYP_BMAP_2: bit 0 offers DISCOVER_IMPL_VER, bit 1 DISCOVER_IMPL_CPUS, KVM_FEATURES bits 64 and 65") {
  FakePlatform p;
  fw::Firmware f(with_impl(p, kTwo));
  REQUIRE(f.set_fw_reg(fw::fw_reg::kVendorHypBmap2, 0x1) == HostStatus::Ok);
  CHECK(call(f, fw::kvm::kFeatures).x[2] == 0x1);
  CHECK(call(f, fw::kvm::kDiscoverImplVer).x[0] == 0);
  CHECK(call(f, fw::kvm::kDiscoverImplCpus, {0}).x[0] == kNotSupported);
  REQUIRE(f.set_fw_reg(fw::fw_reg::kVendorHypBmap2, 0x3) == HostStatus::Ok);
  const auto features = call(f, fw::kvm::kFeatures);
  CHECK(features.x[0] == 0x3);  // FEATURES and PTP, as before
  CHECK(features.x[1] == 0);
  CHECK(features.x[2] == 0x3);  // function numbers 64 and 65
  CHECK(features.x[3] == 0);
  f.mark_run();
  CHECK(f.set_fw_reg(fw::fw_reg::kVendorHypBmap2, 0x0) == HostStatus::Busy);
}

TEST_CASE("KVM DISCOVER_IMPL_VER: SUCCESS, version 1.0 in x1, the number of implementations in x2, x3 zero") {
  FakePlatform p;
  fw::Firmware f(with_impl(p, kTwo));
  REQUIRE(f.set_fw_reg(fw::fw_reg::kVendorHypBmap2, 0x3) == HostStatus::Ok);
  const auto r = call(f, fw::kvm::kDiscoverImplVer);
  CHECK(r.x[0] == 0);
  CHECK(r.x[1] == 0x1'0000);
  CHECK(r.x[2] == 2);
  CHECK(r.x[3] == 0);
}

TEST_CASE("KVM DISCOVER_IMPL_CPUS(i): MIDR, REVIDR and AIDR of implementation i in x1..x3") {
  FakePlatform p;
  fw::Firmware f(with_impl(p, kTwo));
  REQUIRE(f.set_fw_reg(fw::fw_reg::kVendorHypBmap2, 0x3) == HostStatus::Ok);
  for (std::size_t i = 0; i < kTwo.size(); ++i) {
    CAPTURE(i);
    const auto r = call(f, fw::kvm::kDiscoverImplCpus, {i, 0x5E2, 0x5E3});  // x2/x3 are not checked
    CHECK(r.x[0] == 0);
    CHECK(r.x[1] == kTwo[i].midr);
    CHECK(r.x[2] == kTwo[i].revidr);
    CHECK(r.x[3] == kTwo[i].aidr);
  }
}

TEST_CASE(
    "KVM DISCOVER_IMPL_CPUS: an index past the list, in all 64 bits of x1, is INVALID_PARAMETER with x1..x3 zero") {
  FakePlatform p;
  fw::Firmware f(with_impl(p, kTwo));
  REQUIRE(f.set_fw_reg(fw::fw_reg::kVendorHypBmap2, 0x3) == HostStatus::Ok);
  for (std::uint64_t index : {2ull, 0xFFFF'FFFFull, 0x1'0000'0000ull, ~0ull}) {
    CAPTURE(index);
    const auto r = call(f, fw::kvm::kDiscoverImplCpus, {index});
    CHECK(r.x[0] == neg(-3));
    CHECK(r.x[1] == 0);
    CHECK(r.x[2] == 0);
    CHECK(r.x[3] == 0);
  }
}

TEST_CASE("KVM DISCOVER_IMPL_*: HVC64 only, the SMC32 FIDs are unknown") {
  FakePlatform p;
  fw::Firmware f(with_impl(p, kTwo));
  REQUIRE(f.set_fw_reg(fw::fw_reg::kVendorHypBmap2, 0x3) == HostStatus::Ok);
  CHECK(call(f, 0x8600'0040).x[0] == kNotSupported);
  CHECK(call(f, 0x8600'0041, {0}).x[0] == kNotSupported);
}

TEST_CASE("KVM DISCOVER_IMPL_*: without a list VER is NOT_SUPPORTED and CPUS(0) INVALID_PARAMETER") {
  FakePlatform p;
  fw::Firmware f(p.config());
  REQUIRE(f.set_fw_reg(fw::fw_reg::kVendorHypBmap2, 0x3) == HostStatus::Ok);
  CHECK(call(f, fw::kvm::kDiscoverImplVer).x[0] == kNotSupported);
  CHECK(call(f, fw::kvm::kDiscoverImplCpus, {0}).x[0] == neg(-3));
}

TEST_CASE("KVM DISCOVER_IMPL_*: a forwarding filter hands them to the host before the model answers") {
  FakePlatform p;
  fw::Firmware f(with_impl(p, kTwo));
  REQUIRE(f.set_fw_reg(fw::fw_reg::kVendorHypBmap2, 0x3) == HostStatus::Ok);
  REQUIRE(f.add_filter_range(fw::kvm::kDiscoverImplVer, 2, 2) == HostStatus::Ok);
  CHECK(call(f, fw::kvm::kDiscoverImplVer).request.kind == fw::RequestKind::ForwardToHost);
  CHECK(call(f, fw::kvm::kDiscoverImplCpus, {0}).request.kind == fw::RequestKind::ForwardToHost);
  CHECK(call(f, fw::kvm::kFeatures).x[2] == 0x3);  // still advertised: the host answers them
}

TEST_CASE("Firmware config: more than 256 implementations, or a MIDR with bits 63:32 set, is refused") {
  FakePlatform p;
  CHECK_THROWS_AS(fw::Firmware(with_impl(p, std::vector<fw::ImplCpu>(257))), fw::ConfigError);
  CHECK_THROWS_AS(fw::Firmware(with_impl(p, {{.midr = 0x1'0000'0000ull}})), fw::ConfigError);
  CHECK_NOTHROW(fw::Firmware(with_impl(p, std::vector<fw::ImplCpu>(256))));
}

TEST_CASE("Firmware state: a state saved without VENDOR_HYP_BMAP_2 restores it at its reset value 0") {
  FakePlatform p;
  fw::Firmware f(with_impl(p, kTwo));
  fw::StateWriter out;
  f.save(out);
  std::vector<std::uint8_t> bytes = out.data();
  // Drop the BMAP_2 pair (see host_controls_test.cpp for the layout): the list before 6.15.
  constexpr std::size_t kCount = 4 + 4;
  std::uint64_t count = 0;
  std::memcpy(&count, &bytes[kCount], 8);
  bool dropped = false;
  for (std::size_t i = 0; i < count && !dropped; ++i) {
    const std::size_t at = kCount + 8 + 16 * i;
    std::uint64_t id = 0;
    std::memcpy(&id, &bytes[at], 8);
    if (id != fw::fw_reg::kVendorHypBmap2) continue;
    bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at), bytes.begin() + static_cast<std::ptrdiff_t>(at + 16));
    --count;
    std::memcpy(&bytes[kCount], &count, 8);
    dropped = true;
  }
  REQUIRE(dropped);
  fw::Firmware g(with_impl(p, kTwo));
  REQUIRE(g.set_fw_reg(fw::fw_reg::kVendorHypBmap2, 0x3) == HostStatus::Ok);
  fw::StateReader in(bytes);
  g.load(in);
  std::uint64_t v = 1;
  REQUIRE(g.get_fw_reg(fw::fw_reg::kVendorHypBmap2, v) == HostStatus::Ok);
  CHECK(v == 0);
  CHECK(call(g, fw::kvm::kDiscoverImplVer).x[0] == kNotSupported);
}
