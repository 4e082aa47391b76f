// Firmware hot path with no engine: one SmcccCall dispatched per iteration, beside an empty
// indirect call measured in the same binary (DESIGN.md section 9).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>

#include "firmware/firmware.h"

namespace {

struct Callee {
  virtual ~Callee() = default;
  virtual std::uint64_t call(std::uint64_t x) = 0;
};
struct Identity final : Callee {
  std::uint64_t call(std::uint64_t x) override { return x; }
};

void BM_Baseline_IndirectCall(benchmark::State& state) {
  std::unique_ptr<Callee> callee = std::make_unique<Identity>();
  benchmark::DoNotOptimize(callee);
  std::uint64_t x = 0;
  for (auto _ : state) {
    x = callee->call(x + 1);
    benchmark::DoNotOptimize(x);
  }
}
BENCHMARK(BM_Baseline_IndirectCall);

void BM_Dispatch(benchmark::State& state, std::uint64_t fid, std::uint64_t arg1) {
  emu::fw::Firmware firmware;
  emu::fw::SmcccCall call;
  emu::fw::SmcccResult result;  // answered in place, as core's trap bridge does
  for (auto _ : state) {
    call.x[0] = fid;
    call.x[1] = arg1;
    firmware.dispatch(call, result);
    benchmark::DoNotOptimize(result.x[0]);
  }
}
BENCHMARK_CAPTURE(BM_Dispatch, SmcccVersion, 0x8000'0000, 0);
BENCHMARK_CAPTURE(BM_Dispatch, SmcccArchFeatures, 0x8000'0001, 0x8000'8000);
BENCHMARK_CAPTURE(BM_Dispatch, PsciVersion, 0x8400'0000, 0);
BENCHMARK_CAPTURE(BM_Dispatch, PsciFeatures, 0x8400'000A, 0x8400'0012);
BENCHMARK_CAPTURE(BM_Dispatch, Unknown, 0x8200'0000, 0);

}  // namespace

BENCHMARK_MAIN();
