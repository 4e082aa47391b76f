// Firmware hot path with no engine: one SmcccCall dispatched per iteration, beside an empty
// indirect call measured in the same binary (README "Measured").
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include "core/entropy.h"
#include "firmware/firmware.h"
#include "tests/firmware/fake_platform.h"

// GCC 12 reports free() in a replaced global operator delete as mismatched with operator new,
// although both are replaced here together and both use malloc/free.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// A counting allocator for the whole binary: the dispatch benchmarks check that answering a
// call allocates nothing (issue: no heap allocation anywhere on the dispatch path).
namespace {
std::uint64_t g_allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

// Fails the benchmark if its timed loop allocated; reports allocations per call either way.
class AllocationGuard {
 public:
  explicit AllocationGuard(benchmark::State& state) : state_(state), start_(g_allocations) {}
  ~AllocationGuard() {
    const std::uint64_t n = g_allocations - start_;
    state_.counters["allocs_per_call"] = static_cast<double>(n) / static_cast<double>(state_.iterations());
    if (n != 0) state_.SkipWithError("the dispatch path allocated");
  }

 private:
  benchmark::State& state_;
  std::uint64_t start_;
};

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

// The table-only calls: answered from the routing tables and VM state alone.
void BM_Dispatch(benchmark::State& state, std::uint64_t fid, std::uint64_t arg1) {
  emu::fw::Firmware firmware({.vcpu_count = 2, .ram_base = 0x4000'0000, .ram_size = 1 << 20});
  // A DENY range, so the filter is consulted on every call as it would be in a VMM's setup.
  if (firmware.add_filter_range(0x8200'0000, 0x100, 1) != emu::fw::HostStatus::Ok) state.SkipWithError("filter");
  firmware.mark_run();  // as in a VM whose first vCPU has run: the flat table answers
  emu::fw::SmcccCall call;
  emu::fw::SmcccResult result;  // answered in place, as core's trap bridge does
  AllocationGuard guard(state);
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
BENCHMARK_CAPTURE(BM_Dispatch, AffinityInfo, 0xC400'0004, 1);
BENCHMARK_CAPTURE(BM_Dispatch, Unknown, 0x8300'0000, 0);
BENCHMARK_CAPTURE(BM_Dispatch, DeniedByFilter, 0x8200'0000, 0);
BENCHMARK_CAPTURE(BM_Dispatch, SdeiEventStatus, 0xC400'0028, 0);

// Calls that need the platform: a fake one (RAM as a vector, a settable clock) with the
// emulator's real seeded entropy source.
void BM_DispatchPlatform(benchmark::State& state, std::uint64_t fid, std::uint64_t arg1) {
  emu::test::FakePlatform platform;
  emu::core::SeededEntropy entropy(1);
  emu::fw::FirmwareConfig config = platform.config();
  config.platform.entropy = &entropy;
  emu::fw::Firmware firmware(config);
  if (firmware.set_pv_time_ipa(0, emu::test::FakePlatform::kRamBase) != emu::fw::HostStatus::Ok) {
    state.SkipWithError("cannot set the PV-time record");
  }
  firmware.mark_run();
  emu::fw::SmcccCall call;
  emu::fw::SmcccResult result;
  AllocationGuard guard(state);
  for (auto _ : state) {
    call.x[0] = fid;
    call.x[1] = arg1;
    firmware.dispatch(call, result);
    benchmark::DoNotOptimize(result.x[0]);
  }
}
BENCHMARK_CAPTURE(BM_DispatchPlatform, TrngRnd64, 0xC400'0053, 192);
BENCHMARK_CAPTURE(BM_DispatchPlatform, KvmPtp, 0x8600'0001, 0);
BENCHMARK_CAPTURE(BM_DispatchPlatform, PvTimeSt, 0xC500'0021, 0);

}  // namespace

BENCHMARK_MAIN();
