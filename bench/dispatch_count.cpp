// Host instructions per table-only dispatch, for callgrind (scripts/callgrind-dispatch.sh):
// dispatches one FID N times in the setup of bench_dispatch's BM_Dispatch (2 vCPUs, one DENY
// range). Run with N and with 0, the difference of the two instruction totals divided by N is
// the cost of one call, loop included (wall time on shared machines is too noisy for this).
//   bench_dispatch_count FID ARG1 N [run]   ("run": after the first vCPU ran, Firmware::mark_run)
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "firmware/firmware.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: bench_dispatch_count FID ARG1 N [run]\n";
    return 64;
  }
  const std::uint64_t fid = std::strtoull(argv[1], nullptr, 0);
  const std::uint64_t arg1 = std::strtoull(argv[2], nullptr, 0);
  const std::uint64_t n = std::strtoull(argv[3], nullptr, 0);
  emu::fw::Firmware firmware({.vcpu_count = 2, .ram_base = 0x4000'0000, .ram_size = 1 << 20});
  if (firmware.add_filter_range(0x8200'0000, 0x100, 1) != emu::fw::HostStatus::Ok) return 1;
  if (argc > 4 && std::strcmp(argv[4], "run") == 0) firmware.mark_run();
  emu::fw::SmcccCall call;
  emu::fw::SmcccResult result;
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    call.x[0] = fid;
    call.x[1] = arg1;
    firmware.dispatch(call, result);
    sum += result.x[0];
  }
  std::cout << sum << "\n";
  return 0;
}
