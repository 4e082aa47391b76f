// Guest throughput on 1, 2, 4 and 8 vCPUs: the whole emulator (block-hook budget, round-robin
// scheduler, virtual time) against the same compute loop on raw Unicorn engines with no
// hooks at all, in the same run (issue: accounting and scheduling cost <= 10 %).
#include <benchmark/benchmark.h>
#include <unicorn/unicorn.h>

#include <cstdio>
#include <stdexcept>

#include "core/machine.h"
#include "tests/core/program.h"

namespace {

using namespace emu::test;
constexpr std::uint64_t kInstructionsPerVcpu = 10'000'000;
constexpr std::size_t kComputeOffset = 0x400;

// compute: x19 = iterations; loop: `body - 2` ALU instructions (add x1, x1, #1 / eor x2, x2,
// x1 alternating), subs x19, x19, #1, b.ne loop; then wfi. The loop is one translated block
// of `body` instructions: the block hook's cost per instruction falls as blocks grow.
Words compute(std::uint64_t body) {
  Words loop;
  for (std::uint64_t i = 0; i + 2 < body; ++i) loop.push_back(i % 2 == 0 ? a64::add(1, 1, 1) : 0xCA01'0042u);
  loop.push_back(a64::subs(19, 19, 1));
  loop.push_back(a64::b_cond(a64::kNe, -static_cast<std::int32_t>(body - 1)));
  return join({imm64(19, kInstructionsPerVcpu / body), loop, {a64::kWfi}});
}

// vCPU 0 starts the others at `compute`, then computes itself.
Program smp_program(unsigned cpus, std::uint64_t body) {
  Words boot;
  for (unsigned i = 1; i < cpus; ++i) {
    boot =
        join({boot, imm64(0, 0xC400'0003), imm64(1, i), imm64(2, kBase + kComputeOffset), imm64(3, 0), {a64::hvc(0)}});
  }
  const std::int32_t to_compute = static_cast<std::int32_t>(kComputeOffset / 4 - boot.size());
  boot.push_back(a64::b(to_compute));
  Program p;
  p.at(0, boot);
  p.at(kComputeOffset, compute(body));
  return p;
}

long rss_kib() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * 4;
}

void BM_Smp_Emulator(benchmark::State& state) {
  const auto cpus = static_cast<unsigned>(state.range(0));
  const Program program = smp_program(cpus, static_cast<std::uint64_t>(state.range(1)));
  std::uint64_t instructions = 0;
  long rss = 0;
  for (auto _ : state) {
    emu::core::Machine machine({.cpus = cpus, .memory = 16 << 20});
    machine.load(emu::core::image_from_raw_bytes(program.bytes(), "smp", machine.layout(), kBase));
    if (machine.run().kind != emu::core::ExitKind::Deadlock) state.SkipWithError("the guest did not finish");
    instructions += machine.instructions();
    rss = rss_kib();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(instructions));
  state.counters["rss_MiB"] = static_cast<double>(rss) / 1024.0;
}
// Args: vCPUs, instructions per loop block.
BENCHMARK(BM_Smp_Emulator)->ArgsProduct({{1, 2, 4, 8}, {4, 32}})->Unit(benchmark::kMillisecond)->UseRealTime();

// Firmware calls per second with every vCPU calling at once: each vCPU does kCallsPerVcpu
// PSCI_VERSION calls over HVC, then WFI.
constexpr std::uint64_t kCallsPerVcpu = 200'000;

void BM_Smp_Calls(benchmark::State& state) {
  const auto cpus = static_cast<unsigned>(state.range(0));
  Words boot;
  for (unsigned i = 1; i < cpus; ++i) {
    boot =
        join({boot, imm64(0, 0xC400'0003), imm64(1, i), imm64(2, kBase + kComputeOffset), imm64(3, 0), {a64::hvc(0)}});
  }
  boot.push_back(a64::b(static_cast<std::int32_t>(kComputeOffset / 4 - boot.size())));
  Program program;
  program.at(0, boot);
  // loop: x0 = PSCI_VERSION; hvc #0; subs x19, x19, #1; b.ne loop; wfi
  program.at(kComputeOffset, join({imm64(19, kCallsPerVcpu),
                                   imm64(0, 0x8400'0000),
                                   {a64::hvc(0), a64::subs(19, 19, 1), a64::b_cond(a64::kNe, -6), a64::kWfi}}));
  std::uint64_t calls = 0;
  for (auto _ : state) {
    emu::core::Machine machine({.cpus = cpus, .memory = 16 << 20});
    machine.load(emu::core::image_from_raw_bytes(program.bytes(), "calls", machine.layout(), kBase));
    if (machine.run().kind != emu::core::ExitKind::Deadlock) state.SkipWithError("the guest did not finish");
    for (unsigned i = 0; i < cpus; ++i) calls += machine.stats(i).calls;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(calls));
}
BENCHMARK(BM_Smp_Calls)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();

void check(uc_err err) {
  if (err != UC_ERR_OK) throw std::runtime_error(uc_strerror(err));
}

// The same loop on `cpus` bare engines, one after the other, each until its WFI: no block
// hook, no scheduler, no virtual time.
void BM_Smp_RawUnicorn(benchmark::State& state) {
  const auto cpus = static_cast<unsigned>(state.range(0));
  const auto body = static_cast<std::uint64_t>(state.range(1));
  const std::vector<std::uint8_t> bytes = Program().at(0, compute(body)).bytes();
  for (auto _ : state) {
    for (unsigned i = 0; i < cpus; ++i) {
      uc_engine* uc = nullptr;
      check(uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc));
      check(uc_ctl_set_cpu_model(uc, UC_CPU_ARM64_MAX));
      check(uc_mem_map(uc, kBase, 1 << 20, UC_PROT_ALL));
      check(uc_mem_write(uc, kBase, bytes.data(), bytes.size()));
      check(uc_emu_start(uc, kBase, 0, 0, 0));  // returns at the WFI
      uc_close(uc);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * cpus * (kInstructionsPerVcpu / body) * body));
}
BENCHMARK(BM_Smp_RawUnicorn)->ArgsProduct({{1, 2, 4, 8}, {4, 32}})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
