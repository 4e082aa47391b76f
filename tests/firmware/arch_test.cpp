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

namespace {
// A firmware presenting SMCCC `version` through smccc-emu's smccc-version register.
void set_smccc(fw::Firmware& firmware, std::uint32_t version) {
  REQUIRE(firmware.set_fw_reg(fw::fw_reg::kSmcccVersion, version) == fw::HostStatus::Ok);
}
}  // namespace

TEST_CASE("SMCCC_VERSION: 1.2 encoded as (major << 16) | minor with bit 31 clear") {
  fw::Firmware firmware;
  CHECK(dispatch(firmware, 0x8000'0000).x[0] == 0x1'0002u);
  CHECK(dispatch(firmware, 0xC000'0000).x[0] == kNotSupported);  // there is no SMC64 form
}

TEST_CASE("SMCCC_ARCH_FEATURES: the Arm architecture functions are reported implemented") {
  fw::Firmware firmware;
  for (std::uint64_t q : {0x8000'0000ull, 0x8000'0001ull, 0x8000'0002ull}) {
    CAPTURE(q);
    CHECK(dispatch(firmware, fw::arch::kArchFeatures, {q}).x[0] == 0);
  }
}

TEST_CASE("SMCCC_VERSION: the smccc-version register selects 1.1 to 1.6, and only those") {
  fw::Firmware firmware;
  for (std::uint32_t v = 0x1'0001; v <= 0x1'0006; ++v) {
    CAPTURE(v);
    set_smccc(firmware, v);
    CHECK(dispatch(firmware, fw::arch::kSmcccVersion).x[0] == v);
  }
  for (std::uint64_t bad : {0x1'0000ull, 0x1'0007ull, 0x2'0000ull, 0x0ull, 0x1'0001'0001ull}) {
    CAPTURE(bad);
    CHECK(firmware.set_fw_reg(fw::fw_reg::kSmcccVersion, bad) == fw::HostStatus::Invalid);
  }
  firmware.mark_run();
  CHECK(firmware.set_fw_reg(fw::fw_reg::kSmcccVersion, 0x1'0002) == fw::HostStatus::Busy);
  CHECK(firmware.set_fw_reg(fw::fw_reg::kSmcccVersion, 0x1'0006) == fw::HostStatus::Ok);  // unchanged
}

// What each version adds (DEN0028: 1.2 SOC_ID; 1.5 FEATURE_AVAILABILITY; 1.6 SOC_ID's SMC64
// form and WORKAROUND_4): routed and advertised from that version on, never before.
TEST_CASE("SMCCC version gating: a call is offered and advertised only from the version that added it") {
  struct Gate {
    std::uint32_t fid;
    std::uint32_t since;
    std::uint64_t feature;  // ARCH_FEATURES answer once offered
  };
  const Gate gates[] = {
      {fw::arch::kSocId, 0x1'0002, 0},
      {fw::arch::kFeatureAvailability64, 0x1'0005, 0},
      {fw::arch::kSocId64, 0x1'0006, 0},
      {fw::arch::kWorkaround4, 0x1'0006, kNotSupported},  // "not affected": no other encoding
  };
  fw::Firmware firmware;
  for (std::uint32_t v = 0x1'0001; v <= 0x1'0006; ++v) {
    set_smccc(firmware, v);
    for (const Gate& g : gates) {
      CAPTURE(v);
      CAPTURE(g.fid);
      const bool offered = v >= g.since;
      CHECK(dispatch(firmware, fw::arch::kArchFeatures, {g.fid}).x[0] == (offered ? g.feature : kNotSupported));
      const std::uint64_t x1 = g.fid == fw::arch::kFeatureAvailability64 ? fw::arch::kScrEl3Opcode : 0;
      CHECK((dispatch(firmware, g.fid, {x1}).x[0] == kNotSupported) == !offered);
    }
  }
}

TEST_CASE("SMCCC at 1.1: the SMCCC 1.2 call SOC_ID is NOT_SUPPORTED, the workarounds stay") {
  fw::Firmware firmware;
  set_smccc(firmware, 0x1'0001);
  CHECK(dispatch(firmware, fw::arch::kSocId, {0}).x[0] == kNotSupported);
  CHECK(dispatch(firmware, fw::arch::kArchFeatures, {fw::arch::kWorkaround1}).x[0] == 1);
  CHECK(dispatch(firmware, fw::arch::kArchFeatures, {fw::arch::kWorkaround2}).x[0] == neg(-2));
  CHECK(dispatch(firmware, fw::arch::kArchFeatures, {fw::arch::kWorkaround3}).x[0] == 1);
}

TEST_CASE("SMCCC_ARCH_WORKAROUND_4 at 1.6: discovery says not affected (-1), the call is a no-op") {
  fw::Firmware firmware;
  set_smccc(firmware, 0x1'0006);
  CHECK(dispatch(firmware, fw::arch::kArchFeatures, {fw::arch::kWorkaround4}).x[0] == kNotSupported);
  const auto r = dispatch(firmware, fw::arch::kWorkaround4);
  CHECK(r.x[0] == 0);
  CHECK(r.request.kind == fw::RequestKind::None);
  CHECK(dispatch(firmware, fw::arch::kWorkaround4 | 0x4000'0000u).x[0] == kNotSupported);  // no SMC64 form
}

// TF-A arm_arch_svc.h: each bit is a field of the register, 1 = enabled for the caller.
TEST_CASE("SMCCC_ARCH_FEATURE_AVAILABILITY: SCR/CPTR/MDCR_EL3 views of the CPU model, else INVALID_PARAMETER") {
  fw::Firmware firmware;
  set_smccc(firmware, 0x1'0005);
  const auto scr = dispatch(firmware, fw::arch::kFeatureAvailability64, {0x1E'1100});
  CHECK(scr.x[0] == 0);
  CHECK(scr.x[1] == ((1ull << 16) | (1ull << 40)));  // APK (PAuth), TRNDR (FEAT_RNG)
  const auto cptr = dispatch(firmware, fw::arch::kFeatureAvailability64, {0x1E'1140});
  CHECK(cptr.x[0] == 0);
  CHECK(cptr.x[1] == (1ull << 10));  // TFP flipped: FP/SIMD enabled; no EZ (SVE), ESM (SME)
  const auto mdcr = dispatch(firmware, fw::arch::kFeatureAvailability64, {0x1E'1320});
  CHECK(mdcr.x[0] == 0);
  CHECK(mdcr.x[1] == ((1ull << 6) | (1ull << 9) | (1ull << 10)));  // TPM, TDA, TDOSA flipped
  for (std::uint64_t reg : {0x1E'A500ull /*MPAM3_EL3: no MPAM*/, 0x0ull, 0x1E'1101ull, 0x1'001E'1100ull}) {
    CAPTURE(reg);
    const auto r = dispatch(firmware, fw::arch::kFeatureAvailability64, {reg});
    CHECK(r.x[0] == neg(-3));
    CHECK(r.x[1] == 0);
  }
  // SMC64 only: the SMC32 FID is unknown, and ARCH_FEATURES says so.
  CHECK(dispatch(firmware, 0x8000'0003).x[0] == kNotSupported);
  CHECK(dispatch(firmware, fw::arch::kArchFeatures, {0x8000'0003}).x[0] == kNotSupported);
}

TEST_CASE("SMCCC_ARCH_SOC_ID64: discovery and the name type follow the SMCCC version both ways") {
  fw::Firmware firmware;
  set_smccc(firmware, 0x1'0006);
  CHECK(dispatch(firmware, fw::arch::kArchFeatures, {fw::arch::kSocId64}).x[0] == 0);
  set_smccc(firmware, 0x1'0002);
  CHECK(dispatch(firmware, fw::arch::kArchFeatures, {fw::arch::kSocId64}).x[0] == kNotSupported);
  CHECK(dispatch(firmware, fw::arch::kSocId64, {2}).x[0] == kNotSupported);
  CHECK(dispatch(firmware, fw::arch::kSocId, {2}).x[0] == neg(-3));
}

TEST_CASE("SMCCC_ARCH_FEATURES: each workaround reports 'not affected' in its own encoding") {
  fw::Firmware firmware;
  CHECK(dispatch(firmware, fw::arch::kArchFeatures, {fw::arch::kWorkaround1}).x[0] == 1);        // unaffected
  CHECK(dispatch(firmware, fw::arch::kArchFeatures, {fw::arch::kWorkaround2}).x[0] == neg(-2));  // NOT_REQUIRED
  CHECK(dispatch(firmware, fw::arch::kArchFeatures, {fw::arch::kWorkaround3}).x[0] == 1);        // unaffected
}

TEST_CASE("SMCCC_ARCH_FEATURES: unimplemented functions and self-discovering services answer -1") {
  fw::Firmware firmware;
  for (std::uint64_t q : {0x8000'0004ull /*WORKAROUND_4*/, 0xC000'0003ull /*FEATURE_AVAILABILITY, SMCCC 1.5*/,
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
  set_smccc(firmware, 0x1'0006);  // the SMC64 form is SMCCC 1.6's
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
  set_smccc(firmware, 0x1'0006);  // the SMC64 form is SMCCC 1.6's
  const auto r = dispatch(firmware, fw::arch::kSocId64, {2});
  CHECK(r.x[0] == 0);
  CHECK(r.count == 18);                       // SMCCC 1.2 result registers
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
  set_smccc(firmware, 0x1'0006);  // the SMC64 form is SMCCC 1.6's
  CHECK(dispatch(firmware, fw::arch::kSocId, {2}).x[0] == neg(-3));
  CHECK(dispatch(firmware, fw::arch::kSocId, {3}).x[0] == neg(-3));
  CHECK(dispatch(firmware, fw::arch::kSocId64, {0xFFFF'FFFFull}).x[0] == neg(-3));
}

TEST_CASE("SMCCC_ARCH_SOC_ID: the type is W1 in both forms (DEN0028)") {
  fw::Firmware firmware;
  set_smccc(firmware, 0x1'0006);  // the SMC64 form is SMCCC 1.6's
  const auto plain = dispatch(firmware, fw::arch::kSocId64, {0});
  CHECK(dispatch(firmware, fw::arch::kSocId64, {0x1'0000'0000ull}).x[0] == plain.x[0]);
}
