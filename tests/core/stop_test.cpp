// Machine::request_stop() (issue 14 item 3): another thread (or a signal handler) asks a running
// machine to stop; run() ends with ExitKind::Stopped at the next scheduling boundary, also when
// the machine is blocked waiting for console input, and the run can go on afterwards.
#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <thread>

#include "core/console.h"
#include "tests/core/program.h"

using namespace emu;
using namespace emu::test;
using namespace emu::test::a64;

namespace {

// A backstop so that a missing stop fails the test instead of hanging it.
constexpr std::uint64_t kBackstopInstructions = 3'000'000'000;

}  // namespace

TEST_CASE(
    "request_stop() from another thread ends run() of a spinning guest with Stopped, and run() goes on after it") {
  TestMachine t(Program().at(0, {b(0)}),
                core::MachineConfig{.quantum = 1000, .max_instructions = kBackstopInstructions});
  std::thread host([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    t.machine->request_stop(SIGTERM);
  });
  const core::RunExit e = t.run();
  host.join();
  CHECK(e.kind == core::ExitKind::Stopped);
  CHECK(e.status == SIGTERM);
  CHECK(e.summary.find("stopped by SIGTERM after") == 0);
  const std::uint64_t done = t.machine->instructions();
  CHECK(done > 0);
  CHECK(done < kBackstopInstructions);
  // The request was consumed: the next run() carries on from the same place.
  t.machine->set_max_instructions(done + 5000);
  const core::RunExit more = t.run();
  CHECK(more.kind == core::ExitKind::InstructionLimit);
  CHECK(t.machine->instructions() > done);
  CHECK(t.reg(core::Reg::Pc) == kBase);
}

TEST_CASE("request_stop() before run() makes run() stop before any instruction, with status 0 for no signal") {
  TestMachine t(Program().at(0, {b(0)}), core::MachineConfig{.max_instructions = kBackstopInstructions});
  t.machine->request_stop();
  const core::RunExit e = t.run();
  CHECK(e.kind == core::ExitKind::Stopped);
  CHECK(e.status == 0);
  CHECK(e.summary == "stopped by the host after 0 instructions");
  CHECK(t.machine->instructions() == 0);
}

TEST_CASE("request_stop() from another thread ends a wait for console input from a pipe") {
  // The guest turns the PL011's receiver and its RX/RT interrupts on and waits in WFI with no
  // timer: only host input can wake it, so run() blocks in the console input's wait().
  const Program program = Program().at(0, join({imm64(1, 0x0900'0030),
                                                imm64(2, 0x301),
                                                {str_w(2, 1)},  // UARTCR
                                                imm64(1, 0x0900'0038),
                                                imm64(2, 0x50),
                                                {str_w(2, 1)},  // UARTIMSC
                                                {kWfi, b(-1)}}));
  TestMachine t(program);
  int p[2];
  REQUIRE(::pipe(p) == 0);
  t.machine->console().set_input(std::make_unique<core::FdInput>(p[0]));
  std::atomic<bool> stopped{false};
  std::thread host([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    t.machine->request_stop(SIGINT);
    // Backstop: if the wait did not end, end the input so the run ends (as a deadlock).
    for (int i = 0; i < 100 && !stopped.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ::close(p[1]);
  });
  const auto start = std::chrono::steady_clock::now();
  const core::RunExit e = t.run();
  const auto took = std::chrono::steady_clock::now() - start;
  stopped = true;
  host.join();
  ::close(p[0]);
  CHECK(e.kind == core::ExitKind::Stopped);
  CHECK(e.status == SIGINT);
  CHECK(took < std::chrono::seconds(3));
}
