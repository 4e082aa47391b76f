// Host memory (issue 14 item 5): guest RAM is reserved, not committed (MAP_NORESERVE, README
// --memory), so what a run keeps resident is the RAM the guest has touched plus the emulator's
// own overhead, about 18 MiB and 3.5 MiB per vCPU (README Reliability). Measured here on whole
// CLI runs through the children's peak resident set (getrusage RUSAGE_CHILDREN, in KiB on Linux);
// doctest_discover_tests runs every case in a process of its own, so only this case's children
// count. Under ASan the shadow memory and allocator roughly triple it.
#include <doctest/doctest.h>

#include <sys/resource.h>

#include <string>

#include "tests/system/run_cli.h"

using emu::systest::guest_path;
using emu::systest::run_emu;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr long kScale = 3;
#else
constexpr long kScale = 1;
#endif

long children_peak_kib() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  return usage.ru_maxrss;
}

}  // namespace

TEST_CASE("Host memory: 64 GiB of guest RAM cost what the guest touches, plus the emulator's overhead per vCPU") {
  // One vCPU, 64 GiB: the demo guest touches a few pages.
  const auto small = run_emu({"run", "-q", "--memory", "64G", guest_path("demo.elf")});
  REQUIRE(small.status == 0);
  CHECK(children_peak_kib() < kScale * 48 * 1024);
  // 64 vCPUs, 64 GiB: every vCPU is started, suspended and stopped by the SMP guest.
  const auto wide = run_emu({"run", "-q", "--cpus", "64", "--memory", "64G", guest_path("smp-conformance.elf")},
                            std::chrono::seconds(120));
  REQUIRE(wide.status == 0);
  CHECK(children_peak_kib() < kScale * (48 + 64 * 4) * 1024);
}
