// PSCI functions a single CPU needs (DEN0022; digest 2.3, 2.11, 2.13, 2.14).
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
  for (std::uint64_t q : {0x8400'000Bull /*CPU_FREEZE*/, 0x8400'001Full /*reserved*/,
                          0xC400'0000ull /*no SMC64 PSCI_VERSION*/, 0x8400'0005ull /*MIGRATE*/,
                          0x8400'0007ull /*MIGRATE_INFO_UP_CPU*/, 0x8400'000Cull /*CPU_DEFAULT_SUSPEND*/,
                          0x8400'000Full /*SET_SUSPEND_MODE*/, 0x8400'0015ull /*SYSTEM_OFF2, PSCI 1.3*/}) {
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
