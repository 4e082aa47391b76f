// The guests run through the library API (core::Machine), as a VMM-like host would.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/machine.h"
#include "firmware/dispatcher.h"
#include "tests/system/run_cli.h"

using namespace emu;
using core::ExitKind;
using systest::guest_path;
using systest::split_lines;

namespace {

struct GuestRun {
  core::RunExit exit;
  std::string console;
  std::uint64_t instructions = 0;
};

struct TraceLines final : fw::TraceSink {
  std::vector<std::string> lines;
  void line(std::string_view text) override { lines.emplace_back(text); }
};

GuestRun run_guest(const std::string& name, fw::TraceSink* trace = nullptr) {
  core::Machine machine(core::MachineConfig{});
  GuestRun run;
  machine.console().set_writer([&run](std::string_view text) { run.console.append(text); });
  machine.set_trace(trace);
  machine.load(core::load_image(guest_path(name), core::ImageFormat::Auto, machine.layout()));
  run.exit = machine.run();
  run.instructions = machine.instructions();
  return run;
}

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

TEST_CASE("API: the conformance guest passes every TAP test over HVC and SMC and exits with status 0") {
  const GuestRun run = run_guest("smccc-conformance.elf");
  INFO("console output:\n" << run.console);
  CHECK(run.exit.kind == ExitKind::SemihostingExit);
  CHECK(run.exit.status == 0);

  const std::vector<std::string> lines = split_lines(run.console);
  long plan = -1;
  std::size_t ok_hvc = 0, ok_smc = 0, not_ok = 0;
  for (const std::string& line : lines) {
    if (starts_with(line, "1..")) plan = std::stol(line.substr(3));
    if (starts_with(line, "not ok")) ++not_ok;
    if (starts_with(line, "ok ") && line.find(" - hvc: ") != std::string::npos) ++ok_hvc;
    if (starts_with(line, "ok ") && line.find(" - smc: ") != std::string::npos) ++ok_smc;
  }
  CHECK(plan > 100);
  CHECK(not_ok == 0);
  CHECK(ok_hvc >= 1);
  CHECK(ok_smc >= 1);
}

TEST_CASE("API: the demo guest reports SMCCC 1.2 and PSCI 1.1 and powers off with SYSTEM_OFF") {
  const GuestRun run = run_guest("demo.elf");
  INFO("console output:\n" << run.console);
  CHECK(run.exit.kind == ExitKind::SystemOff);
  CHECK(run.exit.status == 0);
  CHECK(run.console.find("SMCCC 1.2") != std::string::npos);
  CHECK(run.console.find("PSCI 1.1") != std::string::npos);
}

TEST_CASE("API: two machines running the conformance guest print the same output and count the same instructions") {
  const GuestRun first = run_guest("smccc-conformance.elf");
  const GuestRun second = run_guest("smccc-conformance.elf");
  CHECK(first.exit.kind == second.exit.kind);
  CHECK(first.exit.status == second.exit.status);
  CHECK(first.instructions > 0);
  CHECK(first.instructions == second.instructions);
  CHECK(!first.console.empty());
  CHECK(first.console == second.console);
}

TEST_CASE("API: a trace sink sees the demo's SMCCC_VERSION call answered with 0x10002, then PSCI_SYSTEM_OFF") {
  TraceLines trace;
  const GuestRun run = run_guest("demo.elf", &trace);
  CHECK(run.exit.kind == ExitKind::SystemOff);
  std::string all;
  for (const std::string& l : trace.lines) all += l + "\n";
  INFO("trace:\n" << all);

  const auto ends_with = [](std::string_view needle) {
    return [needle](const std::string& l) { return l.ends_with(needle); };
  };
  const auto version = std::find_if(trace.lines.begin(), trace.lines.end(), ends_with("> SMCCC_VERSION()"));
  REQUIRE(version != trace.lines.end());
  REQUIRE(std::next(version) != trace.lines.end());
  CHECK(std::next(version)->ends_with("< 0x10002"));
  const auto off = std::find_if(version, trace.lines.end(), ends_with("> PSCI_SYSTEM_OFF()"));
  CHECK(off != trace.lines.end());
}
