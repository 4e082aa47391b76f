// End-to-end trap round trip: a guest loop of HVC calls through the whole emulator, beside a
// raw Unicorn engine running the same loop whose interrupt hook only writes x0.
// Each iteration runs kCalls calls; items/s is calls per second.
#include <benchmark/benchmark.h>
#include <unicorn/unicorn.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "core/machine.h"

namespace {

constexpr std::uint64_t kCalls = 100'000;
constexpr std::uint64_t kCode = emu::core::kRawImageAddress;

// loop: movz x0, #0x8000, lsl #16 ; hvc #0 ; subs x19, x19, #1 ; b.ne loop ; wfi
// (words from aarch64-linux-gnu-as)
constexpr std::array<std::uint32_t, 5> kLoop{0xD2B0'0000, 0xD400'0002, 0xF100'0673, 0x54FF'FFA1, 0xD503'207F};

std::vector<std::uint8_t> loop_bytes() {
  std::vector<std::uint8_t> bytes(kLoop.size() * 4);
  std::memcpy(bytes.data(), kLoop.data(), bytes.size());
  return bytes;
}

void check(uc_err err) {
  if (err != UC_ERR_OK) throw std::runtime_error(uc_strerror(err));
}

void BM_Trap_RawUnicornHvc(benchmark::State& state) {
  uc_engine* uc = nullptr;
  check(uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc));
  check(uc_ctl_set_cpu_model(uc, UC_CPU_ARM64_MAX));
  check(uc_mem_map(uc, emu::core::kRamBase, 1 << 20, UC_PROT_ALL));
  const auto bytes = loop_bytes();
  check(uc_mem_write(uc, kCode, bytes.data(), bytes.size()));
  uc_arm64_cp_reg scr{1, 1, 3, 6, 0, 0};  // SCR_EL3: HVC needs HCE at EL1
  check(uc_reg_read(uc, UC_ARM64_REG_CP_REG, &scr));
  scr.val |= (1u << 0) | (1u << 8) | (1u << 10);
  check(uc_reg_write(uc, UC_ARM64_REG_CP_REG, &scr));
  uc_hook hook{};
  auto on_intr = +[](uc_engine* engine, std::uint32_t, void*) {
    const std::uint64_t version = 0x1'0002;
    uc_reg_write(engine, UC_ARM64_REG_X0, &version);
  };
  check(uc_hook_add(uc, &hook, UC_HOOK_INTR, reinterpret_cast<void*>(on_intr), nullptr, 1, 0));
  for (auto _ : state) {
    const std::uint64_t n = kCalls;
    uc_reg_write(uc, UC_ARM64_REG_X19, &n);
    check(uc_emu_start(uc, kCode, 0, 0, 0));  // returns at the WFI
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kCalls));
  uc_close(uc);
}
BENCHMARK(BM_Trap_RawUnicornHvc)->Unit(benchmark::kMillisecond);

void BM_Trap_SmcccEmuHvc(benchmark::State& state) {
  emu::core::Machine machine({.memory = 1 << 20});
  machine.load(emu::core::image_from_raw_bytes(loop_bytes(), "loop", machine.layout(), kCode));
  for (auto _ : state) {
    machine.set_reg(0, emu::core::Reg::Pc, kCode);
    machine.set_reg(0, emu::core::xreg(19), kCalls);
    if (machine.run().kind != emu::core::ExitKind::Deadlock) state.SkipWithError("the loop did not end at its WFI");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kCalls));
}
BENCHMARK(BM_Trap_SmcccEmuHvc)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
