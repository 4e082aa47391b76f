// GICv3 registers as a driver sees them (guests/gic, GIC IHI 0069H chapter 12): every `reg`
// line the guest prints on smccc-emu (reset value and write/read-back probes of one register)
// must equal QEMU 7.2's, recorded once in tests/data/gic-regs-qemu72.txt (its header says how),
// except the registers listed below, where the model differs from QEMU on purpose or within
// what the architecture allows. Each of those must be exactly the line given, so any change
// to the model (or to the guest) shows here.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/machine.h"
#include "tests/system/run_cli.h"

using namespace emu;
using systest::count_lines_containing;
using systest::guest_path;
using systest::split_lines;

namespace {

struct Difference {
  const char* line;  // smccc-emu's line
  const char* why;
};

// With 4 vCPUs, as the reference was recorded.
const std::map<std::string, Difference> kDifferences = {
    {"GICD_CTLR",
     {"reg GICD_CTLR reset=0x50 w(0x12)=0x52 w(0x13)=0x52 w(0x0)=0x50",
      "Group 0 is never signalled (no FIQ): EnableGrp0 is RAZ/WI"}},
    {"GICD_TYPER",
     {"reg GICD_TYPER reset=0x1780007",
      "no LPIs (LPIS 0) and 1-of-N SPIs supported (No1N 0); ITLinesNumber 7 (SPIs up to 255) as QEMU 7.2"}},
    {"GICR_TYPER[0]", {"reg GICR_TYPER[0] reset=0x1000000", "no LPIs: PLPIS 0"}},
    {"GICR_TYPER[1]", {"reg GICR_TYPER[1] reset=0x101000100", "no LPIs"}},
    {"GICR_TYPER[2]", {"reg GICR_TYPER[2] reset=0x201000200", "no LPIs"}},
    {"GICR_TYPER[3]", {"reg GICR_TYPER[3] reset=0x301000310", "no LPIs"}},
    {"GICR_CTLR", {"reg GICR_CTLR reset=0x0", "no LPIs: CES 0"}},
    {"ICC_IGRPEN0_EL1",
     {"reg ICC_IGRPEN0_EL1 reset=0x0 w(0x1)=0x0 w(0x0)=0x0", "Group 0 is never signalled: IGRPEN0 is RAZ/WI"}},
    {"GICD_IPRIORITYR8",
     {"reg GICD_IPRIORITYR8 reset=0x0 b0(0xff)=0xf8 w(0x12345678)=0x10305078",
      "the distributor keeps the CPU interface's 5 priority bits; QEMU keeps 8"}},
    {"GICR_IPRIORITYR0",
     {"reg GICR_IPRIORITYR0 reset=0x0 b0(0xff)=0xf8 w(0x12345678)=0x10305078", "5 priority bits, as GICD"}},
    {"GICD_IROUTER32",
     {"reg GICD_IROUTER32 reset=0x0 w(0xffffffffffffffff)=0xff80ffffff w(0x80000000)=0x80000000 w(0x103)=0x103 "
      "w32lo(0x205)=0x205",
      "the RES0 bits [63:40] and [30:24] read 0; QEMU stores them"}},
};

std::string reg_name(const std::string& line) {
  const std::size_t end = line.find(' ', 4);
  return line.substr(4, end == std::string::npos ? std::string::npos : end - 4);
}

std::vector<std::string> reg_lines(const std::string& text) {
  std::vector<std::string> out;
  for (const std::string& line : split_lines(text)) {
    if (line.rfind("reg ", 0) == 0) out.push_back(line);
  }
  return out;
}

std::vector<std::string> reference() {
  std::ifstream in(std::string(SMCCC_EMU_TEST_DATA_DIR) + "/gic-regs-qemu72.txt");
  std::stringstream text;
  text << in.rdbuf();
  return reg_lines(text.str());
}

void compare_with_qemu(const std::string& console) {
  const std::vector<std::string> want = reference();
  const std::vector<std::string> got = reg_lines(console);
  REQUIRE(want.size() >= 40);
  CHECK(got.size() == want.size());
  for (std::size_t i = 0; i < want.size() && i < got.size(); ++i) {
    const std::string name = reg_name(want[i]);
    INFO("register " << name);
    const auto d = kDifferences.find(name);
    CHECK(got[i] == (d == kDifferences.end() ? want[i] : d->second.line));
  }
}

// All checks pass; the two Group 0 read-backs are skipped on smccc-emu, and nothing else.
void check_tap(const std::string& console) {
  CHECK(count_lines_containing(console, "not ok") == 0);
  CHECK(count_lines_containing(console, "# failed 0 of") == 1);
  CHECK(count_lines_containing(console, "# skip smccc-emu never signals Group 0") == 2);
  CHECK(count_lines_containing(console, "# skip") == 2);
}

std::string run_api(unsigned cpus) {
  core::Machine machine({.cpus = cpus});
  std::string console;
  machine.console().set_writer([&console](std::string_view text) { console.append(text); });
  machine.load(core::load_image(guest_path("gic-regs.elf"), core::ImageFormat::Auto, machine.layout()));
  const core::RunExit exit = machine.run();
  INFO("console:\n" << console << "\nsummary: " << exit.summary);
  CHECK(exit.kind == core::ExitKind::SemihostingExit);
  CHECK(exit.status == 0);
  return console;
}

}  // namespace

TEST_CASE("GIC registers (API, 4 vCPUs): every register line equals QEMU 7.2's but the listed differences") {
  const std::string console = run_api(4);
  INFO("console:\n" << console);
  check_tap(console);
  compare_with_qemu(console);
}

TEST_CASE("GIC registers (CLI, 4 vCPUs): the same lines through the smccc-emu binary") {
  const systest::Outcome r = systest::run_emu({"run", "-q", "--cpus", "4", guest_path("gic-regs.elf")});
  SYSTEST_SHOW(r);
  CHECK(r.status == 0);
  check_tap(r.out);
  compare_with_qemu(r.out);
}

TEST_CASE("GIC registers: GICR_TYPER gives each of 1 and 64 vCPUs its affinity and number, Last on the last one") {
  for (const unsigned cpus : {1u, 64u}) {
    CAPTURE(cpus);
    const std::string console = run_api(cpus);
    INFO("console:\n" << console);
    check_tap(console);
    CHECK(count_lines_containing(console, "reg GICR_TYPER[") == cpus);
  }
  // vCPU 63 is Aff1 3, Aff0 15: Affinity_Value 0x30f, Processor_Number 63, Last.
  CHECK(count_lines_containing(run_api(64), "reg GICR_TYPER[63] reset=0x30f01003f10") == 1);
}

TEST_CASE("GIC registers reference data: recorded from QEMU 7.2, one line per register, names unique") {
  const std::vector<std::string> want = reference();
  std::map<std::string, int> seen;
  for (const std::string& line : want) ++seen[reg_name(line)];
  CHECK(want.size() == 49);
  CHECK(seen.size() == want.size());
  for (const auto& [name, difference] : kDifferences) {
    CAPTURE(name);
    CHECK(seen.count(name) == 1);
  }
}
