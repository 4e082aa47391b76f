// Host memory (issue 14 item 5): guest RAM is reserved, not committed (MAP_NORESERVE, README
// --memory), so what a run keeps resident is the RAM the guest has touched plus the emulator's
// own overhead, about 18 MiB and 3.5 MiB per vCPU (README Reliability). Measured here on whole
// CLI runs through the children's peak resident set (getrusage RUSAGE_CHILDREN, in KiB on Linux);
// doctest_discover_tests runs every case in a process of its own, so only this case's children
// count. Under ASan the shadow memory and allocator roughly triple it.
#include <doctest/doctest.h>

#include <sys/resource.h>

#include <string>

#include "core/image.h"
#include "core/machine.h"
#include "tests/system/run_cli.h"

using emu::systest::guest_path;
namespace core = emu::core;
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

// A guest that keeps writing new code (fresh-code.elf: about 700 MiB of host code over its
// rounds) through buffers far smaller than that. Unicorn 2.1.1 crashes the process (SIGSEGV in
// tb_set_jmp_target) the first time it must empty a full buffer itself; the engine empties it
// between slices before that, and the translated code keeps to its buffer.
TEST_CASE("Host memory: a guest generating fresh code runs through a small code buffer") {
  core::MachineConfig config;
  config.code_buffer = std::uint64_t{8} << 20;
  core::Machine machine(config);
  std::string console;
  machine.console().set_writer([&console](std::string_view text) { console.append(text); });
  machine.load(core::load_image(guest_path("fresh-code.elf"), core::ImageFormat::Auto, machine.layout()));
  const core::RunExit exit = machine.run();
  INFO(console);
  CHECK(exit.status == 0);
  CHECK(console.find("ok 1 - every round ran the code written for it") != std::string::npos);
}

TEST_CASE("Host memory: the translated code of a vCPU keeps to its default buffer of 256 MiB") {
  const auto run = run_emu({"run", "-q", guest_path("fresh-code.elf")}, std::chrono::seconds(120));
  REQUIRE(run.status == 0);
  CHECK(children_peak_kib() < kScale * (48 + 4 + 256) * 1024);
}
