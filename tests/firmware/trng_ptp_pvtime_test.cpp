// TRNG (DEN0098), KVM PTP (Documentation/virt/kvm/arm/ptp_kvm.rst) and PV stolen time (DEN0057A),
// on a fake platform.
#include <doctest/doctest.h>

#include "firmware/arch.h"
#include "tests/firmware/call.h"
#include "tests/firmware/fake_platform.h"

using namespace emu;
using emu::test::FakePlatform;
using emu::test::kNotSupported;
using emu::test::neg;

namespace {
fw::SmcccResult call(fw::Firmware& f, std::uint64_t fid, std::initializer_list<std::uint64_t> args = {},
                     unsigned vcpu = 0) {
  fw::SmcccCall c = test::sentinel_call(fid);
  c.vcpu = vcpu;
  std::size_t i = 1;
  for (std::uint64_t a : args) c.x[i++] = a;
  return f.dispatch(c);
}
}  // namespace

TEST_CASE("TRNG is not offered without an entropy source") {
  fw::Firmware f;
  CHECK(call(f, fw::trng::kVersion).x[0] == kNotSupported);
  CHECK(call(f, fw::trng::kRnd64, {64}).x[0] == kNotSupported);
}

TEST_CASE("TRNG_VERSION is 1.0, TRNG_FEATURES reports the five TRNG functions only") {
  FakePlatform p;
  fw::Firmware f(p.config());
  CHECK(call(f, fw::trng::kVersion).x[0] == 0x1'0000);
  for (std::uint64_t q : {0x8400'0050ull, 0x8400'0051ull, 0x8400'0052ull, 0x8400'0053ull, 0xC400'0053ull}) {
    CAPTURE(q);
    CHECK(call(f, fw::trng::kFeatures, {q}).x[0] == 0);
  }
  for (std::uint64_t q : {0xC400'0050ull, 0x8400'0054ull, 0x8400'005Full, 0x8400'0000ull}) {
    CAPTURE(q);
    CHECK(call(f, fw::trng::kFeatures, {q}).x[0] == kNotSupported);
  }
  CHECK(call(f, fw::arch::kArchFeatures, {fw::trng::kVersion}).x[0] == kNotSupported);  // own discovery
}

TEST_CASE("TRNG_GET_UUID is the entropy source's UUID") {
  FakePlatform p;
  fw::Firmware f(p.config());
  const auto r = call(f, fw::trng::kGetUuid);
  CHECK(r.x[0] == 0x1111'1111);
  CHECK(r.x[3] == 0x4444'4444);
}

TEST_CASE("TRNG_RND64: most significant bits in x1, least in x3, bits above N zero") {
  FakePlatform p;
  fw::Firmware f(p.config());
  p.next_word = 0xFFFF'FFFF'FFFF'FFF0;  // words ...F0, ...F1, ...F2
  auto r = call(f, fw::trng::kRnd64, {192});
  CHECK(r.x[0] == 0);
  CHECK(r.x[3] == 0xFFFF'FFFF'FFFF'FFF0);  // bits 63:0
  CHECK(r.x[2] == 0xFFFF'FFFF'FFFF'FFF1);  // bits 127:64
  CHECK(r.x[1] == 0xFFFF'FFFF'FFFF'FFF2);  // bits 191:128
  p.next_word = ~0ull - 1;
  r = call(f, fw::trng::kRnd64, {100});  // DEN0098 TRNG_RND64: x2 holds bits 99:64 in [35:0]
  CHECK(r.x[3] == ~0ull - 1);
  CHECK(r.x[2] == 0xF'FFFF'FFFFull);
  CHECK(r.x[1] == 0);
  r = call(f, fw::trng::kRnd64, {1});
  CHECK(r.x[3] <= 1);
  CHECK(r.x[2] == 0);
}

TEST_CASE("TRNG_RND32: 32-bit registers, x3 = bits 31:0, x2 = 63:32, x1 = 95:64") {
  FakePlatform p;
  fw::Firmware f(p.config());
  p.next_word = 0xAAAA'BBBB'CCCC'DDDD;
  auto r = call(f, fw::trng::kRnd32, {40});  // DEN0098 TRNG_RND32: x2 = bits 39:32 in [7:0]
  CHECK(r.x[0] == 0);
  CHECK(r.x[3] == 0xCCCC'DDDDu);
  CHECK(r.x[2] == ((0xAAAA'BBBB'CCCC'DDDEull) & 0xFF));
  CHECK(r.x[1] == 0);
  r = call(f, fw::trng::kRnd32, {96});
  for (int i = 1; i <= 3; ++i) CHECK(r.x[static_cast<std::size_t>(i)] <= 0xFFFF'FFFFu);
}

TEST_CASE("TRNG_RND: N = 0 or above the maximum is INVALID_PARAMETERS with x1..x3 zero, N is W1") {
  FakePlatform p;
  fw::Firmware f(p.config());
  for (const auto& c :
       {std::pair{fw::trng::kRnd32, 0ull}, std::pair{fw::trng::kRnd32, 97ull}, std::pair{fw::trng::kRnd64, 0ull},
        std::pair{fw::trng::kRnd64, 193ull}, std::pair{fw::trng::kRnd64, 0x1'0000'0000ull}}) {
    // Plain variables, not a structured binding: CAPTURE's lambda captures them, and clang
    // before 16 does not implement capturing a structured binding (C++20, P1091).
    const auto fid = c.first;
    const auto n = c.second;
    CAPTURE(fid);
    CAPTURE(n);
    const auto r = call(f, fid, {n});
    CHECK(r.x[0] == neg(-2));
    CHECK(r.x[1] == 0);
    CHECK(r.x[2] == 0);
    CHECK(r.x[3] == 0);
  }
  CHECK(call(f, fw::trng::kRnd64, {0x1'0000'00C0ull}).x[0] == 0);  // W1 = 192
}

TEST_CASE("TRNG_RND: a failing source answers NO_ENTROPY") {
  FakePlatform p;
  fw::Firmware f(p.config());
  p.entropy_fails = true;
  const auto r = call(f, fw::trng::kRnd64, {64});
  CHECK(r.x[0] == neg(-3));
  CHECK(r.x[3] == 0);
}

TEST_CASE("KVM_FEATURES advertises PTP (bit 1) when the platform has a clock") {
  FakePlatform p;
  fw::Firmware f(p.config());
  CHECK(call(f, 0x8600'0000).x[0] == 0x3);
}

TEST_CASE("KVM_PTP: wall clock and counter from one snapshot, split into 32-bit halves") {
  FakePlatform p;
  constexpr std::uint64_t kEpoch = 1'700'000'000'123'456'789ull;
  fw::Firmware f(p.config(1, kEpoch));
  p.counters[0] = 0x12'3456'789Aull;
  for (std::uint64_t selector : {0ull, 1ull, 0x1'0000'0000ull}) {
    const auto r = call(f, fw::kvm::kPtp, {selector});
    const std::uint64_t wall = (r.x[0] << 32) | r.x[1];
    CHECK(r.x[2] == 0x12);
    CHECK(r.x[3] == 0x3456'789A);
    CHECK(wall == kEpoch + 0x12'3456'789Aull * 16);
    for (int i = 0; i < 4; ++i) CHECK(r.x[static_cast<std::size_t>(i)] <= 0xFFFF'FFFFu);
  }
}

TEST_CASE("KVM_PTP: another counter selector is -1 with x1..x3 zero") {
  FakePlatform p;
  fw::Firmware f(p.config());
  for (std::uint64_t selector : {2ull, 0xFFFF'FFFFull}) {
    const auto r = call(f, fw::kvm::kPtp, {selector});
    CHECK(r.x[0] == kNotSupported);
    CHECK(r.x[1] == 0);
    CHECK(r.x[3] == 0);
  }
}

TEST_CASE("PV time: ARCH_FEATURES(PV_TIME_FEATURES) is 0, only the SMC64 forms exist") {
  FakePlatform p;
  fw::Firmware f(p.config());
  CHECK(call(f, fw::arch::kArchFeatures, {fw::pv_time::kFeatures}).x[0] == 0);
  CHECK(call(f, 0x8500'0021).x[0] == kNotSupported);
}

TEST_CASE("PV time: PV_TIME_ST and FEATURES are NOT_SUPPORTED until the host sets the record's IPA") {
  FakePlatform p;
  fw::Firmware f(p.config());
  CHECK(call(f, fw::pv_time::kSt).x[0] == kNotSupported);
  CHECK(call(f, fw::pv_time::kFeatures, {fw::pv_time::kSt}).x[0] == kNotSupported);
  REQUIRE(f.set_pv_time_ipa(0, FakePlatform::kRamBase + 0x1000) == fw::HostStatus::Ok);
  CHECK(call(f, fw::pv_time::kFeatures, {fw::pv_time::kSt}).x[0] == 0);
  CHECK(call(f, fw::pv_time::kFeatures, {fw::pv_time::kFeatures}).x[0] == 0);
  CHECK(call(f, fw::pv_time::kFeatures, {0xC500'0022}).x[0] == kNotSupported);
  CHECK(call(f, fw::pv_time::kSt).x[0] == FakePlatform::kRamBase + 0x1000);
}

TEST_CASE("PV time: setting the IPA: Invalid unless aligned and in RAM, Exists when set or taken") {
  FakePlatform p;
  fw::Firmware f(p.config(2));
  CHECK(f.set_pv_time_ipa(0, FakePlatform::kRamBase + 0x20) == fw::HostStatus::Invalid);
  CHECK(f.set_pv_time_ipa(0, 0x1000) == fw::HostStatus::Invalid);
  CHECK(f.set_pv_time_ipa(0, FakePlatform::kRamBase + FakePlatform::kRamSize - 32) == fw::HostStatus::Invalid);
  CHECK(f.set_pv_time_ipa(0, FakePlatform::kRamBase) == fw::HostStatus::Ok);
  CHECK(f.set_pv_time_ipa(0, FakePlatform::kRamBase + 64) == fw::HostStatus::Exists);
  CHECK(f.set_pv_time_ipa(1, FakePlatform::kRamBase) == fw::HostStatus::Exists);
  CHECK(f.set_pv_time_ipa(1, FakePlatform::kRamBase + 64) == fw::HostStatus::Ok);
  CHECK(f.set_pv_time_ipa(2, FakePlatform::kRamBase + 128) == fw::HostStatus::NotFound);
}

TEST_CASE("PV time: PV_TIME_ST zeroes the record, before each slice stolen_time is what accrued since") {
  FakePlatform p;
  fw::Firmware f(p.config());
  const std::uint64_t ipa = FakePlatform::kRamBase + 0x1000;
  REQUIRE(f.set_pv_time_ipa(0, ipa) == fw::HostStatus::Ok);
  p.stolen[0] = 5000;
  f.vcpu_scheduled(0);
  CHECK(p.read<std::uint64_t>(ipa + 8) == 0xEEEE'EEEE'EEEE'EEEEull);  // not started: untouched
  call(f, fw::pv_time::kSt);
  for (std::uint64_t off = 0; off < 64; off += 8) CHECK(p.read<std::uint64_t>(ipa + off) == 0);
  p.stolen[0] = 12'345;
  f.vcpu_scheduled(0);
  CHECK(p.read<std::uint32_t>(ipa) == 0);      // revision
  CHECK(p.read<std::uint32_t>(ipa + 4) == 0);  // attributes
  CHECK(p.read<std::uint64_t>(ipa + 8) == 12'345 - 5000);
  call(f, fw::pv_time::kSt);  // re-zeroes and counts from now
  f.vcpu_scheduled(0);
  CHECK(p.read<std::uint64_t>(ipa + 8) == 0);
}

TEST_CASE("PV time: the record's IPA survives a system reset, the guest must call PV_TIME_ST again") {
  FakePlatform p;
  fw::Firmware f(p.config());
  const std::uint64_t ipa = FakePlatform::kRamBase + 0x1000;
  REQUIRE(f.set_pv_time_ipa(0, ipa) == fw::HostStatus::Ok);
  call(f, fw::pv_time::kSt);
  f.system_reset();
  p.stolen[0] = 99;
  f.vcpu_scheduled(0);
  CHECK(p.read<std::uint64_t>(ipa + 8) == 0);  // not started since the reset
  CHECK(call(f, fw::pv_time::kSt).x[0] == ipa);
}
