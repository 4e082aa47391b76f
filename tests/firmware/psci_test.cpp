// PSCI functions a single CPU needs (DEN0022F.b: PSCI_VERSION, SYSTEM_OFF/RESET/RESET2,
// MIGRATE_INFO_TYPE, PSCI_FEATURES).
#include <doctest/doctest.h>

#include "firmware/arch.h"
#include "firmware/dispatcher.h"
#include "firmware/psci.h"
#include "tests/firmware/call.h"

using namespace emu;
using emu::test::dispatch;
using emu::test::kNotSupported;
using emu::test::neg;

TEST_CASE("PSCI_VERSION: 1.1 by default") {
  fw::Firmware firmware;
  CHECK(dispatch(firmware, fw::psci::kVersion).x[0] == 0x1'0001u);
}

TEST_CASE("PSCI_FEATURES: 0 for every implemented PSCI function, in each form it exists in") {
  fw::Firmware firmware;
  for (std::uint64_t q : {0x8400'0000ull, 0x8400'0006ull, 0x8400'0008ull, 0x8400'0009ull, 0x8400'000Aull,
                          0x8400'0012ull, 0xC400'0012ull}) {
    CAPTURE(q);
    CHECK(dispatch(firmware, fw::psci::kFeatures, {q}).x[0] == 0);
  }
}

TEST_CASE("PSCI_FEATURES: NOT_SUPPORTED for PSCI functions the model does not implement") {
  fw::Firmware firmware;
  for (std::uint64_t q :
       {0x8400'000Bull /*CPU_FREEZE*/, 0x8400'001Full /*reserved*/, 0xC400'0000ull /*no SMC64 PSCI_VERSION*/,
        0x8400'0005ull /*MIGRATE*/, 0x8400'0007ull /*MIGRATE_INFO_UP_CPU*/, 0x8400'000Cull /*CPU_DEFAULT_SUSPEND*/,
        0x8400'000Full /*SET_SUSPEND_MODE*/, 0x8400'0015ull /*SYSTEM_OFF2, PSCI 1.3*/, 0xC400'0015ull}) {
    CAPTURE(q);
    CHECK(dispatch(firmware, fw::psci::kFeatures, {q}).x[0] == kNotSupported);
  }
}

TEST_CASE("PSCI_FEATURES(SMCCC_VERSION) is 0: how a PSCI 1.x client discovers SMCCC >= 1.1") {
  fw::Firmware firmware;
  CHECK(dispatch(firmware, fw::psci::kFeatures, {fw::arch::kSmcccVersion}).x[0] == 0);
}

TEST_CASE("PSCI_FEATURES: functions of other services are NOT_SUPPORTED") {
  fw::Firmware firmware;
  for (std::uint64_t q : {0x8000'0001ull, 0x8600'0000ull, 0x8400'FF01ull}) {
    CAPTURE(q);
    CHECK(dispatch(firmware, fw::psci::kFeatures, {q}).x[0] == kNotSupported);
  }
}

TEST_CASE("PSCI: a function newer than the configured version is not offered, nor advertised") {
  fw::VmState vm;
  vm.psci_version = fw::psci::kVersion1_0;
  fw::ArchService arch(vm);
  fw::PsciService psci(vm);
  fw::Dispatcher dispatcher;
  dispatcher.add(arch);
  dispatcher.add(psci);
  fw::SmcccCall call = test::sentinel_call(fw::psci::kSystemReset2);
  call.x[1] = 0;
  CHECK(dispatcher.dispatch(call).x[0] == kNotSupported);  // SYSTEM_RESET2 is PSCI 1.1
  call = test::sentinel_call(fw::psci::kFeatures);
  call.x[1] = fw::psci::kSystemReset2;
  CHECK(dispatcher.dispatch(call).x[0] == kNotSupported);
  call = test::sentinel_call(fw::psci::kVersion);
  CHECK(dispatcher.dispatch(call).x[0] == fw::psci::kVersion1_0);
}

TEST_CASE("PSCI MIGRATE_INFO_TYPE: 2, no Trusted OS needs migrating") {
  fw::Firmware firmware;
  CHECK(dispatch(firmware, fw::psci::kMigrateInfoType).x[0] == 2);
}

TEST_CASE("PSCI SYSTEM_OFF: asks core to power the system off") {
  fw::Firmware firmware;
  const auto r = dispatch(firmware, fw::psci::kSystemOff);
  CHECK(r.request.kind == fw::RequestKind::SystemOff);
}

TEST_CASE("PSCI SYSTEM_RESET: asks core for a cold reset") {
  fw::Firmware firmware;
  const auto r = dispatch(firmware, fw::psci::kSystemReset);
  CHECK(r.request.kind == fw::RequestKind::SystemReset);
  CHECK(r.request.reset == fw::ResetType::Cold);
}

TEST_CASE("PSCI SYSTEM_RESET2: architectural type 0 is a warm reset that carries the cookie") {
  fw::Firmware firmware;
  const auto r32 = dispatch(firmware, fw::psci::kSystemReset2, {0, 0xAB'0000'1234ull});
  CHECK(r32.request.kind == fw::RequestKind::SystemReset);
  CHECK(r32.request.reset == fw::ResetType::Warm);
  CHECK(r32.request.context == 0x1234);  // SMC32: the cookie is 32 bits
  const auto r64 = dispatch(firmware, fw::psci::kSystemReset2_64, {0, 0xAB'0000'1234ull});
  CHECK(r64.request.context == 0xAB'0000'1234ull);
}

TEST_CASE("PSCI SYSTEM_RESET2: other architectural types and vendor types are INVALID_PARAMETERS") {
  fw::Firmware firmware;
  for (std::uint64_t fid : {std::uint64_t{fw::psci::kSystemReset2}, std::uint64_t{fw::psci::kSystemReset2_64}}) {
    for (std::uint64_t type : {1ull, 0x7FFF'FFFFull, 0x8000'0000ull, 0x8000'0001ull}) {
      CAPTURE(fid);
      CAPTURE(type);
      const auto r = dispatch(firmware, fid, {type, 0});
      CHECK(r.x[0] == neg(-2));
      CHECK(r.request.kind == fw::RequestKind::None);
    }
  }
}

namespace {
fw::Firmware& at_psci(fw::Firmware& firmware, std::uint32_t version) {
  REQUIRE(firmware.set_fw_reg(fw::fw_reg::kPsciVersion, version) == fw::HostStatus::Ok);
  return firmware;
}
}  // namespace

TEST_CASE("PSCI_VERSION register: 1.2 and 1.3 are accepted, as KVM accepts them, and reported") {
  for (std::uint32_t v : {fw::psci::kVersion1_2, fw::psci::kVersion1_3}) {
    fw::Firmware firmware;
    CHECK(dispatch(at_psci(firmware, v), fw::psci::kVersion).x[0] == v);
  }
}

// DEN0022F.b: SYSTEM_OFF2 is a PSCI 1.3 function; at 1.2 it is not there, nor advertised.
TEST_CASE("PSCI SYSTEM_OFF2: offered from PSCI 1.3 only, in both forms") {
  for (std::uint32_t v : {fw::psci::kVersion1_1, fw::psci::kVersion1_2}) {
    fw::Firmware firmware;
    at_psci(firmware, v);
    CAPTURE(v);
    CHECK(dispatch(firmware, fw::psci::kFeatures, {fw::psci::kSystemOff2}).x[0] == kNotSupported);
    CHECK(dispatch(firmware, fw::psci::kSystemOff2, {1, 0}).x[0] == kNotSupported);
    CHECK(dispatch(firmware, fw::psci::kSystemOff2_64, {1, 0}).x[0] == kNotSupported);
  }
}

TEST_CASE("PSCI_FEATURES(SYSTEM_OFF2) at 1.3: the supported-types bitmask, bit 0 HIBERNATE_OFF") {
  fw::Firmware firmware;
  at_psci(firmware, fw::psci::kVersion1_3);
  CHECK(dispatch(firmware, fw::psci::kFeatures, {fw::psci::kSystemOff2}).x[0] == 1);
  CHECK(dispatch(firmware, fw::psci::kFeatures, {fw::psci::kSystemOff2_64}).x[0] == 1);
}

TEST_CASE("PSCI SYSTEM_OFF2: type HIBERNATE_OFF (1), or 0 as DEN0022F.b allows, with cookie 0 hibernates") {
  for (std::uint32_t fid : {fw::psci::kSystemOff2, fw::psci::kSystemOff2_64}) {
    for (std::uint64_t type : {0ull, 1ull}) {
      fw::Firmware firmware;
      at_psci(firmware, fw::psci::kVersion1_3);
      CAPTURE(fid);
      CAPTURE(type);
      const auto r = dispatch(firmware, fid, {type, 0});
      CHECK(r.request.kind == fw::RequestKind::SystemOff);
      CHECK(r.request.hibernate);
      CHECK(r.x[0] == neg(-6));  // INTERNAL_FAILURE, should a host resume the caller
      CHECK(r.count == 1);       // x1..x3 are the caller's
    }
  }
}

TEST_CASE("PSCI SYSTEM_OFF2: another type or a non-zero cookie is INVALID_PARAMETERS and returns") {
  fw::Firmware firmware;
  at_psci(firmware, fw::psci::kVersion1_3);
  const std::initializer_list<std::uint64_t> bad[] = {{2, 0}, {0x8000'0001, 0}, {0xFFFF'FFFF, 0}, {1, 1}, {0, 0x40}};
  for (const auto& args : bad) {
    for (std::uint32_t fid : {fw::psci::kSystemOff2, fw::psci::kSystemOff2_64}) {
      CAPTURE(fid);
      CAPTURE(*args.begin());
      const auto r = dispatch(firmware, fid, args);
      CHECK(r.x[0] == neg(-2));
      CHECK(r.request.kind == fw::RequestKind::None);
    }
  }
  // SMC64: the whole of x1 and x2 count; SMC32 sees only their low halves (DEN0028 §3.2).
  CHECK(dispatch(firmware, fw::psci::kSystemOff2_64, {0x1'0000'0001ull, 0}).x[0] == neg(-2));
  CHECK(dispatch(firmware, fw::psci::kSystemOff2_64, {1, 0x1'0000'0000ull}).x[0] == neg(-2));
  CHECK(dispatch(firmware, fw::psci::kSystemOff2, {0x1'0000'0001ull, 0x1'0000'0000ull}).request.hibernate);
}

TEST_CASE("PSCI SYSTEM_OFF and SYSTEM_OFF2 ask for the same power-off, told apart by `hibernate`") {
  fw::Firmware firmware;
  at_psci(firmware, fw::psci::kVersion1_3);
  const auto off = dispatch(firmware, fw::psci::kSystemOff);
  CHECK(off.request.kind == fw::RequestKind::SystemOff);
  CHECK(!off.request.hibernate);
}
