// Instruction-cache maintenance on 2 vCPUs: what one IC IALLU or IC IVAU on vCPU 0 costs,
// when every other engine must drop the translations it covers before it runs again. RAM of
// 4 GiB and 64 GiB: invalidating by range costs per page of the range, so the RAM size is
// what a whole-RAM invalidation pays. Baseline in the same run: the same loop with a NOP.
#include <benchmark/benchmark.h>

#include "core/machine.h"
#include "tests/core/program.h"

namespace {

using namespace emu::test;

constexpr std::uint64_t kMaintenanceOps = 20;  // per run of the guest
enum Op : std::int64_t { kNopOp = 0, kIallu = 1, kIvau = 2 };

// vCPU 0 starts vCPU 1 spinning on `b .`, then runs kMaintenanceOps iterations of
// {op; subs; b.ne} and powers off. With a 3-instruction quantum each iteration is a slice of
// its own, so each operation is applied to vCPU 1 before vCPU 1 runs again.
Program icache_program(Op op) {
  const std::uint32_t insn = op == kIallu  ? 0xD508'751Fu  // ic iallu
                             : op == kIvau ? 0xD50B'7522u  // ic ivau, x2
                                           : a64::kNop;
  Program p;
  p.at(0, join({imm64(0, 0xC400'0003),
                imm64(1, 1),
                imm64(2, kBase + 0x200),
                imm64(3, 0),
                {a64::hvc(0)},
                imm64(2, kBase + 0x400),
                imm64(19, kMaintenanceOps),
                {insn, a64::subs(19, 19, 1), a64::b_cond(a64::kNe, -2)},
                imm64(0, 0x8400'0008),
                {a64::hvc(0)}}));
  p.at(0x200, {a64::b(0)});
  p.at(0x400, {a64::kRet});
  return p;
}

// Args: the operation (0 NOP baseline, 1 IC IALLU, 2 IC IVAU), RAM in GiB.
void BM_ICache(benchmark::State& state) {
  const auto op = static_cast<Op>(state.range(0));
  const std::uint64_t memory = static_cast<std::uint64_t>(state.range(1)) << 30;
  const Program program = icache_program(op);
  for (auto _ : state) {
    emu::core::Machine machine({.cpus = 2, .quantum = 3, .memory = memory});
    machine.load(emu::core::image_from_raw_bytes(program.bytes(), "icache", machine.layout(), kBase));
    if (machine.run().kind != emu::core::ExitKind::SystemOff) state.SkipWithError("the guest did not finish");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kMaintenanceOps));
  state.SetLabel(op == kIallu ? "IC IALLU" : op == kIvau ? "IC IVAU" : "NOP (baseline)");
}
BENCHMARK(BM_ICache)
    ->ArgsProduct({{kNopOp, kIallu, kIvau}, {4, 64}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
