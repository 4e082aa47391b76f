// Interrupts end to end (Arm ARM D11.2.4 generic timers, D1.6.2 WFI; GICv3 IHI 0069H; PL011
// TRM DDI 0183): the timer, IPI and console-input guests through the CLI. Each guest also
// passes unchanged under QEMU 7.2 `-M virt,gic-version=3` (see guests/README.md).
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tests/system/run_cli.h"

using namespace emu;
using systest::guest_path;
using systest::run_emu;
using systest::split_lines;

namespace {
bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

// `key=` of the --stats line of vCPU `cpu`.
std::uint64_t stat(const std::string& err, unsigned cpu, const std::string& key) {
  for (const std::string& l : split_lines(err)) {
    if (!l.starts_with("vcpu" + std::to_string(cpu) + ":")) continue;
    const std::size_t at = l.find(" " + key + "=");
    if (at != std::string::npos) return std::stoull(l.substr(at + key.size() + 2));
  }
  return ~std::uint64_t{0};
}
}  // namespace

TEST_CASE("Interrupts: timer-irq passes, its interrupt latencies are the same every run, and a 1 s WFI costs no instructions") {
  const systest::Outcome a = run_emu({"run", "--stats", guest_path("timer-irq.elf")});
  SYSTEST_SHOW(a);
  CHECK(a.status == 0);
  CHECK(contains(a.out, "# platform: smccc-emu"));
  CHECK(contains(a.out, "# failed 0 of 20"));
  CHECK(stat(a.err, 0, "virtual_ns") >= 1'000'000'000);  // the idle second was lived through
  CHECK(stat(a.err, 0, "instructions") < 200'000);       // ... without running through it
  CHECK(stat(a.err, 0, "irqs") == 15);                   // 3 one-shots, 10 ticks, the unmask and the idle one
  const systest::Outcome b = run_emu({"run", "--stats", guest_path("timer-irq.elf")});
  CHECK(b.out == a.out);
  CHECK(b.err == a.err);
}

TEST_CASE("Interrupts: ipi passes on 2, 4 and 8 vCPUs, and the 8-vCPU run is identical twice") {
  for (const char* cpus : {"2", "4", "8"}) {
    CAPTURE(cpus);
    const systest::Outcome r = run_emu({"run", "--cpus", cpus, guest_path("ipi.elf")});
    SYSTEST_SHOW(r);
    CHECK(r.status == 0);
    CHECK(contains(r.out, "# failed 0 of 24"));
  }
  const systest::Outcome a = run_emu({"run", "--cpus", "8", "--stats", guest_path("ipi.elf")});
  const systest::Outcome b = run_emu({"run", "--cpus", "8", "--stats", guest_path("ipi.elf")});
  CHECK(a.out == b.out);
  CHECK(a.err == b.err);
  for (unsigned cpu = 1; cpu < 8; ++cpu) CHECK(stat(a.err, cpu, "irqs") >= 8);  // 7 senders and IRM, at least
}

TEST_CASE("Interrupts: the timer guest fails when interrupts arrive late (the checks can fail)") {
  // An IRQ entry charged 1000 ns of --trap-cost puts every handler 63 ticks after its CVAL.
  const systest::Outcome r = run_emu({"run", "--trap-cost", "1000", guest_path("timer-irq.elf")});
  SYSTEST_SHOW(r);
  CHECK(r.status == 4);  // three one-shots and the periodic ticks
  CHECK(contains(r.out, "not ok"));
}

TEST_CASE("Console input: lines from a file reach the guest through the PL011's RX interrupts at the same virtual times every run") {
  systest::TempDir dir;
  const std::string input = dir.write("input.txt", "hello\nworld\nquit\n");
  const std::vector<std::string> args{"run", "--console-input", input, guest_path("console-input.elf")};
  const systest::Outcome a = run_emu(args);
  SYSTEST_SHOW(a);
  CHECK(a.status == 0);
  CHECK(contains(a.out, "got: hello (at counter "));
  CHECK(contains(a.out, "got: world (at counter "));
  CHECK(contains(a.out, "17 bytes, 3 lines"));
  CHECK(contains(a.out, ", quit\n"));
  CHECK(run_emu(args).out == a.out);
}

TEST_CASE("Console input: at the end of the input (none, /dev/null, a file without quit) the guest sees it end") {
  systest::TempDir dir;
  const std::string input = dir.write("input.txt", "abc\n");
  for (const std::string& in : {std::string("none"), std::string("/dev/null"), input}) {
    CAPTURE(in);
    const systest::Outcome r = run_emu({"run", "--console-input", in, guest_path("console-input.elf")});
    SYSTEST_SHOW(r);
    CHECK(r.status == 0);
    CHECK(contains(r.out, "input ended"));
  }
  const systest::Outcome missing = run_emu({"run", "--console-input", "/nonexistent/in", guest_path("console-input.elf")});
  CHECK(missing.status == 65);
  CHECK(missing.out.empty());
  CHECK(contains(missing.err, "--console-input: cannot open"));
}

// The register lines of gic-regs.elf against QEMU 7.2's (tests/data/gic-regs-qemu72.txt). The
// model differs on purpose where it has no LPIs or ITS, keeps 5 priority bits in the
// distributor as in the CPU interface, and reads IROUTER's RES0 bits as 0 (core/gicv3.h).
TEST_CASE("GICv3 registers: reset values and write-read-back equal QEMU 7.2's, except the documented differences") {
  std::ifstream in(std::string(SMCCC_EMU_TEST_DATA_DIR) + "/gic-regs-qemu72.txt");
  REQUIRE(in);
  std::vector<std::string> qemu;
  for (std::string l; std::getline(in, l);) {
    if (l.starts_with("gic ")) qemu.push_back(l);
  }
  REQUIRE(qemu.size() == 42);
  const systest::Outcome r = run_emu({"run", "--cpus", "2", "-q", guest_path("gic-regs.elf")});
  SYSTEST_SHOW(r);
  REQUIRE(r.status == 0);
  std::vector<std::string> ours;
  for (const std::string& l : split_lines(r.out)) {
    if (l.starts_with("gic ")) ours.push_back(l);
  }
  REQUIRE(ours.size() == qemu.size());
  const std::map<std::string, std::string> differs{
      {"gic GICD_TYPER.LPIS = 0x1", "gic GICD_TYPER.LPIS = 0x0"},
      {"gic GICR0_TYPER.PLPIS = 0x1", "gic GICR0_TYPER.PLPIS = 0x0"},
      {"gic GICR1_TYPER.PLPIS = 0x1", "gic GICR1_TYPER.PLPIS = 0x0"},
      {"gic GICD_IPRIORITYR40 after 0xff = 0xff", "gic GICD_IPRIORITYR40 after 0xff = 0xf8"},
      {"gic GICD_IROUTER40 after ~0 = 0xffffffffffffffff", "gic GICD_IROUTER40 after ~0 = 0xff80ffffff"},
  };
  unsigned same = 0;
  for (std::size_t i = 0; i < qemu.size(); ++i) {
    CAPTURE(qemu[i]);
    const auto d = differs.find(qemu[i]);
    CHECK(ours[i] == (d == differs.end() ? qemu[i] : d->second));
    same += ours[i] == qemu[i];
  }
  CHECK(same == qemu.size() - differs.size());
}
