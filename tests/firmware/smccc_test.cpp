// SMCCC core rules (DEN0028 SMC Calling Convention v1.2). One TEST_CASE per rule.
#include <doctest/doctest.h>

#include "firmware/arch.h"
#include "firmware/psci.h"
#include "tests/firmware/call.h"

using namespace emu;
using emu::test::dispatch;
using emu::test::kNotSupported;
using emu::test::neg;

TEST_CASE("FunctionId: fields decode as DEN0028 lays out W0") {
  const auto id = fw::FunctionId::decode(0xC400'0003);  // PSCI CPU_ON, SMC64
  CHECK(id.fast);
  CHECK(id.smc64);
  CHECK(id.owner == 4);
  CHECK(id.number == 3);
  CHECK_FALSE(id.sve_hint);
  CHECK_FALSE(id.reserved_set);
  CHECK(fw::make_fast_fid(true, 4, 3) == 0xC400'0003u);
  const auto y = fw::FunctionId::decode(0x3200'0001);  // yielding Trusted OS call
  CHECK_FALSE(y.fast);
  CHECK(y.owner == 50);
}

TEST_CASE("SMCCC: only the low 32 bits of X0 form the function identifier") {
  fw::Firmware firmware;
  const auto r = dispatch(firmware, 0xDEAD'BEEF'8000'0000ull);
  CHECK(r.x[0] == fw::arch::kVersion1_2);
}

TEST_CASE("SMCCC 1.3: a FID with the SVE hint (bit 16) is served as if the bit were clear") {
  fw::Firmware firmware;
  CHECK(fw::FunctionId::decode(0x8001'0000).raw == 0x8000'0000u);
  CHECK(fw::FunctionId::decode(0x8001'0000).sve_hint);
  CHECK(dispatch(firmware, 0x8001'0000).x[0] == fw::arch::kVersion1_2);
  CHECK(dispatch(firmware, 0x8401'000A, {fw::psci::kVersion}).x[0] == 0);
}

TEST_CASE("SMCCC: an unknown FID returns NOT_SUPPORTED in x0 and changes no other register") {
  fw::Firmware firmware;
  for (std::uint64_t fid :
       {0x8200'0000ull, 0x8300'0000ull, 0xC300'0000ull, 0x8500'FF01ull, 0x8400'000Bull, 0xBF00'0000ull}) {
    CAPTURE(fid);
    const auto r = dispatch(firmware, fid);
    CHECK(r.x[0] == kNotSupported);
    CHECK(r.count == 1);  // core writes back x0 only (docs/architecture.md, "Model decisions")
    CHECK(r.request.kind == fw::RequestKind::None);
  }
}

TEST_CASE("SMCCC: yielding calls (bit 31 clear) are NOT_SUPPORTED without a Trusted OS") {
  fw::Firmware firmware;
  CHECK(dispatch(firmware, 0x0400'0000).x[0] == kNotSupported);  // PSCI_VERSION's number as a yielding call
  CHECK(dispatch(firmware, 0x3200'0000).x[0] == kNotSupported);
}

TEST_CASE("SMCCC: a fast call with reserved bits 23:17 set is NOT_SUPPORTED") {
  fw::Firmware firmware;
  CHECK(dispatch(firmware, 0x8002'0000).x[0] == kNotSupported);
  CHECK(dispatch(firmware, 0x8402'0000).x[0] == kNotSupported);
}

TEST_CASE("SMCCC: an HVC/SMC immediate other than #0 is not an SMCCC call") {
  fw::Firmware firmware;
  fw::SmcccCall call = test::sentinel_call(fw::arch::kSmcccVersion);
  call.imm = 1;
  const auto r = firmware.dispatch(call);
  CHECK(r.x[0] == kNotSupported);
  CHECK(r.count == 1);
}

TEST_CASE("SMCCC: SMC32 calls see only the low 32 bits of the argument registers they read") {
  fw::Firmware firmware;
  // ARCH_FEATURES(SMCCC_VERSION) is 0; with the upper half kept it would be an unknown FID.
  CHECK(dispatch(firmware, fw::arch::kArchFeatures, {0xFFFF'FFFF'8000'0000ull}).x[0] == 0);
  CHECK(dispatch(firmware, fw::psci::kFeatures, {0xDEAD'0000'8400'000Aull}).x[0] == 0);
  // SOC_ID type 0 with garbage above bit 31 is still type 0.
  CHECK(static_cast<std::int64_t>(dispatch(firmware, fw::arch::kSocId, {0x1'0000'0000ull}).x[0]) >= 0);
  // The service really sees the narrowed registers: CPU_ON reads x1..x3. Registers a function
  // does not read are never written back, so they are left alone (the guest cannot tell).
  fw::SmcccCall call = test::sentinel_call(fw::psci::kCpuOn);
  firmware.dispatch(call);
  for (int i = 1; i <= 3; ++i) CHECK(call.x[static_cast<std::size_t>(i)] <= 0xFFFF'FFFFull);
  CHECK(call.x[4] > 0xFFFF'FFFFull);
}

TEST_CASE("SMCCC: SMC64 calls keep full 64-bit arguments") {
  fw::Firmware firmware;
  fw::SmcccCall call = test::sentinel_call(fw::arch::kSocId64);
  call.x[1] = 0x1'0000'0000ull;
  firmware.dispatch(call);
  CHECK(call.x[1] == 0x1'0000'0000ull);
  CHECK(call.x[7] > 0xFFFF'FFFFull);
}

TEST_CASE("SMCCC: SMC32 results are 32 bits wide and negative codes are sign-extended to 64") {
  fw::Firmware firmware;
  const auto uid = dispatch(firmware, fw::kvm::kCallUid);
  CHECK(uid.x[0] == 0xB66F'B428ull);  // bit 31 set, still zero-extended: a value, not a code
  const auto bad = dispatch(firmware, fw::arch::kSocId, {7});
  CHECK(bad.x[0] == 0xFFFF'FFFF'FFFF'FFFDull);  // INVALID_PARAMETER (-3)
  const auto reset2 = dispatch(firmware, fw::psci::kSystemReset2, {1, 0});
  CHECK(reset2.x[0] == 0xFFFF'FFFF'FFFF'FFFEull);  // INVALID_PARAMETERS (-2)
}

TEST_CASE("SMCCC 1.1: a defined call writes x0..x3 (x1..x3 zeroed) and preserves x4..x17") {
  fw::Firmware firmware;
  const auto r = dispatch(firmware, fw::arch::kSmcccVersion, {11, 22, 33});
  CHECK(r.count == 4);
  CHECK(r.x[1] == 0);
  CHECK(r.x[2] == 0);
  CHECK(r.x[3] == 0);
}

TEST_CASE("SMCCC: HVC and SMC reach the same dispatcher with the same answers") {
  fw::Firmware firmware;
  for (std::uint64_t fid : {0x8000'0000ull, 0x8400'0000ull, 0x8200'0000ull, 0x8600'FF01ull}) {
    CAPTURE(fid);
    const auto h = dispatch(firmware, fid, {}, fw::Conduit::Hvc);
    const auto s = dispatch(firmware, fid, {}, fw::Conduit::Smc);
    CHECK(h.count == s.count);
    for (int i = 0; i < h.count; ++i) CHECK(h.x[static_cast<std::size_t>(i)] == s.x[static_cast<std::size_t>(i)]);
  }
}
