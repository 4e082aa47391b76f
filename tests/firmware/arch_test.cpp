// Arm Architecture Calls (DEN0028: SMCCC_VERSION, SMCCC_ARCH_FEATURES, SMCCC_ARCH_SOC_ID).
#include <doctest/doctest.h>

#include <string>

#include "firmware/arch.h"
#include "firmware/psci.h"
#include "tests/firmware/call.h"

using namespace emu;
using emu::test::dispatch;
using emu::test::kNotSupported;
using emu::test::neg;

TEST_CASE("SMCCC_VERSION: 1.2 encoded as (major << 16) | minor with bit 31 clear") {
  fw::Firmware firmware;
  CHECK(dispatch(firmware, 0x8000'0000).x[0] == 0x1'0002u);
  CHECK(dispatch(firmware, 0xC000'0000).x[0] == kNotSupported);  // there is no SMC64 form
}

TEST_CASE("SMCCC_ARCH_FEATURES: the Arm architecture functions are reported implemented") {
  fw::Firmware firmware;
  for (std::uint64_t q : {0x8000'0000ull, 0x8000'0001ull, 0x8000'0002ull, 0xC000'0002ull}) {
    CAPTURE(q);
    CHECK(dispatch(firmware, fw::arch::kArchFeatures, {q}).x[0] == 0);
  }
}

TEST_CASE("SMCCC_ARCH_FEATURES: each workaround reports 'not affected' in its own encoding") {
  fw::Firmware firmware;
  CHECK(dispatch(firmware, fw::arch::kArchFeatures, {fw::arch::kWorkaround1}).x[0] == 1);       // unaffected
  CHECK(dispatch(firmware, fw::arch::kArchFeatures, {fw::arch::kWorkaround2}).x[0] == neg(-2));  // NOT_REQUIRED
  CHECK(dispatch(firmware, fw::arch::kArchFeatures, {fw::arch::kWorkaround3}).x[0] == 1);       // unaffected
}

TEST_CASE("SMCCC_ARCH_FEATURES: unimplemented functions and self-discovering services answer -1") {
  fw::Firmware firmware;
  for (std::uint64_t q : {0x8000'0004ull /*WORKAROUND_4*/, 0xC000'0003ull /*FEATURE_AVAILABILITY*/,
                          0xC000'0000ull /*no SMC64 VERSION*/, 0x8400'0000ull /*PSCI_VERSION*/,
                          0x8600'0000ull /*KVM_FEATURES*/, 0x8200'0000ull, 0x0000'0000ull}) {
    CAPTURE(q);
    CHECK(dispatch(firmware, fw::arch::kArchFeatures, {q}).x[0] == kNotSupported);
  }
}

TEST_CASE("SMCCC_ARCH_WORKAROUND_1/2/3: executing one is a successful no-op") {
  fw::Firmware firmware;
  for (std::uint64_t fid : {fw::arch::kWorkaround1, fw::arch::kWorkaround2, fw::arch::kWorkaround3}) {
    CAPTURE(fid);
    const auto r = dispatch(firmware, fid, {1});
    CHECK(r.x[0] == 0);
    CHECK(r.request.kind == fw::RequestKind::None);
  }
}

TEST_CASE("SMCCC_ARCH_SOC_ID type 0: JEP-106 bank in [30:24], identity in [23:16], SoC ID in [15:0]") {
  fw::SocIdConfig soc;
  soc.jep106_bank = 0x04;
  soc.jep106_id = 0x3B;
  soc.soc_id = 0x1234;
  fw::Firmware firmware({.soc = soc});
  CHECK(dispatch(firmware, fw::arch::kSocId, {0}).x[0] == 0x043B'1234u);
  CHECK(dispatch(firmware, fw::arch::kSocId64, {0}).x[0] == 0x043B'1234u);
}

TEST_CASE("SMCCC_ARCH_SOC_ID type 1: the revision, bit 31 clear") {
  fw::SocIdConfig soc;
  soc.revision = 0x7;
  fw::Firmware firmware({.soc = soc});
  CHECK(dispatch(firmware, fw::arch::kSocId, {1}).x[0] == 7);
  soc.revision = 0x8000'0000u;
  CHECK_THROWS_AS(fw::Firmware({.soc = soc}), std::invalid_argument);
}

TEST_CASE("SMCCC_ARCH_SOC_ID type 2: the name, NUL-terminated, packed little-endian in x1..x17") {
  fw::SocIdConfig soc;
  soc.name = "ABCDEFGHIJ";
  fw::Firmware firmware({.soc = soc});
  const auto r = dispatch(firmware, fw::arch::kSocId64, {2});
  CHECK(r.x[0] == 0);
  CHECK(r.count == 18);  // SMCCC 1.2 result registers
  CHECK(r.x[1] == 0x4847'4645'4443'4241ull);  // "ABCDEFGH": first byte in bits [7:0]
  CHECK(r.x[2] == 0x0000'0000'0000'4A49ull);  // "IJ" then the NUL
  for (int i = 3; i < 18; ++i) CHECK(r.x[static_cast<std::size_t>(i)] == 0);
  soc.name = std::string(136, 'x');  // no room for the NUL
  CHECK_THROWS_AS(fw::Firmware({.soc = soc}), std::invalid_argument);
  soc.name = std::string("a\0b", 3);  // an embedded NUL would cut the name short
  CHECK_THROWS_AS(fw::Firmware({.soc = soc}), std::invalid_argument);
}

TEST_CASE("SMCCC_ARCH_SOC_ID: the name needs the SMC64 form, other types are INVALID_PARAMETER") {
  fw::Firmware firmware;
  CHECK(dispatch(firmware, fw::arch::kSocId, {2}).x[0] == neg(-3));
  CHECK(dispatch(firmware, fw::arch::kSocId, {3}).x[0] == neg(-3));
  CHECK(dispatch(firmware, fw::arch::kSocId64, {0xFFFF'FFFFull}).x[0] == neg(-3));
}

TEST_CASE("SMCCC_ARCH_SOC_ID: the type is W1 in both forms (DEN0028)") {
  fw::Firmware firmware;
  const auto plain = dispatch(firmware, fw::arch::kSocId64, {0});
  CHECK(dispatch(firmware, fw::arch::kSocId64, {0x1'0000'0000ull}).x[0] == plain.x[0]);
}
