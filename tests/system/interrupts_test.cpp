// The interrupt guests on smccc-emu: timer-irq (the EL1 timers' PPIs through the GICv3, IRQ
// entry from EL1 and EL0, PSTATE.I masking, WFI; Arm ARM D11.2.4, D1.6.2) and ipi (SGIs between vCPUs, priority,
// preemption, EOImode; GIC IHI 0069H §12.2.21, §4.8, §4.1.1). Time is virtual there, so the
// latencies timer-irq prints are exact: an IRQ is taken at the first block boundary after its
// line rises, a small delay that is the same in every run.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "core/machine.h"
#include "tests/system/run_cli.h"

using namespace emu;
using core::ExitKind;
using systest::count_lines_containing;
using systest::guest_path;
using systest::run_emu;
using systest::split_lines;

namespace {

struct GuestRun {
  core::RunExit exit;
  std::string console;
  std::vector<core::VcpuStats> stats;
};

GuestRun run_guest(const std::string& name, unsigned cpus) {
  core::Machine machine({.cpus = cpus, .max_instructions = 500'000'000});
  GuestRun run;
  machine.console().set_writer([&run](std::string_view text) { run.console.append(text); });
  machine.load(core::load_image(guest_path(name), core::ImageFormat::Auto, machine.layout()));
  run.exit = machine.run();
  for (unsigned i = 0; i < cpus; ++i) run.stats.push_back(machine.stats(i));
  return run;
}

void check_tap_passes(const std::string& console) {
  CHECK(count_lines_containing(console, "not ok") == 0);
  CHECK(count_lines_containing(console, "# failed 0 of") == 1);
}

// The values of "# ...: latency N ticks" lines.
std::vector<unsigned long> latencies(const std::string& console) {
  std::vector<unsigned long> out;
  for (const std::string& line : split_lines(console)) {
    const std::size_t at = line.find(": latency ");
    if (line.rfind("# ", 0) == 0 && at != std::string::npos) out.push_back(std::stoul(line.substr(at + 10)));
  }
  return out;
}

}  // namespace

TEST_CASE("Timer IRQ guest (API): every check passes, none skipped, and one interrupt per one-shot and tick") {
  const GuestRun run = run_guest("timer-irq.elf", 1);
  INFO("console:\n" << run.console << "\nsummary: " << run.exit.summary);
  CHECK(run.exit.kind == ExitKind::SemihostingExit);
  CHECK(run.exit.status == 0);
  check_tap_passes(run.console);
  CHECK(count_lines_containing(run.console, "# platform: smccc-emu") == 1);
  CHECK(count_lines_containing(run.console, "# skip") == 0);
  // 3 one-shots, 10 periodic ticks, the one taken after `msr daifclr`, the one at EL0, the
  // idle wake-up.
  CHECK(run.stats[0].irqs == 16);
}

TEST_CASE("Timer IRQ guest: each timer interrupt is taken the same small, non-zero time after CVAL") {
  const GuestRun run = run_guest("timer-irq.elf", 1);
  const std::vector<unsigned long> l = latencies(run.console);
  INFO("console:\n" << run.console);
  REQUIRE(l.size() == 13);  // the three one-shots and the ten periodic ticks
  CHECK(std::set<unsigned long>(l.begin(), l.end()).size() == 1);
  CHECK(l[0] > 0);
  CHECK(l[0] <= 20);
  CHECK(count_lines_containing(run.console,
                               "# idle wake-up latency " + std::to_string(l[0]) + " ticks, 1 WFI wake-ups") == 1);
}

TEST_CASE("Timer IRQ guest: the idle second is slept, not executed (WFI until the timer 1 s ahead)") {
  const GuestRun run = run_guest("timer-irq.elf", 1);
  CHECK(run.exit.status == 0);
  // Virtual time covers the idle second and the 10 ms tick; at 1 ns per instruction a busy
  // wait would have executed a billion instructions.
  CHECK(run.stats[0].virtual_ns >= 1'010'000'000);
  CHECK(run.stats[0].instructions < 5'000'000);
}

TEST_CASE("Timer IRQ guest (CLI): two runs print the same bytes") {
  const std::vector<std::string> args{"run", "--stats", guest_path("timer-irq.elf")};
  const systest::Outcome a = run_emu(args);
  const systest::Outcome b = run_emu(args);
  SYSTEST_SHOW(a);
  CHECK(a.status == 0);
  CHECK(a.out == b.out);
  CHECK(a.err == b.err);  // the summary and the per-vCPU stats
}

TEST_CASE(
    "Timer IRQ guest: a costlier IRQ entry shows in every latency and fails the guest's bound (the checks can fail)") {
  const systest::Outcome r = run_emu({"run", "-q", "--trap-cost", "2000", guest_path("timer-irq.elf")});
  SYSTEST_SHOW(r);
  const std::vector<unsigned long> l = latencies(r.out);
  REQUIRE(l.size() == 13);
  for (const unsigned long ticks : l) CHECK(ticks >= 2000 / 16);
  // The four latency checks (three one-shots, the periodic ticks) fail; the rest pass.
  CHECK(r.status == 4);
  CHECK(count_lines_containing(r.out, "not ok") == static_cast<std::size_t>(r.status));
}

TEST_CASE("IPI guest: SGIs between every pair, IRM, target lists, priority and EOImode on 2, 5 and 8 vCPUs") {
  for (const unsigned cpus : {2u, 5u, 8u}) {
    CAPTURE(cpus);
    const GuestRun run = run_guest("ipi.elf", cpus);
    INFO("console:\n" << run.console << "\nsummary: " << run.exit.summary);
    CHECK(run.exit.kind == ExitKind::SemihostingExit);
    CHECK(run.exit.status == 0);
    check_tap_passes(run.console);
    CHECK(count_lines_containing(run.console, "# " + std::to_string(cpus) + " vCPUs") == 1);
    for (unsigned i = 0; i < cpus; ++i) {
      CAPTURE(i);
      // One SGI from each other vCPU at least; the others also get vCPU 0's commands.
      CHECK(run.stats[i].irqs >= cpus - 1);
    }
  }
}

TEST_CASE("IPI guest (CLI): a run on 8 vCPUs is the same twice, stats included") {
  const std::vector<std::string> args{"run", "--cpus", "8", "--stats", guest_path("ipi.elf")};
  const systest::Outcome a = run_emu(args);
  const systest::Outcome b = run_emu(args);
  SYSTEST_SHOW(a);
  CHECK(a.status == 0);
  CHECK(a.out == b.out);
  CHECK(a.err == b.err);
  CHECK(count_lines_containing(a.err, "vcpu7: instructions=") == 1);
}
