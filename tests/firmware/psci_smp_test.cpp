// PSCI 1.1 multi-CPU rules (DEN0022F.b, CPU_ON to MEM_PROTECT), driven through the dispatcher with the
// lifecycle hooks core would call.
#include <doctest/doctest.h>

#include "firmware/psci.h"
#include "tests/firmware/call.h"

using namespace emu;
using emu::test::kNotSupported;
using emu::test::neg;

namespace {

constexpr std::uint64_t kRam = 0x4000'0000;
constexpr std::uint64_t kEntry = kRam + 0x1000;
constexpr std::uint64_t kSuccess = 0;
constexpr std::uint64_t kInvalidParameters = neg(-2);
constexpr std::uint64_t kDenied = neg(-3);
constexpr std::uint64_t kAlreadyOn = neg(-4);
constexpr std::uint64_t kInvalidAddress = neg(-9);

fw::FirmwareConfig config(unsigned vcpus) {
  return {.vcpu_count = vcpus, .ram_base = kRam, .ram_size = 128ull << 20};
}

// A call from `vcpu`.
fw::SmcccResult call(fw::Firmware& f, unsigned vcpu, std::uint64_t fid,
                     std::initializer_list<std::uint64_t> args = {}) {
  return test::call_from(f, vcpu, fid, args);
}

std::uint64_t affinity(fw::Firmware& f, std::uint64_t target, std::uint64_t level = 0) {
  return call(f, 0, fw::psci::kAffinityInfo, {target, level}).x[0];
}

}  // namespace

TEST_CASE("Topology: MPIDR of vCPU i has Aff0 = i % 16, Aff1 = i / 16 and bit 31 set") {
  CHECK(fw::mpidr_of(0) == 0x8000'0000u);
  CHECK(fw::mpidr_of(17) == 0x8000'0101u);
  CHECK(fw::vcpu_of(0x101, 18) == 17u);
  CHECK_FALSE(fw::vcpu_of(0x101, 17));            // no such vCPU
  CHECK_FALSE(fw::vcpu_of(0x10, 64));             // Aff0 >= 16 is not a core here
  CHECK_FALSE(fw::vcpu_of(0x8000'0001ull, 2));    // bit 31 is not affinity
  CHECK_FALSE(fw::vcpu_of(0x1'0000'0001ull, 2));  // Aff3 names no vCPU
}

TEST_CASE("PSCI CPU_ON: SUCCESS, and the target is ON before the call returns") {
  fw::Firmware f(config(4));
  CHECK(affinity(f, 2) == fw::psci::kAffinityOff);
  const auto r = call(f, 0, fw::psci::kCpuOn64, {2, kEntry, 0x55});
  CHECK(r.x[0] == kSuccess);
  CHECK(r.request.kind == fw::RequestKind::CpuOn);
  CHECK(r.request.target == 2);
  CHECK(r.request.entry == kEntry);
  CHECK(r.request.context == 0x55);
  CHECK(affinity(f, 2) == fw::psci::kAffinityOn);
}

TEST_CASE("PSCI CPU_ON: of several callers racing for one target exactly one gets SUCCESS") {
  fw::Firmware f(config(8));
  int success = 0;
  int already_on = 0;
  for (unsigned caller = 0; caller < 7; ++caller) {
    const std::uint64_t x0 = call(f, caller, fw::psci::kCpuOn64, {7, kEntry, caller}).x[0];
    success += x0 == kSuccess;
    already_on += x0 == kAlreadyOn;
  }
  CHECK(success == 1);
  CHECK(already_on == 6);
}

TEST_CASE("PSCI CPU_ON: checks target, then entry point, then state (TF-A's order)") {
  fw::Firmware f(config(2));
  CHECK(call(f, 0, fw::psci::kCpuOn64, {5, kEntry, 0}).x[0] == kInvalidParameters);           // no vCPU 5
  CHECK(call(f, 0, fw::psci::kCpuOn64, {0x100'0001, kEntry, 0}).x[0] == kInvalidParameters);  // bit 24
  CHECK(call(f, 0, fw::psci::kCpuOn64, {0, 0x1000, 0}).x[0] == kInvalidAddress);              // self, bad entry
  CHECK(call(f, 0, fw::psci::kCpuOn64, {1, 0x1000, 0}).x[0] == kInvalidAddress);              // outside RAM
  CHECK(call(f, 0, fw::psci::kCpuOn64, {1, kEntry + 2, 0}).x[0] == kInvalidAddress);          // misaligned
  CHECK(call(f, 0, fw::psci::kCpuOn64, {0, kEntry, 0}).x[0] == kAlreadyOn);                   // self is ON
}

TEST_CASE("PSCI CPU_ON (SMC32): target, entry and context are 32-bit values") {
  fw::Firmware f(config(2));
  const auto r =
      call(f, 0, fw::psci::kCpuOn, {0xFFFF'FFFF'0000'0001ull, 0xAB'0000'0000ull | kEntry, 0xCC'0000'0007ull});
  CHECK(r.x[0] == kSuccess);
  CHECK(r.request.entry == kEntry);
  CHECK(r.request.context == 7);
}

TEST_CASE("PSCI CPU_OFF: still ON for AFFINITY_INFO until core reports the vCPU stopped") {
  fw::Firmware f(config(2));
  call(f, 0, fw::psci::kCpuOn64, {1, kEntry, 0});
  const auto r = call(f, 1, fw::psci::kCpuOff);
  CHECK(r.request.kind == fw::RequestKind::CpuOff);
  CHECK(r.count == 1);
  CHECK(affinity(f, 1) == fw::psci::kAffinityOn);
  f.vcpu_stopped(1);
  CHECK(affinity(f, 1) == fw::psci::kAffinityOff);
  CHECK(call(f, 0, fw::psci::kCpuOn64, {1, kEntry, 0}).x[0] == kSuccess);  // and on again
}

TEST_CASE("PSCI AFFINITY_INFO: level 1 is the cluster of 16, levels the topology lacks are invalid") {
  fw::Firmware f(config(20));
  CHECK(affinity(f, 0x100, 1) == fw::psci::kAffinityOff);  // cluster 1: vCPUs 16..19, all off
  CHECK(affinity(f, 0x105, 1) == fw::psci::kAffinityOff);  // Aff0 is ignored at level 1
  call(f, 0, fw::psci::kCpuOn64, {0x103, kEntry, 0});
  CHECK(affinity(f, 0x100, 1) == fw::psci::kAffinityOn);
  CHECK(affinity(f, 0x200, 1) == kInvalidParameters);  // no cluster 2
  for (std::uint64_t level : {2ull, 3ull, 4ull}) CHECK(affinity(f, 0, level) == kInvalidParameters);
  CHECK(affinity(f, 0x14) == kInvalidParameters);  // Aff0 20 is no core
}

TEST_CASE("PSCI CPU_SUSPEND: standby returns SUCCESS, power-down resumes at the entry point") {
  fw::Firmware f(config(1));
  const auto standby = call(f, 0, fw::psci::kCpuSuspend, {0x0000'0000, 0, 0});
  CHECK(standby.x[0] == kSuccess);
  CHECK(standby.request.kind == fw::RequestKind::CpuSuspend);
  CHECK_FALSE(standby.request.power_down);
  CHECK(standby.request.duration_ns == fw::psci::kSuspendNs);
  CHECK(affinity(f, 0) == fw::psci::kAffinityOn);  // suspended cores are ON (DEN0022F.b AFFINITY_INFO)
  CHECK(call(f, 0, fw::psci::kNodeHwState, {0, 0}).x[0] == fw::psci::kHwStandby);
  f.vcpu_resumed(0);
  const auto down = call(f, 0, fw::psci::kCpuSuspend, {0x0001'0000, kEntry, 0x99});
  CHECK(down.request.power_down);
  CHECK(down.request.entry == kEntry);
  CHECK(down.request.context == 0x99);
  CHECK(call(f, 0, fw::psci::kNodeHwState, {0, 0}).x[0] == fw::psci::kHwOff);
}

TEST_CASE("PSCI CPU_SUSPEND: undeclared or malformed power_state is INVALID_PARAMETERS, bad entry INVALID_ADDRESS") {
  fw::Firmware f(config(1));
  for (std::uint64_t state : {0x1ull, 0x0100'0000ull, 0x4000'0000ull, 0x0001'0001ull, 0x1'0000'0000ull}) {
    CAPTURE(state);
    const auto r = call(f, 0, 0xC400'0001, {state, kEntry, 0});
    CHECK(r.x[0] == kInvalidParameters);
    CHECK(r.request.kind == fw::RequestKind::None);
  }
  CHECK(call(f, 0, fw::psci::kCpuSuspend, {0x0001'0000, 0x10, 0}).x[0] == kInvalidAddress);
}

TEST_CASE("PSCI STAT_COUNT and STAT_RESIDENCY count each suspend state per vCPU") {
  fw::Firmware f(config(2));
  for (int i = 0; i < 3; ++i) {
    call(f, 0, fw::psci::kCpuSuspend, {0, 0, 0});
    f.vcpu_resumed(0);
  }
  CHECK(call(f, 1, fw::psci::kStatCount, {0, 0}).x[0] == 3);
  CHECK(call(f, 1, fw::psci::kStatResidency, {0, 0}).x[0] == 3 * fw::psci::kSuspendNs / 1000);
  CHECK(call(f, 1, fw::psci::kStatCount, {0, 0x0001'0000}).x[0] == 0);
  CHECK(call(f, 1, fw::psci::kStatCount, {1, 0}).x[0] == 0);
  CHECK(call(f, 1, fw::psci::kStatCount, {0, 0x5}).x[0] == kInvalidParameters);
  CHECK(call(f, 1, fw::psci::kStatResidency, {9, 0}).x[0] == kInvalidParameters);
}

TEST_CASE("PSCI SYSTEM_SUSPEND: INVALID_ADDRESS first, DENIED while another vCPU is on") {
  fw::Firmware f(config(2));
  CHECK(call(f, 0, fw::psci::kSystemSuspend, {0x10, 0}).x[0] == kInvalidAddress);
  call(f, 0, fw::psci::kCpuOn64, {1, kEntry, 0});
  CHECK(call(f, 0, fw::psci::kSystemSuspend, {kEntry, 0}).x[0] == kDenied);
  call(f, 1, fw::psci::kCpuOff);
  f.vcpu_stopped(1);
  const auto r = call(f, 0, fw::psci::kSystemSuspend, {kEntry, 0x42});
  CHECK(r.request.kind == fw::RequestKind::SystemSuspend);
  CHECK(r.request.power_down);
  CHECK(r.request.context == 0x42);
}

TEST_CASE("PSCI NODE_HW_STATE: level 0 per core, level 1 per cluster, higher levels invalid") {
  fw::Firmware f(config(2));
  CHECK(call(f, 0, fw::psci::kNodeHwState, {0, 0}).x[0] == fw::psci::kHwOn);
  CHECK(call(f, 0, fw::psci::kNodeHwState, {1, 0}).x[0] == fw::psci::kHwOff);
  CHECK(call(f, 0, fw::psci::kNodeHwState, {0, 1}).x[0] == fw::psci::kHwOn);
  CHECK(call(f, 0, fw::psci::kNodeHwState, {0, 2}).x[0] == kInvalidParameters);
  CHECK(call(f, 0, fw::psci::kNodeHwState, {7, 0}).x[0] == kInvalidParameters);
}

TEST_CASE("PSCI MEM_PROTECT returns the previous setting, CHECK_RANGE accepts RAM only") {
  fw::Firmware f(config(1));
  CHECK(call(f, 0, fw::psci::kMemProtect, {1}).x[0] == 0);
  CHECK(f.mem_protect());
  CHECK(call(f, 0, fw::psci::kMemProtect, {0}).x[0] == 1);
  CHECK(call(f, 0, fw::psci::kMemProtect, {2}).x[0] == kInvalidParameters);
  CHECK(call(f, 0, fw::psci::kMemProtectCheckRange, {kRam, 4096}).x[0] == kSuccess);
  CHECK(call(f, 0, fw::psci::kMemProtectCheckRange, {kRam, 0}).x[0] == kDenied);
  CHECK(call(f, 0, fw::psci::kMemProtectCheckRange, {kRam - 1, 2}).x[0] == kDenied);
  CHECK(call(f, 0, 0xC400'0014, {kRam, ~0ull}).x[0] == kDenied);  // wraps
}

TEST_CASE("PSCI after a system reset: the boot vCPU is on, the others off, statistics cleared") {
  fw::Firmware f(config(2));
  call(f, 0, fw::psci::kCpuOn64, {1, kEntry, 0});
  call(f, 0, fw::psci::kCpuSuspend, {0, 0, 0});
  f.system_reset();
  CHECK(affinity(f, 0) == fw::psci::kAffinityOn);
  CHECK(affinity(f, 1) == fw::psci::kAffinityOff);
  CHECK(call(f, 0, fw::psci::kStatCount, {0, 0}).x[0] == 0);
}

TEST_CASE("PSCI_FEATURES(CPU_SUSPEND) is 0: original power_state format, no OS-initiated mode") {
  fw::Firmware f(config(1));
  CHECK(call(f, 0, fw::psci::kFeatures, {0x8400'0001}).x[0] == 0);
  CHECK(call(f, 0, fw::psci::kFeatures, {0xC400'0001}).x[0] == 0);
  CHECK(call(f, 0, fw::psci::kFeatures, {0x8400'000F}).x[0] == kNotSupported);  // SET_SUSPEND_MODE
}

TEST_CASE("PSCI STAT_RESIDENCY credits a suspend when it ends, not when it starts") {
  fw::Firmware f(config(2));
  call(f, 0, fw::psci::kCpuSuspend, {0, 0, 0});
  CHECK(call(f, 1, fw::psci::kStatCount, {0, 0}).x[0] == 1);
  CHECK(call(f, 1, fw::psci::kStatResidency, {0, 0}).x[0] == 0);
  f.vcpu_resumed(0);
  CHECK(call(f, 1, fw::psci::kStatResidency, {0, 0}).x[0] == fw::psci::kSuspendNs / 1000);
}
